"""``make run-celery`` against ``make run``: a distributed run gives the same letters, ledger and mail.

One fixture for the module runs both on the same config folder and period (support.celery_run: two
provinces, March 2026; ``CCHC_CELERY_TEST_CONFIG`` / ``CCHC_CELERY_TEST_PERIOD`` for another folder):
the distributed run as ``make run-celery`` runs it (``python -m cchc.pipeline.celeryrun``: Redis,
PostgreSQL, scheduler, dag-processor, API server, triggerer and two Celery workers), in a session of
its own and watched while it runs (the sessions of the processes it starts, the secrets in their
environment), and beside it ``make run``'s local run (``python -m cchc.pipeline.localrun``, an Airflow
home of its own, the SQLite warehouse). Then, from what both left: the run's record, its Airflow metadata
database (kept by the run: task instances and their hosts, DAG runs), both warehouses, both mail
folders, and the processes still alive.

What may differ is left out on purpose (support.celery_run): row ids (the authorities reach the
warehouse in any order), run ids, times, Message-IDs and the DOCX and PDF bytes (they carry the time
they were written); the letters' text is compared instead.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.celery_run import config_and_period, ledger_of, letters_of, mail_by_recipient
from support.postgres import PG_ADMIN_URL
from support.standalone_server import processes_with, session_of, tail

TIMEOUT = 900  # both runs take some 4 minutes here; a loaded machine gets room
CELERY_TIMEOUT = 600.0
LOCAL_TIMEOUT = 420.0
SECRET_VARIABLES = (
    b"AIRFLOW__CORE__FERNET_KEY",
    b"AIRFLOW__API_AUTH__JWT_SECRET",
    b"AIRFLOW__API__SECRET_KEY",
)
WORKERS = ("worker1", "worker2")

pytestmark = [
    pytest.mark.long,  # some 4 minutes: make test-long
    pytest.mark.slow,
    pytest.mark.airflow,
    pytest.mark.postgres,
    pytest.mark.libreoffice,
    pytest.mark.timeout(TIMEOUT),
]


@dataclass
class Runs:
    config: Path
    period: str
    celery_out: Path
    local_out: Path
    code: int
    output: str
    record: dict
    left: list[tuple[int, str]]
    secrets: set[bytes]
    metadata_url: str
    warehouse_url: str


def _environment() -> dict[str, str]:
    """The test session's environment (DAG folder, plugins, timezone from tests/conftest.py), less what
    would point a run at something else than its own parts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "PYTEST_"))}
    for name in ("CCHC_WAREHOUSE_URL", "CCHC_SIMULATOR_PORT", "CCHC_WORKER_NAME"):
        env.pop(name, None)
    return env


def _secrets_of(pid: int) -> set[bytes]:
    try:
        environ = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return set()
    return {item.split(b"=", 1)[1] for item in environ if item.split(b"=", 1)[0] in SECRET_VARIABLES}


