"""The decisions in the warehouse, the imported criticism history, and decisions.json on disk.

Storing a period is one transaction: a new current run, the period's previous decisions replaced by
the new ones. decisions.json is written atomically (a temporary file renamed over the old one), so a
reader never sees half a file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cchc.config import load_history
from cchc.errors import ConfigError
from cchc.periods import Period
from cchc.rules.decide import Decision, Reason
from cchc.rules.document import decisions_hash, rebuild_document
from cchc.rules.tables import criticism_history, decision_runs, decisions
from cchc.warehouse.engine import guarded
from cchc.warehouse.migrate import require_head

log = logging.getLogger(__name__)

DECISIONS_FILE = "decisions.json"

__all__ = [
    "DECISIONS_FILE",
    "HistoryImport",
    "current_run",
    "decisions_path",
    "import_history",
    "read_decisions",
    "read_stored",
    "rebuild_document",
    "store_period",
    "write_document",
]


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ decisions


def current_run(conn: sa.Connection, authority_id: str, period: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(decision_runs).where(decision_runs.c.authority_id == authority_id,
                                       decision_runs.c.period == period, decision_runs.c.is_current.is_(True))
    ).mappings().first()
    return dict(row) if row else None


def read_decisions(conn: sa.Connection, authority_id: str, period: str) -> list[Decision]:
    """The current decisions of a period, in their stored order."""
    rows = conn.execute(
        sa.select(decisions).where(decisions.c.authority_id == authority_id, decisions.c.period == period)
        .order_by(decisions.c.position)
    ).mappings().all()
    return [
        Decision(
            unit_code=r["unit_code"], kind=r["kind"], rulebook_version=r["rulebook_version"],
            reasons=tuple(Reason.from_json(x) for x in r["reasons"]), metric=r["metric"], reason=r["reason"],
            group=r["commend_group"], count=r["count"], section=r["section"],
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
        .where(decision_runs.c.authority_id == authority_id, decision_runs.c.period == period,
               decision_runs.c.is_current.is_(True))
        .values(is_current=False)
    )
    run_key = conn.execute(
        decision_runs.insert().values(
            authority_id=authority_id, period=period, rulebook_version=rulebook_version,
            rulebook_values=dict(rulebook_values), decisions_hash=digest, decision_count=len(placed),
            run_id=str(run_id), cause=cause, is_current=True, document=dict(document), created_at=_now(),
        )
    ).inserted_primary_key[0]
    conn.execute(decisions.delete().where(decisions.c.authority_id == authority_id, decisions.c.period == period))
    if placed:
        conn.execute(decisions.insert(), [
            {
                "run_key": run_key, "authority_id": authority_id, "period": period, "unit_code": d.unit_code,
                "position": i, "kind": d.kind, "section": d.section, "metric": d.metric, "reason": d.reason,
                "commend_group": d.group, "count": d.count, "reasons": [r.json() for r in d.reasons],
                "rulebook_version": d.rulebook_version,
            }
            for i, d in enumerate(placed, start=1)
        ])
    return run_key, digest


@guarded
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
    return Path(output_dir) / authority_id / str(period) / DECISIONS_FILE


def write_document(output_dir: str | os.PathLike, authority_id: str, period: Period | str,
                   document: Mapping[str, Any]) -> Path:
    """Write decisions.json atomically: readers see the old file or the new one, never half of one."""
    path = decisions_path(output_dir, authority_id, period)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".decisions-", suffix=".json.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ------------------------------------------------------------------------------ history.csv


@dataclass(frozen=True)
class HistoryImport:
    authority_id: str
    rows: int
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Stored periods whose criticism counts were refreshed because the history changed.
    recounted: list[str] = field(default_factory=list)

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> dict[str, Any]:
        """Counts only: a national history has thousands of rows, too many for an XCom."""
        return {"authority_id": self.authority_id, "rows": self.rows, "added": len(self.added),
                "changed": len(self.changed), "removed": len(self.removed), "recounted": list(self.recounted)}


def _history_rows(authority: Any) -> dict[tuple[str, str], int] | None:
    """history.csv as {(period, unit): count}; None when the authority has no such file."""
    folder = getattr(authority, "folder", None)
    if not folder or not authority.history_path.exists():
        return None
    seen: Counter = Counter()
    out: dict[tuple[str, str], int] = {}
    for row in load_history(authority):
        key = (row["period"], row["unit_code"])
        seen[key] += 1
        out[key] = row["count"]
    duplicates = [f"{p} {u}" for (p, u), n in seen.items() if n > 1]
    if duplicates:
        raise ConfigError(f"{authority.history_path}: trùng dòng cho cùng kỳ và đơn vị: {', '.join(duplicates)}")
    return out


@guarded
def import_history(engine: Engine, authority: Any, *, run_id: str = "history-import",
                   output_dir: str | os.PathLike | None = None) -> HistoryImport:
    """Make the stored history equal to the authority's history.csv (idempotent, one transaction).

    Rows added, changed or gone from the file are applied; without a history.csv nothing changes.
    Stored periods whose criticism counts this makes stale are recounted in the same transaction and,
    when ``output_dir`` is given, their decisions.json rewritten.
    """
    from cchc.rules.escalation import lock_authority, recount

    wanted = _history_rows(authority)
    if wanted is None:
        return HistoryImport(authority.id, 0)
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []
    with engine.begin() as conn:
        require_head(conn)
        lock_authority(conn, authority.id)
        stored = {
            (r.period, r.unit_code): r.count
            for r in conn.execute(sa.select(criticism_history).where(criticism_history.c.authority_id == authority.id))
        }
        now = _now()
        for key, count in sorted(wanted.items()):
            if key not in stored:
                conn.execute(criticism_history.insert().values(authority_id=authority.id, period=key[0],
                                                               unit_code=key[1], count=count, imported_at=now))
                added.append(f"{key[0]} {key[1]}")
            elif stored[key] != count:
                conn.execute(criticism_history.update().where(
                    criticism_history.c.authority_id == authority.id, criticism_history.c.period == key[0],
                    criticism_history.c.unit_code == key[1]).values(count=count, imported_at=now))
                changed.append(f"{key[0]} {key[1]}")
        for key in sorted(set(stored) - set(wanted)):
            conn.execute(criticism_history.delete().where(
                criticism_history.c.authority_id == authority.id, criticism_history.c.period == key[0],
                criticism_history.c.unit_code == key[1]))
            removed.append(f"{key[0]} {key[1]}")
        recounted = recount(conn, authority.id, run_id) if (added or changed or removed) else {}
    if added or changed or removed:
        log.info("%s: lịch sử phê bình (history.csv) — thêm %d, đổi %d, bỏ %d dòng", authority.id, len(added),
                 len(changed), len(removed))
    if recounted:
        log.warning("%s: số lần phê bình đã lưu của kỳ %s được tính lại do lịch sử thay đổi", authority.id,
                    ", ".join(recounted))
        if output_dir is not None:
            for when, document in recounted.items():
                write_document(output_dir, authority.id, when, document)
    return HistoryImport(authority.id, len(wanted), added, changed, removed, sorted(recounted))
