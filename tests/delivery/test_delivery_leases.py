"""Leases on the delivery ledger (issue 10), on SQLite and PostgreSQL: a row being sent belongs to the run
that claimed it until its lease runs out; a corrected address replaces the unit's old row; the
operator settles an "unknown" row with ``cchc distribute --settle``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from support.authorities import authority_document, write_config
from support.delivery import AUTHORITY_ID, PERIOD, UNITS, delivery_authority, distribution, insert_letter

from cchc.cli import main
from cchc.core.periods import TIMEZONE
from cchc.delivery import ledger
from cchc.delivery.distribute import Request, SendPolicy, distribute
from cchc.delivery.status import distribution_report
from cchc.letter.lifecycle import events, state_of

SHA = "ab" * 32


def planned(address: str, *units: str, roles: tuple[str, ...] = ("unit",)) -> ledger.Planned:
    return ledger.Planned(
        recipient=address,
        recipient_name=f"Người nhận {address}",
        unit_codes=units,
        roles=roles,
        envelope_to=address,
        subject="V/v thử",
        message_id=ledger.message_id(1, address, "normal", "", AUTHORITY_ID),
    )


def prepare(engine, letter_id: int, plan: list[ledger.Planned]) -> tuple[list, list, list]:
    """What a run does before sending, in one transaction: sweep, replace, create the rows."""
    with engine.begin() as conn:
        swept = ledger.sweep_sending(conn, letter_id)
        replaced = ledger.replace_corrected(conn, letter_id, plan)
        rows = ledger.ensure_rows(
            conn,
            letter_id=letter_id,
            authority_id=AUTHORITY_ID,
            period=PERIOD,
            kind="normal",
            batch="",
            planned=plan,
        )
    return swept, replaced, rows


def row(engine, letter_id: int, address: str) -> ledger.Delivery:
    (found,) = [r for r in ledger.read(engine, letter_id) if r.recipient == address]
    return found


def aware(stamp: datetime) -> datetime:
    # SQLite hands back naive datetimes (the ledger writes them in UTC); PostgreSQL aware ones.
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


@pytest.fixture
def letter_id(engine, tmp_path) -> int:
    return insert_letter(engine, tmp_path, number=3)


# --------------------------------------------------------------------------- leases


def test_a_row_under_a_live_lease_belongs_to_its_owner(engine, letter_id):
    (mine,) = prepare(engine, letter_id, [planned("a@thu.gov.vn", "X-HK")])[2]
    before = datetime.now(UTC)
    assert ledger.claim(engine, mine.delivery_id, "run-a", lease_seconds=600, pdf_sha256=SHA)
    held = row(engine, letter_id, "a@thu.gov.vn")
    assert (held.state, held.lease_owner, held.attempts, held.pdf_sha256) == ("sending", "run-a", 1, SHA)
    assert (
        before + timedelta(seconds=590)
        < aware(held.lease_expires_at)
        <= datetime.now(UTC) + timedelta(seconds=600)
    )

    assert not ledger.claim(engine, mine.delivery_id, "run-b")  # B gets nothing while A holds it
    # A second run starting now sweeps nothing: A is still sending.
    swept, _, rows = prepare(engine, letter_id, [planned("a@thu.gov.vn", "X-HK")])
    assert swept == [] and rows[0].state == "sending"
    assert not ledger.record(engine, mine.delivery_id, "failed", 550, "B nói thế", owner="run-b")
    assert row(engine, letter_id, "a@thu.gov.vn") == held  # B's word changed nothing at all

    assert ledger.record(engine, mine.delivery_id, "sent", 250, "2.0.0 Ok", owner="run-a")
    done = row(engine, letter_id, "a@thu.gov.vn")
    assert (done.state, done.smtp_code, done.lease_owner, done.lease_expires_at) == ("sent", 250, None, None)
    assert done.sent_at is not None and done.pdf_sha256 == SHA
    assert not ledger.record(engine, mine.delivery_id, "failed", 421, "late", owner="run-a")  # once only
    assert row(engine, letter_id, "a@thu.gov.vn").state == "sent"


def test_an_expired_lease_is_swept_and_the_row_can_be_taken_again(engine, letter_id):
    (mine,) = prepare(engine, letter_id, [planned("a@thu.gov.vn", "X-HK")])[2]
    assert ledger.claim(engine, mine.delivery_id, "run-a", lease_seconds=60)
    with engine.begin() as conn:  # still live now
        assert ledger.sweep_sending(conn, letter_id, at=datetime.now(UTC)) == []
    # Two minutes later run A has not answered: its lease ran out (an explicit ``at``, no sleeping).
    with engine.begin() as conn:
        swept = ledger.sweep_sending(conn, letter_id, at=datetime.now(UTC) + timedelta(seconds=120))
    assert [(r.recipient, r.state, r.smtp_answer) for r in swept] == [
        ("a@thu.gov.vn", "unknown", ledger.STUCK_NOTE)
    ]
    stuck = row(engine, letter_id, "a@thu.gov.vn")
    assert (stuck.state, stuck.lease_owner, stuck.lease_expires_at) == ("unknown", None, None)

    # Unknown is the operator's: nobody claims it, and A's late answer is not recorded either.
    assert not ledger.claim(engine, mine.delivery_id, "run-b")
    assert not ledger.record(engine, mine.delivery_id, "sent", 250, "Ok", owner="run-a")
    assert row(engine, letter_id, "a@thu.gov.vn") == stuck

    assert ledger.settle_unknown(engine, letter_id, ["A@THU.GOV.VN"], "pending") == 1
    assert ledger.claim(engine, mine.delivery_id, "run-b")
    taken = row(engine, letter_id, "a@thu.gov.vn")
    assert (taken.state, taken.lease_owner, taken.attempts) == ("sending", "run-b", 2)
    assert not ledger.record(engine, mine.delivery_id, "sent", 250, "Ok", owner="run-a")  # not A's any more
    assert ledger.record(engine, mine.delivery_id, "sent", 250, "Ok", owner="run-b")
    assert row(engine, letter_id, "a@thu.gov.vn").state == "sent"


def test_a_lease_already_over_is_swept_by_the_next_run(engine, letter_id):
    (mine,) = prepare(engine, letter_id, [planned("a@thu.gov.vn", "X-HK")])[2]
    assert ledger.claim(engine, mine.delivery_id, "crashed", lease_seconds=0)
    swept, _, rows = prepare(engine, letter_id, [planned("a@thu.gov.vn", "X-HK")])
    assert [r.recipient for r in swept] == ["a@thu.gov.vn"] and rows[0].state == "unknown"


def test_a_retry_waits_in_pending_without_a_lease(engine, letter_id):
    """A temporary failure gives the row back (pending, no owner): a crash while waiting is no mystery."""
    (mine,) = prepare(engine, letter_id, [planned("a@thu.gov.vn", "X-HK")])[2]
    assert ledger.claim(engine, mine.delivery_id, "run-a", pdf_sha256=SHA)
    assert ledger.record(engine, mine.delivery_id, "pending", 451, "busy", owner="run-a")
    waiting = row(engine, letter_id, "a@thu.gov.vn")
    assert (waiting.state, waiting.lease_owner, waiting.lease_expires_at) == ("pending", None, None)
    swept, _, _ = prepare(engine, letter_id, [planned("a@thu.gov.vn", "X-HK")])
    assert swept == []
    assert ledger.claim(engine, mine.delivery_id, "run-b")  # the next attempt may be anyone's
    assert row(engine, letter_id, "a@thu.gov.vn").pdf_sha256 == SHA  # kept when the claim names no PDF


def test_a_sweep_with_a_local_time_keeps_a_live_lease(engine, letter_id):
    # SQLite compares the stored text: an Asia/Ho_Chi_Minh time must be compared as the same instant.
    (mine,) = prepare(engine, letter_id, [planned("a@thu.gov.vn", "X-HK")])[2]
    assert ledger.claim(engine, mine.delivery_id, "run-a", lease_seconds=600)
    with engine.begin() as conn:
        assert ledger.sweep_sending(conn, letter_id, at=datetime.now(TIMEZONE)) == []


# --------------------------------------------------------------------------- corrected addresses


def test_a_corrected_address_replaces_the_units_old_row_and_is_not_counted(engine, letter_id):
    first = [
        planned("haky@thu.gov.vn", "X-HK"),
        planned("hungdao@thu.gov.vn", "X-HD"),
        planned("btv@thu.gov.vn", roles=("copy",)),
    ]
    _, replaced, rows = prepare(engine, letter_id, first)
    assert replaced == []
    for r in rows:
        assert ledger.claim(engine, r.delivery_id, "run")
        assert ledger.record(
            engine, r.delivery_id, "failed" if "haky" in r.recipient else "sent", 250, "", "run"
        )

    # Hà Kỳ's mailbox bounced; units.csv now has its new address. The copy's list dropped btv@ too.
    second = [planned("haky.moi@thu.gov.vn", "X-HK"), planned("hungdao@thu.gov.vn", "X-HD")]
    _, replaced, rows = prepare(engine, letter_id, second)
    assert [(r.recipient, r.state) for r in replaced] == [("haky@thu.gov.vn", "replaced")]
    assert [(r.recipient, r.state) for r in rows] == [
        ("haky.moi@thu.gov.vn", "pending"),
        ("hungdao@thu.gov.vn", "sent"),
    ]
    assert row(engine, letter_id, "haky@thu.gov.vn").state == "replaced"
    assert row(engine, letter_id, "btv@thu.gov.vn").state == "sent"  # not a unit's row: never replaced

    report = distribution_report(engine, letter_id)
    assert report["counts"] == {"pending": 1, "sending": 0, "sent": 2, "failed": 0, "unknown": 0, "total": 3}
    assert [r["recipient"] for r in report["replaced"]] == ["haky@thu.gov.vn"]
    assert report["failed"] == [] and report["by_kind"]["normal"]["failed"] == 0

    assert prepare(engine, letter_id, second)[1] == []  # nothing more to replace on a rerun


def test_a_row_being_sent_is_not_replaced_under_its_run(engine, letter_id):
    (old,) = prepare(engine, letter_id, [planned("haky@thu.gov.vn", "X-HK")])[2]
    assert ledger.claim(engine, old.delivery_id, "live-run")
    _, replaced, _ = prepare(engine, letter_id, [planned("haky.moi@thu.gov.vn", "X-HK")])
    assert replaced == [] and row(engine, letter_id, "haky@thu.gov.vn").state == "sending"
    assert ledger.record(engine, old.delivery_id, "sent", 250, "Ok", owner="live-run")


def test_a_shared_mailbox_stays_while_one_of_its_units_keeps_it(engine, letter_id):
    prepare(engine, letter_id, [planned("chung@thu.gov.vn", "X-HK", "X-HD")])
    _, replaced, _ = prepare(
        engine, letter_id, [planned("haky.moi@thu.gov.vn", "X-HK"), planned("chung@thu.gov.vn", "X-HD")]
    )
    assert replaced == []


def test_an_address_corrected_back_gets_the_letter(sqlite_engine, smtp_server, letter, sleeps):
    """Hà Kỳ's old address bounced, the new one was wrong too, the old one works again."""
    handler = smtp_server.handler

    def run_with(address: str):
        units = [replace(u, email=address) if u.code == "X-HK" else u for u in UNITS]
        return distribute(
            sqlite_engine,
            delivery_authority(units),
            PERIOD,
            smtp_server.settings(),
            Request(),
            output_dir=letter.output_dir,
            policy=SendPolicy(sleep=sleeps),
        )

    handler.reject["haky@thu.gov.vn"] = "550 5.1.1 rejected"
    handler.reject["haky.moi@thu.gov.vn"] = "550 5.1.1 rejected"
    assert [f["recipient"] for f in run_with("haky@thu.gov.vn").failed] == ["haky@thu.gov.vn"]
    assert [f["recipient"] for f in run_with("haky.moi@thu.gov.vn").failed] == ["haky.moi@thu.gov.vn"]
    handler.reject.clear()
    third = run_with("haky@thu.gov.vn")
    assert third.in_progress == []
    assert third.sent == ["haky@thu.gov.vn"] and len(handler.to("haky@thu.gov.vn")) == 1


