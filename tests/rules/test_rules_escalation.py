"""Escalation and storage on a small authority, on both backends: a fourth criticism, a new year,
vertical agencies, a rulebook version change between two months, history imports, refusals."""

from __future__ import annotations

import pytest
from support.authorities import FOUR_UNITS, make_authority
from support.decisions import (
    GOOD,
    LOW_PAYMENT,
    PLAIN,
    counts_by_unit,
    history_rows,
    issue_period,
    runs,
    stored_rows,
)
from support.warehouse import load_period

from cchc.rules.history import import_history
from cchc.rules.service import DecisionError, decide_period, recount_after_issue
from cchc.rules.store import read_stored
from cchc.warehouse.rates import compute_rates


def rows(**overrides):
    """Every unit plain (no section) unless overridden."""
    out = {"P-A": PLAIN, "V-T": PLAIN, "X-B": PLAIN, "X-C": PLAIN}
    out.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return out


def test_fourth_criticism(engine, tmp_path):
    authority = make_authority(
        FOUR_UNITS,
        folder=tmp_path / "demo",
        history=[("2023-04", "X-B", 1), ("2023-05", "X-B", 1), ("2023-06", "X-B", 1), ("2023-06", "X-C", 0)],
    )
    load_period(engine, authority, "2023-07", rows(X_B=LOW_PAYMENT))
    result = decide_period(engine, authority, "2023-07", output_dir=tmp_path / "out")
    assert counts_by_unit(result) == {"X-B": 4}
    [section] = [s for s in result.document["sections"] if s["kind"] == "criticise"]
    assert (section["count"], section["ordinal"], section["subjects"]) == (4, "lần thứ tư", "UBND xã Hà Kỳ")
    assert history_rows(engine, "demo") == [
        ("2023-04", "X-B", 1),
        ("2023-05", "X-B", 1),
        ("2023-06", "X-B", 1),
        ("2023-06", "X-C", 0),
    ]


def test_a_new_year_resets_the_count(engine, tmp_path):
    authority = make_authority(FOUR_UNITS, folder=tmp_path / "demo")
    periods = ("2023-11", "2023-12", "2024-01", "2024-02")
    for period in periods:
        load_period(engine, authority, period, rows(X_C=LOW_PAYMENT))
    counts = []
    for p in periods:
        counts.append(counts_by_unit(decide_period(engine, authority, p, output_dir=tmp_path / "out")))
        issue_period(engine, "demo", p)  # the month's letter went out: its criticisms count from now on
    assert counts == [{"X-C": 1}, {"X-C": 2}, {"X-C": 1}, {"X-C": 2}]


def test_criticism_reset_never_counts_across_years(engine, tmp_path):
    authority = make_authority(FOUR_UNITS, folder=tmp_path / "demo", rules={"criticism_reset": "never"})
    for period in ("2023-12", "2024-01"):
        load_period(engine, authority, period, rows(X_C=LOW_PAYMENT))
    decide_period(engine, authority, "2024-01", output_dir=tmp_path / "out")
    decide_period(engine, authority, "2023-12", output_dir=tmp_path / "out")  # backfill
    issue_period(engine, "demo", "2023-12")
    recount_after_issue(engine, authority, tmp_path / "out")  # December went out: January recounted
    assert counts_by_unit(read_stored(engine, "demo", "2024-01")["decisions"]) == {"X-C": 2}


def test_vertical_agency_is_requested_never_criticised_nor_counted(engine, tmp_path):
    authority = make_authority(FOUR_UNITS, folder=tmp_path / "demo")
    for period in ("2023-05", "2023-06"):
        load_period(engine, authority, period, rows(V_T=LOW_PAYMENT, X_B=LOW_PAYMENT))
        result = decide_period(engine, authority, period, output_dir=tmp_path / "out")
        issue_period(engine, "demo", period)
    sections = result.document["sections"]
    assert [(s["number"], s["kind"]) for s in sections] == [
        ("1", "criticise"),
        ("2", "request"),
        ("3", "directives"),
    ]
    assert sections[0]["ordinal"] == "lần thứ hai" and [e["unit"] for e in sections[0]["entries"]] == ["X-B"]
    request = sections[1]
    assert (request["subjects"], request["heads"]) == (
        "Chi cục Thuế khu vực Tứ Kỳ",
        "Chi cục trưởng Chi cục Thuế khu vực Tứ Kỳ",
    )
    assert [e["unit"] for e in request["entries"]] == ["V-T"]
    stored = {r["unit_code"]: (r["kind"], r["count"]) for r in stored_rows(engine, "demo", "2023-06")}
    assert stored == {"V-T": ("request", None), "X-B": ("criticise", 2)}


