"""Rates computed in SQL equal the hand-computed Σnumerators / Σdenominators of a tiny dataset."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.authorities import UNITS, make_authority
from support.warehouse import make_frame

from cchc.core.errors import WarehouseError
from cchc.core.percent import shown_percent
from cchc.core.periods import Period
from cchc.warehouse.load import load_facts, sync_units
from cchc.warehouse.rates import (
    authority_totals,
    compute_rates,
    default_campaign_starts,
    display_lines,
    index_rates,
    rates_summary,
    read_rates,
)
from cchc.warehouse.schema import campaign_windows, rates

# (received, received_digitized, resolved, resolved_digitized, fee_dossiers, paid_online, web_posts)
DATA = {
    "2024-01": {
        "P-A": (10, 9, 8, 8, 4, 1, 5),
        "X-B": (20, 20, 19, 18, 10, 3, 4),
        "X-C": (0, 0, 0, 0, 0, 0, 2),
    },
    "2024-02": {
        "P-A": (12, 12, 11, 10, 5, 2, 6),
        "X-B": (25, 24, 22, 22, 8, 8, 1),
        "X-C": (3, 3, 3, 3, 0, 0, 4),
    },
    # P-A's receipt is the brief's half: 229/800 = 28,625% → 28,63%.
    "2024-03": {"P-A": (800, 229, 7, 7, 0, 0, 3), "X-B": (5, 5, 5, 5, 2, 1, 0), "X-C": (0, 0, 0, 0, 0, 0, 0)},
}

# (unit, metric, window) → (numerator, denominator), summed by hand from DATA for March 2024.
EXPECTED_MARCH = {
    ("P-A", "receipt", "month"): (229, 800),
    ("P-A", "receipt", "previous_month"): (12, 12),
    ("P-A", "receipt", "ytd"): (250, 822),
    ("P-A", "receipt", "campaign"): (250, 822),
    ("P-A", "result", "month"): (7, 7),
    ("P-A", "result", "ytd"): (25, 26),
    ("P-A", "payment", "month"): (0, 0),
    ("P-A", "payment", "ytd"): (3, 9),
    ("P-A", "posts", "month"): (3, None),
    ("X-B", "receipt", "ytd"): (49, 50),
    ("X-B", "payment", "month"): (1, 2),
    ("X-B", "payment", "previous_month"): (8, 8),
    ("X-B", "payment", "ytd"): (12, 20),
    ("X-C", "receipt", "month"): (0, 0),
    ("X-C", "receipt", "ytd"): (3, 3),
    ("X-C", "payment", "ytd"): (0, 0),
    ("*", "receipt", "month"): (234, 805),
    ("*", "receipt", "previous_month"): (39, 40),
    ("*", "receipt", "ytd"): (302, 875),
    ("*", "result", "month"): (12, 12),
    ("*", "payment", "month"): (1, 2),
    ("*", "payment", "previous_month"): (10, 13),
    ("*", "payment", "ytd"): (15, 29),
    ("*", "posts", "month"): (3, None),
}


def _load(engine, authority, periods=tuple(DATA)):
    for period in periods:
        sync_units(engine, authority, period)
        load_facts(
            engine,
            authority.id,
            period,
            make_frame(authority.id, period, DATA[period]),
            f"run-{period}",
            "api",
        )


@pytest.fixture
def three_months(engine, authority):
    _load(engine, authority)
    return engine


def test_rates_equal_hand_computed_sums(three_months, authority):
    result = compute_rates(three_months, authority.id, "2024-03")
    assert result.campaign_starts == {"receipt": "2024-01", "result": "2024-01", "payment": "2024-01"}
    assert result.units == 3 and result.rows == 4 * 13 and result.missing_periods == []
    index = index_rates(read_rates(three_months, authority.id, "2024-03"))
    for key, (numerator, denominator) in EXPECTED_MARCH.items():
        row = index[key]
        assert (row["numerator"], row["denominator"]) == (numerator, denominator), key
    assert index[("P-A", "receipt", "month")]["text"] == "28,63%"
    assert index[("P-A", "receipt", "ytd")]["window_start"] == "2024-01"
    assert index[("*", "receipt", "month")]["shown"] == Decimal("29.07")


def test_zero_denominators_are_undefined(three_months, authority):
    compute_rates(three_months, authority.id, "2024-03")
    index = index_rates(read_rates(three_months, authority.id, "2024-03"))
    for key in (("P-A", "payment", "month"), ("X-C", "receipt", "month"), ("X-C", "payment", "ytd")):
        assert index[key]["denominator"] == 0
        assert index[key]["shown"] is None, key  # neither 0% nor 100%
        assert index[key]["text"] == "không phát sinh hồ sơ"
    assert index[("P-A", "posts", "month")]["shown"] is None


def test_sql_rounding_agrees_with_the_display_module(three_months, authority):
    compute_rates(three_months, authority.id, "2024-03")
    with three_months.connect() as conn:
        stored = conn.execute(
            sa.select(rates.c.numerator, rates.c.denominator, rates.c.shown_hundredths)
        ).all()
    assert stored
    for numerator, denominator, hundredths in stored:
        expected = None if denominator is None else shown_percent(numerator, denominator)
        assert (None if hundredths is None else Decimal(hundredths) / 100) == expected, (
            numerator,
            denominator,
        )


def test_authority_totals_and_changes_on_shown_rates(three_months, authority):
    compute_rates(three_months, authority.id, "2024-03")
    totals = authority_totals(three_months, authority.id, "2024-03")
    assert totals["receipt"]["text"] == "29,07%"
    assert totals["receipt"]["change"] == Decimal("29.07") - Decimal("97.5")
    assert totals["receipt"]["change_text"] == "giảm 68,43%"
    assert totals["result"]["change_text"] == "tăng 2,78%"  # 100% against 35/36 = 97,22%
    assert totals["payment"]["change_text"] == "giảm 26,92%"  # 50% against 10/13 = 76,92%
    assert display_lines(totals)[0] == "Tiếp nhận: 29,07% (giảm 68,43%)"
    summary = rates_summary(three_months, authority.id, "2024-03")
    assert summary["totals"] == {"receipt": "29,07%", "result": "100%", "payment": "50%"}
    assert summary["no_dossiers"] == {"receipt": 1, "result": 1, "payment": 2}
    assert summary["units"] == 3 and summary["posts"] == 3


def test_campaign_start_is_stored_and_reused(three_months, authority):
    result = compute_rates(three_months, authority.id, "2024-03", {"payment": Period(2024, 2)})
    assert result.campaign_starts["payment"] == "2024-02"
    index = index_rates(read_rates(three_months, authority.id, "2024-03"))
    assert (
        index[("X-B", "payment", "campaign")]["numerator"],
        index[("X-B", "payment", "campaign")]["denominator"],
    ) == (9, 10)
    with three_months.connect() as conn:
        stored = conn.execute(
            sa.select(campaign_windows.c.metric, campaign_windows.c.year, campaign_windows.c.start_period)
        ).all()
    assert [tuple(r) for r in stored] == [("payment", 2024, "2024-02")]
    # Next computation without a mapping reads the window from the warehouse.
    again = compute_rates(three_months, authority.id, "2024-03")
    assert again.campaign_starts["payment"] == "2024-02"
    # A campaign that has not started yet is an empty window: undefined, not 0%.
    compute_rates(three_months, authority.id, "2024-03", {"receipt": "2024-06"})
    index = index_rates(read_rates(three_months, authority.id, "2024-03"))
    assert index[("*", "receipt", "campaign")]["denominator"] == 0


def test_default_campaign_starts():
    assert default_campaign_starts(2023) == {
        "receipt": Period(2023, 1),
        "result": Period(2023, 1),
        "payment": Period(2023, 4),
    }
    assert default_campaign_starts(2024)["payment"] == Period(2024, 1)


def test_ytd_reads_revised_earlier_months_from_the_warehouse(three_months, authority):
    compute_rates(three_months, authority.id, "2024-03")
    revised = dict(DATA["2024-02"], **{"X-B": (25, 25, 22, 22, 8, 8, 1)})
    load_facts(
        three_months, authority.id, "2024-02", make_frame(authority.id, "2024-02", revised), "rev", "api"
    )
    compute_rates(three_months, authority.id, "2024-03")
    index = index_rates(read_rates(three_months, authority.id, "2024-03"))
    assert (
        index[("X-B", "receipt", "ytd")]["numerator"],
        index[("X-B", "receipt", "ytd")]["denominator"],
    ) == (50, 50)
    assert index[("*", "receipt", "previous_month")]["numerator"] == 40


def test_only_units_valid_in_the_period_but_totals_sum_every_unit(engine):
    _load(engine, make_authority(), ("2024-01", "2024-02"))
    without_c = make_authority(UNITS[:2])  # X-C merged away from March
    sync_units(engine, without_c, "2024-03")
    march = {code: v for code, v in DATA["2024-03"].items() if code != "X-C"}
    load_facts(engine, "demo", "2024-03", make_frame("demo", "2024-03", march), "run", "api")
    compute_rates(engine, "demo", "2024-03")
    index = index_rates(read_rates(engine, "demo", "2024-03"))
    assert {k[0] for k in index} == {"*", "P-A", "X-B"}
    assert (index[("*", "receipt", "ytd")]["numerator"], index[("*", "receipt", "ytd")]["denominator"]) == (
        302,
        875,
    )


def test_recompute_replaces_and_refuses_without_facts(three_months, authority):
    compute_rates(three_months, authority.id, "2024-03")
    first = read_rates(three_months, authority.id, "2024-03")
    compute_rates(three_months, authority.id, "2024-03")
    assert read_rates(three_months, authority.id, "2024-03") == first
    with pytest.raises(WarehouseError, match="chưa có số liệu"):
        compute_rates(three_months, authority.id, "2024-04")
    assert read_rates(three_months, authority.id, "2024-04") == []


def test_missing_earlier_months_are_reported(engine, authority):
    _load(engine, authority, ("2024-03",))
    result = compute_rates(engine, authority.id, "2024-03", partial=True)
    assert result.missing_periods == ["2024-01", "2024-02"]


def test_missing_earlier_months_are_refused_before_anything_is_written(engine, authority):
    """Issue 10: no partial year-to-date rate is ever committed (the campaign starts neither)."""
    _load(engine, authority, ("2024-03",))
    with pytest.raises(WarehouseError, match="2024-01, 2024-02"):
        compute_rates(engine, authority.id, "2024-03", {"payment": "2024-02"})
    assert read_rates(engine, authority.id, "2024-03") == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(campaign_windows)).scalar() == 0
