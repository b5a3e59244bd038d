"""Decisions: the rulebook, commend / remind / criticise / request, escalation, decisions.json.

Typical use in a task::

    starts = campaign_starts_for(authority, period)          # for warehouse.compute_rates
    compute_rates(engine, authority.id, period, starts)
    result = decide_period(engine, authority, period, run_id=run_id)
    result.summary()                                         # small dict for XCom
    print(result.text())                                     # the decisions in Vietnamese

The names are imported lazily: ``cchc.rules.tables`` is imported by the warehouse schema (so that the
schema-vs-migrations check sees the decisions' tables), and must not pull the whole stage, which
itself imports the warehouse, while the schema module is still loading.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Rules": "cchc.rules.rulebook",
    "Rulebook": "cchc.rules.rulebook",
    "load_rulebook": "cchc.rules.rulebook",
    "campaign_starts_for": "cchc.rules.rulebook",
    "load_notes": "cchc.rules.rulebook",
    "operator_note": "cchc.rules.rulebook",
    "DEFAULT_RULEBOOK": "cchc.rules.rulebook",
    "Decision": "cchc.rules.decide",
    "Figure": "cchc.rules.decide",
    "Reason": "cchc.rules.decide",
    "UnitInfo": "cchc.rules.decide",
    "decide_unit": "cchc.rules.decide",
    "decide_units": "cchc.rules.decide",
    "layout": "cchc.rules.decide",
    "DecisionError": "cchc.rules.service",
    "DecisionResult": "cchc.rules.service",
    "decide_period": "cchc.rules.service",
    "HistoryImport": "cchc.rules.store",
    "import_history": "cchc.rules.store",
    "read_stored": "cchc.rules.store",
    "decisions_path": "cchc.rules.store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cchc.rules' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
