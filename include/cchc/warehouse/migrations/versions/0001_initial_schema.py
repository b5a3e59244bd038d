"""Unit registry with history, versioned monthly facts, loads, campaign windows and rates.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out in full rather than from ``cchc.warehouse.schema``: a migration must keep creating the
schema of its own revision even after the module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

COUNTS = ("received", "received_digitized", "resolved", "resolved_digitized", "fee_dossiers", "paid_online",
          "web_posts")


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("head_title", sa.String(255), nullable=False),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("authority_id", "code", "valid_from", name="pk_units"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_units_valid_range"),
    )
    op.create_table(
        "loads",
        sa.Column("load_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("load_id", name="pk_loads"),
        sa.UniqueConstraint("authority_id", "period", "version", name="uq_loads_authority_id_period_version"),
    )
    op.create_table(
        "monthly_facts",
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        *(sa.Column(c, sa.Integer, nullable=False) for c in COUNTS),
        sa.Column("official_email_regular", sa.Boolean, nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("load_id", sa.Integer, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("authority_id", "unit_code", "period", "version", name="pk_monthly_facts"),
        sa.ForeignKeyConstraint(["load_id"], ["loads.load_id"], name="fk_monthly_facts_load_id_loads"),
        *(sa.CheckConstraint(f"{c} >= 0", name=f"ck_monthly_facts_{c}_not_negative") for c in COUNTS),
        sa.CheckConstraint("received_digitized <= received", name="ck_monthly_facts_receipt_within_received"),
        sa.CheckConstraint("resolved_digitized <= resolved", name="ck_monthly_facts_result_within_resolved"),
        sa.CheckConstraint("paid_online <= fee_dossiers", name="ck_monthly_facts_payment_within_fee_dossiers"),
    )
    is_current = sa.column("is_current", sa.Boolean)
    op.create_index(
        "uq_monthly_facts_current", "monthly_facts", ["authority_id", "unit_code", "period"], unique=True,
        sqlite_where=is_current, postgresql_where=is_current,
    )
    op.create_index("ix_monthly_facts_authority_id_period_is_current", "monthly_facts",
                    ["authority_id", "period", "is_current"])
    op.create_index("ix_monthly_facts_load_id", "monthly_facts", ["load_id"])
    columns = ", ".join(("authority_id", "unit_code", "period", "version", *COUNTS, "official_email_regular",
                         "source", "run_id", "load_id"))
    # The figures every reader (rates, letters, UI) uses; older versions stay in monthly_facts.
    op.execute(f"CREATE VIEW current_facts AS SELECT {columns} FROM monthly_facts WHERE is_current")

    op.create_table(
        "campaign_windows",
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("start_period", sa.String(7), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("authority_id", "metric", "year", name="pk_campaign_windows"),
        sa.CheckConstraint("metric IN ('receipt', 'result', 'payment')", name="ck_campaign_windows_metric_known"),
    )
    op.create_table(
        "rates",
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("window", sa.String(16), nullable=False),
        sa.Column("numerator", sa.BigInteger, nullable=False),
        sa.Column("denominator", sa.BigInteger, nullable=True),
        sa.Column("shown_hundredths", sa.BigInteger, nullable=True),
        sa.Column("window_start", sa.String(7), nullable=False),
        sa.Column("window_end", sa.String(7), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("authority_id", "period", "unit_code", "metric", "window", name="pk_rates"),
        sa.CheckConstraint("metric IN ('receipt', 'result', 'payment', 'posts')", name="ck_rates_metric_known"),
        sa.CheckConstraint("\"window\" IN ('month', 'previous_month', 'ytd', 'campaign')",
                           name="ck_rates_window_known"),
        sa.CheckConstraint("(metric = 'posts') = (denominator IS NULL)", name="ck_rates_denominator_unless_posts"),
    )


def downgrade() -> None:
    op.drop_table("rates")
    op.drop_table("campaign_windows")
    op.execute("DROP VIEW current_facts")
    op.drop_index("ix_monthly_facts_load_id", table_name="monthly_facts")
    op.drop_index("ix_monthly_facts_authority_id_period_is_current", table_name="monthly_facts")
    op.drop_index("uq_monthly_facts_current", table_name="monthly_facts")
    op.drop_table("monthly_facts")
    op.drop_table("loads")
    op.drop_table("units")
