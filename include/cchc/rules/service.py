"""``decide_period``: the decisions stage of one (authority, period), for the DAG and the command line.

Reads the period's rates, registry and official-email flags from the warehouse, imports history.csv,
decides (pure functions of ``cchc.rules.decide``), stores the decisions and refreshes the stale
criticism counts of other periods in one transaction, then writes decisions.json.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from cchc.core import settings
from cchc.core.authorities import Authority
from cchc.core.db import guarded
from cchc.core.errors import CchcError
from cchc.core.fields import RATE_METRICS
from cchc.core.periods import Period
from cchc.rules.decide import Decision, Figure, UnitInfo, decide_period_pure
from cchc.rules.document import build_document
from cchc.rules.escalation import (
    Recount,
    earlier_criticisms,
    load_tallies,
    lock_authority,
    log_conflicts,
    recount,
)
from cchc.rules.history import HistoryImport, import_history
from cchc.rules.rulebook import Rulebook, load_rulebook
from cchc.rules.rulebook import operator_note as note_for
from cchc.rules.store import current_run, store_period, write_document
from cchc.rules.summary import decisions_text
from cchc.warehouse.load import as_period, read_facts, read_units
from cchc.warehouse.migrate import require_head
from cchc.warehouse.rates import authority_totals, read_rates
from cchc.warehouse.schema import AUTHORITY_TOTAL

log = logging.getLogger(__name__)


class DecisionError(CchcError):
    """The period cannot be decided as things stand (rates missing or computed with other rules)."""


@dataclass
class DecisionResult:
    authority_id: str
    period: str
    run_id: str
    rulebook_version: str
    path: Path
    decisions: list[Decision]
    document: dict[str, Any]
    decisions_hash: str
    # False when the same decisions were already stored for the period (a rerun that changed nothing).
    changed: bool
    # Other periods whose criticism counts were refreshed (and their decisions.json rewritten).
    recounted: list[str] = field(default_factory=list)
    history: HistoryImport | None = None
    # Issued periods whose counts a recount would have changed: reported, never written.
    conflicts: list[str] = field(default_factory=list)

    def section_counts(self) -> list[dict[str, Any]]:
        out = []
        for section in self.document["sections"]:
            kind = section["kind"]
            if kind == "commend":
                out.append(
                    {
                        "number": section["number"],
                        "kind": kind,
                        "units": sum(len(g["units"]) for g in section["groups"]),
                    }
                )
            elif kind == "remind":
                for sub in section["subsections"]:
                    out.append(
                        {
                            "number": sub["number"],
                            "kind": kind,
                            "metric": sub["metric"],
                            "units": sum(len(g["entries"]) for g in sub["groups"]),
                        }
                    )
            elif kind == "criticise":
                out.append(
                    {
                        "number": section["number"],
                        "kind": kind,
                        "count": section["count"],
                        "units": len(section["entries"]),
                    }
                )
            elif kind == "request":
                out.append({"number": section["number"], "kind": kind, "units": len(section["entries"])})
            else:
                out.append({"number": section["number"], "kind": kind})
        return out

    def summary(self) -> dict[str, Any]:
        """A small JSON-able dict for XCom and the task log."""
        by_kind: dict[str, int] = {}
        for d in self.decisions:
            by_kind[d.kind] = by_kind.get(d.kind, 0) + 1
        return {
            "authority": self.authority_id,
            "period": self.period,
            "run_id": self.run_id,
            "rulebook_version": self.rulebook_version,
            "path": str(self.path),
            "decisions_hash": self.decisions_hash,
            "changed": self.changed,
            "decisions": {
                kind: by_kind.get(kind, 0) for kind in ("commend", "remind", "criticise", "request")
            },
            "sections": self.section_counts(),
            "recounted": list(self.recounted),
            "history": self.history.summary() if self.history else None,
            "conflicts": list(self.conflicts),
        }

    def text(self) -> str:
        """The decisions in Vietnamese, for an operator reading a log or a terminal."""

        return decisions_text(self.document, recounted=self.recounted, path=self.path)


def _figures(rows: list[dict[str, Any]]) -> dict[str, dict[tuple[str, str], Figure]]:
    out: dict[str, dict[tuple[str, str], Figure]] = {}
    for row in rows:
        out.setdefault(row["unit_code"], {})[(row["metric"], row["window"])] = Figure(
            row["numerator"], row["denominator"]
        )
    return out


def rates_campaign_starts(rows: list[dict[str, Any]]) -> dict[str, Period]:
    """The campaign window starts the stored rates were computed with (from the authority row)."""
    return {
        r["metric"]: Period.parse(r["window_start"])
        for r in rows
        if r["unit_code"] == AUTHORITY_TOTAL and r["window"] == "campaign" and r["metric"] in RATE_METRICS
    }


def period_units(engine: Engine, authority_id: str, period: Period) -> list[UnitInfo]:
    """The registry of the period with each unit's official-email flag from the current facts."""
    flags = {r["unit_code"]: r["official_email_regular"] for r in read_facts(engine, authority_id, period)}
    return [
        UnitInfo.from_row(u, i, flags.get(u["code"]))
        for i, u in enumerate(read_units(engine, authority_id, period), start=1)
    ]


