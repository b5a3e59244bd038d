"""The state of a letter's distribution, read from the delivery ledger: counts and rows per state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Engine

from cchc.delivery import ledger
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


def distribution_report(
    engine: Engine, letter: LetterKey, *, kinds: Iterable[str] | None = None, batch: str | None = None
) -> dict[str, Any]:
    """The ledger of one letter: counts and rows per state (all kinds unless ``kinds`` says otherwise).

    ``{"letter_id", "authority", "period", "document_number", "counts": {"sent", "failed", "unknown",
    "pending", "sending", "total"}, "sent": [row…], "failed": […], "unknown": […], "pending": […],
    "sending": […], "by_kind": {"normal": {counts}, …}}``; a row is ``Delivery.as_dict()``.
    """
    ref = find_letter(engine, letter)
    rows = ledger.read(engine, ref.letter_id, kinds=kinds, batch=batch)
    report: dict[str, Any] = {
        "letter_id": ref.letter_id,
        "authority": ref.authority_id,
        "period": ref.period,
        "document_number": ref.document_number,
        "counts": {state: 0 for state in DELIVERY_STATES},
        "by_kind": {},
    }
    for state in DELIVERY_STATES:
        report[state] = []
    for row in rows:
        report[row.state].append(row.as_dict())
        report["counts"][row.state] += 1
        per_kind = report["by_kind"].setdefault(row.kind, {state: 0 for state in DELIVERY_STATES})
        per_kind[row.state] += 1
    report["counts"]["total"] = len(rows)
    return report
