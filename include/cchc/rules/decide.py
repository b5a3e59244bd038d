"""Commend, remind, criticise, request: pure functions over a period's rates (BRIEF §3).

Nothing here reads a file or the warehouse: the caller hands in the units (registry order), their
figures (numerator and denominator per metric and window), the rules in force and the number of
criticisms each unit already had in the counting window; the functions return the decisions and the
sections as the letter shows them. ``cchc.rules.service`` does the I/O around them.

Every threshold is compared with the rate as the letter shows it (``shown_percent``: half-up to two
decimals on the exact fraction), so the letter never says "chỉ đạt 90%" against a 90% bar; a rate
whose denominator is 0 is undefined and never triggers a decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeGuard

from cchc.core import wording
from cchc.core.authorities import LetterSettings
from cchc.core.fields import COMMEND_GROUPS, REMIND_METRICS, REMIND_REASONS
from cchc.core.percent import format_percent, shown_percent
from cchc.rules.rulebook import Rules, decimal_text

AGENCY_KINDS = ("department", "vertical_agency")
BELOW, AT_OR_ABOVE = "below", "at_or_above"


@dataclass(frozen=True)
class UnitInfo:
    """A unit as the decisions need it (a registry row of the period)."""

    code: str
    name: str
    kind: str
    head_title: str
    email: str | None = None
    position: int = 0
    official_email_regular: bool | None = None

    @property
    def is_agency(self) -> bool:
        return self.kind in AGENCY_KINDS

    @classmethod
    def from_row(cls, row: Mapping[str, Any], position: int, official_email_regular: bool | None) -> UnitInfo:
        """From a registry row or a unit of decisions.json (``code, name, kind, head_title, email``)."""
        return cls(
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            head_title=row["head_title"],
            email=row.get("email"),
            position=position,
            official_email_regular=official_email_regular,
        )


@dataclass(frozen=True)
class Figure:
    """Counts of one metric over one window; ``denominator`` None for website posts."""

    numerator: int
    denominator: int | None

    @property
    def shown(self) -> Decimal | None:
        if self.denominator is None:
            return None
        return shown_percent(self.numerator, self.denominator)

    def json(self) -> dict[str, Any]:
        shown = self.shown
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "shown": decimal_text(shown),
            "text": None if shown is None else format_percent(shown),
        }


@dataclass(frozen=True)
class Reason:
    """One figure behind a decision, with the bar it was compared with."""

    metric: str
    window: str
    comparison: str
    threshold: Decimal | int
    numerator: int | None = None
    denominator: int | None = None
    value: int | None = None  # website posts

    @property
    def shown(self) -> Decimal | None:
        if self.denominator is None or self.numerator is None:
            return None
        return shown_percent(self.numerator, self.denominator)

    def json(self) -> dict[str, Any]:
        if self.metric == "posts":
            return {
                "metric": self.metric,
                "window": self.window,
                "value": self.value,
                "threshold": self.threshold,
                "comparison": self.comparison,
            }
        shown = self.shown
        return {
            "metric": self.metric,
            "window": self.window,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "shown": decimal_text(shown),
            "text": None if shown is None else format_percent(shown),
            "threshold": decimal_text(Decimal(self.threshold)),
            "comparison": self.comparison,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reason:
        if data["metric"] == "posts":
            return cls(
                data["metric"],
                data["window"],
                data["comparison"],
                int(data["threshold"]),
                value=data.get("value"),
            )
        return cls(
            data["metric"],
            data["window"],
            data["comparison"],
            Decimal(str(data["threshold"])),
            numerator=data.get("numerator"),
            denominator=data.get("denominator"),
        )


@dataclass(frozen=True)
class Decision:
    """One decision about one unit. ``section`` is set by ``layout``."""

    unit_code: str
    kind: str  # commend | remind | criticise | request
    rulebook_version: str
    reasons: tuple[Reason, ...] = ()
    metric: str | None = None  # remind, criticise, request
    reason: str | None = None  # remind: low_month | low_ytd | low_campaign
    group: str | None = None  # commend: agencies | communes_official_email | communes
    count: int | None = None  # criticise: the n-th criticism of the unit in the counting window
    section: str | None = None

    def json(self) -> dict[str, Any]:
        """The decision as ``units[code].decisions[]`` of decisions.json."""
        out: dict[str, Any] = {"kind": self.kind, "section": self.section}
        if self.metric is not None:
            out["metric"] = self.metric
        if self.reason is not None:
            out["reason"] = self.reason
        if self.group is not None:
            out["group"] = self.group
        if self.count is not None:
            out["count"] = self.count
            out["ordinal"] = wording.ordinal(self.count)
        out["reasons"] = [r.json() for r in self.reasons]
        out["rulebook_version"] = self.rulebook_version
        return out

    def key(self) -> tuple[str, str, str, str]:
        return (self.unit_code, self.kind, self.metric or "", self.reason or "")


# ------------------------------------------------------------------------------ the rules


def _reason(metric: str, window: str, figure: Figure, threshold: Decimal) -> Reason:
    shown = figure.shown
    assert shown is not None
    return Reason(
        metric,
        window,
        BELOW if shown < threshold else AT_OR_ABOVE,
        threshold,
        numerator=figure.numerator,
        denominator=figure.denominator,
    )


def _defined(figure: Figure | None) -> TypeGuard[Figure]:
    return figure is not None and figure.denominator is not None and figure.denominator > 0


def commend_group(unit: UnitInfo) -> str:
    if unit.is_agency:
        return "agencies"
    return "communes_official_email" if unit.official_email_regular else "communes"


def decide_unit(
    unit: UnitInfo, figures: Mapping[tuple[str, str], Figure], rules: Rules, earlier_criticisms: int = 0
) -> list[Decision]:
    """Every decision about one unit in one period.

    ``figures`` maps (metric, window) to counts for metric in receipt/result/payment and window in
    month/ytd/campaign, plus ("posts", "month"). ``earlier_criticisms`` is the number of criticisms
    of the unit in earlier periods of the counting window (so this one is that + 1).
    """
    version = rules.version
    out: list[Decision] = []

    def fig(metric: str, window: str) -> Figure | None:
        return figures.get((metric, window))

    receipt, result, payment = fig("receipt", "month"), fig("result", "month"), fig("payment", "month")
    target = rules.payment_target

    # Commend: both digitisation rates defined and at the bars; payment at the target where the unit
    # has fee-bearing dossiers and a target is in force.
    if _defined(receipt) and _defined(result):
        reasons = [
            _reason("receipt", "month", receipt, rules.commend_receipt),
            _reason("result", "month", result, rules.commend_result),
        ]
        if target is not None and _defined(payment):
            reasons.append(_reason("payment", "month", payment, target))
        if all(r.comparison == AT_OR_ABOVE for r in reasons):
            out.append(Decision(unit.code, "commend", version, tuple(reasons), group=commend_group(unit)))

    # Remind on digitisation: a low month, or a fine month with a low year-to-date rate.
    for metric in ("result", "receipt"):
        month = fig(metric, "month")
        if not _defined(month):
            continue
        month_reason = _reason(metric, "month", month, rules.low_month)
        if month_reason.comparison == BELOW:
            out.append(
                Decision(unit.code, "remind", version, (month_reason,), metric=metric, reason="low_month")
            )
            continue
        ytd = fig(metric, "ytd")
        if _defined(ytd):
            ytd_reason = _reason(metric, "ytd", ytd, rules.low_ytd)
            if ytd_reason.comparison == BELOW:
                out.append(
                    Decision(
                        unit.code,
                        "remind",
                        version,
                        (month_reason, ytd_reason),
                        metric=metric,
                        reason="low_ytd",
                    )
                )

    # Online payment against the target, month and campaign-to-date.
    if target is not None and _defined(payment):
        month_reason = _reason("payment", "month", payment, target)
        campaign = fig("payment", "campaign")
        campaign_reason = _reason("payment", "campaign", campaign, target) if _defined(campaign) else None
        month_low = month_reason.comparison == BELOW
        campaign_low = campaign_reason is not None and campaign_reason.comparison == BELOW
        if month_low and campaign_reason is not None and campaign_low:
            reasons = [month_reason, campaign_reason]
            posts = fig("posts", "month")
            if posts is not None and posts.numerator < rules.posts_required:
                # A website shortfall never triggers a decision by itself; it is added to the reasons.
                reasons.append(Reason("posts", "month", BELOW, rules.posts_required, value=posts.numerator))
            if unit.kind == "vertical_agency":
                # Not subordinate to the committee: never "phê bình", the letter "đề nghị" instead.
                out.append(Decision(unit.code, "request", version, tuple(reasons), metric="payment"))
            else:
                out.append(
                    Decision(
                        unit.code,
                        "criticise",
                        version,
                        tuple(reasons),
                        metric="payment",
                        count=earlier_criticisms + 1,
                    )
                )
        elif month_low:
            low = (month_reason,) if campaign_reason is None else (month_reason, campaign_reason)
            out.append(Decision(unit.code, "remind", version, low, metric="payment", reason="low_month"))
        elif campaign_reason is not None and campaign_low:
            out.append(
                Decision(
                    unit.code,
                    "remind",
                    version,
                    (month_reason, campaign_reason),
                    metric="payment",
                    reason="low_campaign",
                )
            )
    return out


def decide_units(
    units: Sequence[UnitInfo],
    figures: Mapping[str, Mapping[tuple[str, str], Figure]],
    rules: Rules,
    earlier_criticisms: Mapping[str, int] | None = None,
) -> list[Decision]:
    """Every decision of the period, units in registry order (sections not yet assigned)."""
    earlier = earlier_criticisms or {}
    out: list[Decision] = []
    for unit in units:
        out.extend(decide_unit(unit, figures.get(unit.code, {}), rules, earlier.get(unit.code, 0)))
    return out


def payment_order(sections: Sequence[Mapping[str, Any]]) -> list[str]:
    """Unit codes in the order the letter names them about online payment (2.3, criticisms, requests)."""
    seen: dict[str, None] = {}
    for section in sections:
        for sub in section.get("subsections", []):
            if sub["metric"] == "payment":
                for group in sub["groups"]:
                    seen.update(dict.fromkeys(e["unit"] for e in group["entries"]))
        if section["kind"] in ("criticise", "request"):
            seen.update(dict.fromkeys(e["unit"] for e in section["entries"]))
    return list(seen)


def shortfalls(
    units: Sequence[UnitInfo],
    figures: Mapping[str, Mapping[tuple[str, str], Figure]],
    rules: Rules,
    sections: Sequence[Mapping[str, Any]] = (),
) -> dict[str, list[str]]:
    """Units whose month payment rate is below the target, and units under the required posts.

    In the order the letter names them about payment (reminders 2.3, then the criticisms by count,
    then the requests), then the others, departments first, in registry order.
    """
    named = {code: i for i, code in enumerate(payment_order(sections))}
    ordered = sorted(_ordered(units), key=lambda u: (0, named[u.code]) if u.code in named else (1, 0))
    payment: list[str] = []
    posts: list[str] = []
    for unit in ordered:
        unit_figures = figures.get(unit.code, {})
        month = unit_figures.get(("payment", "month"))
        shown = month.shown if _defined(month) else None
        if rules.payment_target is not None and shown is not None and shown < rules.payment_target:
            payment.append(unit.code)
        post = unit_figures.get(("posts", "month"))
        if post is not None and post.numerator < rules.posts_required:
            posts.append(unit.code)
    return {"payment": payment, "posts": posts}


# ------------------------------------------------------------------------------ the letter's layout


def _ordered(units: Iterable[UnitInfo]) -> list[UnitInfo]:
    """Departments (agencies) before communes, each in registry order."""
    return sorted(units, key=lambda u: (0 if u.is_agency else 1, u.position))


def _named(units: Sequence[UnitInfo]) -> dict[str, Any]:
    return {
        "units": [u.code for u in units],
        "heads": wording.heads(units),
        "subjects": wording.subjects(units),
    }


def _request(units: Sequence[UnitInfo]) -> dict[str, Any]:
    """The request closing a reminder group; a vertical agency in it is asked, the others required.

    The committee has no authority over a vertical agency: where the group holds one, ``asked``
    names the vertical agencies ("Đề nghị …") and ``required`` the others ("yêu cầu …"; None when
    there are none), so the letter never orders an agency it cannot order.
    """
    out = _named(units)
    vertical = [u for u in units if u.kind == "vertical_agency"]
    if vertical:
        others = [u for u in units if u.kind != "vertical_agency"]
        out["asked"] = _named(vertical)
        out["required"] = _named(others) if others else None
    return out


def directive_addressees(units: Sequence[UnitInfo]) -> str:
    """'Chủ tịch UBND các xã, thị trấn': the heads of the local committees the directives address."""
    return wording.local_heads(units) or "Thủ trưởng các cơ quan, đơn vị"


def directive_groups(
    units: Sequence[UnitInfo], decisions: Sequence[Decision], setting: str | tuple[str, ...] = "concerned"
) -> list[str]:
    """The groups (departments, vertical agencies, communes) the closing directives address.

    ``concerned``: the groups of the units the letter reminds, criticises or requests (every group
    of the registry when it has none); ``all``: every group of the registry; a tuple: those groups.
    Always in the letter's order, and never a group the registry does not have.
    """
    present = {wording.group_of(u.kind) for u in units}
    if isinstance(setting, tuple):
        wanted = set(setting)
    elif setting == "all":
        wanted = present
    else:
        kinds = {u.code: u.kind for u in units}
        wanted = {
            wording.group_of(kinds[d.unit_code])
            for d in decisions
            if d.kind in ("remind", "criticise", "request") and d.unit_code in kinds
        } or present
    return [g for g in wording.GROUPS if g in wanted and g in present]


def directives_section(
    units: Sequence[UnitInfo], decisions: Sequence[Decision], letter: LetterSettings | None = None
) -> dict[str, Any]:
    """The closing directives: ``addressees`` the committee assigns ("giao"), ``requested`` the vertical
    agencies it asks ("đề nghị"; only when they are addressed)."""
    settings = letter or LetterSettings()
    if settings.directive_departments is None or settings.directive_vertical_agencies is None:
        settings = settings.resolved()  # not resolved for an authority: the generic defaults
    groups = directive_groups(units, decisions, settings.directive_addressees)
    assigned = []
    if "departments" in groups:
        assigned.append(str(settings.directive_departments))
    if "communes" in groups:
        assigned.append(directive_addressees([u for u in units if u.kind in wording.COMMUNE_KINDS]))
    section: dict[str, Any] = {"kind": "directives", "addressees": ", ".join(assigned)}
    if "vertical_agencies" in groups:
        section["requested"] = str(settings.directive_vertical_agencies)
    elif not assigned:
        section["addressees"] = directive_addressees(units)
    return section


def layout(
    decisions: Sequence[Decision],
    units: Sequence[UnitInfo],
    letter: LetterSettings | None = None,
    directives: Mapping[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[Decision]]:
    """The sections as the letter shows them, and the decisions with their section numbers.

    Sections are numbered in order, empty ones left out: commendations; reminders (results, receipt,
    payment sub-sections); one criticism section per count, ascending; requests to vertical agencies;
    the directives, always last. Inside a section, departments come before communes, each in
    registry order. ``letter`` (the authority's resolved letter settings) says whom the directives
    address; ``directives`` is a directives section kept as it was (a recount changes no addressee).
    """
    by_code = {u.code: u for u in units}
    order = {u.code: i for i, u in enumerate(_ordered(units))}

    def sort(items: Iterable[Decision]) -> list[Decision]:
        return sorted(items, key=lambda d: order.get(d.unit_code, len(order)))

    def info(items: Iterable[Decision]) -> list[UnitInfo]:
        return [by_code[d.unit_code] for d in items]

    def entries(items: Iterable[Decision]) -> list[dict[str, Any]]:
        return [{"unit": d.unit_code, "reasons": [r.json() for r in d.reasons]} for d in items]

    sections: list[dict[str, Any]] = []
    numbered: dict[tuple[str, str, str, str], str] = {}

    def next_number() -> str:
        return str(len(sections) + 1)

    # Inside each commendation group, registry order (the brief's rule for every section).
    commends = sort(d for d in decisions if d.kind == "commend")
    if commends:
        number = next_number()
        groups: list[dict[str, Any]] = []
        for group in COMMEND_GROUPS:
            members = [d for d in commends if d.group == group]
            if members:
                groups.append({"group": group, "units": [d.unit_code for d in members]})
        for d in commends:
            numbered[d.key()] = number
        sections.append({"number": number, "kind": "commend", "groups": groups})

    reminders = [d for d in decisions if d.kind == "remind"]
    if reminders:
        number = next_number()
        subsections: list[dict[str, Any]] = []
        for metric in REMIND_METRICS:
            of_metric = sort(d for d in reminders if d.metric == metric)
            if not of_metric:
                continue
            sub_number = f"{number}.{len(subsections) + 1}"
            groups = []  # of this sub-section
            for reason in REMIND_REASONS[metric]:
                members = [d for d in of_metric if d.reason == reason]
                if members:
                    groups.append(
                        {"reason": reason, "entries": entries(members), "request": _request(info(members))}
                    )
                for d in members:
                    numbered[d.key()] = sub_number
            subsections.append({"number": sub_number, "metric": metric, "groups": groups})
        sections.append({"number": number, "kind": "remind", "subsections": subsections})

    criticisms = [d for d in decisions if d.kind == "criticise"]
    for count in sorted({d.count or 1 for d in criticisms}):
        members = sort(d for d in criticisms if (d.count or 1) == count)
        number = next_number()
        for d in members:
            numbered[d.key()] = number
        sections.append(
            {
                "number": number,
                "kind": "criticise",
                "count": count,
                "ordinal": wording.ordinal(count),
                "subjects": wording.subjects(info(members)),
                "entries": entries(members),
            }
        )

    requests = sort(d for d in decisions if d.kind == "request")
    if requests:
        number = next_number()
        for d in requests:
            numbered[d.key()] = number
        heads_of = info(requests)
        sections.append(
            {
                "number": number,
                "kind": "request",
                "subjects": wording.subjects(heads_of),
                "heads": wording.heads(heads_of),
                "entries": entries(requests),
            }
        )

    closing = dict(directives) if directives is not None else directives_section(units, decisions, letter)
    closing.pop("number", None)
    sections.append({"number": next_number(), **closing})

    placed = [replace(d, section=numbered[d.key()]) for d in decisions]
    rank = {number: i for i, number in enumerate(_all_numbers(sections))}
    placed.sort(key=lambda d: (order.get(d.unit_code, len(order)), rank.get(d.section or "", 0)))
    return sections, placed


def _all_numbers(sections: Sequence[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    for section in sections:
        out.append(section["number"])
        out.extend(sub["number"] for sub in section.get("subsections", []))
    return out


@dataclass
class PeriodDecisions:
    """A period's decisions laid out, ready for decisions.json."""

    decisions: list[Decision]
    sections: list[dict[str, Any]]
    units: list[UnitInfo] = field(default_factory=list)


def decide_period_pure(
    units: Sequence[UnitInfo],
    figures: Mapping[str, Mapping[tuple[str, str], Figure]],
    rules: Rules,
    earlier_criticisms: Mapping[str, int] | None = None,
    letter: LetterSettings | None = None,
) -> PeriodDecisions:
    """``decide_units`` then ``layout``: the decisions of a period with their sections."""
    sections, placed = layout(decide_units(units, figures, rules, earlier_criticisms), units, letter)
    return PeriodDecisions(placed, sections, list(units))
