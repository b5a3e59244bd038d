"""Letters: every rendered letter with its files and hashes, and the per-year document number register.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03

Written out in full rather than from ``cchc.letter.tables``, like 0001: a migration must keep creating
the schema of its own revision even after the module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "letters",
        sa.Column("letter_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("document_number", sa.Integer, nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decisions_hash", sa.String(64), nullable=False),
        sa.Column("rulebook_version", sa.String(255), nullable=False),
        sa.Column("docx_path", sa.String(1024), nullable=False),
        sa.Column("docx_sha256", sa.String(64), nullable=False),
        sa.Column("pdf_path", sa.String(1024), nullable=True),
        sa.Column("pdf_sha256", sa.String(64), nullable=True),
        sa.Column("signed", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.String(250), nullable=True),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("letter_id", name="pk_letters"),
        sa.CheckConstraint("status IN ('draft', 'issued')", name="ck_letters_status_known"),
        sa.CheckConstraint("(status = 'issued') = (document_number IS NOT NULL)", name="ck_letters_number_iff_issued"),
        sa.CheckConstraint("document_number IS NULL OR document_number > 0", name="ck_letters_number_positive"),
    )
    is_current = sa.column("is_current", sa.Boolean)
    op.create_index("uq_letters_current", "letters", ["authority_id", "period"], unique=True,
                    sqlite_where=is_current, postgresql_where=is_current)
    op.create_index("ix_letters_authority_id_period", "letters", ["authority_id", "period"])

    op.create_table(
        "document_numbers",
        sa.Column("authority_id", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("letter_id", sa.Integer, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("authority_id", "year", "number", name="pk_document_numbers"),
        sa.ForeignKeyConstraint(["letter_id"], ["letters.letter_id"], name="fk_document_numbers_letter_id_letters"),
        sa.UniqueConstraint("letter_id", name="uq_document_numbers_letter_id"),
        sa.CheckConstraint("number > 0", name="ck_document_numbers_number_positive"),
    )


def downgrade() -> None:
    op.drop_table("document_numbers")
    op.drop_index("ix_letters_authority_id_period", table_name="letters")
    op.drop_index("uq_letters_current", table_name="letters")
    op.drop_table("letters")
