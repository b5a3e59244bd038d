"""The unit registry keeps its history: renamed, removed and added units, idempotent syncs, backfills."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from support.authorities import UNITS, make_authority
from support.warehouse import dump

from cchc.warehouse.load import read_units, sync_units


def _rows(engine, authority_id="demo"):
    return [(r["code"], r["valid_from"], r["valid_to"], r["name"]) for r in read_units(engine, authority_id)]


def test_first_sync_then_idempotent(engine, authority):
    result = sync_units(engine, authority, "2024-01")
    assert result.added == ["P-A", "X-B", "X-C"] and not result.backfill
    before = dump(engine)
    again = sync_units(engine, authority, "2024-01")
    assert not again.touched
    assert dump(engine) == before
    later = sync_units(engine, authority, "2024-05")  # a later month with the same registry
    assert not later.touched
    assert dump(engine) == before
    assert [u["code"] for u in read_units(engine, "demo", "2024-05")] == ["P-A", "X-B", "X-C"]


def test_renamed_and_removed_units(engine):
    sync_units(engine, make_authority(), "2024-01")
    renamed = replace(UNITS[1], name="UBND phường Hà Kỳ", kind="ward", head_title="Chủ tịch UBND phường")
    # July 2025: X-B becomes a ward, X-C is merged away, X-D is new.
    new = make_authority([UNITS[0], renamed, replace(UNITS[2], code="X-D", name="UBND xã Tân Hà")])
    result = sync_units(engine, new, "2025-07")
    assert result.changed == ["X-B"] and result.closed == ["X-C"] and result.added == ["X-D"]

    rows = _rows(engine)
    assert ("X-B", date(2024, 1, 1), date(2025, 6, 30), "UBND xã Hà Kỳ") in rows
    assert ("X-B", date(2025, 7, 1), None, "UBND phường Hà Kỳ") in rows
    assert ("X-C", date(2024, 1, 1), date(2025, 6, 30), "UBND xã Tân Kỳ") in rows
    assert ("X-D", date(2025, 7, 1), None, "UBND xã Tân Hà") in rows

    june = {u["code"]: u["name"] for u in read_units(engine, "demo", "2025-06")}
    july = {u["code"]: u["name"] for u in read_units(engine, "demo", "2025-07")}
    assert june == {"P-A": UNITS[0].name, "X-B": "UBND xã Hà Kỳ", "X-C": "UBND xã Tân Kỳ"}
    assert july == {"P-A": UNITS[0].name, "X-B": "UBND phường Hà Kỳ", "X-D": "UBND xã Tân Hà"}

    before = dump(engine)
    assert not sync_units(engine, new, "2025-07").touched
    assert dump(engine) == before


def test_correction_within_the_same_period_is_not_history(engine):
    sync_units(engine, make_authority(), "2024-01")
    typo = make_authority([UNITS[0], replace(UNITS[1], name="UBND xã Hà Kì"), UNITS[2]])
    sync_units(engine, typo, "2024-03")
    fixed = make_authority([UNITS[0], UNITS[1], UNITS[2]])
    result = sync_units(engine, fixed, "2024-03")  # same period, corrected file
    assert result.changed == ["X-B"]
    assert [r for r in _rows(engine) if r[0] == "X-B"] == [
        ("X-B", date(2024, 1, 1), date(2024, 2, 29), "UBND xã Hà Kỳ"),
        ("X-B", date(2024, 3, 1), None, "UBND xã Hà Kỳ"),
    ]
    # A unit added by mistake and removed again in the same period leaves no trace.
    extra = make_authority([*UNITS, replace(UNITS[2], code="X-E", name="UBND xã Nhầm")])
    sync_units(engine, extra, "2024-04")
    assert sync_units(engine, make_authority(), "2024-04").closed == ["X-E"]
    assert "X-E" not in {r[0] for r in _rows(engine)}


def test_email_and_order_are_updated_in_place(engine):
    sync_units(engine, make_authority(), "2024-01")
    moved = make_authority([replace(UNITS[2], email="moi@example.vn"), UNITS[0], UNITS[1]])
    result = sync_units(engine, moved, "2024-02")
    assert not result.touched
    units = read_units(engine, "demo", "2024-02")
    assert [u["code"] for u in units] == ["X-C", "P-A", "X-B"]
    assert units[0]["email"] == "moi@example.vn" and units[0]["valid_from"] == date(2024, 1, 1)


def test_backfill_extends_back_and_keeps_later_history(engine):
    sync_units(engine, make_authority(), "2024-08")
    result = sync_units(engine, make_authority(), "2024-01")  # loading history after the fact
    assert result.backfill and result.extended == ["P-A", "X-B", "X-C"]
    assert {u["code"] for u in read_units(engine, "demo", "2024-01")} == {"P-A", "X-B", "X-C"}

    renamed = make_authority([UNITS[0], replace(UNITS[1], name="UBND phường Hà Kỳ"), UNITS[2]])
    sync_units(engine, renamed, "2024-09")
    before = dump(engine)
    # Re-running March with today's registry must not rename X-B in March, nor close anything.
    again = sync_units(
        engine, make_authority([UNITS[0], replace(UNITS[1], name="UBND phường Hà Kỳ")]), "2024-03"
    )
    assert again.backfill and again.kept == ["X-B"] and not again.touched
    assert dump(engine) == before
