"""The ledger's steps and the report, on SQLite and PostgreSQL; the migration that creates the ledger."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from support.delivery import insert_letter

from cchc.delivery import ledger
from cchc.delivery.status import distribution_report
from cchc.warehouse.migrate import current_revision, downgrade, head_revision, upgrade
from cchc.warehouse.schema import deliveries


def _planned(address: str, kind: str = "normal", batch: str = "") -> ledger.Planned:
    return ledger.Planned(
        recipient=address,
        recipient_name=f"Người nhận {address}",
        unit_codes=("X-HK",),
        roles=("unit",),
        envelope_to=address,
        subject="V/v thử",
        message_id=ledger.message_id(1, address, kind, batch, "demo"),
    )


def _ensure(engine, letter_id, planned, kind="normal", batch=""):
    with engine.begin() as conn:
        swept = ledger.sweep_sending(conn, letter_id)
        rows = ledger.ensure_rows(
            conn,
            letter_id=letter_id,
            authority_id="demo",
            period="2023-08",
            kind=kind,
            batch=batch,
            planned=planned,
        )
    return swept, rows


def test_rows_are_created_once_and_keep_their_state(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, number=3)
    planned = [_planned("a@thu.gov.vn"), _planned("B@thu.gov.vn")]
    _, rows = _ensure(engine, letter_id, planned)
    assert [(r.recipient, r.state, r.attempts) for r in rows] == [
        ("a@thu.gov.vn", "pending", 0),
        ("b@thu.gov.vn", "pending", 0),
    ]
    assert ledger.claim(engine, rows[0].delivery_id, "run-a")
    assert not ledger.claim(
        engine, rows[0].delivery_id, "run-b"
    )  # already taken: a second runner gets nothing
    assert not ledger.record(engine, rows[0].delivery_id, "sent", 250, "2.0.0 Ok", owner="run-b")  # not b's
    assert ledger.record(engine, rows[0].delivery_id, "sent", 250, "2.0.0 Ok", owner="run-a")
    _, again = _ensure(engine, letter_id, planned)
    assert [r.delivery_id for r in again] == [r.delivery_id for r in rows]
    assert again[0].state == "sent" and again[0].attempts == 1 and again[0].smtp_code == 250
    assert again[0].sent_at is not None
    assert again[1].state == "pending"


def test_sending_rows_become_unknown_at_the_start_of_a_run(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, number=3)
    _, rows = _ensure(engine, letter_id, [_planned("a@thu.gov.vn")])
    # ... and the process dies here: its lease runs out.
    assert ledger.claim(engine, rows[0].delivery_id, "crashed-run", lease_seconds=-1)
    swept, again = _ensure(engine, letter_id, [_planned("a@thu.gov.vn")])
    assert [r.recipient for r in swept] == ["a@thu.gov.vn"] and swept[0].state == "unknown"
    assert again[0].state == "unknown"
    assert not ledger.claim(engine, rows[0].delivery_id, "next-run")  # unknown is never claimed
    assert ledger.settle_unknown(engine, letter_id, ["A@thu.gov.vn"], "sent") == 1
    assert ledger.read(engine, letter_id)[0].state == "sent"


def test_a_row_under_a_live_lease_is_not_swept(engine, tmp_path):
    """Another run is sending it right now: its row must not become "unknown" under it."""
    letter_id = insert_letter(engine, tmp_path, number=3)
    _, rows = _ensure(engine, letter_id, [_planned("a@thu.gov.vn")])
    assert ledger.claim(engine, rows[0].delivery_id, "live-run")
    swept, again = _ensure(engine, letter_id, [_planned("a@thu.gov.vn")])
    assert swept == [] and again[0].state == "sending" and again[0].lease_owner == "live-run"
    assert ledger.record(engine, rows[0].delivery_id, "sent", 250, "Ok", owner="live-run")
    assert ledger.read(engine, letter_id)[0].state == "sent"


def test_kinds_and_batches_are_separate_rows(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, number=3)
    _ensure(engine, letter_id, [_planned("a@thu.gov.vn")])
    _ensure(engine, letter_id, [_planned("a@thu.gov.vn", "resend", "r1")], kind="resend", batch="r1")
    _ensure(engine, letter_id, [_planned("a@thu.gov.vn", "resend", "r2")], kind="resend", batch="r2")
    _ensure(engine, letter_id, [_planned("a@thu.gov.vn", "test", "t1")], kind="test", batch="t1")
    rows = ledger.read(engine, letter_id)
    assert [(r.kind, r.batch) for r in rows] == [
        ("normal", ""),
        ("resend", "r1"),
        ("resend", "r2"),
        ("test", "t1"),
    ]
    assert len({r.message_id for r in rows}) == 4


def test_report_counts_and_lists_every_state(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, number=3)
    addresses = ["a@thu.gov.vn", "b@thu.gov.vn", "c@thu.gov.vn", "d@thu.gov.vn"]
    _, rows = _ensure(engine, letter_id, [_planned(a) for a in addresses])
    for row, (state, code, answer) in zip(
        rows,
        [("sent", 250, "Ok"), ("failed", 550, "5.1.1 no such user"), ("unknown", None, "mất kết nối")],
        strict=False,
    ):
        ledger.claim(engine, row.delivery_id, "run")
        ledger.record(engine, row.delivery_id, state, code, answer, owner="run")
    report = distribution_report(engine, ("demo", "2023-08"))
    assert report["counts"] == {"pending": 1, "sending": 0, "sent": 1, "failed": 1, "unknown": 1, "total": 4}
    assert report["document_number"] == 3 and report["letter_id"] == letter_id
    assert report["failed"][0]["recipient"] == "b@thu.gov.vn" and report["failed"][0]["smtp_code"] == 550
    assert report["unknown"][0]["smtp_answer"] == "mất kết nối"
    assert [r["recipient"] for r in report["pending"]] == ["d@thu.gov.vn"]
    assert report["by_kind"]["normal"]["sent"] == 1
    import json

    json.dumps(report)  # small and JSON-safe: fit for an XCom


def test_the_migration_matches_the_table_and_goes_down_and_up(engine):
    with engine.connect() as conn:
        diffs = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), deliveries.metadata
        )
    mine = [d for d in diffs if "deliveries" in repr(d)]
    assert mine == []
    assert current_revision(engine) == head_revision()
    downgrade(engine, "0003")
    assert "deliveries" not in sa.inspect(engine).get_table_names()
    upgrade(engine)
    assert "deliveries" in sa.inspect(engine).get_table_names()


def _states(engine, letter_id) -> dict[str, str]:
    return {r.recipient: r.state for r in ledger.read(engine, letter_id)}


def test_an_outcome_is_committed_with_the_next_claim_one_commit_a_message(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, number=4)
    _, rows = _ensure(engine, letter_id, [_planned(f"x{i}@thu.gov.vn") for i in range(3)])
    lost: list[tuple[int, str]] = []
    writer = ledger.LeaseWriter(engine, "run-a", on_lost=lambda *a: lost.append(a))
    assert writer.claim(rows[0].delivery_id)
    writer.record(rows[0].delivery_id, "sent", 250, "Ok")
    # Until the next claim commits it, a crash leaves the first row in sending: reported unknown.
    assert _states(engine, letter_id)["x0@thu.gov.vn"] == "sending"
    assert writer.claim(rows[1].delivery_id)
    assert _states(engine, letter_id) == {
        "x0@thu.gov.vn": "sent",
        "x1@thu.gov.vn": "sending",
        "x2@thu.gov.vn": "pending",
    }
    writer.record(rows[1].delivery_id, "failed", 550, "No such user")
    assert writer.claim(rows[2].delivery_id)
    writer.record(rows[2].delivery_id, "sent", 250, "Ok")
    writer.close()  # the last outcome
    assert _states(engine, letter_id) == {
        "x0@thu.gov.vn": "sent",
        "x1@thu.gov.vn": "failed",
        "x2@thu.gov.vn": "sent",
    }
    assert writer.commits == 4 and lost == []  # three messages, one commit each and the last outcome
    sent = {r.recipient: r for r in ledger.read(engine, letter_id)}
    assert sent["x0@thu.gov.vn"].sent_at is not None and sent["x1@thu.gov.vn"].sent_at is None
    assert sent["x1@thu.gov.vn"].smtp_code == 550 and sent["x1@thu.gov.vn"].lease_owner is None


def test_an_outcome_for_a_row_that_is_not_ours_any_more_is_reported_not_written(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, number=5)
    _, rows = _ensure(engine, letter_id, [_planned("y@thu.gov.vn")])
    lost: list[tuple[int, str]] = []
    with ledger.LeaseWriter(
        engine, "slow-run", lease_seconds=-1, on_lost=lambda *a: lost.append(a)
    ) as writer:
        assert writer.claim(rows[0].delivery_id)
        with engine.begin() as conn:  # the next run finds the lease expired and sweeps it
            assert [r.recipient for r in ledger.sweep_sending(conn, letter_id)] == ["y@thu.gov.vn"]
        writer.record(rows[0].delivery_id, "sent", 250, "Ok")
    assert lost == [(rows[0].delivery_id, "sent")]
    assert _states(engine, letter_id) == {"y@thu.gov.vn": "unknown"}


def test_a_failed_commit_keeps_the_outcome_for_the_next(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, number=6)
    _, rows = _ensure(engine, letter_id, [_planned("z0@thu.gov.vn"), _planned("z1@thu.gov.vn")])
    writer = ledger.LeaseWriter(engine, "run-a")
    assert writer.claim(rows[0].delivery_id)
    writer.record(rows[0].delivery_id, "sent", 250, "Ok")
    # The warehouse connection breaks under the next claim (its driver connection closed).
    writer._connection().connection.dbapi_connection.close()
    try:
        writer.claim(rows[1].delivery_id)
    except sa.exc.DBAPIError:
        pass
    else:  # pragma: no cover - the assertion below says what went wrong
        raise AssertionError("the claim on a closed connection went through")
    assert _states(engine, letter_id)["z0@thu.gov.vn"] == "sending"
    writer.close()  # a fresh connection: the outcome is written after all
    assert _states(engine, letter_id) == {"z0@thu.gov.vn": "sent", "z1@thu.gov.vn": "pending"}
