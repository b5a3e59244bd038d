"""Every figure of the seed letter (Tứ Kỳ, August 2023) follows from the shipped scenario's counts.

The expected strings (here and in support/seed_letter.py) are copied from
../shared/seed/000_882e96cdb797c63c.txt; the rates are computed here from
scenarios/seed/tu-ky/monthly.csv with the project's own arithmetic.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from support.paths import SEED_AUTHORITY
from support.seed_letter import COMMENDED, PAYMENT

from cchc.core.authorities import load_authority, load_history, load_monthly
from cchc.core.percent import change, format_change, format_percent, percent_text, shown_percent

METRICS = {
    "receipt": ("received_digitized", "received"),
    "result": ("resolved_digitized", "resolved"),
    "payment": ("paid_online", "fee_dossiers"),
}
YEAR = [f"2023-{m:02d}" for m in range(1, 9)]
CAMPAIGN = [f"2023-{m:02d}" for m in range(4, 9)]
AUGUST = ["2023-08"]


@pytest.fixture(scope="module")
def scenario():
    authority = load_authority(SEED_AUTHORITY)
    rows = load_monthly(authority)
    by_unit: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        by_unit[row["unit_code"]][row["period"]] = row
    names = {u.name: u.code for u in authority.units}
    return authority, rows, by_unit, names


def counts(by_unit, code, periods, metric):
    num, den = METRICS[metric]
    return (sum(by_unit[code][p][num] for p in periods), sum(by_unit[code][p][den] for p in periods))


def rate(by_unit, code, periods, metric):
    return percent_text(*counts(by_unit, code, periods, metric))


def test_every_unit_has_every_month(scenario):
    authority, rows, by_unit, _ = scenario
    assert len(rows) == len(authority.units) * 8
    assert all(set(by_unit[u.code]) == set(YEAR) for u in authority.units)


def test_district_totals_and_changes_against_july(scenario):
    _, rows, _, _ = scenario

    def total(period, metric):
        num, den = METRICS[metric]
        return shown_percent(
            sum(r[num] for r in rows if r["period"] == period),
            sum(r[den] for r in rows if r["period"] == period),
        )

    seed = {
        "receipt": ("97,67%", "tăng 0,54%"),
        "result": ("99,05%", "tăng 0,24%"),
        "payment": ("80,2%", "tăng 29,86%"),
    }
    for metric, (shown, delta) in seed.items():
        assert format_percent(total("2023-08", metric)) == shown, metric
        assert format_change(change(total("2023-07", metric), total("2023-08", metric))) == delta, metric


@pytest.mark.parametrize(("name", "receipt", "result", "payment"), COMMENDED)
def test_commended_units(scenario, name, receipt, result, payment):
    _, _, by_unit, names = scenario
    code = names[name]
    assert rate(by_unit, code, AUGUST, "receipt") == receipt
    assert rate(by_unit, code, AUGUST, "result") == result
    if payment is None:
        assert counts(by_unit, code, AUGUST, "payment")[1] == 0  # no fee-bearing dossiers
    else:
        assert rate(by_unit, code, AUGUST, "payment") == payment


def test_official_email_groups(scenario):
    _, _, by_unit, names = scenario
    regular = {"UBND xã Quảng Nghiệp", "UBND xã Quang Khải", "UBND xã Đại Hợp"}
    for name in (
        "UBND xã Quảng Nghiệp",
        "UBND xã Quang Khải",
        "UBND xã Đại Hợp",
        "UBND xã Đại Sơn",
        "UBND xã Hà Kỳ",
        "UBND xã Quang Trung",
    ):
        assert by_unit[names[name]]["2023-08"]["official_email_regular"] is (name in regular)


def test_reminders_on_results_and_receipt(scenario):
    _, _, by_unit, names = scenario
    assert rate(by_unit, names["Phòng Văn hóa và Thông tin huyện"], AUGUST, "result") == "50%"
    tien_dong = names["UBND xã Tiên Động"]
    assert rate(by_unit, tien_dong, AUGUST, "result") == "96,15%"
    assert rate(by_unit, tien_dong, YEAR, "result") == "86,93%"
    hung_dao = names["UBND xã Hưng Đạo"]
    assert rate(by_unit, hung_dao, AUGUST, "receipt") == "97,67%"
    assert rate(by_unit, hung_dao, YEAR, "receipt") == "85,89%"


@pytest.mark.parametrize(("name", "month", "campaign", "shortfall"), PAYMENT)
def test_online_payment_and_posts(scenario, name, month, campaign, shortfall):
    _, _, by_unit, names = scenario
    code = names[name]
    assert rate(by_unit, code, AUGUST, "payment") == month
    assert rate(by_unit, code, CAMPAIGN, "payment") == campaign
    assert (by_unit[code]["2023-08"]["web_posts"] < 4) is shortfall


def test_history_gives_second_and_third_criticisms(scenario):
    authority, _, _, names = scenario
    history = load_history(authority)
    earlier = defaultdict(int)
    for row in history:
        assert row["period"] < "2023-08"
        earlier[row["unit_code"]] += row["count"]
    assert earlier[names["UBND xã Hưng Đạo"]] + 1 == 2
    assert earlier[names["UBND xã Phượng Kỳ"]] + 1 == 2
    assert earlier[names["UBND xã Dân Chủ"]] + 1 == 3
    assert earlier[names["UBND xã Tiên Động"]] + 1 == 3


def _shown(by_unit, code, periods, metric):
    return shown_percent(*counts(by_unit, code, periods, metric))


def test_history_agrees_with_the_counts(scenario):
    """A unit is in history.csv for a month exactly when that month's counts criticise it.

    So running the system over April–July (instead of importing the history) counts the same.
    """
    authority, _, by_unit, _ = scenario
    listed = {(r["period"], r["unit_code"]) for r in load_history(authority)}
    for unit in authority.units:
        for m in range(4, 8):
            period = f"2023-{m:02d}"
            month = _shown(by_unit, unit.code, [period], "payment")
            campaign = _shown(by_unit, unit.code, CAMPAIGN[: m - 3], "payment")
            criticised = month is not None and month < 30 and campaign is not None and campaign < 30
            assert criticised == ((period, unit.code) in listed), (unit.code, period)


def test_units_the_seed_does_not_name_fall_in_no_section(scenario):
    """Under the brief's default rulebook, an unnamed unit is neither commended, reminded nor criticised."""
    authority, _, by_unit, names = scenario
    named = (
        {names[n] for n, *_ in COMMENDED}
        | {names[n] for n, *_ in PAYMENT}
        | {names["Phòng Văn hóa và Thông tin huyện"], names["UBND xã Tiên Động"], names["UBND xã Hưng Đạo"]}
    )
    for unit in authority.units:
        if unit.code in named:
            continue
        receipt = _shown(by_unit, unit.code, AUGUST, "receipt")
        result = _shown(by_unit, unit.code, AUGUST, "result")
        payment = _shown(by_unit, unit.code, AUGUST, "payment")
        commended = receipt >= 98.5 and result >= 99 and (payment is None or payment >= 30)
        assert not commended, unit.code
        for metric in ("receipt", "result"):
            assert _shown(by_unit, unit.code, AUGUST, metric) >= 90, (unit.code, metric)
            assert _shown(by_unit, unit.code, YEAR, metric) >= 90, (unit.code, metric)
        if payment is not None:
            assert payment >= 30, unit.code
            assert _shown(by_unit, unit.code, CAMPAIGN, "payment") >= 30, unit.code
        assert by_unit[unit.code]["2023-08"]["web_posts"] >= 4, unit.code
