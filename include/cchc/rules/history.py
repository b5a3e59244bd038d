"""Criticisms issued before the system existed: history.csv imported into the warehouse.

The n-th criticism of a unit counts the letters sent before the system existed too (BRIEF §3). The
import is idempotent and makes the stored history equal to the file; periods whose criticism counts
it makes stale are recounted (``cchc.rules.escalation``) in the same transaction.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cchc.core.authorities import load_history
from cchc.core.db import guarded
from cchc.core.errors import ConfigError
from cchc.rules.escalation import Recount, lock_authority, log_conflicts, recount
from cchc.rules.store import write_document
from cchc.warehouse.migrate import require_head
from cchc.warehouse.schema import criticism_history

log = logging.getLogger(__name__)


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
        return {
            "authority_id": self.authority_id,
            "rows": self.rows,
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "recounted": list(self.recounted),
        }


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
        raise ConfigError(
            f"{authority.history_path}: trùng dòng cho cùng kỳ và đơn vị: {', '.join(duplicates)}"
        )
    return out


@guarded("nhập lịch sử phê bình")
def import_history(
    engine: Engine,
    authority: Any,
    *,
    run_id: str = "history-import",
    output_dir: str | os.PathLike | None = None,
) -> HistoryImport:
    """Make the stored history equal to the authority's history.csv (idempotent, one transaction).

    Rows added, changed or gone from the file are applied; without a history.csv nothing changes.
    Stored periods whose criticism counts this makes stale are recounted in the same transaction and,
    when ``output_dir`` is given, their decisions.json rewritten.
    """
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
            for r in conn.execute(
                sa.select(criticism_history).where(criticism_history.c.authority_id == authority.id)
            )
        }
        now = datetime.now(UTC)
        for key, count in sorted(wanted.items()):
            if key not in stored:
                conn.execute(
                    criticism_history.insert().values(
                        authority_id=authority.id,
                        period=key[0],
                        unit_code=key[1],
                        count=count,
                        imported_at=now,
                    )
                )
                added.append(f"{key[0]} {key[1]}")
            elif stored[key] != count:
                conn.execute(
                    criticism_history.update()
                    .where(
                        criticism_history.c.authority_id == authority.id,
                        criticism_history.c.period == key[0],
                        criticism_history.c.unit_code == key[1],
                    )
                    .values(count=count, imported_at=now)
                )
                changed.append(f"{key[0]} {key[1]}")
        for key in sorted(set(stored) - set(wanted)):
            conn.execute(
                criticism_history.delete().where(
                    criticism_history.c.authority_id == authority.id,
                    criticism_history.c.period == key[0],
                    criticism_history.c.unit_code == key[1],
                )
            )
            removed.append(f"{key[0]} {key[1]}")
        redone = recount(conn, authority.id, run_id) if (added or changed or removed) else Recount()
    recounted = redone.documents
    log_conflicts(authority.id, redone)
    if added or changed or removed:
        log.info(
            "%s: lịch sử phê bình (history.csv) — thêm %d, đổi %d, bỏ %d dòng",
            authority.id,
            len(added),
            len(changed),
            len(removed),
        )
    if recounted:
        log.warning(
            "%s: số lần phê bình đã lưu của kỳ %s được tính lại do lịch sử thay đổi",
            authority.id,
            ", ".join(recounted),
        )
        if output_dir is not None:
            for when, document in recounted.items():
                write_document(output_dir, authority.id, when, document)
    return HistoryImport(authority.id, len(wanted), added, changed, removed, sorted(recounted))
