"""The seed letter's figures (Tứ Kỳ, August 2023) come out of the warehouse exactly as printed.

All of scenarios/seed/tu-ky/monthly.csv is loaded month by month through load_facts, the rates of
2023-08 are computed in SQL, and every figure of the letter that tests/test_seed_scenario.py checks
(month, 8-month and 01/4–31/8 campaign figures in support/seed_letter.py, district totals and their
changes against July) is checked against them.
"""

from __future__ import annotations

import pytest
from support.paths import SEED_AUTHORITY
from support.seed_letter import COMMENDED, PAYMENT
from support.warehouse import fresh_url, load_seed_months, migrated

from cchc.core.authorities import load_authority
from cchc.core.periods import Period
from cchc.warehouse.rates import authority_totals, compute_rates, index_rates, read_rates


@pytest.fixture(scope="module")
def seed(backend, request, tmp_path_factory):
    engine = migrated(fresh_url(backend, request, tmp_path_factory.mktemp("seed")))
    authority = load_authority(SEED_AUTHORITY)
    for result in load_seed_months(engine, authority):
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


@pytest.mark.parametrize(("name", "receipt", "result", "payment"), COMMENDED)
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


@pytest.mark.parametrize(("name", "month", "campaign", "shortfall"), PAYMENT)
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
