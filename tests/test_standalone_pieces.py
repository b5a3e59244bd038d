"""The pieces of ``make airflow`` that need no Airflow: its environment, its login lines, its stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cchc.core import settings
from cchc.core.errors import ConfigError
from cchc.pipeline import processes, standalone


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    current = settings.Settings({"PATH": "/usr/bin", **env})
    return standalone.airflow_environment(current, tmp_path / "config", tmp_path / "out")


def test_the_execution_api_follows_the_chosen_port(tmp_path):
    env = environment(tmp_path, AIRFLOW__API__PORT="18081")
    assert env["AIRFLOW__API__PORT"] == "18081"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"  # the embedded UI is for this machine only
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18081/execution/"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert env["CCHC_CONFIG_DIR"] == str(tmp_path / "config")
    assert env["CCHC_OUTPUT_DIR"] == str(tmp_path / "out")
    # standalone starts `airflow …` by name: this virtualenv's command comes first.
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_defaults_and_what_the_deployment_sets(tmp_path):
    assert (
        environment(tmp_path)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"
    )
    everywhere = environment(tmp_path, AIRFLOW__API__HOST="0.0.0.0", AIRFLOW__API__PORT="9090")
    assert everywhere["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:9090/execution/"
    own = environment(tmp_path, AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://api.internal:8080/execution/")
    assert own["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api.internal:8080/execution/"


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_a_bad_port_is_refused_with_its_variable_named(tmp_path, value):
    with pytest.raises(ConfigError, match="AIRFLOW__API__PORT"):
        environment(tmp_path, AIRFLOW__API__PORT=value)


def test_the_login_lines_show_the_configured_users_only(tmp_path):
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"admin": "s3cret", "old": "gone"}), encoding="utf-8")
    assert standalone.logins(passwords, "admin:admin") == {"admin": "s3cret"}
    assert standalone.logins(passwords, "admin:admin,op:op") == {"admin": "s3cret"}
    assert standalone.logins(tmp_path / "missing.json", "admin:admin") == {}


# A session leader with a child that leaves its process group (as Airflow's task runners do) and
# shrugs off SIGINT and SIGTERM: only the session finds it, only SIGKILL ends it.
STUBBORN_TREE = """
import os, signal, subprocess, sys, time
child = '''
import os, signal, time
os.setpgid(0, 0)
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(600)
'''
proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE)
proc.stdout.readline()
print("ready", flush=True)
time.sleep(600)
"""


def test_stopping_leaves_no_process_of_the_session(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", STUBBORN_TREE], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert proc.stdout.readline().strip() == b"ready"
        members = processes.session_members(proc.pid)
        assert len(members) == 2 and proc.pid in members
        processes.stop_session(proc, grace=1, kill_grace=2)
        assert processes.session_members(proc.pid) == []
        assert proc.returncode is not None
    finally:
        for pid in processes.session_members(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_stopping_several_sessions_at_once_leaves_none_of_them(tmp_path):
    """make run-celery's stop: every component's session, one grace for all."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STUBBORN_TREE], stdout=subprocess.PIPE, start_new_session=True
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == b"ready"
        assert all(len(processes.session_members(p.pid)) == 2 for p in procs)
        assert processes.stop_sessions(procs, grace=1, kill_grace=2) == []
        assert all(processes.session_members(p.pid) == [] and p.returncode is not None for p in procs)
    finally:
        for proc in procs:
            for pid in processes.session_members(proc.pid):
                os.kill(pid, signal.SIGKILL)
