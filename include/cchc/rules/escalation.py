"""Escalation: which criticism of the year a criticism is ("Phê bình lần thứ hai …").

The n-th criticism of a unit in a period P is 1 + its criticisms in the earlier periods of the counting
window (the calendar year of P by default). Each earlier period counts once, from one source:

- the letter issued for it (the one that went out and stands: its decisions as they were when it was
  made), if the system issued one — a draft, a rejected or a never-issued letter counts nothing;
- otherwise the imported history (history.csv: letters sent before the system existed).

So importing the history and then running the same months counts nothing twice, and rerunning P
replaces P's stored decisions instead of adding to them.

A count depends only on *which* units were criticised in earlier periods, never on earlier counts.
When a period's letter is issued, or a period is decided (again) out of order, or the history
changes, the counts stored for other periods may become stale: ``recount`` recomputes the expected
count of every stored criticism and re-stores (cause "recount") exactly the periods whose counts
changed, rewriting their sections, in the same transaction. A period whose letter was issued is
frozen: a recount that would change it is reported as a conflict (``Recount.conflicts``), never
written — the letter that went out is a record.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from cchc.core.db import advisory_lock
from cchc.core.periods import Period
from cchc.rules.document import rebuild_document
from cchc.rules.rulebook import count_window_start
from cchc.rules.store import current_run, read_decisions, store_period
from cchc.warehouse.schema import criticism_history, decision_runs, decisions, letters

log = logging.getLogger(__name__)

Tallies = dict[str, dict[str, int]]
"""Criticisms per period ('YYYY-MM') and unit code."""


def earlier_criticisms(
    tallies: Mapping[str, Mapping[str, int]], period: Period, window_start: Period | None
) -> dict[str, int]:
    """Per unit, the criticisms of the periods before ``period`` from ``window_start`` (None: all)."""
    out: dict[str, int] = defaultdict(int)
    end = str(period)
    start = str(window_start) if window_start is not None else ""
    for when, by_unit in tallies.items():
        if start <= when < end:
            for unit, count in by_unit.items():
                out[unit] += count
    return dict(out)


def merge_sources(
    decided: set[str], stored: Mapping[str, Mapping[str, int]], history: Mapping[str, Mapping[str, int]]
) -> Tallies:
    """One source per period: the stored decisions of a decided period, else the imported history."""
    out: Tallies = {}
    for when in decided:
        out[when] = dict(stored.get(when, {}))
    for when, by_unit in history.items():
        if when not in decided:
            out[when] = dict(by_unit)
    return out


def lock_authority(conn: sa.Connection, authority_id: str) -> None:
    """Serialise decision writes of one authority until the transaction ends.

    Deciding two periods at once (a backfill with parallel runs) must not let each count without the
    other's criticisms.
    """
    advisory_lock(conn, "cchc.decisions", authority_id)


STANDING_STATES = ("issued", "sending", "sent", "partly_sent")


def issued_sources(conn: sa.Connection, authority_id: str) -> dict[str, dict[str, int]]:
    """Per period with a letter that went out and stands, the criticisms it announced: unit → count."""
    letters_by_period: dict[str, Any] = {}
    for row in conn.execute(
        sa.select(letters.c.period, letters.c.letter_id, letters.c.decision_run_key)
        .where(letters.c.authority_id == authority_id, letters.c.status.in_(STANDING_STATES))
        .order_by(letters.c.letter_id)
    ):
        letters_by_period[row.period] = row  # the newest standing letter of the period
    out: dict[str, dict[str, int]] = {}
    for when, row in letters_by_period.items():
        tally: dict[str, int] = defaultdict(int)
        if row.decision_run_key is not None:
            document = (
                conn.execute(
                    sa.select(decision_runs.c.document).where(decision_runs.c.run_key == row.decision_run_key)
                ).scalar()
                or {}
            )
            for code, unit in (document.get("units") or {}).items():
                for decision in unit.get("decisions") or []:
                    if decision.get("kind") == "criticise":
                        tally[code] += 1
        else:  # a letter recorded without its decision run (made before 0005): the stored decisions
            for unit, count in conn.execute(
                sa.select(decisions.c.unit_code, sa.func.count())
                .where(
                    decisions.c.authority_id == authority_id,
                    decisions.c.period == when,
                    decisions.c.kind == "criticise",
                )
                .group_by(decisions.c.unit_code)
            ):
                tally[unit] = int(count)
        out[when] = dict(tally)
    return out


def load_tallies(conn: sa.Connection, authority_id: str) -> Tallies:
    """Every period's criticisms of the authority, each period from its one source."""
    issued = issued_sources(conn, authority_id)
    history: dict[str, dict[str, int]] = defaultdict(dict)
    for when, unit, count in conn.execute(
        sa.select(criticism_history.c.period, criticism_history.c.unit_code, criticism_history.c.count).where(
            criticism_history.c.authority_id == authority_id
        )
    ):
        if count:
            history[when][unit] = int(count)
    return merge_sources(set(issued), issued, history)


