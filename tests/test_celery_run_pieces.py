"""``make run-celery``'s pieces that need no server: names, commands, environment, the output folder, the
workers' host names, and the ``issued_at`` the monthly run passes on to the letters runs.

The whole run, against ``make run``, is tests/test_celery_run.py (make test-long).
"""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pytest

from cchc.core import settings
from cchc.core.db import _DATABASE_NAME
from cchc.core.errors import ConfigError, WarehouseError
from cchc.pipeline import celeryrun, tasks
from cchc.pipeline.hostname import worker_hostname
from cchc.pipeline.payloads import Decided

KEYS = celeryrun.ClusterSecrets("fernet-test", "jwt-test", "api-test")


def _environment(tmp_path: Path, **env: str) -> dict[str, str]:
    return celeryrun.cluster_environment(
        settings.Settings(env),
        config_dir=tmp_path / "config",
        output_dir=tmp_path / "out",
        metadata_url="postgresql+psycopg://postgres@127.0.0.1:5432/m",
        warehouse_url="postgresql+psycopg://postgres@127.0.0.1:5432/w",
        redis_url="redis://127.0.0.1:6379/0",
        names=celeryrun.Names("cchc_out_0123abcd"),
        port=18080,
        slots=4,
        keys=KEYS,
    )


def test_the_names_follow_the_output_folder_and_are_valid_database_names(tmp_path):
    first, again = (
        celeryrun.names_for(tmp_path / "Kết quả 2026"),
        celeryrun.names_for(tmp_path / "Kết quả 2026"),
    )
    other = celeryrun.names_for(tmp_path / "other" / "Kết quả 2026")
    assert first == again and first != other
    long = celeryrun.names_for(tmp_path / ("x" * 200))
    for names in (first, other, long):
        for database in (names.metadata_db, names.warehouse_db):
            assert _DATABASE_NAME.match(database), database
        assert names.redis_prefix == f"{names.base}:"


def test_a_database_name_that_is_not_a_plain_identifier_is_refused():
    from cchc.core.db import _database_name

    for bad in ('x"; DROP DATABASE postgres; --', "Upper", "", "a" * 64):
        with pytest.raises(WarehouseError):
            _database_name(bad)


def test_every_component_has_its_command_and_every_worker_its_name():
    commands = celeryrun.component_commands(3, 2, "127.0.0.1", 18080)
    assert list(commands) == [
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
        "worker1",
        "worker2",
        "worker3",
    ]
    assert commands["api-server"] == ["api-server", "--host", "127.0.0.1", "--port", "18080"]
    for name in ("worker1", "worker2", "worker3"):
        args = commands[name]
        assert args[:2] == ["celery", "worker"]
        assert args[args.index("--celery-hostname") + 1] == f"{name}@%h"
        assert args[args.index("--concurrency") + 1] == "2"
    # Nothing serves logs over HTTP: two workers' log servers would want one port.
    for name in ("scheduler", "triggerer", "worker1"):
        assert "--skip-serve-logs" in commands[name]


def test_the_environment_is_one_celery_cluster_with_the_runs_own_parts(tmp_path):
    env = _environment(tmp_path, PATH="/usr/bin", CCHC_WORKER_NAME="stray")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("/m")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX"] == "cchc_out_0123abcd:"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == ("127.0.0.1", "18080")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "jwt-test"  # one secret for every component
    assert env["AIRFLOW__CORE__FERNET_KEY"] == "fernet-test"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"  # no scheduled month beside the run's
    assert env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] == "cchc.pipeline.hostname.worker_hostname"
    assert env["AIRFLOW_HOME"] == str(tmp_path / "out" / "airflow-home")
    assert '"url": "postgresql+psycopg://postgres@127.0.0.1:5432/w"' in env["AIRFLOW_CONN_CCHC_WAREHOUSE"]
    assert env["CCHC_WAREHOUSE_URL"].endswith("/w")
    assert env["CCHC_TASK_RETRIES"] == "0"
    assert "CCHC_WORKER_NAME" not in env  # each worker gets its own, nothing else one
    assert env["PATH"].endswith("/usr/bin")


