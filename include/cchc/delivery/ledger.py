"""The delivery ledger: one row per (letter, recipient, kind, batch), so that a message goes out once.

The algorithm (``cchc.delivery.distribute``) only ever moves a row forward, one commit per step:

    pending ──claim──▶ sending ──SMTP answer──▶ sent | failed | pending (temporary failure, retried)
                          │
                          └── its lease expired (the run died mid-message), or the connection died
                              after the message's final dot: unknown (the server may hold it; never
                              resent automatically; ``settle_unknown`` records the operator's verdict)
    a unit's row whose address was corrected ──▶ replaced (the new address gets its own row)

A row in ``sending`` is leased: it names the run that holds it (``lease_owner``) until
``lease_expires_at``. Recovery sweeps only expired leases, and an outcome is recorded only by the run
that still holds the lease, so two runs at once (the DAG and the command line) never turn a message
being delivered into "unknown" nor send it twice.

``kind`` is ``normal`` (the letter's distribution, ``batch`` empty), ``resend`` (an operator's resend to
chosen recipients) or ``test`` (a dry run to the test address). A resend and a dry run carry a
``batch`` (the Airflow run id, or a fresh id per CLI call): retrying the same batch sends nothing twice,
a new batch is a new request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from cchc.core.db import Bind, connect
from cchc.warehouse.schema import DELIVERY_KINDS, DELIVERY_STATES, deliveries

# States a run (re)sends; ``unknown`` is left to the operator, ``sending`` is swept to unknown first.
SENDABLE = ("pending", "failed")
# How long a run holds a row it is sending: longer than one SMTP exchange, short enough that a dead
# run's row is reported soon (the wait between retries is spent in ``pending``, not under a lease).
LEASE_SECONDS = 600.0
STUCK_NOTE = "lần chạy trước dừng giữa chừng khi đang gửi thư này: không rõ máy chủ đã nhận thư hay chưa"


def now() -> datetime:
    return datetime.now(UTC)


def message_id(letter_id: int, recipient: str, kind: str, batch: str, authority_id: str) -> str:
    """``<sha256(letter|recipient|kind|batch)@cchc.<authority>>``: the same message always has the same id.

    A receiving system that sees the same Message-ID twice (a resend of an ``unknown`` row, say) can
    recognise the duplicate.
    """
    digest = hashlib.sha256(f"{letter_id}|{recipient.casefold()}|{kind}|{batch}".encode()).hexdigest()
    domain = (
        "".join(c if c.isalnum() or c in "-." else "-" for c in authority_id.lower()).strip(".-") or "cchc"
    )
    return f"<{digest[:40]}@cchc.{domain}>"


@dataclass(frozen=True)
class Planned:
    """A message the run wants the ledger to know about (before anything is sent)."""

    recipient: str
    recipient_name: str
    unit_codes: tuple[str, ...]
    roles: tuple[str, ...]
    envelope_to: str
    subject: str
    message_id: str


@dataclass(frozen=True)
class Delivery(Planned):
    """A ledger row: the planned message, where it belongs, and what became of it."""

    delivery_id: int
    letter_id: int
    authority_id: str
    period: str
    kind: str
    batch: str
    state: str
    attempts: int
    smtp_code: int | None
    smtp_answer: str | None
    created_at: datetime | None
    updated_at: datetime | None
    last_attempt_at: datetime | None
    sent_at: datetime | None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    pdf_sha256: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Delivery:
        data = dict(row._mapping if hasattr(row, "_mapping") else row)
        data["unit_codes"] = tuple(c for c in (data["unit_codes"] or "").split(",") if c)
        data["roles"] = tuple(r for r in (data["roles"] or "").split(",") if r)
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["unit_codes"] = list(self.unit_codes)
        out["roles"] = list(self.roles)
        for key in ("created_at", "updated_at", "last_attempt_at", "sent_at", "lease_expires_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


def _insert(connection: Connection):
    if connection.dialect.name == "postgresql":
        return postgresql.insert(deliveries)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(deliveries)
    raise NotImplementedError(connection.dialect.name)  # pragma: no cover - the engine refuses others


def sweep_sending(connection: Connection, letter_id: int, at: datetime | None = None) -> list[Delivery]:
    """Rows whose lease expired in ``sending`` (a run died mid-message) become ``unknown``; returns them.

    The server may have taken the message before the crash: sending it again could deliver it twice,
    so the operator decides (a resend, or ``settle_unknown``) after checking with the recipient. A row
    another run holds under a live lease is left alone.
    """
    # In UTC, as every stamp of the ledger: SQLite compares the stored text, not the instant.
    stamp = (at or now()).astimezone(UTC)
    expired = sa.or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < stamp)
    stuck = connection.execute(
        sa.select(deliveries).where(
            deliveries.c.letter_id == letter_id, deliveries.c.state == "sending", expired
        )
    ).all()
    if stuck:
        connection.execute(
            deliveries.update()
            .where(
                deliveries.c.delivery_id.in_([r.delivery_id for r in stuck]),
                deliveries.c.state == "sending",
                expired,
            )
            .values(
                state="unknown",
                updated_at=stamp,
                smtp_code=None,
                smtp_answer=STUCK_NOTE,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
    return [
        replace(Delivery.from_row(r), state="unknown", smtp_code=None, smtp_answer=STUCK_NOTE) for r in stuck
    ]


def replace_corrected(connection: Connection, letter_id: int, planned: Sequence[Planned]) -> list[Delivery]:
    """A unit's earlier row whose address is no longer the unit's becomes ``replaced``; returns them.

    The unit's corrected address gets a row of its own (and the letter); the old row stays in the
    ledger as what happened, but no longer counts as the unit's delivery.
    """
    addresses = {p.recipient.casefold() for p in planned}
    units = {code for p in planned for code in p.unit_codes}
    rows = connection.execute(
        sa.select(deliveries).where(
            deliveries.c.letter_id == letter_id,
            deliveries.c.kind == "normal",
            deliveries.c.state.notin_(("replaced", "sending")),
        )
    ).all()
    old = [
        r
        for r in rows
        if r.recipient not in addresses and r.unit_codes and set(r.unit_codes.split(",")) <= units
    ]
    if old:
        connection.execute(
            deliveries.update()
            .where(deliveries.c.delivery_id.in_([r.delivery_id for r in old]))
            .values(state="replaced", updated_at=now())
        )
    return [replace(Delivery.from_row(r), state="replaced") for r in old]


def ensure_rows(
    connection: Connection,
    *,
    letter_id: int,
    authority_id: str,
    period: str,
    kind: str,
    batch: str,
    planned: Sequence[Planned],
) -> list[Delivery]:
    """Create the missing ``pending`` rows (idempotent: existing rows are kept as they are, but for a
    ``replaced`` one, pending again) and return every row of ``planned`` in its order."""
    if kind not in DELIVERY_KINDS:
        raise ValueError(f"kind {kind!r}")
    stamp = now()
    if planned:
        values = [
            {
                "letter_id": letter_id,
                "authority_id": authority_id,
                "period": period,
                "kind": kind,
                "batch": batch,
                "recipient": p.recipient.casefold(),
                "recipient_name": p.recipient_name[:255],
                "unit_codes": ",".join(p.unit_codes),
                "roles": ",".join(p.roles),
                "envelope_to": p.envelope_to,
                "subject": p.subject,
                "message_id": p.message_id,
                "state": "pending",
                "attempts": 0,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for p in planned
        ]
        statement = _insert(connection).on_conflict_do_nothing(
            index_elements=["letter_id", "recipient", "kind", "batch"]
        )
        connection.execute(statement, values)
        # An address that is the unit's again (corrected back after a correction) is served again:
        # its earlier row had been set aside as replaced.
        connection.execute(
            deliveries.update()
            .where(
                deliveries.c.letter_id == letter_id,
                deliveries.c.kind == kind,
                deliveries.c.batch == batch,
                deliveries.c.recipient.in_([p.recipient.casefold() for p in planned]),
                deliveries.c.state == "replaced",
            )
            .values(state="pending", updated_at=stamp, lease_owner=None, lease_expires_at=None)
        )
    rows = connection.execute(
        sa.select(deliveries).where(
            deliveries.c.letter_id == letter_id,
            deliveries.c.kind == kind,
            deliveries.c.batch == batch,
            deliveries.c.recipient.in_([p.recipient.casefold() for p in planned]),
        )
    ).all()
    by_recipient = {r.recipient: Delivery.from_row(r) for r in rows}
    return [by_recipient[p.recipient.casefold()] for p in planned]


# The two statements a message costs, built once with bound parameters: building and caching a new
# statement for every message took longer than PostgreSQL took to run it.
_STAMP = sa.bindparam("b_stamp", type_=deliveries.c.updated_at.type)
_CLAIM = (
    deliveries.update()
    .where(deliveries.c.delivery_id == sa.bindparam("b_id"), deliveries.c.state.in_(SENDABLE))
    .values(
        state="sending",
        attempts=deliveries.c.attempts + 1,
        last_attempt_at=_STAMP,
        updated_at=_STAMP,
        lease_owner=sa.bindparam("b_owner"),
        lease_expires_at=sa.bindparam("b_expires", type_=deliveries.c.lease_expires_at.type),
        pdf_sha256=sa.func.coalesce(
            sa.bindparam("b_pdf", type_=deliveries.c.pdf_sha256.type), deliveries.c.pdf_sha256
        ),
    )
)
_RECORD_VALUES = {
    "state": sa.bindparam("b_state", type_=deliveries.c.state.type),
    "smtp_code": sa.bindparam("b_code", type_=deliveries.c.smtp_code.type),
    "smtp_answer": sa.bindparam("b_answer", type_=deliveries.c.smtp_answer.type),
    "updated_at": _STAMP,
    "sent_at": sa.case((sa.bindparam("b_sent", type_=sa.Boolean()), _STAMP), else_=deliveries.c.sent_at),
    "lease_owner": None,
    "lease_expires_at": None,
}
_RECORD_ANY = (
    deliveries.update()
    .where(deliveries.c.delivery_id == sa.bindparam("b_id"), deliveries.c.state == "sending")
    .values(**_RECORD_VALUES)
)
_RECORD_OURS = (
    deliveries.update()
    .where(
        deliveries.c.delivery_id == sa.bindparam("b_id"),
        deliveries.c.state == "sending",
        deliveries.c.lease_owner == sa.bindparam("b_owner"),
    )
    .values(**_RECORD_VALUES)
)


def _claim_in(
    conn: Connection, delivery_id: int, owner: str, lease_seconds: float, pdf_sha256: str | None
) -> bool:
    stamp = now()
    parameters = {
        "b_id": delivery_id,
        "b_stamp": stamp,
        "b_owner": owner,
        "b_expires": stamp + timedelta(seconds=lease_seconds),
        "b_pdf": pdf_sha256,
    }
    return conn.execute(_CLAIM, parameters).rowcount == 1


def _record_in(
    conn: Connection, delivery_id: int, state: str, code: int | None, answer: str | None, owner: str | None
) -> bool:
    if state not in DELIVERY_STATES:
        raise ValueError(state)
    parameters: dict[str, Any] = {
        "b_id": delivery_id,
        "b_state": state,
        "b_code": code,
        "b_answer": (answer or "")[:2000],
        "b_stamp": now(),
        "b_sent": state == "sent",
    }
    if owner is None:
        return conn.execute(_RECORD_ANY, parameters).rowcount == 1
    return conn.execute(_RECORD_OURS, {**parameters, "b_owner": owner}).rowcount == 1


def claim(
    engine: Engine,
    delivery_id: int,
    owner: str,
    *,
    lease_seconds: float = LEASE_SECONDS,
    pdf_sha256: str | None = None,
) -> bool:
    """Lease one row (``sending``, owner, expiry) and count the attempt before its message goes out;
    commits. The update is conditional, so of two runs racing for the same row only one gets it."""
    with engine.begin() as conn:
        return _claim_in(conn, delivery_id, owner, lease_seconds, pdf_sha256)


def record(
    engine: Engine,
    delivery_id: int,
    state: str,
    code: int | None,
    answer: str | None,
    owner: str | None = None,
) -> bool:
    """Store the outcome of an attempt (``sent``, ``failed``, ``unknown``, or ``pending`` to retry); commits.

    Only while the row is still ``sending`` under this run's lease (``owner``): returns False, and
    changes nothing, when it is not ours any more.
    """
    if state not in DELIVERY_STATES:
        raise ValueError(state)
    with engine.begin() as conn:
        return _record_in(conn, delivery_id, state, code, answer, owner)


@dataclass(frozen=True)
class _Outcome:
    delivery_id: int
    state: str
    code: int | None
    answer: str | None


class LeaseWriter:
    """One run's claims and outcomes, on one connection held for the whole distribution.

    A message costs one commit, not two: its outcome is written in the transaction that claims the
    next row, before that row's message goes out. The outcome never waits over anything slow:
    ``flush()`` commits it on its own before a reconnection, before a wait between attempts and at
    the end. A crash before that commit leaves the row in ``sending``, as a crash between the
    server's answer and the record always did: reported unknown, never resent on its own.
    ``on_lost(delivery_id, state)`` hears of an outcome that could not be stored because the row is
    not this run's any more (its lease expired).
    """

    def __init__(
        self,
        engine: Engine,
        owner: str,
        *,
        lease_seconds: float = LEASE_SECONDS,
        pdf_sha256: str | None = None,
        on_lost: Callable[[int, str], None] | None = None,
    ) -> None:
        self.engine, self.owner = engine, owner
        self.lease_seconds, self.pdf_sha256 = lease_seconds, pdf_sha256
        self.on_lost = on_lost
        self.commits = 0  # for the tests and the bench: what a message costs
        self._outcome: _Outcome | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> LeaseWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        return self._conn

    def _write_outcome(self, conn: Connection) -> _Outcome | None:
        """Write the outcome waiting in ``conn``'s transaction; the outcome when the row was not ours."""
        outcome = self._outcome
        if outcome is None:
            return None
        ours = _record_in(conn, outcome.delivery_id, outcome.state, outcome.code, outcome.answer, self.owner)
        return None if ours else outcome

    def _committed(self, lost: _Outcome | None) -> None:
        # Forgotten only once committed: a failed transaction leaves it for the next one, or close().
        self._outcome = None
        self.commits += 1
        if lost is not None and self.on_lost is not None:
            self.on_lost(lost.delivery_id, lost.state)

    def claim(self, delivery_id: int) -> bool:
        """Commit the outcome waiting (if any) and lease ``delivery_id``, in one transaction."""
        conn = self._connection()
        with conn.begin():
            lost = self._write_outcome(conn)
            claimed = _claim_in(conn, delivery_id, self.owner, self.lease_seconds, self.pdf_sha256)
        self._committed(lost)
        return claimed

    def record(self, delivery_id: int, state: str, code: int | None, answer: str | None) -> None:
        """The outcome of the row this run holds: written with the next claim, or by ``flush()``."""
        if state not in DELIVERY_STATES:
            raise ValueError(state)
        self.flush()  # at most one outcome waits
        self._outcome = _Outcome(delivery_id, state, code, answer)

    def flush(self) -> None:
        """Commit the outcome waiting, alone (before anything slow, and at the end)."""
        if self._outcome is None:
            return
        conn = self._connection()
        with conn.begin():
            lost = self._write_outcome(conn)
        self._committed(lost)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def read(
    bind: Bind, letter_id: int, *, kinds: Iterable[str] | None = None, batch: str | None = None
) -> list[Delivery]:
    """Every row of a letter (optionally of some kinds, one batch), in creation order."""
    query = sa.select(deliveries).where(deliveries.c.letter_id == letter_id)
    if kinds is not None:
        query = query.where(deliveries.c.kind.in_(list(kinds)))
    if batch is not None:
        query = query.where(deliveries.c.batch == batch)
    query = query.order_by(deliveries.c.delivery_id)
    with connect(bind) as conn:
        return [Delivery.from_row(r) for r in conn.execute(query)]


def settle_unknown(engine: Engine, letter_id: int, recipients: Iterable[str], outcome: str) -> int:
    """The operator's verdict on ``unknown`` rows after checking with the recipients: ``sent`` (they have
    it) or ``pending`` (they do not: the next run sends it). Returns the number of rows changed."""
    if outcome not in ("sent", "pending"):
        raise ValueError("outcome must be 'sent' or 'pending'")
    keys = [r.casefold() for r in recipients]
    stamp = now()
    with engine.begin() as conn:
        result = conn.execute(
            deliveries.update()
            .where(
                deliveries.c.letter_id == letter_id,
                deliveries.c.state == "unknown",
                deliveries.c.recipient.in_(keys),
            )
            .values(state=outcome, updated_at=stamp, **({"sent_at": stamp} if outcome == "sent" else {}))
        )
        return result.rowcount
