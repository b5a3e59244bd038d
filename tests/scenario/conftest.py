"""A national configuration made once per session (34 provinces, January–March 2026, seed 7)."""

from __future__ import annotations

import pytest
from support.scenario import MONTHS, SEED

from cchc.scenario.generate import Generated, generate, parse_months


@pytest.fixture(scope="session")
def national(tmp_path_factory) -> Generated:
    """``cchc scenario generate --provinces 34 --seed 7 --months 2026-01..2026-03`` into a new folder."""
    return generate(tmp_path_factory.mktemp("national") / "config", 34, SEED, parse_months(MONTHS))
