"""The seed letter's figures (Tứ Kỳ, August 2023) come out of the warehouse exactly as printed.

All of scenarios/seed/tu-ky/monthly.csv is loaded month by month through load_facts, the rates of
2023-08 are computed in SQL, and every expectation of tests/test_seed_scenario.py (month, 8-month and
01/4–31/8 campaign figures, district totals and their changes against July) is checked against them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from warehouse_helpers import fresh_url

from cchc.core.authorities import load_authority, load_monthly
from cchc.core.db import engine_for
from cchc.core.periods import Period
from cchc.warehouse.load import load_facts, sync_units
from cchc.warehouse.migrate import upgrade
from cchc.warehouse.rates import authority_totals, compute_rates, index_rates, read_rates

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "seed" / "tu-ky"


def _seed_expectations():
    """tests/test_seed_scenario.py, loaded by path: one list of the letter's figures, not a copy."""
    spec = importlib.util.spec_from_file_location(
        "seed_letter_figures", ROOT / "tests" / "test_seed_scenario.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEED = _seed_expectations()


@pytest.fixture(scope="module")
def seed(backend, request, tmp_path_factory):
    url = fresh_url(backend, request, tmp_path_factory.mktemp("seed"))
    upgrade(url)
    engine = engine_for(url)
    authority = load_authority(SCENARIO)
    rows = load_monthly(authority)
    for month in range(1, 9):
        period = f"2023-{month:02d}"
        frame = pd.DataFrame(
            [{**r, "authority": authority.id, "source": "api"} for r in rows if r["period"] == period]
        )
        sync_units(engine, authority, period)
        result = load_facts(engine, authority.id, period, frame, f"seed-{period}", "api")
        assert result.changed and result.rows == len(authority.units)
    computed = compute_rates(engine, authority.id, "2023-08", {"payment": Period(2023, 4)})
    assert computed.missing_periods == []
    index = index_rates(read_rates(engine, authority.id, "2023-08"))
    names = {u.name: u.code for u in authority.units}
    yield engine, authority, index, names
    engine.dispose()


def text(index, code, metric, window):
    return index[(code, metric, window)]["text"]


def test_district_totals_and_changes_against_july(seed):
    engine, authority, _, _ = seed
    totals = authority_totals(engine, authority.id, "2023-08")
    assert (totals["receipt"]["text"], totals["receipt"]["change_text"]) == ("97,67%", "tăng 0,54%")
    assert (totals["result"]["text"], totals["result"]["change_text"]) == ("99,05%", "tăng 0,24%")
    assert (totals["payment"]["text"], totals["payment"]["change_text"]) == ("80,2%", "tăng 29,86%")


@pytest.mark.parametrize(("name", "receipt", "result", "payment"), SEED.COMMENDED)
def test_commended_units(seed, name, receipt, result, payment):
    _, _, index, names = seed
    code = names[name]
    assert text(index, code, "receipt", "month") == receipt
    assert text(index, code, "result", "month") == result
    if payment is None:
        assert index[(code, "payment", "month")]["denominator"] == 0
        assert index[(code, "payment", "month")]["shown"] is None
    else:
        assert text(index, code, "payment", "month") == payment


def test_reminders_month_and_eight_months(seed):
    _, _, index, names = seed
    assert text(index, names["Phòng Văn hóa và Thông tin huyện"], "result", "month") == "50%"
    tien_dong, hung_dao = names["UBND xã Tiên Động"], names["UBND xã Hưng Đạo"]
    assert text(index, tien_dong, "result", "month") == "96,15%"
    assert text(index, tien_dong, "result", "ytd") == "86,93%"
    assert index[(tien_dong, "result", "ytd")]["window_start"] == "2023-01"
    assert text(index, hung_dao, "receipt", "month") == "97,67%"
    assert text(index, hung_dao, "receipt", "ytd") == "85,89%"


@pytest.mark.parametrize(("name", "month", "campaign", "shortfall"), SEED.PAYMENT)
def test_online_payment_month_and_campaign(seed, name, month, campaign, shortfall):
    _, _, index, names = seed
    code = names[name]
    assert text(index, code, "payment", "month") == month
    assert text(index, code, "payment", "campaign") == campaign
    row = index[(code, "payment", "campaign")]
    assert (row["window_start"], row["window_end"]) == ("2023-04", "2023-08")
    assert (index[(code, "posts", "month")]["numerator"] < 4) is shortfall


def test_every_unit_has_every_rate(seed):
    _, authority, index, _ = seed
    for unit in authority.units:
        for metric, window in [
            (m, w)
            for m in ("receipt", "result", "payment")
            for w in ("month", "previous_month", "ytd", "campaign")
        ] + [("posts", "month")]:
            assert (unit.code, metric, window) in index
