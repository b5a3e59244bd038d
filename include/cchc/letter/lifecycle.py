"""A letter's life in the warehouse: its state, the steps that move it, and who took each step.

    draft ──approve──▶ approved ──issue──▶ issued ──send──▶ sending ──▶ sent | partly_sent
      │  └─reject──▶ rejected                │                    ▲           │
      │                                      │                    └── resend ─┘
      ├──issue (no approval required)────────┘
      └──a newer draft of the period──▶ discarded
    issued | sending | sent | partly_sent ──re-issue issued──▶ superseded

Every step is one row of ``letter_events`` (state, previous state, actor, reason, run, details), in
the same transaction as the change of ``letters.status``; a step the diagram does not allow is
refused, naming the letter and both states. An issued letter's files and content never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from cchc.core.db import Bind, begin, connect
from cchc.letter.errors import LetterError
from cchc.warehouse.schema import NUMBERED_STATES, letter_events, letters

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"approved", "rejected", "issued", "discarded"}),
    "approved": frozenset({"issued", "discarded", "rejected"}),
    "rejected": frozenset(),
    "discarded": frozenset(),
    "issued": frozenset({"sending", "superseded"}),
    "sending": frozenset({"sent", "partly_sent", "superseded"}),
    "partly_sent": frozenset({"sending", "sent", "superseded"}),
    "sent": frozenset({"sending", "superseded"}),
    "superseded": frozenset(),
}
STATE_LABELS = {
    "draft": "bản thảo",
    "approved": "đã duyệt",
    "rejected": "bị từ chối",
    "discarded": "đã thay bằng bản thảo mới",
    "issued": "đã cấp số",
    "sending": "đang gửi",
    "sent": "đã gửi",
    "partly_sent": "gửi chưa đủ",
    "superseded": "đã được thay thế",
}
# The actor of the pipeline's own steps.
PIPELINE = "cchc"


class LetterStateError(LetterError):
    """A step the letter's life does not allow from its present state (e.g. issuing a rejected draft)."""


def is_numbered(state: str) -> bool:
    return state in NUMBERED_STATES


def state_of(bind: Bind, letter_id: int) -> str:
    with connect(bind) as conn:
        state = conn.execute(sa.select(letters.c.status).where(letters.c.letter_id == letter_id)).scalar()
    if state is None:
        raise LetterError(f"không có công văn bản ghi {letter_id} trong kho")
    return str(state)


def move(
    bind: Bind,
    letter_id: int,
    to: str,
    *,
    actor: str = PIPELINE,
    reason: str | None = None,
    run_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> str:
    """Move the letter to state ``to`` (and set ``values`` on its row), recording the step; returns the
    previous state. Moving to the state it is in already records nothing and returns it."""
    stamp = at or datetime.now(UTC)
    with begin(bind) as conn:
        row = conn.execute(
            sa.select(letters.c.status, letters.c.authority_id, letters.c.period).where(
                letters.c.letter_id == letter_id
            )
        ).first()
        if row is None:
            raise LetterError(f"không có công văn bản ghi {letter_id} trong kho")
        current = str(row.status)
        if current == to:
            if values:
                conn.execute(letters.update().where(letters.c.letter_id == letter_id).values(**values))
            return current
        if to not in TRANSITIONS.get(current, frozenset()):
            raise LetterStateError(
                f"công văn {row.authority_id} kỳ {row.period} (bản ghi {letter_id}) đang ở trạng thái "
                f"'{STATE_LABELS.get(current, current)}': không thể chuyển sang '{STATE_LABELS.get(to, to)}'"
            )
        updated = conn.execute(
            letters.update()
            .where(letters.c.letter_id == letter_id, letters.c.status == current)
            .values(status=to, **dict(values or {}))
        )
        if updated.rowcount != 1:  # pragma: no cover - another transaction moved it in between
            raise LetterStateError(
                f"công văn bản ghi {letter_id} vừa được một lần chạy khác chuyển trạng thái"
            )
        record_event(
            conn,
            letter_id,
            to,
            previous=current,
            actor=actor,
            reason=reason,
            run_id=run_id,
            details=details,
            at=stamp,
        )
    return current


def record_event(
    conn: sa.Connection,
    letter_id: int,
    state: str,
    *,
    previous: str | None,
    actor: str,
    reason: str | None = None,
    run_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    conn.execute(
        letter_events.insert().values(
            letter_id=letter_id,
            state=state,
            previous_state=previous,
            actor=actor[:255],
            reason=reason,
            run_id=run_id,
            details=dict(details) if details else None,
            at=at or datetime.now(UTC),
        )
    )


def events(bind: Bind, letter_id: int) -> list[dict[str, Any]]:
    """The steps of the letter's life, oldest first."""
    with connect(bind) as conn:
        rows = conn.execute(
            sa.select(letter_events)
            .where(letter_events.c.letter_id == letter_id)
            .order_by(letter_events.c.event_id)
        ).mappings()
        return [dict(r) for r in rows]
