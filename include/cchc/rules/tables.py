"""The decisions' tables (migration 0002), on the warehouse's own ``MetaData``.

They are declared on ``cchc.warehouse.schema.metadata`` so that the schema-vs-migrations check and any
autogenerate see one warehouse. This module imports nothing of the package but the schema module, so
``cchc.warehouse.schema`` may import it back at its end without a cycle.

- ``decision_runs``: every time a period's decisions were stored (by deciding it, or by recounting
  its criticisms after an earlier period changed); the latest is current and holds the decisions.json
  document it wrote.
- ``decisions``: the current decisions of each decided period, one row per decision.
- ``criticism_history``: criticisms issued before the system existed, imported from history.csv.
"""

from __future__ import annotations

import sqlalchemy as sa

from cchc.warehouse.schema import metadata

DECISION_KINDS = ("commend", "remind", "criticise", "request")
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
# One current run per period, whatever goes wrong in the storing code.
sa.Index(
    "uq_decision_runs_current",
    decision_runs.c.authority_id,
    decision_runs.c.period,
    unique=True,
    sqlite_where=decision_runs.c.is_current,
    postgresql_where=decision_runs.c.is_current,
)
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