def _skip_without_servers() -> None:
    import redis
    import sqlalchemy as sa

    from cchc.pipeline.celeryrun import DEFAULT_REDIS_URL

    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3}, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        redis.Redis.from_url(DEFAULT_REDIS_URL, socket_timeout=3).ping()
    except (sa.exc.DBAPIError, redis.RedisError) as exc:
        pytest.skip(f"PostgreSQL hay Redis không kết nối được: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()


def _run_watched(cmd: list[str], env: dict[str, str], out_path: Path, marker: bytes):
    """Runs ``cmd`` in a session of its own; while it runs, notes the sessions of the processes it
    starts (found by ``marker`` in their environment, before they rename themselves) and the secrets
    they were given. Returns the exit code, the sessions and the secrets."""
    own = session_of(os.getpid())
    sessions: set[int] = set()
    found_secrets: set[bytes] = set()
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + CELERY_TIMEOUT
        try:
            while proc.poll() is None:
                for pid, _ in processes_with(marker):
                    session = session_of(pid)
                    if session is not None and session != own:
                        sessions.add(session)
                    found_secrets |= _secrets_of(pid)
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"make run-celery still running after {CELERY_TIMEOUT:.0f} s:\n{tail(out_path)}"
                    )
                time.sleep(1)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return proc.returncode, frozenset(sessions), found_secrets


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    from cchc.pipeline import celeryrun, localrun

    _skip_without_servers()
    base = tmp_path_factory.mktemp("celery-run")
    config, period = config_and_period(base)
    celery_out, local_out = base / "celery", base / "local"
    names = celeryrun.names_for(celery_out)
    env = _environment()
    marker = f"AIRFLOW_HOME={celery_out / celeryrun.HOME_DIR}".encode()
    # make run beside it: the distributed run spends much of its time in the scheduler's and the
    # workers' polling, so the two overlap well on 2 cores.
    local_log = (base / "local.out").open("wb")
    local = subprocess.Popen(
        localrun.command(period, config, local_out),
        env={**env, "AIRFLOW_HOME": str(base / "local-home")},
        stdin=subprocess.DEVNULL,
        stdout=local_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        code, sessions, found_secrets = _run_watched(
            [
                sys.executable,
                "-m",
                "cchc.pipeline.celeryrun",
                "--period",
                period,
                "--config-dir",
                str(config),
                "--output-dir",
                str(celery_out),
                "--workers",
                str(len(WORKERS)),
            ],
            env,
            base / "celery.out",
            marker,
        )
        left = processes_with(marker, sessions)
        for pid, _ in left:  # after noting them: no test leaves a process behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        output = (base / "celery.out").read_text(encoding="utf-8", errors="replace")
        assert code == 0, output[-6000:]

        try:
            local_code = local.wait(timeout=LOCAL_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make run still running after {LOCAL_TIMEOUT:.0f} s:\n{tail(base / 'local.out')}")
        assert local_code == 0, tail(base / "local.out", 6000)

        admin = PG_ADMIN_URL.rsplit("/", 1)[0]
        yield Runs(
            config=config,
            period=period,
            celery_out=celery_out,
            local_out=local_out,
            code=code,
            output=output,
            record=json.loads((celery_out / celeryrun.RUN_RECORD).read_text(encoding="utf-8")),
            left=left,
            secrets=found_secrets,
            metadata_url=f"{admin}/{names.metadata_db}",
            warehouse_url=f"{admin}/{names.warehouse_db}",
        )
    finally:
        if local.poll() is None:
            os.killpg(local.pid, signal.SIGKILL)
            local.wait()
        local_log.close()
        celeryrun.drop_databases(PG_ADMIN_URL, names)


def _authorities(runs: Runs) -> list[str]:
    from cchc.core.authorities import list_authority_ids

    return list_authority_ids(runs.config)


def _metadata(runs: Runs, query: str) -> list[dict]:
    import sqlalchemy as sa

    engine = sa.create_engine(runs.metadata_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(query)).mappings()]
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the run itself


def test_the_distributed_run_succeeds_and_says_where_everything_is(runs):
    output, record = runs.output, runs.record
    assert "Kết quả lần chạy phân tán kỳ" in output
    for authority in _authorities(runs):
        assert f"- {authority}:" in output
    assert record["state"] == "success", record
    assert record["monthly_state"] == "success"
    assert sorted(record["letters_runs"].values()) == ["success"] * len(_authorities(runs))
    assert f"lưu thư vào {runs.celery_out / 'mail' / runs.period}" in output
    logs = runs.celery_out / "logs"
    expected = {
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
        *WORKERS,
        "simulator",
        "airflow-db-migrate",
    }
    assert {p.stem for p in logs.glob("*.log")} == expected


def test_every_component_is_stopped_and_nothing_is_left(runs):
    assert runs.left == [], runs.left
    assert runs.record["left_running"] == []
    assert "không còn tiến trình nào của lần chạy" in runs.output
    port = int(runs.record["api_url"].rsplit(":", 1)[1])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the API server still answers"
    # The broker's keys of the run are gone with it.
    from cchc.pipeline.celeryrun import DEFAULT_REDIS_URL, redis_client

    assert list(redis_client(DEFAULT_REDIS_URL).scan_iter(match=f"{runs.record['redis_prefix']}*")) == []


def test_the_secrets_are_made_for_the_run_and_never_written(runs):
    assert len(runs.secrets) == len(SECRET_VARIABLES), "every component got a fernet key, JWT and API secret"
    cfg = (runs.celery_out / "airflow-home" / "airflow.cfg").read_text(encoding="utf-8")
    assert "secret" not in cfg and "fernet" not in cfg, cfg
    for path in [*runs.celery_out.rglob("*"), runs.celery_out.parent / "celery.out"]:
        if path.is_file() and path.suffix not in (".pdf", ".docx", ".png", ".xlsx"):
            data = path.read_bytes()
            assert not any(secret in data for secret in runs.secrets), path


def test_the_tasks_ran_on_both_workers(runs):
    assert set(runs.record["tasks_by_worker"]) == set(WORKERS), runs.record["tasks_by_worker"]
    assert all(count > 0 for count in runs.record["tasks_by_worker"].values())
    # Airflow's own record, in the metadata database the run kept: every task that ran says where.
    ran = _metadata(runs, "SELECT hostname, state FROM task_instance WHERE state <> 'skipped'")
    assert {r["state"] for r in ran} == {"success"}, ran
    hosts = Counter(r["hostname"] for r in ran)
    assert set(hosts) == {f"{w}@{socket.getfqdn()}" for w in WORKERS}, hosts


def test_one_monthly_run_and_one_letters_run_per_authority_nothing_scheduled(runs):
    dag_runs = _metadata(runs, "SELECT dag_id, run_id, run_type, state, conf FROM dag_run")
    monthly = [r for r in dag_runs if r["dag_id"] == "cchc_monthly"]
    letters = [r for r in dag_runs if r["dag_id"] == "cchc_letters"]
    assert [(r["run_type"], r["state"]) for r in monthly] == [("manual", "success")], dag_runs
    assert sorted(a for r in letters for a in r["conf"]["authorities"]) == sorted(_authorities(runs))
    from cchc.core.periods import Period
    from cchc.pipeline.localrun import logical_date_for

    issued_at = logical_date_for(Period.parse(runs.period))
    assert {(r["state"], r["conf"]["period"], r["conf"]["issued_at"]) for r in letters} == {
        ("success", runs.period, issued_at)
    }
    assert {r["dag_id"] for r in dag_runs} == {"cchc_monthly", "cchc_letters"}


# --------------------------------------------------------------------------- the same as make run


def test_the_letters_are_the_same_as_the_local_runs(runs):
    from cchc.core.periods import Period
    from cchc.pipeline.localrun import logical_date_for

    local = letters_of(f"sqlite:///{runs.local_out / 'warehouse.db'}", runs.local_out)
    distributed = letters_of(runs.warehouse_url, runs.celery_out)
    assert sorted(distributed) == sorted(f"{a}/{runs.period}" for a in _authorities(runs))
    assert distributed == local
    issued = logical_date_for(Period.parse(runs.period))
    for key, rows in distributed.items():
        (letter,) = rows
        assert (letter["status"], letter["document_number"]) == ("sent", 1), key
        assert letter["issued_at"].isoformat() == issued, key


def test_the_ledger_is_the_same_and_every_recipient_got_one_message(runs):
    local = ledger_of(f"sqlite:///{runs.local_out / 'warehouse.db'}")
    distributed = ledger_of(runs.warehouse_url)
    assert distributed == local
    for key, rows in distributed.items():
        recipients = Counter(recipient for recipient, kind, _ in rows if kind == "normal")
        assert recipients and set(recipients.values()) == {1}, key
        assert {row["state"] for row in rows.values()} == {"sent"}, key
        assert all(row["carried_its_letter"] for row in rows.values()), key


def test_the_mail_is_the_same(runs):
    local = mail_by_recipient(runs.local_out / "mail" / runs.period)
    distributed = mail_by_recipient(runs.celery_out / "mail" / runs.period)
    assert distributed == local
    letters = Counter(r for r, messages in distributed.items() for m in messages if m[0] == "letter")
    assert letters and set(letters.values()) == {1}
