"""Every table of the warehouse as SQLAlchemy Core objects: facts, rates, decisions, letters, ledger.

All of them live here, on one ``MetaData``, and the stages import them: nothing here imports a stage,
so there is no import circle. The database itself is created and changed only by the Alembic
migrations in ``migrations/`` (frozen once shipped); this module describes the head revision, and a
test checks that the two agree. A new table comes with a new migration and a new ``Table`` here.

Periods are stored as ``'YYYY-MM'`` text: that compares in calendar order on every backend, so a
window is ``period BETWEEN start AND end``.
"""

from __future__ import annotations

import sqlalchemy as sa

from cchc.core.fields import COUNT_FIELDS

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


def _period_column(name: str, **kwargs) -> sa.Column:
    return sa.Column(name, sa.String(7), nullable=False, **kwargs)


def _one_current(table: sa.Table, *columns: str) -> sa.Index:
    """At most one row with ``is_current`` per key, whatever goes wrong in the code that writes it."""
    return sa.Index(
        f"uq_{table.name}_current",
        *(table.c[c] for c in columns),
        unique=True,
        sqlite_where=table.c.is_current,
        postgresql_where=table.c.is_current,
    )


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

_count_checks = [sa.CheckConstraint(f"{c} >= 0", name=f"{c}_not_negative") for c in COUNT_FIELDS]

