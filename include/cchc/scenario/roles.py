"""What a scenario is built with: shown rates, the decisions a unit's counts lead to, the CSV files.

A scenario gives its units *roles* (commended, reminded on results, criticised, …) and builds counts
for them; ``roles_of`` says which roles the counts really give under the default rulebook's bars
(BRIEF §3), so a builder can check its own construction before writing anything. It mirrors
``cchc.rules.decide`` on purpose, in a few lines and without the warehouse: the tests then compare the
scenarios with the real rules, which keeps this copy honest.

Roles are strings: ``commend``; ``remind:<metric>:<reason>`` (metric result, receipt or payment;
reason low_month, low_ytd or low_campaign); ``criticise``; ``request`` (a vertical agency that would be
criticised). Rates are integers in hundredths of a percent (98,5% is 9850), as the letter rounds them.

Used by scenarios/build_province.py (Hải Phòng, by hand) and ``cchc.scenario.generate`` (national).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cchc.core.authorities import HISTORY_COLUMNS, UNIT_COLUMNS
from cchc.core.fields import COUNT_FIELDS, METRIC_FIELDS, MONTHLY_COLUMNS

Counts = Mapping[str, int]
LOCAL_KINDS = ("commune", "township", "ward", "special_zone")
# The sections of a letter a scenario wants filled (``sections_of``), in the letter's order.
SECTIONS = (
    "commend",
    "remind:result",
    "remind:receipt",
    "remind:payment",
    "criticise:first",
    "criticise:second",
    "request",
)


@dataclass(frozen=True)
class Bars:
    """The default rulebook's bars (hundredths of a percent) with an authority's payment target."""

    target: int
    commend_receipt: int = 9850
    commend_result: int = 9900
    low_month: int = 9000
    low_ytd: int = 9000


def shown(n: int, d: int) -> int | None:
    """Shown rate in hundredths of a percent (half-up on the exact fraction); None without dossiers."""
    return (2 * n * 10000 + d) // (2 * d) if d else None


def counts_for(target: int, d: int) -> int:
    """The numerator whose shown rate over ``d`` is closest to ``target`` (never above ``d``)."""
    return min(d, max(0, round(target * d / 10000)))


def rate(months: Sequence[Counts], metric: str) -> int | None:
    """The shown rate of ``metric`` over ``months``: Σ numerators / Σ denominators, never a mean."""
    numerator, denominator = METRIC_FIELDS[metric]
    return shown(sum(m[numerator] for m in months), sum(m[denominator] for m in months))


def roles_of(kind: str, year: Sequence[Counts], bars: Bars) -> set[str]:
    """The roles of a unit in the last month of ``year`` (its counts from January to that month).

    The payment campaign is the year to date, as the rulebook has it from 2024 on (the campaign
    window starts on 1 January unless a rulebook says otherwise).
    """
    out: set[str] = set()
    month = [year[-1]]
    receipt, result, payment = rate(month, "receipt"), rate(month, "result"), rate(month, "payment")
    campaign = rate(year, "payment")
    if (
        receipt is not None
        and result is not None
        and receipt >= bars.commend_receipt
        and result >= bars.commend_result
        and (payment is None or payment >= bars.target)
    ):
        out.add("commend")
    for metric in ("result", "receipt"):
        value = rate(month, metric)
        if value is None:
            continue
        if value < bars.low_month:
            out.add(f"remind:{metric}:low_month")
        elif (rate(year, metric) or 10000) < bars.low_ytd:
            out.add(f"remind:{metric}:low_ytd")
    if payment is not None:
        month_low, campaign_low = payment < bars.target, campaign is not None and campaign < bars.target
        if month_low and campaign_low:
            out.add("request" if kind == "vertical_agency" else "criticise")
        elif month_low:
            out.add("remind:payment:low_month")
        elif campaign_low:
            out.add("remind:payment:low_campaign")
    return out


def sections_of(roles: Mapping[str, set[str]], earlier: Mapping[str, int]) -> set[str]:
    """The sections (``SECTIONS``) a month's roles fill; ``earlier``: criticisms before it in the year."""
    out: set[str] = set()
    for code, held in roles.items():
        for role in held:
            if role.startswith("remind:"):
                out.add(role.rsplit(":", 1)[0])
            elif role == "criticise":
                n = 1 + earlier.get(code, 0)
                out.add({1: "criticise:first", 2: "criticise:second"}.get(n, "criticise:later"))
            else:
                out.add(role)
    return out


def check_counts(code: str, period: str, counts: Counts) -> None:
    """No numerator above its denominator, no negative count."""
    for numerator, denominator in METRIC_FIELDS.values():
        assert 0 <= counts[numerator] <= counts[denominator], (code, period, numerator)
    assert all(counts[f] >= 0 for f in COUNT_FIELDS), (code, period)


# ------------------------------------------------------------------------------ the folder's files
# csv.writer's own line ending (CRLF) is kept: the shipped scenarios were written with it.


def write_units(path: Path, units: Iterable[Sequence[str]]) -> None:
    """units.csv: (code, name, kind, head_title, email) rows, in registry order."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(UNIT_COLUMNS)
        writer.writerows(units)


def write_monthly(path: Path, rows: Iterable[tuple[str, str, Counts, bool | None]]) -> None:
    """monthly.csv: (period, unit code, counts, official email regular or None) rows."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow((*MONTHLY_COLUMNS, "official_email_regular"))
        for period, code, counts, email in rows:
            flag = "" if email is None else ("true" if email else "false")
            writer.writerow((period, code, *(counts[f] for f in COUNT_FIELDS), flag))


def write_history(path: Path, rows: Iterable[tuple[str, str, int]]) -> None:
    """history.csv: criticisms issued before the system existed, (period, unit code, count) rows."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HISTORY_COLUMNS)
        writer.writerows(rows)
