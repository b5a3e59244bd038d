"""A generated configuration served by the portal simulator and accepted by the validation.

Two provinces of the national configuration (the first, Hà Nội, and Quảng Ninh with its special zones)
in one config folder: the simulator serves both, the portal client extracts March 2026 of each through
the same calls as the pipeline, and the Great Expectations suites find nothing to report. Marked
``slow`` (the validation builds its suites with Great Expectations).
"""

from __future__ import annotations

import csv
import shutil

import pytest

from cchc.core.authorities import load_authority, load_monthly
from cchc.core.fields import COUNT_FIELDS
from cchc.portal.client import PortalClient
from cchc.portal.extract import extract_period
from cchc.portal.simulator import PortalSimulator
from cchc.quality.validate import validate_extract

pytestmark = pytest.mark.slow
SLUGS = ("ha-noi", "quang-ninh")
PERIOD = "2026-03"


def test_the_simulator_serves_a_generated_config_and_the_validation_accepts_it(national, tmp_path):
    config = tmp_path / "config"
    for slug in SLUGS:
        shutil.copytree(national.out / slug, config / slug)
    out = tmp_path / "out"
    with PortalSimulator(config) as simulator:
        client = PortalClient(simulator.base_url, sleep=lambda _s: None)
        try:
            for slug in SLUGS:
                authority = load_authority(config / slug)
                assert client.period_status(authority.root_department_id, PERIOD) == "CLOSED"
                extracted = extract_period(authority, PERIOD, out, client=client, run_id="scenario")
                with extracted.path.open(encoding="utf-8", newline="") as handle:
                    rows = {r["unit_code"]: r for r in csv.DictReader(handle)}
                assert list(rows) == authority.unit_codes
                expected = {r["unit_code"]: r for r in load_monthly(authority) if r["period"] == PERIOD}
                for code, row in rows.items():
                    assert [int(row[f]) for f in COUNT_FIELDS] == [expected[code][f] for f in COUNT_FIELDS]
                report = validate_extract(authority, PERIOD, extracted.path, out, run_id="scenario")
                assert report.critical == [] and report.warnings == [], report.message()
                assert report.units == len(authority.units)
        finally:
            client.close()
