"""Escalation counts only letters that went out (issue 10), on both backends: a draft's or a rejected
letter's criticism does not make next month's "lần thứ hai"; an issued one does; a period whose letter
went out is frozen, and a recount that would change it is reported as a conflict, never written."""

from __future__ import annotations

import sqlalchemy as sa
from support.authorities import FOUR_UNITS, make_authority
from support.decisions import LOW_PAYMENT, PLAIN, counts_by_unit, issue_period, runs
from support.warehouse import load_period

from cchc.letter.lifecycle import is_numbered
from cchc.rules.service import decide_period, recount_after_issue
from cchc.rules.store import read_stored
from cchc.warehouse.schema import letters

AUTHORITY_ID = "demo"
NOT_WENT_OUT = ("draft", "approved", "rejected", "discarded")
WENT_OUT = ("issued", "sending", "sent", "partly_sent")


def rows(**overrides):
    """Every unit plain (no section) unless overridden."""
    out = {"P-A": PLAIN, "V-T": PLAIN, "X-B": PLAIN, "X-C": PLAIN}
    out.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return out


def set_status(engine, letter_id: int, status: str) -> None:
    """The letter in ``status`` (with its number only while the state has one), as its life would leave it."""
    with engine.begin() as conn:
        number = conn.execute(
            sa.select(letters.c.document_number).where(letters.c.letter_id == letter_id)
        ).scalar()
        conn.execute(
            letters.update()
            .where(letters.c.letter_id == letter_id)
            .values(status=status, document_number=(number or 99) if is_numbered(status) else None)
        )


def criticised_months(engine, tmp_path, *periods: str):
    """X-B's payment too low in every one of ``periods``: criticised each month."""
    authority = make_authority(FOUR_UNITS, folder=tmp_path / AUTHORITY_ID)
    for period in periods:
        load_period(engine, authority, period, rows(X_B=LOW_PAYMENT))
    return authority


def decide(engine, authority, period, tmp_path):
    return decide_period(engine, authority, period, output_dir=tmp_path / "out")


def test_a_criticism_in_a_letter_that_did_not_go_out_does_not_count(engine, tmp_path):
    authority = criticised_months(engine, tmp_path, "2023-07", "2023-08")
    assert counts_by_unit(decide(engine, authority, "2023-07", tmp_path)) == {"X-B": 1}
    july = issue_period(engine, AUTHORITY_ID, "2023-07", status="rejected")
    seen = {}
    for status in NOT_WENT_OUT:
        set_status(engine, july, status)
        seen[status] = counts_by_unit(decide(engine, authority, "2023-08", tmp_path))
    assert seen == dict.fromkeys(NOT_WENT_OUT, {"X-B": 1})


def test_a_criticism_in_a_letter_that_went_out_counts(engine, tmp_path):
    authority = criticised_months(engine, tmp_path, "2023-07", "2023-08")
    decide(engine, authority, "2023-07", tmp_path)
    july = issue_period(engine, AUTHORITY_ID, "2023-07")
    seen = {}
    for status in WENT_OUT:
        set_status(engine, july, status)
        result = decide(engine, authority, "2023-08", tmp_path)
        seen[status] = counts_by_unit(result)
    assert seen == dict.fromkeys(WENT_OUT, {"X-B": 2})
    [section] = [s for s in result.document["sections"] if s["kind"] == "criticise"]
    assert section["ordinal"] == "lần thứ hai"


def test_issuing_a_letter_recounts_the_next_months_draft(engine, tmp_path):
    authority = criticised_months(engine, tmp_path, "2023-07", "2023-08")
    decide(engine, authority, "2023-07", tmp_path)
    august = decide(engine, authority, "2023-08", tmp_path)
    assert counts_by_unit(august) == {"X-B": 1}  # July is only decided: nothing went out yet

    issue_period(engine, AUTHORITY_ID, "2023-07")
    done = recount_after_issue(engine, authority, tmp_path / "out")
    assert sorted(done.documents) == ["2023-08"] and done.conflicts == {}
    stored = read_stored(engine, AUTHORITY_ID, "2023-08")
    assert counts_by_unit(stored["decisions"]) == {"X-B": 2} and stored["cause"] == "recount"
    on_disk = (august.path).read_text(encoding="utf-8")
    assert '"lần thứ hai"' in on_disk  # decisions.json rewritten for the letter stage


