"""The decisions in the warehouse and decisions.json on disk.

Storing a period is one transaction: a new current run, the period's previous decisions replaced by
the new ones. decisions.json is written atomically (a temporary file renamed over the old one), so a
reader never sees half a file. The imported criticism history is ``cchc.rules.history``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cchc.core.db import guarded, new_key
from cchc.core.files import atomic_write_json
from cchc.core.paths import PeriodFolder
from cchc.core.periods import Period
from cchc.rules.decide import Decision, Reason
from cchc.rules.document import decisions_hash
from cchc.warehouse.schema import decision_runs, decisions

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ decisions


def current_run(conn: sa.Connection, authority_id: str, period: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(decision_runs).where(
                decision_runs.c.authority_id == authority_id,
                decision_runs.c.period == period,
                decision_runs.c.is_current.is_(True),
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def read_decisions(conn: sa.Connection, authority_id: str, period: str) -> list[Decision]:
    """The current decisions of a period, in their stored order."""
    rows = (
        conn.execute(
            sa.select(decisions)
            .where(decisions.c.authority_id == authority_id, decisions.c.period == period)
            .order_by(decisions.c.position)
        )
        .mappings()
        .all()
    )
    return [
        Decision(
            unit_code=r["unit_code"],
            kind=r["kind"],
            rulebook_version=r["rulebook_version"],
            reasons=tuple(Reason.from_json(x) for x in r["reasons"]),
            metric=r["metric"],
            reason=r["reason"],
            group=r["commend_group"],
            count=r["count"],
            section=r["section"],
        )
        for r in rows
    ]


def store_period(
    conn: sa.Connection,
    authority_id: str,
    period: str,
    placed: Sequence[Decision],
    document: Mapping[str, Any],
    rulebook_version: str,
    rulebook_values: Mapping[str, Any],
    run_id: str,
    cause: str = "decide",
) -> tuple[int, str]:
    """Replace the period's stored decisions (inside the caller's transaction); returns (run_key, hash)."""
    digest = decisions_hash(placed)
    conn.execute(
        decision_runs.update()
        .where(
            decision_runs.c.authority_id == authority_id,
            decision_runs.c.period == period,
            decision_runs.c.is_current.is_(True),
        )
        .values(is_current=False)
    )
    run_key = new_key(
        conn.execute(
            decision_runs.insert().values(
                authority_id=authority_id,
                period=period,
                rulebook_version=rulebook_version,
                rulebook_values=dict(rulebook_values),
                decisions_hash=digest,
                decision_count=len(placed),
                run_id=str(run_id),
                cause=cause,
                is_current=True,
                document=dict(document),
                created_at=_now(),
            )
        )
    )
    conn.execute(
        decisions.delete().where(decisions.c.authority_id == authority_id, decisions.c.period == period)
    )
    if placed:
        conn.execute(
            decisions.insert(),
            [
                {
                    "run_key": run_key,
                    "authority_id": authority_id,
                    "period": period,
                    "unit_code": d.unit_code,
                    "position": i,
                    "kind": d.kind,
                    "section": d.section,
                    "metric": d.metric,
                    "reason": d.reason,
                    "commend_group": d.group,
                    "count": d.count,
                    "reasons": [r.json() for r in d.reasons],
                    "rulebook_version": d.rulebook_version,
                }
                for i, d in enumerate(placed, start=1)
            ],
        )
    return run_key, digest


@guarded("đọc quyết định đã lưu")
def read_stored(engine: Engine, authority_id: str, period: Period | str) -> dict[str, Any] | None:
    """The current run of a period (rulebook version, hash, run_id, document …) with its decisions, or None."""
    with engine.connect() as conn:
        run = current_run(conn, authority_id, str(period))
        if run is None:
            return None
        run["decisions"] = read_decisions(conn, authority_id, str(period))
        return run


# ------------------------------------------------------------------------------ files


def decisions_path(output_dir: str | os.PathLike, authority_id: str, period: Period | str) -> Path:
    return PeriodFolder(output_dir, authority_id, period).decisions_json


def write_document(
    output_dir: str | os.PathLike, authority_id: str, period: Period | str, document: Mapping[str, Any]
) -> Path:
    """Write decisions.json atomically: readers see the old file or the new one, never half of one."""
    return atomic_write_json(decisions_path(output_dir, authority_id, period), document)