def stale_counts(
    conn: sa.Connection,
    authority_id: str,
    tallies: Mapping[str, Mapping[str, int]],
    exclude: str | None = None,
) -> dict[str, dict[str, int]]:
    """Per stored period, the criticisms whose stored count differs from the expected one: unit → count."""
    runs = {
        row.period: row.rulebook_values
        for row in conn.execute(
            sa.select(decision_runs.c.period, decision_runs.c.rulebook_values).where(
                decision_runs.c.authority_id == authority_id, decision_runs.c.is_current.is_(True)
            )
        )
    }
    stale: dict[str, dict[str, int]] = defaultdict(dict)
    for when, unit, count in conn.execute(
        sa.select(decisions.c.period, decisions.c.unit_code, decisions.c.count).where(
            decisions.c.authority_id == authority_id, decisions.c.kind == "criticise"
        )
    ):
        if when == exclude or when not in runs:
            continue
        period = Period.parse(when)
        reset = (runs[when] or {}).get("criticism_reset", "year")
        expected = 1 + earlier_criticisms(tallies, period, count_window_start(period, reset)).get(unit, 0)
        if expected != count:
            stale[when][unit] = expected
    return dict(stale)


@dataclass
class Recount:
    """What a recount rewrote (period → new document) and what it refused to (frozen periods)."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # period → unit → [stored count, expected count], for periods whose letter went out.
    conflicts: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def conflict_lines(self) -> list[str]:
        return [
            f"kỳ {when}, đơn vị {unit}: công văn đã phát hành ghi phê bình lần {old}, tính lại là lần {new}"
            for when, units in sorted(self.conflicts.items())
            for unit, (old, new) in sorted(units.items())
        ]


def recount(conn: sa.Connection, authority_id: str, run_id: str, exclude: str | None = None) -> Recount:
    """Re-store every stored period whose criticism counts are stale, unless its letter went out.

    Only the counts (and so the criticism sections and their numbering) change: the figures and the
    other decisions are those the period was decided with. A period with a letter that went out is
    frozen: its stale counts are returned as conflicts and nothing of it is written.
    """
    tallies = load_tallies(conn, authority_id)
    frozen = set(issued_sources(conn, authority_id))
    out = Recount()
    stored = {(d.period, d.unit_code): d.count for d in _criticisms(conn, authority_id)}
    for when, counts in sorted(stale_counts(conn, authority_id, tallies, exclude).items()):
        if when in frozen:
            out.conflicts[when] = {
                unit: [int(stored.get((when, unit)) or 0), count] for unit, count in counts.items()
            }
            continue
        run = current_run(conn, authority_id, when)
        if run is None:  # pragma: no cover - stale_counts reads only periods with a current run
            continue
        updated = [
            replace(d, count=counts.get(d.unit_code, d.count)) if d.kind == "criticise" else d
            for d in read_decisions(conn, authority_id, when)
        ]
        document, placed = rebuild_document(run["document"], updated)
        store_period(
            conn,
            authority_id,
            when,
            placed,
            document,
            run["rulebook_version"],
            run["rulebook_values"],
            run_id,
            cause="recount",
        )
        out.documents[when] = document
    return out


def log_conflicts(authority_id: str, done: Recount) -> None:
    if done.conflicts:
        log.warning(
            "%s: số lần phê bình tính lại khác công văn đã phát hành, giữ nguyên công văn (là văn bản đã "
            "gửi); xem xét phát hành lại nếu cần:\n%s",
            authority_id,
            "\n".join(done.conflict_lines()),
        )


def _criticisms(conn: sa.Connection, authority_id: str) -> list[Any]:
    return list(
        conn.execute(
            sa.select(decisions.c.period, decisions.c.unit_code, decisions.c.count).where(
                decisions.c.authority_id == authority_id, decisions.c.kind == "criticise"
            )
        )
    )
