"""Shared test setup: an isolated Airflow home, the seed scenario, free ports.

Airflow reads its configuration when first imported, so the environment is set here, before any
test module imports it. Tests never touch the developer's .airflow/ or output/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED_CONFIG = ROOT / "scenarios" / "seed"
AIRFLOW_TEST_HOME = ROOT / ".airflow-test"

os.environ["AIRFLOW_HOME"] = str(AIRFLOW_TEST_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__PARALLELISM"] = "4"
os.environ["AIRFLOW__CORE__DEFAULT_TIMEZONE"] = "Asia/Ho_Chi_Minh"
os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "120"
os.environ.setdefault("NO_COLOR", "1")
# A developer's shell may point these at real systems; tests define their own.
for name in (
    "AIRFLOW_CONN_CCHC_PORTAL",
    "AIRFLOW_CONN_CCHC_WAREHOUSE",
    "AIRFLOW_CONN_SMTP_DEFAULT",
    "CCHC_INBOX_DIR",
):
    os.environ.pop(name, None)
os.environ["CCHC_CONFIG_DIR"] = str(SEED_CONFIG)


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The test Airflow home with its SQLite metadata migrated (once per session)."""
    AIRFLOW_TEST_HOME.mkdir(exist_ok=True)
    subprocess.run([airflow_bin(), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return AIRFLOW_TEST_HOME


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def seed_config(tmp_path) -> Path:
    """A private copy of the seed scenario, safe to modify."""
    target = tmp_path / "config"
    shutil.copytree(SEED_CONFIG, target)
    return target


# --------------------------------------------------------------------------- warehouse backends
# Warehouse tests run on SQLite (a temporary file) and on the PostgreSQL server at 127.0.0.1:5432
# (``CCHC_TEST_PG_ADMIN_URL`` overrides the maintenance URL): one fresh database per test module,
# skipped with the reason printed when the server cannot be reached.

PG_ADMIN_URL = os.environ.get(
    "CCHC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _admin_engine():
    import sqlalchemy as sa

    return sa.create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}, poolclass=sa.NullPool
    )


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def pg_database(request) -> str:
    """A new database for this test module on the local server; dropped when the module is done."""
    import re
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from cchc.core.db import mask_text

    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        admin.dispose()
        pytest.skip(
            f"PostgreSQL không kết nối được ({mask_text(PG_ADMIN_URL)}): "
            f"{str(exc.orig).strip().splitlines()[0]}"
        )
    stem = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())[:30]
    name = f"cchc_{stem}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --------------------------------------------------------------------------- DAG runs


@pytest.fixture(scope="session")
def load_dag(airflow_db):
    """Loads one DAG file through Airflow's DagBag, with retries off: a failure shows at once."""

    def load(dag_id: str):
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py"))
        assert bag.import_errors == {}
        dag = bag.dags[dag_id]
        for task in dag.tasks:
            task.retries = 0
        return dag

    return load


@pytest.fixture
def mailbox(tmp_path, monkeypatch) -> Path:
    """A real SMTP server (aiosmtpd) as the ``smtp_default`` connection; each message lands as .eml here."""
    import json

    from cchc.delivery import sink

    folder = tmp_path / "mail"
    controller = sink.start(folder)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": controller.port,
                "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "cchc@localhost"},
            }
        ),
    )
    yield folder
    controller.stop()
