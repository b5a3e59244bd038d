"""The generated national configuration under the real rules: every section in every month.

Each province's monthly.csv goes through the warehouse (SQLite, one per province) as the pipeline
loads it; the rates are computed in SQL and every month is decided by ``decide_period`` with the
history.csv imported, as a run of that month would. Then, for every month: commendations, reminders
on results, receipt and (from February) payment, criticisms the first time and (from February) the
second,
a vertical agency requested. January and February decide exactly the criticisms history.csv lists,
and the generator's own account of each unit (``cchc.scenario.roles``) is what the rules decided.

Three provinces run in ``make test-fast`` (the smallest, and two with special zones); the other 31
are marked ``slow`` (some 25 s together).
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from support.scenario import MONTHS
from support.warehouse import migrated, sqlite_url

from cchc.core.authorities import load_authority, load_history, load_monthly
from cchc.rules.rulebook import campaign_starts_for
from cchc.rules.service import decide_period
from cchc.scenario import data
from cchc.scenario.generate import parse_months
from cchc.warehouse.load import load_facts, sync_units
from cchc.warehouse.rates import compute_rates

FAST = ("lai-chau", "quang-ninh", "an-giang")
PERIODS = [str(m) for m in parse_months(MONTHS)]


def _role(decision) -> str:
    if decision.kind == "remind":
        return f"remind:{decision.metric}:{decision.reason}"
    return decision.kind


@pytest.fixture(scope="module")
def decided(national, tmp_path_factory, request):
    """Every month of one province decided under the real rules: period → DecisionResult (once per
    province for the module's tests)."""
    tmp_path = tmp_path_factory.mktemp(request.param)
    authority = load_authority(national.out / request.param)
    engine = migrated(sqlite_url(tmp_path))
    rows = load_monthly(authority)
    out = {}
    logging.getLogger("cchc").setLevel(logging.WARNING)  # 3 × ~100 units of info lines otherwise
    try:
        for period in PERIODS:
            frame = pd.DataFrame(
                [{**r, "authority": authority.id, "source": "api"} for r in rows if r["period"] == period]
            )
            sync_units(engine, authority, period)
            load_facts(engine, authority.id, period, frame, f"scenario-{period}", "api")
            compute_rates(engine, authority.id, period, campaign_starts_for(authority, period))
            out[period] = decide_period(engine, authority, period, run_id="scenario", output_dir=tmp_path)
    finally:
        engine.dispose()
    return authority, out


PROVINCES = [
    pytest.param(p.slug, id=p.slug, marks=() if p.slug in FAST else pytest.mark.slow) for p in data.PROVINCES
]


@pytest.mark.parametrize("decided", PROVINCES, indirect=True)
def test_every_month_has_every_section_under_the_real_rules(decided):
    authority, results = decided
    for period, result in results.items():
        sections = result.document["sections"]
        kinds = [s["kind"] for s in sections]
        january = period.endswith("-01")
        assert kinds[0] == "commend" and kinds[-1] == "directives", (authority.id, period)
        assert sum(len(g["units"]) for g in sections[0]["groups"]) >= 5
        remind = next(s for s in sections if s["kind"] == "remind")
        metrics = [sub["metric"] for sub in remind["subsections"]]
        assert metrics == (["result", "receipt"] if january else ["result", "receipt", "payment"]), period
        counts = [s["count"] for s in sections if s["kind"] == "criticise"]
        assert counts[0] == 1 and (january or counts[1] == 2), (authority.id, period, counts)
        request = next(s for s in sections if s["kind"] == "request")
        assert request["entries"] and all(e["unit"] in ("CA", "BHXH", "THUE") for e in request["entries"])
        # The commendations have their groups: agencies, communes with official email, the others.
        assert {g["group"] for g in sections[0]["groups"]} >= {"agencies", "communes_official_email"}


@pytest.mark.parametrize("decided", PROVINCES, indirect=True)
def test_history_is_what_the_rules_decided_and_counts_escalate(decided):
    authority, results = decided
    history = load_history(authority)
    for period in PERIODS[:-1]:
        criticised = {d.unit_code for d in results[period].decisions if d.kind == "criticise"}
        assert criticised == {h["unit_code"] for h in history if h["period"] == period}, period
    # March: a unit's count is one more than its criticisms listed in January and February.
    before: dict[str, int] = {}
    for h in history:
        before[h["unit_code"]] = before.get(h["unit_code"], 0) + h["count"]
    last = results[PERIODS[-1]]
    counts = {d.unit_code: d.count for d in last.decisions if d.kind == "criticise"}
    assert counts and all(n == 1 + before.get(code, 0) for code, n in counts.items())


@pytest.mark.parametrize("decided", PROVINCES, indirect=True)
def test_the_generators_account_is_the_rules(decided, national):
    """``cchc.scenario.roles`` (what the generator built for) against ``cchc.rules`` (what it got)."""
    authority, results = decided
    [scenario] = [s for s in national.scenarios if s.province.slug == authority.id]
    for month, roles in scenario.roles.items():
        decided_roles: dict[str, set[str]] = {code: set() for code in roles}
        for decision in results[str(month)].decisions:
            decided_roles[decision.unit_code].add(_role(decision))
        assert decided_roles == roles, month
