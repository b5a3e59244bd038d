"""Letters as records: their life (states and events), what they print, leased deliveries, run locks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

- ``letters``: the states of a letter's life (draft → approved | rejected → issued → sending → sent |
  partly_sent → superseded; discarded), the canonical hash of what it prints, the decision run it was
  made from, the letter it replaces and why, what the approver approved;
- ``letter_events``: one row per step of a letter's life;
- ``deliveries``: a lease (owner, expiry) on a row being sent, the sha256 of the PDF it carried, and
  the state ``replaced`` for a row whose unit's address was corrected;
- ``run_locks``: one run at a time per authority and period.

Written out in full, like every migration: it must keep building its own revision's schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NEW_STATES = ("'draft', 'approved', 'rejected', 'discarded', 'issued', 'sending', 'sent', 'partly_sent', "
              "'superseded'")
NUMBERED = "'issued', 'sending', 'sent', 'partly_sent', 'superseded'"


def _recreate_current_index(create: bool) -> None:
    # SQLite's batch mode copies the table; its partial unique index is dropped first and made again.
    if create:
        is_current = sa.column("is_current", sa.Boolean)
        op.create_index("uq_letters_current", "letters", ["authority_id", "period"], unique=True,
                        sqlite_where=is_current, postgresql_where=is_current)
    else:
        op.drop_index("uq_letters_current", table_name="letters")


def upgrade() -> None:
    _recreate_current_index(create=False)
    with op.batch_alter_table("letters") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("decision_run_key", sa.Integer, nullable=True))
        batch.add_column(sa.Column("replaces_letter_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("approved_content_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("approved_pdf_sha256", sa.String(64), nullable=True))
        batch.create_foreign_key("fk_letters_decision_run_key_decision_runs", "decision_runs",
                                 ["decision_run_key"], ["run_key"])
        batch.create_foreign_key("fk_letters_replaces_letter_id_letters", "letters",
                                 ["replaces_letter_id"], ["letter_id"])
        batch.drop_constraint("ck_letters_status_known", type_="check")
        batch.drop_constraint("ck_letters_number_iff_issued", type_="check")
        batch.create_check_constraint("ck_letters_status_known", f"status IN ({NEW_STATES})")
        batch.create_check_constraint("ck_letters_number_iff_issued",
                                      f"(status IN ({NUMBERED})) = (document_number IS NOT NULL)")
    _recreate_current_index(create=True)

    op.create_table(
        "letter_events",
        sa.Column("event_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("letter_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("previous_state", sa.String(16), nullable=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("run_id", sa.String(250), nullable=True),
        sa.Column("details", sa.JSON, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_letter_events"),
        sa.ForeignKeyConstraint(["letter_id"], ["letters.letter_id"], name="fk_letter_events_letter_id_letters"),
    )
    op.create_index("ix_letter_events_letter_id", "letter_events", ["letter_id"])

    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("pdf_sha256", sa.String(64), nullable=True))
        batch.drop_constraint("ck_deliveries_state_known", type_="check")
        batch.create_check_constraint(
            "ck_deliveries_state_known", "state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'replaced')"
        )

    op.create_table(
        "run_locks",
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("holder", sa.String(300), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "authority_id", "period", name="pk_run_locks"),
    )


def downgrade() -> None:
    op.drop_table("run_locks")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("ck_deliveries_state_known", type_="check")
        batch.create_check_constraint(
            "ck_deliveries_state_known", "state IN ('pending', 'sending', 'sent', 'failed', 'unknown')"
        )
        batch.drop_column("pdf_sha256")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
    op.drop_index("ix_letter_events_letter_id", table_name="letter_events")
    op.drop_table("letter_events")
    _recreate_current_index(create=False)
    with op.batch_alter_table("letters") as batch:
        batch.drop_constraint("ck_letters_number_iff_issued", type_="check")
        batch.drop_constraint("ck_letters_status_known", type_="check")
        batch.create_check_constraint("ck_letters_status_known", "status IN ('draft', 'issued')")
        batch.create_check_constraint("ck_letters_number_iff_issued",
                                      "(status = 'issued') = (document_number IS NOT NULL)")
        batch.drop_constraint("fk_letters_replaces_letter_id_letters", type_="foreignkey")
        batch.drop_constraint("fk_letters_decision_run_key_decision_runs", type_="foreignkey")
        for column in ("approved_pdf_sha256", "approved_content_hash", "reason", "replaces_letter_id",
                       "decision_run_key", "content_hash"):
            batch.drop_column(column)
    _recreate_current_index(create=True)
