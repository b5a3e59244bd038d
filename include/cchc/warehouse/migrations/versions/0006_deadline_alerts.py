"""Deadline alerts: the operators were told, once, that a period's letter was not sent in time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- ``deadline_alerts``: one row per authority and period whose letter was not sent by the day of the
  next month its authority sets (``distribution.send_by_day``): when the alert went, to whom, and
  what held the letter. The daily check (DAG ``cchc_deadlines``) sends nothing for a period that has
  a row.

Written out in full, like every migration: it must keep building its own revision's schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline_alerts",
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("holding", sa.JSON, nullable=False),
        sa.Column("run_id", sa.String(250), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("authority_id", "period", name="pk_deadline_alerts"),
    )


def downgrade() -> None:
    op.drop_table("deadline_alerts")
