"""Fixtures of the decisions tests: warehouses on SQLite and PostgreSQL, synthetic and seed authorities.

Warehouse tests run on both backends, like tests/warehouse: SQLite in a temporary file and the
PostgreSQL server at 127.0.0.1:5432 (``CCHC_TEST_PG_ADMIN_URL`` overrides the maintenance URL), one
fresh database per test module, emptied before each test; skipped with the reason when the server
cannot be reached.
"""

from __future__ import annotations

import pytest
from rules_helpers import fresh_url

# The decisions' tables live on the warehouse MetaData; registering them here keeps the warehouse's
# schema-vs-migrations test meaningful until cchc.warehouse.schema imports them itself.
from cchc.core.db import engine_for
from cchc.warehouse.migrate import upgrade


@pytest.fixture
def engine(backend, request, tmp_path):
    """An Engine on an empty warehouse migrated to head."""
    url = fresh_url(backend, request, tmp_path)
    upgrade(url)
    eng = engine_for(url)
    yield eng
    eng.dispose()