monthly_facts = sa.Table(
    "monthly_facts",
    metadata,
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("unit_code", sa.String(64), nullable=False),
    _period_column("period"),
    sa.Column("version", sa.Integer, nullable=False),
    *(sa.Column(c, sa.Integer, nullable=False) for c in COUNT_FIELDS),
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
# At most one current version per unit and period.
_one_current(monthly_facts, "authority_id", "unit_code", "period")
sa.Index(None, monthly_facts.c.authority_id, monthly_facts.c.period, monthly_facts.c.is_current)
sa.Index(None, monthly_facts.c.load_id)

# ``current_facts`` is a view (created by the migration): the figures every reader should use.
current_facts = sa.table(
    "current_facts", *(sa.column(c.name, c.type) for c in monthly_facts.columns if c.name != "is_current")
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


# --------------------------------------------------------------------------- decisions (migration 0002)
# - ``decision_runs``: every time a period's decisions were stored (by deciding it, or by recounting
#   its criticisms after an earlier period changed); the latest is current and holds the
#   decisions.json document it wrote.
# - ``decisions``: the current decisions of each decided period, one row per decision.
# - ``criticism_history``: criticisms issued before the system existed, imported from history.csv.


RUN_CAUSES = ("decide", "recount")

decision_runs = sa.Table(
    "decision_runs",
    metadata,
    sa.Column("run_key", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("rulebook_version", sa.String(255), nullable=False),
    # The effective values behind the version id, so a run can be explained even after the file changed.
    sa.Column("rulebook_values", sa.JSON, nullable=False),
    sa.Column("decisions_hash", sa.String(64), nullable=False),
    sa.Column("decision_count", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(250), nullable=False),
    # "decide": the period was decided; "recount": only its criticism counts were refreshed because an
    # earlier period of the counting window was decided (again) or its history changed.
    sa.Column("cause", sa.String(16), nullable=False),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("cause IN ('decide', 'recount')", name="cause_known"),
)
# One current run per period.
_one_current(decision_runs, "authority_id", "period")
sa.Index(None, decision_runs.c.authority_id, decision_runs.c.period)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.Integer, sa.ForeignKey("decision_runs.run_key"), nullable=False),
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
    sa.CheckConstraint("kind IN ('commend', 'remind', 'criticise', 'request')", name="kind_known"),
    sa.CheckConstraint("(kind = 'criticise') = (count IS NOT NULL)", name="count_iff_criticise"),
)
sa.Index(None, decisions.c.authority_id, decisions.c.period, decisions.c.kind)
sa.Index(None, decisions.c.run_key)

criticism_history = sa.Table(
    "criticism_history",
    metadata,
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("unit_code", sa.String(64), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("authority_id", "period", "unit_code"),
    sa.CheckConstraint("count >= 0", name="count_not_negative"),
)


# --------------------------------------------------------------------------- letters (migration 0003)
# - ``letters``: every letter made for a period (the latest is current), with what it was made from
#   (decisions hash; the canonical hash of what it prints; the decision run; the rulebook version) and
#   what it is (its files under ``letters/<letter_id>/`` and their hashes). Its life: ``status``
#   (see ``LETTER_STATES``) and one ``letter_events`` row per step, with who, when and why.
# - ``letter_events``: the steps of each letter's life, in order.
# - ``document_numbers``: the per-year register of document numbers. One number per letter, unique
#   per (authority, year), allocated gap-free (max + 1 in one transaction).

# draft → approved | rejected → issued → sending → sent | partly_sent → superseded; a draft that a
# newer draft replaced before it was issued is discarded. A letter has a number from "issued" on.
LETTER_STATES = (
    "draft",
    "approved",
    "rejected",
    "discarded",
    "issued",
    "sending",
    "sent",
    "partly_sent",
    "superseded",
)
NUMBERED_STATES = ("issued", "sending", "sent", "partly_sent", "superseded")

letters = sa.Table(
    "letters",
    metadata,
    sa.Column("letter_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    # NULL until the letter is issued ("Số:      /UBND-NV"); then the register's number.
    sa.Column("document_number", sa.Integer, nullable=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
    # sha256 of the decisions.json bytes the letter was written from, and the rulebook behind them.
    sa.Column("decisions_hash", sa.String(64), nullable=False),
    sa.Column("rulebook_version", sa.String(255), nullable=False),
    # Paths relative to CCHC_OUTPUT_DIR ("tu-ky/2023-08/letters/3/letter.pdf"), so workers may mount it anywhere.
    sa.Column("docx_path", sa.String(1024), nullable=False),
    sa.Column("docx_sha256", sa.String(64), nullable=False),
    sa.Column("pdf_path", sa.String(1024), nullable=True),
    sa.Column("pdf_sha256", sa.String(64), nullable=True),
    sa.Column("signed", sa.Boolean, nullable=False),
    sa.Column("run_id", sa.String(250), nullable=True),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The canonical hash of what the letter prints (decisions without contact data, and the printed
    # lines of authority.yaml): a rerun with the same content reuses the letter (migration 0005).
    sa.Column("content_hash", sa.String(64), nullable=True),
    sa.Column("decision_run_key", sa.Integer, sa.ForeignKey("decision_runs.run_key"), nullable=True),
    # A re-issue names the letter it replaces, and why.
    sa.Column("replaces_letter_id", sa.Integer, sa.ForeignKey("letters.letter_id"), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    # What the approver approved: the content hash and the draft PDF's hash shown to them.
    sa.Column("approved_content_hash", sa.String(64), nullable=True),
    sa.Column("approved_pdf_sha256", sa.String(64), nullable=True),
    sa.CheckConstraint(
        "status IN ('draft', 'approved', 'rejected', 'discarded', 'issued', 'sending', 'sent', 'partly_sent', "
        "'superseded')",
        name="status_known",
    ),
    sa.CheckConstraint(
        "(status IN ('issued', 'sending', 'sent', 'partly_sent', 'superseded')) = (document_number IS NOT NULL)",
        name="number_iff_issued",
    ),
    sa.CheckConstraint("document_number IS NULL OR document_number > 0", name="number_positive"),
)
# One current letter per period.
_one_current(letters, "authority_id", "period")
sa.Index(None, letters.c.authority_id, letters.c.period)

letter_events = sa.Table(
    "letter_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("letter_id", sa.Integer, sa.ForeignKey("letters.letter_id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("previous_state", sa.String(16), nullable=True),
    # Who moved it: an Airflow user (an approver), "cchc" (the pipeline), or a CLI operator.
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("run_id", sa.String(250), nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index(None, letter_events.c.letter_id)

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


# --------------------------------------------------------------------------- deliveries (migrations 0004, 0005)
# ``deliveries``: one row per (letter, recipient, kind, batch) — see ``cchc.delivery.ledger``. A row
# being sent is leased (owner, expiry); ``replaced`` marks a unit's row whose address was corrected.

DELIVERY_STATES = ("pending", "sending", "sent", "failed", "unknown", "replaced")
DELIVERY_KINDS = ("normal", "resend", "test")

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
    # The run that holds a row in ``sending``, and until when: recovery sweeps only expired leases.
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
    # sha256 of the exact PDF this message carried.
    sa.Column("pdf_sha256", sa.String(64), nullable=True),
    # The exactly-once key: rerunning a distribution finds its rows instead of adding new ones.
    sa.UniqueConstraint("letter_id", "recipient", "kind", "batch"),
    sa.UniqueConstraint("message_id"),
    sa.CheckConstraint(
        "state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'replaced')", name="state_known"
    ),
    sa.CheckConstraint("kind IN ('normal', 'resend', 'test')", name="kind_known"),
    sa.CheckConstraint("kind <> 'normal' OR batch = ''", name="normal_has_no_batch"),
    sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
)
sa.Index(None, deliveries.c.letter_id, deliveries.c.state)


# --------------------------------------------------------------------------- run locks (migration 0005)
# ``run_locks``: one run at a time per authority and period (two runs of the same authority and
# period exclude each other; runs of other periods or authorities go side by side).

run_locks = sa.Table(
    "run_locks",
    metadata,
    # Which DAG's runs exclude each other: "cchc_monthly" or "cchc_letters".
    sa.Column("scope", sa.String(32), nullable=False),
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    # "<dag_id>/<run_id>" or "cli/<id>": who holds it.
    sa.Column("holder", sa.String(300), nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("scope", "authority_id", "period"),
)


# --------------------------------------------------------------------------- deadline alerts (migration 0006)
# ``deadline_alerts``: the operators were told, once per authority and period, that its letter was not
# sent by ``distribution.send_by_day`` of the next month (cchc.delivery.deadlines).

deadline_alerts = sa.Table(
    "deadline_alerts",
    metadata,
    sa.Column("authority_id", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),
    # The operators' addresses the alert went to, and what held the letter (lines of the alert).
    sa.Column("recipients", sa.JSON, nullable=False),
    sa.Column("holding", sa.JSON, nullable=False),
    sa.Column("run_id", sa.String(250), nullable=True),
    sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("authority_id", "period"),
)
