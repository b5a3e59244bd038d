"""Warehouse fixtures: every test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (``CCHC_TEST_PG_ADMIN_URL`` overrides the maintenance
database URL). Each test module gets its own freshly created database, dropped afterwards; each test
starts from an empty schema. When the server cannot be reached the PostgreSQL half is skipped with
the reason.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from warehouse_helpers import fresh_url, make_authority

from cchc.config import Authority
from cchc.warehouse import engine_for, mask_text, upgrade

PG_ADMIN_URL = os.environ.get("CCHC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3},
                            poolclass=sa.NullPool)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def pg_database(request) -> str:
    """A new database for this test module on the local server; dropped when the module is done."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL không kết nối được ({mask_text(PG_ADMIN_URL)}): "
                    f"{str(exc.orig).strip().splitlines()[0]}")
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


@pytest.fixture
def empty_url(backend, request, tmp_path) -> str:
    """The URL of an empty warehouse (no tables at all) on the test's backend."""
    return fresh_url(backend, request, tmp_path)


@pytest.fixture
def engine(empty_url):
    """An Engine on a warehouse migrated to head."""
    upgrade(empty_url)
    eng = engine_for(empty_url)
    yield eng
    eng.dispose()


@pytest.fixture
def authority() -> Authority:
    return make_authority()