@guarded("ra quyết định")
def decide_period(
    engine: Engine,
    authority: Authority,
    period: Period | str,
    run_id: str | None = None,
    output_dir: str | os.PathLike | None = None,
    *,
    operator_note: str | None = None,
    rulebook: Rulebook | None = None,
    history: bool = True,
) -> DecisionResult:
    """Decide one period of one authority, store it, write ``<output_dir>/<authority>/<period>/decisions.json``.

    ``output_dir`` defaults to ``CCHC_OUTPUT_DIR`` (else ``output``). ``operator_note`` overrides the
    period's sentence in the authority's notes.yaml. ``history=False`` skips importing history.csv.
    The period's rates must have been computed with the rulebook's campaign starts
    (``campaign_starts_for``); otherwise ``DecisionError`` says so and nothing is stored.
    """
    period = as_period(period)
    where = f"{authority.id} kỳ {period}"
    rulebook = rulebook or load_rulebook(authority)
    rules = rulebook.rules_for(period)
    run_id = str(run_id or f"manual__{uuid.uuid4().hex[:12]}")
    output_dir = Path(output_dir) if output_dir is not None else settings.current().output_dir
    note = operator_note if operator_note is not None else note_for(authority, period)

    history_result = (
        import_history(engine, authority, run_id=run_id, output_dir=output_dir) if history else None
    )

    rows = read_rates(engine, authority.id, period)
    if not rows:
        raise DecisionError(
            f"{where}: kho chưa có tỷ lệ của kỳ này; tính tỷ lệ (compute_rates) trước khi ra quyết định"
        )
    starts = rates_campaign_starts(rows)
    expected = rules.campaign_starts(period.year)
    differ = [m for m in RATE_METRICS if starts.get(m) != expected[m]]
    if differ:
        detail = "; ".join(
            f"{m}: tỷ lệ tính từ {starts.get(m)}, bộ quy tắc quy định từ {expected[m]}" for m in differ
        )
        raise DecisionError(
            f"{where}: tỷ lệ chiến dịch được tính với thời điểm bắt đầu khác bộ quy tắc ({detail}); "
            "tính lại tỷ lệ với campaign_starts_for(...) rồi chạy lại"
        )
    units = period_units(engine, authority.id, period)
    figures = _figures(rows)
    missing = [u.code for u in units if u.code not in figures]
    if missing:
        raise DecisionError(
            f"{where}: chưa có tỷ lệ cho đơn vị {', '.join(missing)} (danh mục đổi sau khi tính tỷ lệ); "
            "tính lại tỷ lệ rồi chạy lại"
        )
    totals = authority_totals(engine, authority.id, period)

    with engine.begin() as conn:
        require_head(conn)
        lock_authority(conn, authority.id)
        earlier = earlier_criticisms(
            load_tallies(conn, authority.id), period, rules.count_window_start(period)
        )
        decided = decide_period_pure(units, figures, rules, earlier, authority.letter_wording)
        document = build_document(
            authority=authority,
            period=period,
            rules=rules,
            campaign_starts=starts,
            totals=totals,
            units=units,
            figures=figures,
            decided=decided,
            operator_note=note,
        )
        before = current_run(conn, authority.id, str(period))
        _, digest = store_period(
            conn,
            authority.id,
            str(period),
            decided.decisions,
            document,
            rules.version,
            rules.values_json(),
            run_id,
        )
        redone = recount(conn, authority.id, run_id, exclude=str(period))
    recounted = redone.documents
    log_conflicts(authority.id, redone)

    path = write_document(output_dir, authority.id, period, document)
    for when, other in recounted.items():
        write_document(output_dir, authority.id, when, other)
    changed = before is None or before["decisions_hash"] != digest
    result = DecisionResult(
        authority.id,
        str(period),
        run_id,
        rules.version,
        path,
        decided.decisions,
        document,
        digest,
        changed,
        sorted(recounted),
        history_result,
        redone.conflict_lines(),
    )
    counts = result.summary()["decisions"]
    log.info(
        "%s: %d biểu dương, %d nhắc nhở, %d phê bình, %d đề nghị (bộ quy tắc %s); ghi %s",
        where,
        counts["commend"],
        counts["remind"],
        counts["criticise"],
        counts["request"],
        rules.version,
        path,
    )
    if recounted:
        log.warning(
            "%s: số lần phê bình của kỳ %s thay đổi và đã được tính lại; tạo lại công văn của các kỳ này "
            "nếu đã tạo",
            where,
            ", ".join(sorted(recounted)),
        )
    return result


def stale_rates(rows: list[dict[str, Any]], expected: Mapping[str, Period]) -> bool:
    """True when stored rates were computed with other campaign starts than ``expected``."""
    starts = rates_campaign_starts(rows)
    return any(starts.get(m) != expected[m] for m in RATE_METRICS)


def recount_after_issue(
    engine: Engine, authority: Authority, output_dir: str | os.PathLike, run_id: str | None = None
) -> Recount:
    """A letter was just issued: its criticisms now count, so the later periods' stored counts (their
    drafts) are refreshed and their decisions.json rewritten; issued periods are reported, not changed."""
    with engine.begin() as conn:
        require_head(conn)
        lock_authority(conn, authority.id)
        done = recount(conn, authority.id, run_id or "issue")
    for when, document in done.documents.items():
        write_document(output_dir, authority.id, when, document)
    if done.documents:
        log.warning(
            "%s: số lần phê bình của kỳ %s được tính lại sau khi phát hành công văn",
            authority.id,
            ", ".join(sorted(done.documents)),
        )
    log_conflicts(authority.id, done)
    return done
