"""Deliveries: the ledger that sends each letter to each recipient exactly once.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04

Written out in full rather than from ``cchc.delivery.tables``, like 0001: a migration must keep
creating the schema of its own revision even after the module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("letter_id", sa.Integer, nullable=False),
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("batch", sa.String(250), nullable=False),
        sa.Column("recipient", sa.String(255), nullable=False),
        sa.Column("recipient_name", sa.String(255), nullable=False),
        sa.Column("unit_codes", sa.String(1000), nullable=False),
        sa.Column("roles", sa.String(64), nullable=False),
        sa.Column("envelope_to", sa.String(255), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("smtp_code", sa.Integer, nullable=True),
        sa.Column("smtp_answer", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(["letter_id"], ["letters.letter_id"], name="fk_deliveries_letter_id_letters"),
        sa.UniqueConstraint("letter_id", "recipient", "kind", "batch",
                            name="uq_deliveries_letter_id_recipient_kind_batch"),
        sa.UniqueConstraint("message_id", name="uq_deliveries_message_id"),
        sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'unknown')",
                           name="ck_deliveries_state_known"),
        sa.CheckConstraint("kind IN ('normal', 'resend', 'test')", name="ck_deliveries_kind_known"),
        sa.CheckConstraint("kind <> 'normal' OR batch = ''", name="ck_deliveries_normal_has_no_batch"),
        sa.CheckConstraint("attempts >= 0", name="ck_deliveries_attempts_not_negative"),
    )
    op.create_index("ix_deliveries_letter_id_state", "deliveries", ["letter_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_letter_id_state", table_name="deliveries")
    op.drop_table("deliveries")