# --------------------------------------------------------------------------- cchc distribute --settle


@pytest.fixture
def settle_setup(sqlite_engine, tmp_path):
    """An issued letter of demo/2023-08 whose two unit messages ended "unknown" (a run died mid-send)."""
    config = tmp_path / "config"
    write_config(
        config / AUTHORITY_ID,
        authority_document(AUTHORITY_ID, "huyện Thử", "HD-DEMO", distribution=distribution()),
        UNITS,
    )
    letter_id = insert_letter(sqlite_engine, tmp_path, number=3)
    plan = [planned("haky@thu.gov.vn", "X-HK"), planned("hungdao@thu.gov.vn", "X-HD")]
    for r in prepare(sqlite_engine, letter_id, plan)[2]:
        assert ledger.claim(sqlite_engine, r.delivery_id, "crashed", lease_seconds=-1)
    assert [r.state for r in prepare(sqlite_engine, letter_id, plan)[2]] == ["unknown", "unknown"]
    url = sqlite_engine.url.render_as_string(hide_password=False)

    def settle(*args: str) -> int:
        return main(
            [
                "distribute",
                "--config-dir",
                str(config),
                "--authority",
                AUTHORITY_ID,
                "--period",
                PERIOD,
                "--url",
                url,
                "--output-dir",
                str(tmp_path),
                *args,
            ]
        )

    return letter_id, settle


