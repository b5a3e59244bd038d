"""The warehouse's tables as SQLAlchemy Core objects, for the queries of this package.

The database itself is created and changed only by the Alembic migrations in ``migrations/``; this
module describes the head revision, and a test checks that the two agree. Later stages (decisions,
letters, deliveries) add their tables by new migrations and new ``Table`` objects here.

Periods are stored as ``'YYYY-MM'`` text: that compares in calendar order on every backend, so a
window is ``period BETWEEN start AND end``.
"""

from __future__ import annotations

import sqlalchemy as sa

from cchc.config import COUNT_FIELDS, METRIC_FIELDS

# Deterministic constraint names, identical on SQLite and PostgreSQL, so a later migration can name
# the constraint it alters.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# The Alembic version table has its own name: the warehouse may share a PostgreSQL database with
# Airflow's metadata, whose migrations already own ``alembic_version``.
VERSION_TABLE = "cchc_warehouse_version"

AUTHORITY_TOTAL = "*"
"""``rates.unit_code`` of the authority-wide row (Σ over every unit's counts)."""

METRICS = ("receipt", "result", "payment", "posts")
RATE_METRICS = ("receipt", "result", "payment")
WINDOWS = ("month", "previous_month", "ytd", "campaign")
# numerator and denominator columns of monthly_facts for each rate (BRIEF §2).
METRIC_COLUMNS = METRIC_FIELDS
COUNT_COLUMNS = COUNT_FIELDS


def _period_column(name: str, **kwargs) -> sa.Column:
    return sa.Column(name, sa.String(7), nullable=False, **kwargs)


units = sa.Table(
    "units",
    metadata,
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    # NULL while the unit is in the registry; the last day it was, once renamed, merged or removed.
    sa.Column("valid_to", sa.Date, nullable=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("head_title", sa.String(255), nullable=False),
    # Contact and order are current facts, not history: they are updated in place.
    sa.Column("email", sa.String(255), nullable=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("authority_id", "code", "valid_from"),
    sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
)

loads = sa.Table(
    "loads",
    metadata,
    sa.Column("load_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("authority_id", sa.String(64), nullable=False),
    _period_column("period"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    # Two loads of one period racing for the same version: the second fails instead of duplicating.
    sa.UniqueConstraint("authority_id", "period", "version"),
)

_count_checks = [sa.CheckConstraint(f"{c} >= 0", name=f"{c}_not_negative") for c in COUNT_COLUMNS]

monthly_facts = sa.Table(
    "monthly_facts",
    metadata,
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("unit_code", sa.String(64), nullable=False),
    _period_column("period"),
    sa.Column("version", sa.Integer, nullable=False),
    *(sa.Column(c, sa.Integer, nullable=False) for c in COUNT_COLUMNS),
    sa.Column("official_email_regular", sa.Boolean, nullable=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("load_id", sa.Integer, sa.ForeignKey("loads.load_id"), nullable=False),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("authority_id", "unit_code", "period", "version"),
    *_count_checks,
    sa.CheckConstraint("received_digitized <= received", name="receipt_within_received"),
    sa.CheckConstraint("resolved_digitized <= resolved", name="result_within_resolved"),
    sa.CheckConstraint("paid_online <= fee_dossiers", name="payment_within_fee_dossiers"),
)
# At most one current version per unit and period, whatever goes wrong in the loading code.
sa.Index(
    "uq_monthly_facts_current",
    monthly_facts.c.authority_id,
    monthly_facts.c.unit_code,
    monthly_facts.c.period,
    unique=True,
    sqlite_where=monthly_facts.c.is_current,
    postgresql_where=monthly_facts.c.is_current,
)
sa.Index(None, monthly_facts.c.authority_id, monthly_facts.c.period, monthly_facts.c.is_current)
sa.Index(None, monthly_facts.c.load_id)

# ``current_facts`` is a view (created by the migration): the figures every reader should use.
current_facts = sa.table(
    "current_facts",
    *(sa.column(c.name, c.type) for c in monthly_facts.columns if c.name != "is_current"),
)

campaign_windows = sa.Table(
    "campaign_windows",
    metadata,
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(16), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    _period_column("start_period"),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("authority_id", "metric", "year"),
    sa.CheckConstraint("metric IN ('receipt', 'result', 'payment')", name="metric_known"),
)

rates = sa.Table(
    "rates",
    metadata,
    sa.Column("authority_id", sa.String(64), nullable=False),
    _period_column("period"),
    sa.Column("unit_code", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(16), nullable=False),
    sa.Column("window", sa.String(16), nullable=False),
    sa.Column("numerator", sa.BigInteger, nullable=False),
    # NULL for posts, which are compared with a required minimum, not divided.
    sa.Column("denominator", sa.BigInteger, nullable=True),
    # The shown rate in hundredths of a percent (9767 = 97,67%), half-up on the exact fraction, so
    # the UI can read the table directly; NULL when undefined (denominator 0) and for posts.
    sa.Column("shown_hundredths", sa.BigInteger, nullable=True),
    _period_column("window_start"),
    _period_column("window_end"),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("authority_id", "period", "unit_code", "metric", "window"),
    sa.CheckConstraint("metric IN ('receipt', 'result', 'payment', 'posts')", name="metric_known"),
    sa.CheckConstraint("\"window\" IN ('month', 'previous_month', 'ytd', 'campaign')", name="window_known"),
    sa.CheckConstraint("(metric = 'posts') = (denominator IS NULL)", name="denominator_unless_posts"),
)

# The later stages define their tables next to their code; importing them here puts every table of
# the warehouse on one MetaData, which the migrations are checked against. (They import only this
# module's MetaData, so there is no cycle.)
from cchc.delivery import tables as _delivery_tables  # noqa: E402,F401
from cchc.letter import tables as _letter_tables  # noqa: E402,F401
from cchc.rules import tables as _decision_tables  # noqa: E402,F401
