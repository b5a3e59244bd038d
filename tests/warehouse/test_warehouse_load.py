"""Loads are transactional, idempotent and versioned; a rerun touches only its own period."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from support.warehouse import dump, make_frame

from cchc.warehouse.errors import LoadRefused
from cchc.warehouse.load import list_loads, load_facts, read_facts, sync_units
from cchc.warehouse.schema import monthly_facts

JAN = {
    "P-A": (10, 9, 8, 8, 4, 1, 5),
    "X-B": (20, 20, 19, 18, 10, 3, 4, True),
    "X-C": (0, 0, 0, 0, 0, 0, 2, False),
}
FEB = {"P-A": (12, 12, 11, 10, 5, 2, 6), "X-B": (25, 24, 22, 22, 8, 8, 1), "X-C": (3, 3, 3, 3, 0, 0, 4)}


@pytest.fixture
def loaded(engine, authority):
    """January and February loaded once each."""
    for period, rows in (("2024-01", JAN), ("2024-02", FEB)):
        sync_units(engine, authority, period)
        load_facts(
            engine, authority.id, period, make_frame(authority.id, period, rows), f"run-{period}", "api"
        )
    return engine


def _period_rows(engine, period):
    snapshot = dump(engine)
    index = [c.name for c in monthly_facts.columns].index("period")
    return [r for r in snapshot["monthly_facts"] if r[index] == period]


def test_first_load(engine, authority):
    sync_units(engine, authority, "2024-01")
    result = load_facts(
        engine, authority.id, "2024-01", make_frame(authority.id, "2024-01", JAN), "run-1", "api"
    )
    assert (result.version, result.rows, result.changed) == (1, 3, True)
    facts = {r["unit_code"]: r for r in read_facts(engine, authority.id, "2024-01")}
    assert facts["X-B"]["received_digitized"] == 20
    assert facts["X-B"]["official_email_regular"] is True
    assert facts["X-C"]["official_email_regular"] is False
    assert facts["P-A"]["official_email_regular"] is None
    assert all(
        r["load_id"] == result.load_id and r["run_id"] == "run-1" and r["source"] == "api"
        for r in facts.values()
    )


def test_same_figures_again_change_nothing(loaded, authority):
    before = dump(loaded)
    # Another run, another source: the figures are what count.
    frame = make_frame(authority.id, "2024-02", FEB, source="excel")
    result = load_facts(loaded, authority.id, "2024-02", frame, "run-again", "excel")
    assert result.changed is False
    assert result.version == 1
    assert result.load_id == list_loads(loaded, authority.id, "2024-02")[0]["load_id"]
    assert dump(loaded) == before


def test_revised_figures_become_version_two_and_version_one_stays(loaded, authority):
    first_load = list_loads(loaded, authority.id, "2024-02")[0]["load_id"]
    revised = dict(FEB, **{"X-B": (25, 25, 22, 22, 8, 8, 1)})
    result = load_facts(
        loaded, authority.id, "2024-02", make_frame(authority.id, "2024-02", revised), "run-2", "api"
    )
    assert (result.version, result.changed) == (2, True)
    assert result.load_id != first_load

    current = {r["unit_code"]: r for r in read_facts(loaded, authority.id, "2024-02")}
    assert current["X-B"]["received_digitized"] == 25 and current["X-B"]["version"] == 2
    old = {r["unit_code"]: r for r in read_facts(loaded, authority.id, "2024-02", version=1)}
    assert old["X-B"]["received_digitized"] == 24
    assert read_facts(loaded, authority.id, "2024-02", load_id=first_load) == list(old.values())
    assert [ld["version"] for ld in list_loads(loaded, authority.id, "2024-02")] == [1, 2]
    with loaded.connect() as conn:
        current_count = conn.execute(
            sa.select(sa.func.count())
            .select_from(monthly_facts)
            .where(monthly_facts.c.period == "2024-02", monthly_facts.c.is_current.is_(True))
        ).scalar_one()
    assert current_count == 3

    # Going back to version 1's figures is a third version, not a silent rewind.
    again = load_facts(
        loaded, authority.id, "2024-02", make_frame(authority.id, "2024-02", FEB), "run-3", "api"
    )
    assert (again.version, again.changed) == (3, True)


def test_rerun_of_one_period_leaves_the_others_untouched(loaded, authority):
    january = _period_rows(loaded, "2024-01")
    revised = {code: (v[0] + 1, *v[1:]) for code, v in FEB.items()}
    load_facts(loaded, authority.id, "2024-02", make_frame(authority.id, "2024-02", revised), "run-2", "api")
    assert _period_rows(loaded, "2024-01") == january
    assert [ld["version"] for ld in list_loads(loaded, authority.id, "2024-01")] == [1]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ((25, 26, 22, 22, 8, 8, 1), ["X-B", "received_digitized", "received"]),
        ((25, 24, 22, 22, 8, -1, 1), ["X-B", "paid_online", "số âm"]),
        ((25, 24, 22, 23, 8, 8, 1), ["X-B", "resolved_digitized", "resolved"]),
    ],
    ids=["numerator-above-denominator", "negative", "result-above-resolved"],
)
def test_constraint_violation_mid_load_rolls_everything_back(loaded, authority, bad, expected):
    """The warehouse's CHECK constraints reject the middle row after the previous version was retired."""
    before = dump(loaded)
    revised = {"P-A": (99, 99, 99, 99, 9, 9, 9), "X-B": bad, "X-C": (3, 3, 3, 3, 0, 0, 4)}
    with pytest.raises(LoadRefused) as info:
        load_facts(
            loaded, authority.id, "2024-02", make_frame(authority.id, "2024-02", revised), "run-x", "api"
        )
    for word in expected:
        assert word in str(info.value)
    assert "giữ nguyên" in str(info.value)
    assert dump(loaded) == before


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("period", "2024-01", "đơn vị X-B, trường 'period': '2024-01' khác kỳ đang nạp 2024-02"),
        ("authority", "other", "đơn vị X-B, trường 'authority': 'other' khác cơ quan đang nạp demo"),
        ("received", pd.NA, "đơn vị X-B, trường 'received': trống"),
        ("unit_code", "P-A", "đơn vị P-A: xuất hiện nhiều lần"),
        ("unit_code", "X-Z", "đơn vị X-Z, trường 'unit_code': không có trong danh mục"),
        ("official_email_regular", "thường xuyên", "trường 'official_email_regular'"),
    ],
    ids=["wrong-period", "wrong-authority", "empty-count", "duplicate-unit", "unknown-unit", "bad-flag"],
)
def test_a_refused_frame_names_unit_and_field_and_writes_nothing(loaded, authority, column, value, fragment):
    before = dump(loaded)
    frame = make_frame(authority.id, "2024-02", {code: (v[0] + 1, *v[1:]) for code, v in FEB.items()})
    frame[column] = frame[column].astype(object)
    frame.loc[frame["unit_code"] == "X-B", column] = value
    with pytest.raises(LoadRefused) as info:
        load_facts(loaded, authority.id, "2024-02", frame, "run-x", "api")
    assert fragment in str(info.value)
    assert info.value.problems
    assert dump(loaded) == before


def test_missing_column_and_empty_frame_are_refused(loaded, authority):
    frame = make_frame(authority.id, "2024-02", FEB).drop(columns=["web_posts"])
    with pytest.raises(LoadRefused, match="thiếu cột web_posts"):
        load_facts(loaded, authority.id, "2024-02", frame, "run-x", "api")
    with pytest.raises(LoadRefused, match="không có dòng nào"):
        load_facts(
            loaded, authority.id, "2024-02", make_frame(authority.id, "2024-02", FEB).iloc[0:0], "r", "api"
        )


def test_a_csv_read_as_text_loads_the_same(loaded, authority, tmp_path):
    """The tidy table read back from its CSV (everything text, empty flags) gives the same figures."""
    path = tmp_path / "extracted.csv"
    make_frame(authority.id, "2024-02", FEB).to_csv(path, index=False)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    result = load_facts(loaded, authority.id, "2024-02", frame, "run-csv", "api")
    assert result.changed is False
