"""Warehouse fixtures: every test runs on SQLite and on PostgreSQL (the shared ``backend``,
``empty_url`` and ``engine`` fixtures of tests/support), with the three-unit authority below."""

from __future__ import annotations

import pytest
from support.authorities import make_authority

from cchc.core.authorities import Authority


@pytest.fixture
def authority() -> Authority:
    return make_authority()