def test_rulebook_version_change_between_two_months(engine, tmp_path):
    """Payment target 30% until July 2023, 60% from 1 August: the same 50% is fine in July, criticised in August."""
    authority = make_authority(
        FOUR_UNITS,
        folder=tmp_path / "demo",
        rules={"versions": [{"valid_from": "2023-08-01", "payment_target": 60}]},
    )
    half = (200, 195, 200, 200, 100, 50, 6)
    for period in ("2023-07", "2023-08"):
        load_period(engine, authority, period, rows(X_B=half))
    july = decide_period(engine, authority, "2023-07", output_dir=tmp_path / "out")
    august = decide_period(engine, authority, "2023-08", output_dir=tmp_path / "out")
    assert july.decisions == []
    assert july.rulebook_version == "default@2023-04-01"
    assert july.document["targets"]["payment_target"] == "30"
    assert counts_by_unit(august) == {"X-B": 1}
    assert august.rulebook_version.startswith("default@2023-04-01+demo@2023-08-01:")
    assert august.document["targets"]["payment_target"] == "60"
    assert {r["rulebook_version"] for r in stored_rows(engine, "demo", "2023-08")} == {
        august.rulebook_version
    }
    # A rerun of July after August still uses the rules in force in July.
    assert decide_period(engine, authority, "2023-07", output_dir=tmp_path / "out").decisions == []
    assert runs(engine, "demo", "2023-07")[-1]["rulebook_version"] == "default@2023-04-01"


def test_commended_units_and_groups_in_the_warehouse(engine, tmp_path):
    authority = make_authority(FOUR_UNITS, folder=tmp_path / "demo")
    load_period(engine, authority, "2023-06", rows(P_A=GOOD, X_C=GOOD))
    result = decide_period(engine, authority, "2023-06", output_dir=tmp_path / "out")
    assert result.document["sections"][0]["groups"] == [
        {"group": "agencies", "units": ["P-A"]},
        {"group": "communes", "units": ["X-C"]},
    ]
    assert [
        (r["unit_code"], r["kind"], r["section"], r["commend_group"]) for r in stored_rows(engine, "demo")
    ] == [("P-A", "commend", "1", "agencies"), ("X-C", "commend", "1", "communes")]


def test_history_import_is_idempotent_and_follows_the_file(engine, tmp_path):
    folder = tmp_path / "demo"
    authority = make_authority(
        FOUR_UNITS, folder=folder, history=[("2023-04", "X-B", 1), ("2023-05", "X-C", 1)]
    )
    first = import_history(engine, authority)
    assert (len(first.added), first.changed, first.removed) == (2, [], [])
    assert not import_history(engine, authority).touched
    make_authority(FOUR_UNITS, folder=folder, history=[("2023-04", "X-B", 2)])
    second = import_history(engine, authority)
    assert (second.added, second.changed, second.removed) == ([], ["2023-04 X-B"], ["2023-05 X-C"])
    assert history_rows(engine, "demo") == [("2023-04", "X-B", 2)]


def test_a_decided_period_overrides_its_history(engine, tmp_path):
    """History says X-B was criticised in May; the system decided May and criticised nobody."""
    authority = make_authority(FOUR_UNITS, folder=tmp_path / "demo", history=[("2023-05", "X-B", 1)])
    load_period(engine, authority, "2023-05", rows(X_B=(200, 195, 200, 200, 10, 6, 6)))  # 60%, few dossiers
    load_period(engine, authority, "2023-06", rows(X_B=LOW_PAYMENT))  # campaign 16/110: criticised
    assert counts_by_unit(decide_period(engine, authority, "2023-06", output_dir=tmp_path / "out")) == {
        "X-B": 2
    }
    result = decide_period(engine, authority, "2023-05", output_dir=tmp_path / "out")
    assert result.decisions == []
    # May's letter goes out (it criticised nobody): it, not the history, is May's source now.
    issue_period(engine, "demo", "2023-05")
    assert sorted(recount_after_issue(engine, authority, tmp_path / "out").documents) == ["2023-06"]
    assert counts_by_unit(read_stored(engine, "demo", "2023-06")["decisions"]) == {"X-B": 1}


def test_duplicate_history_rows_are_refused(engine, tmp_path):
    from cchc.core.errors import ConfigError

    authority = make_authority(
        FOUR_UNITS, folder=tmp_path / "demo", history=[("2023-04", "X-B", 1), ("2023-04", "X-B", 1)]
    )
    with pytest.raises(ConfigError, match="history.csv: trùng dòng cho cùng kỳ và đơn vị: 2023-04 X-B"):
        import_history(engine, authority)


def test_no_rates_yet_is_refused(engine, tmp_path):
    authority = make_authority(FOUR_UNITS, folder=tmp_path / "demo")
    with pytest.raises(DecisionError, match="chưa có tỷ lệ"):
        decide_period(engine, authority, "2023-06", output_dir=tmp_path / "out")
    assert runs(engine, "demo") == []


def test_rates_computed_with_other_campaign_starts_are_refused(engine, tmp_path):
    authority = make_authority(
        FOUR_UNITS, folder=tmp_path / "demo", rules={"campaign_start": {"payment": {2023: "2023-06"}}}
    )
    load_period(engine, authority, "2023-06", rows())
    compute_rates(engine, "demo", "2023-06", {"payment": "2023-04"}, partial=True)
    with pytest.raises(DecisionError, match="payment: tỷ lệ tính từ 2023-04, bộ quy tắc quy định từ 2023-06"):
        decide_period(engine, authority, "2023-06", output_dir=tmp_path / "out")
    assert runs(engine, "demo") == []
