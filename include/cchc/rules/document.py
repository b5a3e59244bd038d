"""decisions.json as docs/decisions.md describes it, built from pure data (no I/O here)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from cchc.core import wording
from cchc.core.fields import RATE_METRICS
from cchc.core.percent import format_change, format_percent
from cchc.core.periods import Period
from cchc.rules.decide import Decision, Figure, PeriodDecisions, UnitInfo, layout, shortfalls
from cchc.rules.rulebook import Rules, decimal_text

SCHEMA = "cchc.decisions/1"
FIGURE_WINDOWS = ("month", "ytd", "campaign")


def _percent_text(value: Decimal | None) -> str | None:
    return None if value is None else format_percent(value)


def totals_json(totals: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``totals`` of decisions.json from ``cchc.warehouse.authority_totals``."""
    out: dict[str, Any] = {}
    for metric in RATE_METRICS:
        t = totals[metric]
        out[metric] = {
            "numerator": t["numerator"],
            "denominator": t["denominator"],
            "shown": decimal_text(t["shown"]),
            "text": _percent_text(t["shown"]),
            "previous_shown": decimal_text(t["previous_shown"]),
            "previous_text": _percent_text(t["previous_shown"]),
            "change": decimal_text(t["change"]),
            "change_text": format_change(t["change"]) if t["change"] is not None else None,
        }
    out["posts"] = {"numerator": totals["posts"]["numerator"]}
    return out


def windows_json(period: Period, campaign_starts: Mapping[str, Period]) -> dict[str, Any]:
    return {
        "ytd": {"start": str(Period(period.year, 1)), "end": str(period), "label": wording.ytd_label(period)},
        "campaign": {
            metric: {
                "start": str(campaign_starts[metric]),
                "end": str(period),
                "label": wording.window_label(campaign_starts[metric], period),
            }
            for metric in RATE_METRICS
        },
    }


def unit_json(
    unit: UnitInfo, figures: Mapping[tuple[str, str], Figure], rules: Rules, decisions: Sequence[Decision]
) -> dict[str, Any]:
    figure_json: dict[str, Any] = {
        metric: {window: figures[(metric, window)].json() for window in FIGURE_WINDOWS}
        for metric in RATE_METRICS
    }
    figure_json["posts"] = {"month": figures[("posts", "month")].numerator, "required": rules.posts_required}
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "head_title": unit.head_title,
        "email": unit.email,
        "official_email_regular": unit.official_email_regular,
        "figures": figure_json,
        "decisions": [d.json() for d in decisions if d.unit_code == unit.code],
    }


def build_document(
    *,
    authority: Any,
    period: Period,
    rules: Rules,
    campaign_starts: Mapping[str, Period],
    totals: Mapping[str, Mapping[str, Any]],
    units: Sequence[UnitInfo],
    figures: Mapping[str, Mapping[tuple[str, str], Figure]],
    decided: PeriodDecisions,
    operator_note: str | None,
) -> dict[str, Any]:
    """The whole decisions.json of a period, keys in the contract's order."""
    return {
        "schema": SCHEMA,
        "authority": {"id": authority.id, "level": authority.level, "name": authority.name},
        "period": str(period),
        "period_label": period.label,
        "previous_period_label": period.previous().label,
        "year": period.year,
        "rulebook": {"version": rules.version, "values": rules.values_json()},
        "windows": windows_json(period, campaign_starts),
        "targets": rules.targets_json(),
        "totals": totals_json(totals),
        "shortfalls": shortfalls(units, figures, rules, decided.sections),
        "operator_note": operator_note,
        "units": {u.code: unit_json(u, figures[u.code], rules, decided.decisions) for u in units},
        "sections": decided.sections,
    }


def units_of(document: Mapping[str, Any]) -> list[UnitInfo]:
    """The units of a stored document (registry order), for laying its decisions out again."""
    return [
        UnitInfo.from_row(u, i, u.get("official_email_regular"))
        for i, u in enumerate(document["units"].values(), start=1)
    ]


def rebuild_document(
    document: Mapping[str, Any], decisions: Sequence[Decision]
) -> tuple[dict[str, Any], list[Decision]]:
    """A stored document with its decisions laid out again (after a recount of the criticisms).

    A recount changes only the criticisms' counts, never whom the letter concerns: the directives are
    kept as the period was decided (with the authority's settings of then).
    """
    out = copy.deepcopy(dict(document))
    stored = next((s for s in out.get("sections") or [] if s.get("kind") == "directives"), None)
    sections, placed = layout([d for d in decisions], units_of(out), directives=stored)
    out["sections"] = sections
    for code, unit in out["units"].items():
        unit["decisions"] = [d.json() for d in placed if d.unit_code == code]
    return out, placed


def decisions_hash(decisions: Sequence[Decision]) -> str:
    """What was decided (units, kinds, sections, counts, figures), independent of run ids and times."""
    payload = [{"unit": d.unit_code, **d.json()} for d in decisions]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