def test_settle_sent_records_the_operators_verdict_and_the_letters_state(sqlite_engine, settle_setup, capsys):
    letter_id, settle = settle_setup
    assert settle("--settle", "HaKy@thu.gov.vn", "--outcome", "sent") == 0
    out = capsys.readouterr().out
    assert f"Đã ghi nhận 1 thư 'không rõ' là đã gửi (công văn bản ghi {letter_id})" in out
    settled = row(sqlite_engine, letter_id, "haky@thu.gov.vn")
    assert settled.state == "sent" and settled.sent_at is not None
    assert row(sqlite_engine, letter_id, "hungdao@thu.gov.vn").state == "unknown"  # only the one named
    # The letter's distribution began, and one unit still lacks it.
    assert state_of(sqlite_engine, letter_id) == "partly_sent"
    assert [(e["previous_state"], e["state"]) for e in events(sqlite_engine, letter_id)] == [
        ("issued", "sending"),
        ("sending", "partly_sent"),
    ]

    assert settle("--settle", "hungdao@thu.gov.vn", "--outcome", "sent") == 0
    assert state_of(sqlite_engine, letter_id) == "sent"
    assert distribution_report(sqlite_engine, letter_id)["counts"]["sent"] == 2


def test_settle_pending_gives_the_row_back_to_the_next_run(sqlite_engine, settle_setup, capsys):
    letter_id, settle = settle_setup
    assert settle("--settle", "hungdao@thu.gov.vn", "--outcome", "pending") == 0
    assert "là chờ gửi lại" in capsys.readouterr().out
    assert row(sqlite_engine, letter_id, "hungdao@thu.gov.vn").state == "pending"
    assert state_of(sqlite_engine, letter_id) == "issued" and events(sqlite_engine, letter_id) == []


def test_settle_names_what_it_could_not_settle(sqlite_engine, settle_setup, capsys):
    letter_id, settle = settle_setup
    # One is unknown, one was never in the ledger: the operator learns that not all were settled.
    assert settle("--settle", "haky@thu.gov.vn,khong-co@thu.gov.vn", "--outcome", "pending") == 1
    assert "Đã ghi nhận 1 thư" in capsys.readouterr().out
    assert settle("--settle", "haky@thu.gov.vn", "--outcome", "sent") == 1  # pending now, not unknown
    assert row(sqlite_engine, letter_id, "haky@thu.gov.vn").state == "pending"


def test_settle_without_an_outcome_is_refused(sqlite_engine, settle_setup, capsys):
    letter_id, settle = settle_setup
    assert settle("--settle", "haky@thu.gov.vn") == 2
    assert "--settle cần --outcome" in capsys.readouterr().err
    assert {r.state for r in ledger.read(sqlite_engine, letter_id)} == {"unknown"}
    with pytest.raises(SystemExit):  # argparse: only the two verdicts exist
        settle("--settle", "haky@thu.gov.vn", "--outcome", "failed")
