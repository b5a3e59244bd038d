"""Portal fixtures: the small config dir of support.portal (two authorities, one sharing a unit code),
simulators on port 0, the OpenAPI spec as a judge, and what the config holds for tests to compare with."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support.portal import MONTHLY_ROWS, OTHER_ROOT, ROOT, UNITS, Spec, record, write_portal_config

from cchc.portal.simulator import PortalSimulator


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return write_portal_config(tmp_path / "config")


@pytest.fixture
def start_simulator(config_dir: Path):
    """Factory: start a simulator over ``config_dir`` with the given keyword arguments."""
    started: list[PortalSimulator] = []

    def start(**kwargs: Any) -> PortalSimulator:
        simulator = PortalSimulator(config_dir, **kwargs)
        simulator.start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture(scope="session")
def spec() -> Spec:
    return Spec()


@pytest.fixture
def data() -> SimpleNamespace:
    """What ``config_dir`` holds, for tests to compare answers with."""
    return SimpleNamespace(
        root=ROOT,
        other_root=OTHER_ROOT,
        authority_name="huyện Thử Nghiệm",
        units=UNITS,
        rows=[record(row) for row in MONTHLY_ROWS],
    )
