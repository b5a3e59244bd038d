"""Decisions: runs of the decisions stage, the current decisions per period, imported criticism history.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02

Written out in full rather than from ``cchc.rules.tables``, like 0001: a migration must keep creating
the schema of its own revision even after the module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_runs",
        sa.Column("run_key", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("rulebook_version", sa.String(255), nullable=False),
        sa.Column("rulebook_values", sa.JSON, nullable=False),
        sa.Column("decisions_hash", sa.String(64), nullable=False),
        sa.Column("decision_count", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_key", name="pk_decision_runs"),
        sa.CheckConstraint("cause IN ('decide', 'recount')", name="ck_decision_runs_cause_known"),
    )
    is_current = sa.column("is_current", sa.Boolean)
    op.create_index("uq_decision_runs_current", "decision_runs", ["authority_id", "period"], unique=True,
                    sqlite_where=is_current, postgresql_where=is_current)
    op.create_index("ix_decision_runs_authority_id_period", "decision_runs", ["authority_id", "period"])

    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("run_key", sa.Integer, nullable=False),
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("section", sa.String(8), nullable=False),
        sa.Column("metric", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(16), nullable=True),
        sa.Column("commend_group", sa.String(32), nullable=True),
        sa.Column("count", sa.Integer, nullable=True),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("rulebook_version", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decisions"),
        sa.ForeignKeyConstraint(["run_key"], ["decision_runs.run_key"], name="fk_decisions_run_key_decision_runs"),
        sa.CheckConstraint("kind IN ('commend', 'remind', 'criticise', 'request')", name="ck_decisions_kind_known"),
        sa.CheckConstraint("(kind = 'criticise') = (count IS NOT NULL)", name="ck_decisions_count_iff_criticise"),
    )
    op.create_index("ix_decisions_authority_id_period_kind", "decisions", ["authority_id", "period", "kind"])
    op.create_index("ix_decisions_run_key", "decisions", ["run_key"])

    op.create_table(
        "criticism_history",
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("authority_id", "period", "unit_code", name="pk_criticism_history"),
        sa.CheckConstraint("count >= 0", name="ck_criticism_history_count_not_negative"),
    )


def downgrade() -> None:
    op.drop_table("criticism_history")
    op.drop_index("ix_decisions_run_key", table_name="decisions")
    op.drop_index("ix_decisions_authority_id_period_kind", table_name="decisions")
    op.drop_table("decisions")
    op.drop_index("ix_decision_runs_authority_id_period", table_name="decision_runs")
    op.drop_index("uq_decision_runs_current", table_name="decision_runs")
    op.drop_table("decision_runs")
