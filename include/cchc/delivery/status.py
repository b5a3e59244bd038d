"""The state of a letter's distribution, read from the delivery ledger: counts and rows per state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Engine

from cchc.delivery import ledger
from cchc.letter.lifecycle import move, state_of
from cchc.letter.records import LetterKey, find_letter
from cchc.warehouse.schema import DELIVERY_STATES

STATE_LABELS = {
    "sent": "đã gửi",
    "failed": "lỗi",
    "unknown": "không rõ",
    "pending": "chờ gửi",
    "sending": "đang gửi",
}
KIND_LABELS = {"normal": "gửi chính thức", "resend": "gửi lại", "test": "thử nghiệm"}


# The states a report counts; ``replaced`` rows (an address corrected since) are listed, not counted.
COUNTED_STATES = tuple(state for state in DELIVERY_STATES if state != "replaced")
REAL_KINDS = ("normal", "resend")


def distribution_report(
    engine: Engine, letter: LetterKey, *, kinds: Iterable[str] | None = REAL_KINDS, batch: str | None = None
) -> dict[str, Any]:
    """The ledger of one letter: counts and rows per state, of its real deliveries by default (not the
    dry runs: ``kinds=None`` for every kind).

    ``{"letter_id", "authority", "period", "document_number", "counts": {"sent", "failed", "unknown",
    "pending", "sending", "total"}, "sent": [row…], "failed": […], "unknown": […], "pending": […],
    "sending": […], "replaced": […], "by_kind": {"normal": {counts}, …}}``; a row is ``Delivery.as_dict()``.
    """
    ref = find_letter(engine, letter)
    rows = ledger.read(engine, ref.letter_id, kinds=kinds, batch=batch)
    report: dict[str, Any] = {
        "letter_id": ref.letter_id,
        "authority": ref.authority_id,
        "period": ref.period,
        "document_number": ref.document_number,
        "counts": dict.fromkeys(COUNTED_STATES, 0),
        "by_kind": {},
        "replaced": [],
    }
    for state in COUNTED_STATES:
        report[state] = []
    counted = 0
    for row in rows:
        report[row.state].append(row.as_dict())
        if row.state == "replaced":
            continue
        counted += 1
        report["counts"][row.state] += 1
        per_kind = report["by_kind"].setdefault(row.kind, dict.fromkeys(COUNTED_STATES, 0))
        per_kind[row.state] += 1
    report["counts"]["total"] = counted
    return report


def _served(rows: list[ledger.Delivery]) -> tuple[set[str], set[str]]:
    """Recipients of the letter's real deliveries (not dry runs, not replaced rows): all, and served."""
    real = [r for r in rows if r.kind != "test" and r.state != "replaced"]
    everyone = {r.recipient for r in real if r.kind == "normal"}
    served = {r.recipient for r in real if r.state == "sent"}
    return everyone, served


def mark_sending(engine: Engine, letter_id: int) -> None:
    """The letter's real distribution starts (or starts again for recipients not yet served)."""
    state = state_of(engine, letter_id)
    if state in ("issued", "sent", "partly_sent"):
        move(engine, letter_id, "sending")


def sync_letter_state(engine: Engine, letter_id: int) -> str:
    """After a distribution: ``sent`` when every recipient of the letter has it, else ``partly_sent``."""
    state = state_of(engine, letter_id)
    if state != "sending":
        return state
    everyone, served = _served(ledger.read(engine, letter_id))
    done = "sent" if everyone <= served else "partly_sent"
    move(engine, letter_id, done, details={"recipients": len(everyone), "served": len(everyone & served)})
    return done
