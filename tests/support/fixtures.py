"""The shared fixtures, registered for every test by tests/conftest.py (``pytest_plugins``), and the
markers given automatically to the tests that use a slow outside part.

A fixture used by tests of more than one folder lives here; a folder's conftest.py keeps only what is
its own (the rendered letters, the portal simulator, the GX extract writer, …).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .net import free_tcp_port
from .paths import AIRFLOW_TEST_HOME, DAGS, SEED_CONFIG
from .warehouse import BACKENDS, fresh_url, migrated, sqlite_url

# A test that uses one of these fixtures (directly or through another fixture) gets the marker, so
# `make test-fast` (-m "not airflow and not postgres and not libreoffice and not slow") leaves it out
# without anyone remembering to mark it. The PostgreSQL half of the warehouse tests is marked by the
# ``backend`` parameter itself (support.warehouse.BACKENDS).
MARKERS_BY_FIXTURE = {
    "airflow_db": "airflow",  # Airflow's metadata database: DAG runs, the REST API
    "load_dag": "airflow",
    "pg_database": "postgres",
    "seed_letter": "libreoffice",  # tests/letter/conftest.py: letters converted to PDF
    "province_letter": "libreoffice",
    "ui_month": "libreoffice",  # tests/ui/conftest.py: the seed month made by the pipeline
}


# The shared ``make airflow`` of support/standalone_server.py: a test that uses it is slow and needs
# Airflow; a test that stops it runs after every other test of the session, so none finds it gone.
MARKERS_BY_FIXTURE |= {"standalone": "airflow"}
SLOW_FIXTURES = {"standalone"}
LAST_FIXTURES = {"standalone_stopped"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for name in sorted(MARKERS_BY_FIXTURE.keys() & names):
            item.add_marker(MARKERS_BY_FIXTURE[name])
        if SLOW_FIXTURES & names:
            item.add_marker("slow")
            item.add_marker("long")  # one make-airflow session of minutes: make test-long
    # A stable sort: everything else keeps its order.
    items.sort(key=lambda item: bool(LAST_FIXTURES & set(getattr(item, "fixturenames", ()))))


# --------------------------------------------------------------------------- Airflow


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The test Airflow home with its SQLite metadata migrated (once per session)."""
    AIRFLOW_TEST_HOME.mkdir(exist_ok=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return AIRFLOW_TEST_HOME


@pytest.fixture(scope="session")
def load_dag(airflow_db):
    """Loads one DAG file through Airflow's DagBag, with retries off: a failure shows at once."""

    def load(dag_id: str):
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py"))
        assert bag.import_errors == {}
        dag = bag.dags[dag_id]
        for task in dag.tasks:
            task.retries = 0
        return dag

    return load


# --------------------------------------------------------------------------- config and ports


@pytest.fixture
def seed_config(tmp_path) -> Path:
    """A private copy of the seed scenario, safe to modify."""
    target = tmp_path / "config"
    shutil.copytree(SEED_CONFIG, target)
    return target


@pytest.fixture
def free_port() -> int:
    return free_tcp_port()


# --------------------------------------------------------------------------- warehouses


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    """The warehouse backend of the test module's run: "sqlite", then "postgresql"."""
    return request.param


@pytest.fixture(scope="module")
def pg_database(request):
    """A new database for this test module on the local server (support.postgres); dropped after."""
    from .postgres import database_for

    with database_for(request.module.__name__) as url:
        yield url


@pytest.fixture
def empty_url(backend, request, tmp_path) -> str:
    """The URL of an empty warehouse (no tables at all) on the test's backend."""
    return fresh_url(backend, request, tmp_path)


@pytest.fixture
def engine(empty_url):
    """An Engine on a warehouse migrated to head, on the test's backend."""
    eng = migrated(empty_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    """An Engine on a SQLite warehouse migrated to head (for tests that need one backend only)."""
    eng = migrated(sqlite_url(tmp_path))
    yield eng
    eng.dispose()


# --------------------------------------------------------------------------- mail


@pytest.fixture
def mailbox(tmp_path, monkeypatch) -> Path:
    """A real SMTP server (aiosmtpd) as the ``smtp_default`` connection; each message lands as .eml here."""
    from cchc.delivery import sink

    from .smtp import smtp_default_connection

    folder = tmp_path / "mail"
    controller = sink.start(folder)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_default_connection(controller.port))
    yield folder
    controller.stop()


@pytest.fixture
def smtp_server():
    """A running support.smtp.SmtpServer that can be told to misbehave, stopped after the test."""
    from .smtp import SmtpServer

    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sleeps():
    """An injectable sleep that records the waits instead of waiting (support.smtp.Sleeps)."""
    from .smtp import Sleeps

    return Sleeps()


@pytest.fixture(scope="module")
def api(airflow_db):
    """Airflow's public REST API (the api-server's core app), in-process, every caller an admin."""
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as mp:
        # The simple auth manager then adds an admin token to every request (read per request too).
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        from airflow.api_fastapi.app import create_app

        with TestClient(create_app(apps="core"), base_url="http://localhost") as client:
            yield client
