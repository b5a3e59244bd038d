"""The letter stage's tables (migration 0003), on the warehouse's own ``MetaData``.

Declared on ``cchc.warehouse.schema.metadata`` so that the schema-vs-migrations check sees one
warehouse. This module imports nothing of the package but the schema module (and the package's
``__init__`` imports nothing eagerly), so ``cchc.warehouse.schema`` may import it back at its end
without a cycle.

- ``letters``: every letter rendered for a period (the latest is current), with what it was made from
  (decisions hash, rulebook version) and what it is (file paths and hashes). A draft has no number;
  the distribution stage marks it issued with its number.
- ``document_numbers``: the per-year register of document numbers. One number per letter, unique per
  (authority, year); the distribution stage allocates them gap-free (max + 1 in one transaction).
"""

from __future__ import annotations

import sqlalchemy as sa

from cchc.warehouse.schema import metadata

LETTER_STATUSES = ("draft", "issued")

letters = sa.Table(
    "letters",
    metadata,
    sa.Column("letter_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    # NULL in a draft ("Số:      /UBND-NV"); set with the register's number when the letter is issued.
    sa.Column("document_number", sa.Integer, nullable=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
    # sha256 of the decisions.json bytes the letter was written from, and the rulebook behind them.
    sa.Column("decisions_hash", sa.String(64), nullable=False),
    sa.Column("rulebook_version", sa.String(255), nullable=False),
    # Paths relative to CCHC_OUTPUT_DIR ("tu-ky/2023-08/letter.docx"), so workers may mount it anywhere.
    sa.Column("docx_path", sa.String(1024), nullable=False),
    sa.Column("docx_sha256", sa.String(64), nullable=False),
    sa.Column("pdf_path", sa.String(1024), nullable=True),
    sa.Column("pdf_sha256", sa.String(64), nullable=True),
    sa.Column("signed", sa.Boolean, nullable=False),
    sa.Column("run_id", sa.String(250), nullable=True),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'issued')", name="status_known"),
    sa.CheckConstraint("(status = 'issued') = (document_number IS NOT NULL)", name="number_iff_issued"),
    sa.CheckConstraint("document_number IS NULL OR document_number > 0", name="number_positive"),
)
# One current letter per period, whatever goes wrong in the recording code.
sa.Index(
    "uq_letters_current",
    letters.c.authority_id,
    letters.c.period,
    unique=True,
    sqlite_where=letters.c.is_current,
    postgresql_where=letters.c.is_current,
)
sa.Index(None, letters.c.authority_id, letters.c.period)

document_numbers = sa.Table(
    "document_numbers",
    metadata,
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.letter_id"), nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    # The primary key is the register's uniqueness: a number is given once per authority and year.
    sa.PrimaryKeyConstraint("authority_id", "year", "number"),
    # A letter has at most one number; a re-issue is a new letter row with a new number.
    sa.UniqueConstraint("letter_id"),
    sa.CheckConstraint("number > 0", name="number_positive"),
)