def test_the_run_always_uses_its_own_warehouse(tmp_path):
    env = _environment(tmp_path, AIRFLOW_CONN_CCHC_WAREHOUSE='{"conn_type": "postgres", "host": "prod"}')
    assert "prod" not in env["AIRFLOW_CONN_CCHC_WAREHOUSE"]


def test_the_secrets_are_new_each_run_and_never_shown():
    first, second = celeryrun.ClusterSecrets.generate(), celeryrun.ClusterSecrets.generate()
    assert first != second
    assert first.jwt_secret not in repr(first) and first.fernet_key not in repr(first)
    from cryptography.fernet import Fernet

    Fernet(first.fernet_key.encode())  # a valid key


def test_the_output_folder_must_be_new_empty_or_a_previous_run(tmp_path):
    new = tmp_path / "new"
    celeryrun.prepare_output(new)
    assert new.is_dir()

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(SystemExit, match="không phải của make run-celery"):
        celeryrun.prepare_output(foreign)
    assert (foreign / "keep.txt").exists()

    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / celeryrun.RUN_RECORD).write_text("{}")
    (previous / "hai-phong").mkdir()
    celeryrun.prepare_output(previous)
    assert list(previous.iterdir()) == []


def test_the_airflow_cfg_holds_no_secret(tmp_path):
    text = celeryrun.write_airflow_cfg(tmp_path / "home").read_text(encoding="utf-8")
    assert all(line.startswith("#") for line in text.splitlines())


def test_a_task_records_its_worker(monkeypatch):
    monkeypatch.delenv("CCHC_WORKER_NAME", raising=False)
    assert worker_hostname() == socket.getfqdn()
    monkeypatch.setenv("CCHC_WORKER_NAME", "worker2")
    assert worker_hostname() == f"worker2@{socket.getfqdn()}"
    assert celeryrun.worker_of(worker_hostname()) == "worker2"
    assert celeryrun.worker_of(None) == ""


def _decided() -> dict:
    return Decided(
        authority="hai-phong",
        period="2026-03",
        run_id="r",
        rulebook_version="v",
        path="p",
        decisions_hash="h",
        changed=True,
        decisions={},
        sections=[],
    ).to_xcom()


def test_the_monthly_run_passes_its_issued_at_on_to_the_letters_run():
    stamp = "2026-04-01T07:00:00+07:00"
    conf = tasks.letters_conf(_decided(), {"period": "2026-03", "issued_at": stamp})
    assert conf == {"period": "2026-03", "authorities": ["hai-phong"], "issued_at": stamp}
    # Without one, the letters run dates its letter itself, as before.
    assert tasks.letters_conf(_decided(), {"period": "2026-03", "issued_at": None}) == {
        "period": "2026-03",
        "authorities": ["hai-phong"],
    }
    assert "issued_at" not in tasks.letters_conf(_decided())
    with pytest.raises(ConfigError, match="issued_at"):
        tasks.letters_conf(_decided(), {"issued_at": "mùng một"})


def test_the_outcome_names_every_authority_and_the_workers(tmp_path):
    monthly = {"dag_run_id": "m1", "state": "success"}
    letters = [{"dag_run_id": "m1__letters__0", "state": "success", "conf": {"authorities": ["a"]}}]
    lines = celeryrun.outcome_lines(tmp_path, ["a", "b"], monthly, letters, Counter(worker1=3, worker2=4))
    text = "\n".join(lines)
    assert "cchc_monthly m1: thành công; 1 lần chạy cchc_letters" in text
    assert "cchc_letters m1__letters__0: thành công" in text
    assert (
        "- b:\n    số liệu, quyết định: không có kết quả\n    công văn: chưa có lần chạy cchc_letters" in text
    )
    assert lines[-1] == "Tác vụ đã chạy theo worker: worker1: 3, worker2: 4"