def test_a_superseded_letter_counts_through_the_letter_that_replaced_it(engine, tmp_path):
    """July's first letter criticised X-B; revised figures and a re-issue criticise nobody."""
    authority = criticised_months(engine, tmp_path, "2023-07", "2023-08")
    decide(engine, authority, "2023-07", tmp_path)
    first = issue_period(engine, AUTHORITY_ID, "2023-07")
    assert counts_by_unit(decide(engine, authority, "2023-08", tmp_path)) == {"X-B": 2}

    load_period(engine, authority, "2023-07", rows())  # the portal revised July: X-B was fine
    assert counts_by_unit(decide(engine, authority, "2023-07", tmp_path)) == {}
    issue_period(engine, AUTHORITY_ID, "2023-07")  # the re-issue, from July's new decisions
    set_status(engine, first, "superseded")
    assert counts_by_unit(decide(engine, authority, "2023-08", tmp_path)) == {"X-B": 1}


def frozen_august(engine, tmp_path):
    """June, July and August decided (X-B criticised each time, each "lần 1": nothing went out), then
    August's letter issued with its "lần 1"."""
    authority = criticised_months(engine, tmp_path, "2023-06", "2023-07", "2023-08")
    for period in ("2023-06", "2023-07", "2023-08"):
        assert counts_by_unit(decide(engine, authority, period, tmp_path)) == {"X-B": 1}, period
    issue_period(engine, AUTHORITY_ID, "2023-08")
    return authority


def test_recounting_an_issued_period_reports_a_conflict_and_writes_nothing(engine, tmp_path):
    authority = frozen_august(engine, tmp_path)
    august_file = tmp_path / "out" / AUTHORITY_ID / "2023-08" / "decisions.json"
    august_bytes = august_file.read_bytes()
    august_runs = runs(engine, AUTHORITY_ID, "2023-08")

    # June's letter goes out late: July (a draft) becomes "lần thứ hai"; August went out saying "lần 1".
    issue_period(engine, AUTHORITY_ID, "2023-06")
    done = recount_after_issue(engine, authority, tmp_path / "out")
    assert sorted(done.documents) == ["2023-07"]
    assert done.conflicts == {"2023-08": {"X-B": [1, 2]}}
    assert done.conflict_lines() == [
        "kỳ 2023-08, đơn vị X-B: công văn đã phát hành ghi phê bình lần 1, tính lại là lần 2"
    ]
    assert counts_by_unit(read_stored(engine, AUTHORITY_ID, "2023-07")["decisions"]) == {"X-B": 2}
    # August: not one run, decision or byte of decisions.json more.
    assert runs(engine, AUTHORITY_ID, "2023-08") == august_runs
    assert counts_by_unit(read_stored(engine, AUTHORITY_ID, "2023-08")["decisions"]) == {"X-B": 1}
    assert august_file.read_bytes() == august_bytes


def test_deciding_another_period_reports_the_frozen_conflict(engine, tmp_path):
    authority = frozen_august(engine, tmp_path)
    issue_period(engine, AUTHORITY_ID, "2023-06")
    august_runs = runs(engine, AUTHORITY_ID, "2023-08")

    result = decide(engine, authority, "2023-07", tmp_path)  # July rerun: its own count is fresh
    assert counts_by_unit(result) == {"X-B": 2}
    assert result.conflicts == [
        "kỳ 2023-08, đơn vị X-B: công văn đã phát hành ghi phê bình lần 1, tính lại là lần 2"
    ]
    assert result.summary()["conflicts"] == result.conflicts and "2023-08" not in result.recounted
    assert runs(engine, AUTHORITY_ID, "2023-08") == august_runs


def test_a_recount_that_agrees_with_the_issued_letter_is_no_conflict(engine, tmp_path):
    authority = criticised_months(engine, tmp_path, "2023-07", "2023-08")
    decide(engine, authority, "2023-07", tmp_path)
    issue_period(engine, AUTHORITY_ID, "2023-07")
    recount_after_issue(engine, authority, tmp_path / "out")
    assert counts_by_unit(decide(engine, authority, "2023-08", tmp_path)) == {"X-B": 2}
    issue_period(engine, AUTHORITY_ID, "2023-08")
    done = recount_after_issue(engine, authority, tmp_path / "out")
    assert done.documents == {} and done.conflicts == {}
