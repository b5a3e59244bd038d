"""The PostgreSQL server at 127.0.0.1:5432 (trust auth, user postgres) for the warehouse tests.

``CCHC_TEST_PG_ADMIN_URL`` overrides the maintenance URL. Each test module gets a database of its own,
created on first use and dropped (with force) when the module is done; when the server cannot be
reached the PostgreSQL half of the tests is skipped with the reason printed.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN_URL = os.environ.get(
    "CCHC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def admin_engine():
    import sqlalchemy as sa

    return sa.create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}, poolclass=sa.NullPool
    )


@contextmanager
def database_for(module_name: str) -> Iterator[str]:
    """A new database named after the test module; yields its URL, drops it afterwards."""
    import sqlalchemy as sa

    from cchc.core.db import mask_text, scratch_database

    admin = admin_engine()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        admin.dispose()
        pytest.skip(
            f"PostgreSQL không kết nối được ({mask_text(PG_ADMIN_URL)}): "
            f"{str(exc.orig).strip().splitlines()[0]}"
        )
    stem = re.sub(r"[^a-z0-9]+", "_", module_name.rsplit(".", 1)[-1].lower())[:30]
    name = f"cchc_{stem}_{uuid.uuid4().hex[:8]}"
    try:
        with scratch_database(admin, name) as url:
            yield url
    finally:
        admin.dispose()


def reset_schema(url: str) -> None:
    """Empty a database: drop and recreate its public schema (every table, type and sequence goes)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
