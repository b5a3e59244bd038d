"""Warehouse fixtures: every test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (``CCHC_TEST_PG_ADMIN_URL`` overrides the maintenance
database URL). Each test module gets its own freshly created database, dropped afterwards; each test
starts from an empty schema. When the server cannot be reached the PostgreSQL half is skipped with
the reason.
"""

from __future__ import annotations

import pytest
from warehouse_helpers import fresh_url, make_authority

from cchc.core.authorities import Authority
from cchc.core.db import engine_for
from cchc.warehouse.migrate import upgrade


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
