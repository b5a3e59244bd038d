"""Fixtures of the decisions tests: warehouses on SQLite and PostgreSQL, synthetic and seed authorities.

Warehouse tests run on both backends, like tests/warehouse: SQLite in a temporary file and the
PostgreSQL server at 127.0.0.1:5432 (``CCHC_TEST_PG_ADMIN_URL`` overrides the maintenance URL), one
fresh database per test module, emptied before each test; skipped with the reason when the server
cannot be reached.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
import sqlalchemy as sa
from rules_helpers import fresh_url
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

# The decisions' tables live on the warehouse MetaData; registering them here keeps the warehouse's
# schema-vs-migrations test meaningful until cchc.warehouse.schema imports them itself.
import cchc.rules.tables  # noqa: F401
from cchc.warehouse import engine_for, mask_text, upgrade

PG_ADMIN_URL = os.environ.get("CCHC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3},
                            poolclass=NullPool)


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
def engine(backend, request, tmp_path):
    """An Engine on an empty warehouse migrated to head."""
    url = fresh_url(backend, request, tmp_path)
    upgrade(url)
    eng = engine_for(url)
    yield eng
    eng.dispose()
