"""The delivery ledger's table (migration 0004), on the warehouse's own ``MetaData``.

Declared on ``cchc.warehouse.schema.metadata`` so that the schema-vs-migrations check sees one
warehouse. This module imports nothing of the package but the schema module and the letters' tables (and
the package's ``__init__`` imports nothing eagerly), so ``cchc.warehouse.schema`` may import it back at its end
without a cycle.

``deliveries``: one row per (letter, recipient, kind, batch) — see ``cchc.delivery.ledger``.
"""

from __future__ import annotations

import sqlalchemy as sa

import cchc.letter.tables  # noqa: F401 - the table deliveries.letter_id refers to, on the same MetaData
from cchc.warehouse.schema import metadata

STATES = ("pending", "sending", "sent", "failed", "unknown")
KINDS = ("normal", "resend", "test")

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("delivery_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.letter_id"), nullable=False),
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    # '' for the letter's distribution; the request id (Airflow run id) of a resend or a dry run.
    sa.Column("batch", sa.String(250), nullable=False),
    # The mailbox, case-folded: the recipient's identity in the ledger.
    sa.Column("recipient", sa.String(255), nullable=False),
    sa.Column("recipient_name", sa.String(255), nullable=False),
    sa.Column("unit_codes", sa.String(1000), nullable=False),  # comma-separated; '' for copies, operators
    sa.Column("roles", sa.String(64), nullable=False),  # unit, copy, operator (comma-separated)
    # Where the message really goes: the recipient, or the test address of a dry run.
    sa.Column("envelope_to", sa.String(255), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("message_id", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # The server's last answer (or what went wrong on the connection), for the operator.
    sa.Column("smtp_code", sa.Integer, nullable=True),
    sa.Column("smtp_answer", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    # The exactly-once key: rerunning a distribution finds its rows instead of adding new ones.
    sa.UniqueConstraint("letter_id", "recipient", "kind", "batch"),
    sa.UniqueConstraint("message_id"),
    sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'unknown')", name="state_known"),
    sa.CheckConstraint("kind IN ('normal', 'resend', 'test')", name="kind_known"),
    sa.CheckConstraint("kind <> 'normal' OR batch = ''", name="normal_has_no_batch"),
    sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
)
sa.Index(None, deliveries.c.letter_id, deliveries.c.state)
