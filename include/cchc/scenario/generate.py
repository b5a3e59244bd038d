"""``cchc scenario generate``: a national configuration, one authority folder per province.

``cchc scenario generate --provinces 34 --seed 7 --months 2026-01..2026-03 --out DIR`` writes, for
each of the first K provinces of ``data.PROVINCES``, a folder like scenarios/province/hai-phong:
``authority.yaml`` (no approval needed, its own portal root, operators, domains and test address),
``units.csv`` (the departments, the three vertical agencies, the wards, communes and special zones),
``monthly.csv`` and ``history.csv``. The portal simulator serves the folder (``cchc simulate
--config-dir DIR``) and ``make run PERIOD=… CONFIG_DIR=DIR`` runs it.

What the seed changes, and what it does not: the registries, names and people are the same whatever
the seed (they come from the province alone); the counts come from the seed and the province, so the
same seed gives byte-identical files and another seed other counts.

How the counts are made (the ``ROLES`` idea of scenarios/build_province.py, generalised): every unit
gets a volume (log-normal around its kind's median, scaled by the province's population) and rates
that are mostly high, some low; then, month by month, a few units of each province are *given* a
role so that every section of that month's letter has someone in it: commendations (departments,
a vertical agency, wards with official email, communes), reminders on results, on receipt and on
payment, criticisms the first time and the second (now and then a third), and a vertical agency
requested. ``roles.roles_of``
checks each month's construction before the next one is built on it, and history.csv is then
exactly the criticisms the counts give in the months before the last one (so a run of the last
month finds "lần thứ hai" where the rules put it).

Two sections cannot exist in January, whatever the counts: a second criticism (the count starts
afresh each year) and a reminder on payment (the payment campaign is the year to date, so in January
its month and campaign rates are one rate). Every other month has all of them.

The year-to-date rates of a month need the months before it in its year, so the months from January
of the first requested month's year are generated too (``--months 2026-03`` writes January–March).
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from cchc.core.errors import ConfigError
from cchc.core.periods import Period
from cchc.scenario import data
from cchc.scenario.roles import (
    LOCAL_KINDS,
    SECTIONS,
    Bars,
    Counts,
    check_counts,
    counts_for,
    roles_of,
    sections_of,
    shown,
    write_history,
    write_monthly,
    write_units,
)

log = logging.getLogger(__name__)

# Sections that the rules make impossible in January (module docstring).
NOT_IN_JANUARY = frozenset(("criticise:second", "remind:payment"))
# Fewer dossiers around Tết (late January or February), more at the year's end.
SEASON = {1: 1.04, 2: 0.8, 3: 1.0, 12: 1.08}
ATTEMPTS = 25  # draws of one month's roles before giving up (one is almost always enough)
TRIES = 40  # candidates tried for one role


# ------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str
    head_title: str
    mailbox: str
    volume: float  # median dossiers received a month, before the unit's own factor
    fee_share: float

    def row(self, domain: str) -> tuple[str, str, str, str, str]:
        return (self.code, self.name, self.kind, self.head_title, f"{self.mailbox}@{domain}")


def ascii_fold(text: str) -> str:
    """'Bạch Long Vĩ' → 'bachlongvi': the mailbox form of a name."""
    text = text.replace("Đ", "D").replace("đ", "d")
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return "".join(c for c in plain.casefold() if c.isalnum())


def departments(province: data.Province) -> list[data.Department]:
    out = list(data.COMMON_DEPARTMENTS)
    for letter in province.extras:
        if letter == "T":  # culture and sports apart from tourism
            out = [d for d in out if d.code != "S-VHTTDL"]
        out.extend(data.EXTRA_DEPARTMENTS[letter])
    return out


def place_names(province: data.Province, count: int, taken: set[str]) -> list[str]:
    """``count`` names unique in the province (and in mailbox form), from the province alone."""
    rng = random.Random(f"cchc-names-{province.slug}")
    share = data.HIGHLAND_SHARE.get(province.highland, 0.0)
    names: list[str] = []
    folded = set(taken)
    while len(names) < count:
        pool = province.highland if share and rng.random() < share else "kinh"
        first, second = data.SYLLABLES[pool]
        a, b = rng.choice(first), rng.choice(second)
        if a == b or (a in data.DIRECTIONS and b in data.DIRECTIONS):
            continue
        name = f"{a} {b}"
        key = ascii_fold(name)
        if key in folded or name == province.name:
            continue
        folded.add(key)
        names.append(name)
    return names


def registry(province: data.Province) -> list[UnitSpec]:
    """The province's units in registry order: departments, vertical agencies, wards, communes, zones."""
    level = province.level_word
    people = province.population / 2.0  # the departments' medians are for two million people
    units = [
        UnitSpec(
            d.code,
            d.name.format(level=level),
            "department",
            d.head_title,
            d.mailbox,
            d.volume * people**0.7,
            d.fee_share,
        )
        for d in departments(province)
    ]
    units += [
        UnitSpec(
            a.code,
            a.name.format(place=province.full_name),
            "vertical_agency",
            a.head_title.format(level=level),
            a.mailbox,
            a.volume * people,
            a.fee_share,
        )
        for a in data.VERTICAL_AGENCIES
    ]
    # Dossiers follow people: a ward or commune of a dense province has more of them.
    per_unit = province.population * 1e6 / province.local_units / 30_000
    density = min(3.0, max(0.35, per_unit))
    zones = {ascii_fold(z) for z in province.special_zones}
    reserved = {u.mailbox for u in units} | zones
    names = place_names(province, province.wards + province.communes, reserved)
    for kind, prefix, title, chosen, median in (
        ("ward", "P", "Chủ tịch UBND phường", names[: province.wards], data.WARD_VOLUME),
        ("commune", "X", "Chủ tịch UBND xã", names[province.wards :], data.COMMUNE_VOLUME),
    ):
        word = "phường" if kind == "ward" else "xã"
        for number, name in enumerate(sorted(chosen, key=lambda n: (ascii_fold(n), n)), start=1):
            units.append(
                UnitSpec(
                    f"{prefix}-{number:03d}",
                    f"UBND {word} {name}",
                    kind,
                    title,
                    ascii_fold(name),
                    median * density,
                    0.32,
                )
            )
    for number, zone in enumerate(province.special_zones, start=1):
        units.append(
            UnitSpec(
                f"DK-{number:02d}",
                f"UBND đặc khu {zone}",
                "special_zone",
                "Chủ tịch UBND đặc khu",
                ascii_fold(zone),
                float(data.SPECIAL_ZONE_VOLUME[zone]),
                0.3,
            )
        )
    return units


# ------------------------------------------------------------------------------ counts


@dataclass
class Habit:
    """How one unit usually does, drawn once from the seed: its volume and its rates."""

    volume: float
    fee_share: float
    receipt_gap: float  # mean shortfall from 100%, hundredths of a percent
    result_gap: float
    payment: int  # usual online-payment rate
    official_email: bool | None


@dataclass
class Draft:
    """One unit's month before its counts: volumes and the rates asked for."""

    received: int
    resolved: int
    fee: int
    receipt: int
    result: int
    payment: int
    posts: int

    def counts(self) -> dict[str, int]:
        return {
            "received": self.received,
            "received_digitized": counts_for(self.receipt, self.received),
            "resolved": self.resolved,
            "resolved_digitized": counts_for(self.result, self.resolved),
            "fee_dossiers": self.fee,
            "paid_online": counts_for(self.payment, self.fee),
            "web_posts": self.posts,
        }


@dataclass
class ProvinceScenario:
    province: data.Province
    units: list[UnitSpec]
    target: int  # hundredths of a percent
    months: list[Period]
    counts: dict[str, dict[Period, dict[str, int]]] = field(default_factory=dict)
    roles: dict[Period, dict[str, set[str]]] = field(default_factory=dict)
    criticised_before: dict[Period, dict[str, int]] = field(default_factory=dict)  # earlier in the year
    official_email: dict[str, bool | None] = field(default_factory=dict)

    @property
    def bars(self) -> Bars:
        return Bars(target=self.target)

    def history(self) -> list[tuple[str, str, int]]:
        """The criticisms of every month before the last one: letters sent before the system existed."""
        order = {u.code: i for i, u in enumerate(self.units)}
        return [
            (str(month), code, 1)
            for month in self.months[:-1]
            for code in sorted(self.roles[month], key=order.__getitem__)
            if "criticise" in self.roles[month][code]
        ]


def _habit(rng: random.Random, unit: UnitSpec, target: int) -> Habit:
    volume = unit.volume * min(4.0, max(0.25, rng.lognormvariate(0, 0.55)))
    fee_share = 0.0 if unit.fee_share == 0 else min(0.95, unit.fee_share * rng.uniform(0.7, 1.3))
    draw = rng.random()
    if draw < 0.05:  # a weak payer: around or under the target
        payment = rng.randint(max(500, target - 2500), target + 300)
    elif draw < 0.2:  # a marginal one: over the target, not by much
        payment = rng.randint(target + 300, target + 1200)
    else:
        payment = rng.randint(min(9700, target + 1200), 9850)
    local = unit.kind in LOCAL_KINDS
    return Habit(
        volume=volume,
        fee_share=fee_share,
        receipt_gap=rng.lognormvariate(math.log(280), 0.6),
        result_gap=rng.lognormvariate(math.log(80), 0.7),
        payment=payment,
        official_email=(rng.random() < 0.35) if local else None,
    )


def _gap_rate(rng: random.Random, mean_gap: float) -> int:
    """A digitisation rate: 100% less an exponential shortfall; now and then a bad month."""
    if rng.random() < 0.015:
        return rng.randint(6500, 9400)
    return max(5000, 10000 - int(rng.expovariate(1 / mean_gap)))


def _background(rng: random.Random, habit: Habit, month: Period) -> Draft:
    received = max(3, round(habit.volume * SEASON.get(month.month, 1.0) * rng.uniform(0.85, 1.15)))
    resolved = max(1, received - rng.randint(0, max(1, received // 14)))
    fee = round(resolved * habit.fee_share * rng.uniform(0.85, 1.15))
    payment = min(10000, max(0, habit.payment + rng.randint(-500, 500)))
    posts = rng.randint(0, 3) if rng.random() < 0.07 else rng.randint(4, 12)
    return Draft(
        received,
        resolved,
        min(fee, resolved),
        _gap_rate(rng, habit.receipt_gap),
        _gap_rate(rng, habit.result_gap),
        payment,
        posts,
    )


def _sums(year: Sequence[Counts]) -> tuple[int, int]:
    return sum(m["paid_online"] for m in year), sum(m["fee_dossiers"] for m in year)


class _Month:
    """The roles given in one month of one province, and the counts built for them."""

    def __init__(
        self, scenario: ProvinceScenario, month: Period, rng: random.Random, habits: dict[str, Habit]
    ) -> None:
        self.scenario = scenario
        self.habits = habits
        self.month = month
        self.rng = rng
        self.target = scenario.target
        self.used: set[str] = set()
        self.drafts: dict[str, Draft] = {}

    def year(self, code: str) -> list[dict[str, int]]:
        s = self.scenario
        return [s.counts[code][m] for m in s.months if m.year == self.month.year and m < self.month]

    def pick(self, pool: Sequence[UnitSpec], n: int = 1) -> list[UnitSpec]:
        free = [u for u in pool if u.code not in self.used]
        chosen = self.rng.sample(free, min(n, len(free)))
        self.used.update(u.code for u in chosen)
        return chosen

    def commend(self, unit: UnitSpec) -> None:
        d = self.drafts[unit.code]
        d.receipt, d.result = self.rng.randint(9920, 10000), self.rng.randint(9960, 10000)
        d.payment = self.rng.randint(min(9800, max(self.target + 800, 8500)), 9900)

    def low(self, unit: UnitSpec, metric: str) -> None:
        setattr(self.drafts[unit.code], metric, self.rng.randint(6500, 8700))

    def fine(self, unit: UnitSpec) -> None:
        """Digitisation above the reminder bars, so a payment role is the unit's only section."""
        d = self.drafts[unit.code]
        d.receipt, d.result = max(d.receipt, 9300), max(d.result, 9300)

    def payment_low(self, unit: UnitSpec, campaign_low: bool, busy: bool = False) -> bool:
        """Month payment under the target; the campaign under it too (``campaign_low``) or not.

        Returns False, changing nothing, when the unit's earlier months make it impossible with a
        plausible number of fee-bearing dossiers. ``busy``: the month may have up to six times the
        unit's usual dossiers (late in the year, a good payer's earlier months weigh heavily).
        """
        d = self.drafts[unit.code]
        usual = d.fee
        if usual < 5:
            return False
        paid, fees = _sums(self.year(unit.code))
        t = self.target
        if campaign_low:
            p = self.rng.randint(max(0, t - 5500), t - 1200)
            bar = t - 300  # the campaign well under the target
            need = (paid * 10000 - bar * fees) / (bar - p) if bar > p else math.inf
            fee = max(usual, math.ceil(need) + 1)
            if fee > min(4 * usual + 5, d.resolved):
                # A busy month: more dossiers of every kind, under tenfold (the validation warns past it).
                scale = max(1.0, fee / d.resolved)
                if not busy or fee > 9 * usual or scale > 6:
                    return False
                d.received, d.resolved = math.ceil(d.received * scale), math.ceil(d.resolved * scale)
        else:
            p = self.rng.randint(max(0, t - 1800), t - 600)
            bar = t + 300  # the campaign well above the target
            room = (paid * 10000 - bar * fees) / (bar - p)
            fee = min(usual, math.floor(room))
            if fee < max(5, usual // 3):
                return False
        d.fee, d.payment = fee, p
        self.fine(unit)
        return True

    def payment_catching_up(self, unit: UnitSpec) -> bool:
        """Month payment over the target while the campaign stays under it."""
        d = self.drafts[unit.code]
        paid, fees = _sums(self.year(unit.code))
        t = self.target
        p = self.rng.randint(t + 400, min(10000, t + 2000))
        bar = t - 300
        room = (bar * fees - paid * 10000) / (p - bar)
        fee = min(d.fee, math.floor(room))
        if fee < max(5, d.fee // 3):
            return False
        d.fee, d.payment = fee, p
        self.fine(unit)
        return True

    def give_roles(self) -> None:
        s = self.scenario
        by_kind: dict[str, list[UnitSpec]] = {}
        for unit in s.units:
            by_kind.setdefault(unit.kind, []).append(unit)
        agencies = by_kind.get("department", [])
        verticals = by_kind.get("vertical_agency", [])
        wards, communes = by_kind.get("ward", []), by_kind.get("commune", [])
        zones = by_kind.get("special_zone", [])
        local = wards + communes + zones
        own = agencies + local  # the committee's own units (criticised, never requested)
        first_of_year = not any(m.year == self.month.year and m < self.month for m in s.months)

        # 1. Commendations: departments, a vertical agency now and then, wards with official email,
        # communes, a special zone now and then.
        emailing = [u for u in wards + communes if s.official_email.get(u.code)]
        for unit in (
            self.pick(agencies, 2)
            + self.pick(verticals[:1], 1 if self.rng.random() < 0.6 else 0)
            + self.pick(emailing, 2)
            + self.pick(communes, 2)
            + self.pick(zones, 1 if self.rng.random() < 0.5 else 0)
        ):
            self.commend(unit)
        # 2.1 and 2.2: a low month on results, on receipt (a department and a commune or ward each).
        for metric in ("result", "receipt"):
            for unit in self.pick(agencies, 1) + self.pick(wards + communes, 1):
                self.low(unit, metric)
        # 3, 4: criticised for the first time in the year, the second time, now and then a third.
        earlier = s.criticised_before[self.month]
        self._payment_role([u for u in own if not earlier.get(u.code)], campaign_low=True, n=2)
        if not first_of_year:
            self._payment_role([u for u in own if earlier.get(u.code) == 1], campaign_low=True, n=1)
            if self.rng.random() < 0.5:
                self._payment_role([u for u in own if earlier.get(u.code, 0) >= 2], campaign_low=True, n=1)
        # 5: a vertical agency requested (the weakest payer first).
        weakest = sorted(verticals, key=lambda u: self.habits[u.code].payment)
        self._payment_role(weakest, campaign_low=True, n=1, ordered=True)
        # 2.3: payment low in the month only, and low in the campaign only.
        if not first_of_year:
            self._payment_role(own + verticals, campaign_low=False, n=1)
            behind = [u for u in own + verticals if _campaign_behind(self, u)]
            for unit in self.rng.sample(behind, len(behind)):
                if unit.code not in self.used and self.payment_catching_up(unit):
                    self.used.add(unit.code)
                    break

    def _surplus(self, unit: UnitSpec) -> float:
        """How far the unit's campaign so far is over the target, in months of its usual fees."""
        paid, fees = _sums(self.year(unit.code))
        usual = max(1, self.drafts[unit.code].fee)
        return (paid * 10000 - (self.target - 300) * fees) / 10000 / usual

    def _payment_role(
        self, pool: Sequence[UnitSpec], campaign_low: bool, n: int, ordered: bool = False
    ) -> None:
        candidates = [u for u in pool if u.code not in self.used]
        if not ordered:
            candidates = self.rng.sample(candidates, len(candidates))
            if campaign_low:
                # Late in the year a good payer's earlier months keep its campaign over the target:
                # those nearest to it (in months of their own fees) go first, ties in random order.
                candidates.sort(key=self._surplus)
        done = 0
        for busy in (False, True):  # a busy month only when no usual one will do
            for unit in candidates[:TRIES]:
                if done == n or (busy and done):
                    return
                if unit.code not in self.used and self.payment_low(unit, campaign_low, busy):
                    self.used.add(unit.code)
                    done += 1


def _campaign_behind(month: _Month, unit: UnitSpec) -> bool:
    """The unit's campaign so far is well under the target (a candidate for "low in the campaign")."""
    paid, fees = _sums(month.year(unit.code))
    value = shown(paid, fees)
    return value is not None and value < month.target - 600


def build(province: data.Province, months: Sequence[Period], seed: int) -> ProvinceScenario:
    """The province's counts for ``months`` (January of the first year onwards, ascending)."""
    units = registry(province)
    target = data.PAYMENT_TARGETS.get(province.slug, data.PAYMENT_TARGET) * 100
    scenario = ProvinceScenario(province, units, target, list(months))
    rng = random.Random(f"cchc-scenario-{seed}-{province.slug}")
    habits = {u.code: _habit(rng, u, target) for u in units}
    scenario.official_email = {code: h.official_email for code, h in habits.items()}
    scenario.counts = {u.code: {} for u in units}
    kinds = {u.code: u.kind for u in units}
    for month in months:
        if month.month == 1 or month == months[0]:
            tally: dict[str, int] = {}
        scenario.criticised_before[month] = dict(tally)
        wanted = set(SECTIONS) - (NOT_IN_JANUARY if month.month == 1 else set())
        for _attempt in range(ATTEMPTS):
            plan = _Month(scenario, month, rng, habits)
            plan.drafts = {u.code: _background(rng, habits[u.code], month) for u in units}
            plan.give_roles()
            counts = {code: draft.counts() for code, draft in plan.drafts.items()}
            roles = {
                code: roles_of(kinds[code], [*plan.year(code), counts[code]], scenario.bars)
                for code in counts
            }
            if wanted <= sections_of(roles, tally):
                break
        else:  # pragma: no cover - the construction above makes this unreachable in practice
            missing = wanted - sections_of(roles, tally)
            raise ConfigError(f"{province.slug} {month}: không tạo được các mục {', '.join(sorted(missing))}")
        for code, value in counts.items():
            check_counts(code, str(month), value)
            scenario.counts[code][month] = value
        scenario.roles[month] = roles
        for code, held in roles.items():
            if "criticise" in held:
                tally[code] = tally.get(code, 0) + 1
    return scenario


# ------------------------------------------------------------------------------ files


def signer_name(province: data.Province) -> str:
    rng = random.Random(f"cchc-signer-{province.slug}")
    return " ".join(rng.choice(pool) for pool in (data.FAMILY_NAMES, data.MIDDLE_NAMES, data.GIVEN_NAMES))


def authority_document(province: data.Province, target: int, first_year: int) -> dict[str, Any]:
    level, domain = province.level_word, province.domain
    locals_ = "xã, phường, đặc khu" if province.special_zones else "xã, phường"
    party = "Thành ủy" if province.city else "Tỉnh ủy"
    place = "Thành phố Hồ Chí Minh" if province.slug == "ho-chi-minh" else province.name
    return {
        "id": province.slug,
        "level": "province",
        "name": province.full_name,
        "issuing_body": ["ỦY BAN NHÂN DÂN", province.full_name.upper()],
        "place": place,
        "document_symbol": "UBND-KSTTHC",
        "signer": {"on_behalf": "KT. CHỦ TỊCH", "title": "PHÓ CHỦ TỊCH", "name": signer_name(province)},
        "recipients": [
            f"Giám đốc các Sở, ban, ngành thuộc UBND {level}",
            f"Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn {level}",
            f"Chủ tịch UBND các {locals_}",
        ],
        "copies": [
            "Như trên",
            f"Thường trực {party}",
            f"Thường trực HĐND {level}",
            f"CT, các PCT UBND {level}",
            "Sở Nội vụ",
            "Lưu: VT, KSTTHC",
        ],
        "portal": {"root_department_id": province.root},
        "rules": {"versions": [{"valid_from": date(first_year, 1, 1), "payment_target": target // 100}]},
        "letter": {
            "target_giver": f"UBND {level}",
            "vertical_target": "chỉ tiêu đề ra",
            "summary": {"departments": "các cơ quan chuyên môn", "vertical_agencies": "cơ quan ngành dọc"},
            "directives": {
                "addressees": "concerned",
                "departments": "Giám đốc các Sở, ban, ngành",
                "vertical_agencies": f"Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn {level}",
            },
        },
        "distribution": {
            "sender_name": f"UBND {province.full_name}",
            "reply_to": f"kstthc@{domain}",
            "copies": [
                {"name": f"Thường trực {party}", "email": f"thuongtruc.{ascii_fold(party)}@{domain}"},
                {"name": f"Chủ tịch, các Phó Chủ tịch UBND {level}", "email": f"lanhdao@{domain}"},
            ],
            "operators": [
                {
                    "name": f"Phòng Kiểm soát thủ tục hành chính - Văn phòng UBND {level}",
                    "email": f"kstthc@{domain}",
                }
            ],
            "allowed_domains": [domain],
            "require_approval": False,
            "test_address": f"thunghiem@{domain}",
            "max_attempts": 5,
            "backoff_seconds": 2,
        },
    }


HEADER = """\
# UBND {name} after the merger of 1 July 2025 (no district level): made up by `cchc scenario generate`
# (seed {seed}, {first}..{last}). The people, mailboxes and portal identifiers are invented; the
# counts in monthly.csv and the criticisms in history.csv come from the seed.
"""


def write_province(scenario: ProvinceScenario, folder: Path, seed: int) -> None:
    province = scenario.province
    folder.mkdir(parents=True, exist_ok=True)
    document = authority_document(province, scenario.target, scenario.months[0].year)
    text = HEADER.format(
        name=province.full_name, seed=seed, first=scenario.months[0], last=scenario.months[-1]
    ) + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=200)
    (folder / "authority.yaml").write_text(text, encoding="utf-8")
    write_units(folder / "units.csv", [u.row(province.domain) for u in scenario.units])
    write_monthly(
        folder / "monthly.csv",
        [
            (str(m), u.code, scenario.counts[u.code][m], scenario.official_email[u.code])
            for m in scenario.months
            for u in scenario.units
        ],
    )
    write_history(folder / "history.csv", scenario.history())


# ------------------------------------------------------------------------------ command line


def parse_months(text: str) -> list[Period]:
    """'2026-01..2026-03' or '2026-03' → the months from January of the first one's year to the last."""
    first_text, dots, last_text = text.partition("..")
    first = Period.parse(first_text)
    last = Period.parse(last_text) if dots else first
    if last < first:
        raise ConfigError(f"khoảng tháng '{text}' không hợp lệ: tháng cuối trước tháng đầu")
    months = last.months_since(Period(first.year, 1))
    if len(months) > 60:
        raise ConfigError(f"khoảng tháng '{text}' quá dài (tối đa 60 tháng kể cả các tháng đầu năm)")
    return months


@dataclass
class Generated:
    out: Path
    scenarios: list[ProvinceScenario]

    @property
    def units(self) -> int:
        return sum(len(s.units) for s in self.scenarios)


def generate(
    out: str | Path, provinces: int, seed: int, months: Sequence[Period], force: bool = False
) -> Generated:
    """Write the first ``provinces`` provinces' folders under ``out``; the same arguments, the same bytes."""
    if not 1 <= provinces <= len(data.PROVINCES):
        raise ConfigError(f"--provinces phải từ 1 đến {len(data.PROVINCES)} (nhận được {provinces})")
    root = Path(out)
    chosen = data.PROVINCES[:provinces]
    if root.exists() and any(root.iterdir()):
        ours = {p.slug for p in data.PROVINCES}
        if not force:
            raise ConfigError(
                f"{root}: thư mục không rỗng (dùng --force để ghi đè các tỉnh đã sinh trước đó)"
            )
        for child in root.iterdir():  # only folders this command writes: another authority stays
            if child.name in ours and (child / "authority.yaml").is_file():
                shutil.rmtree(child)
    root.mkdir(parents=True, exist_ok=True)
    made = []
    for province in chosen:
        scenario = build(province, months, seed)
        write_province(scenario, root / province.slug, seed)
        made.append(scenario)
    return Generated(root, made)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="scenario_command", required=True)
    gen = sub.add_parser(
        "generate",
        help="sinh cấu hình toàn quốc: mỗi tỉnh, thành phố một thư mục cơ quan",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    gen.add_argument(
        "--provinces", type=int, default=len(data.PROVINCES), help="số tỉnh, thành phố (1–34, lấy K tỉnh đầu)"
    )
    gen.add_argument("--seed", type=int, required=True, help="hạt giống: cùng hạt giống, cùng tệp")
    gen.add_argument("--months", required=True, help="YYYY-MM..YYYY-MM hoặc một tháng YYYY-MM")
    gen.add_argument("--out", required=True, help="thư mục cấu hình sẽ ghi (CONFIG_DIR)")
    gen.add_argument(
        "--force", action="store_true", help="ghi đè các thư mục tỉnh đã sinh trước đó trong --out"
    )


def run_from_args(args: argparse.Namespace) -> int:
    months = parse_months(args.months)
    done = generate(args.out, args.provinces, args.seed, months, force=args.force)
    kinds: dict[str, int] = {}
    for scenario in done.scenarios:
        for unit in scenario.units:
            kinds[unit.kind] = kinds.get(unit.kind, 0) + 1
    labels = {
        "department": "sở, ban, ngành",
        "vertical_agency": "cơ quan ngành dọc",
        "ward": "phường",
        "commune": "xã",
        "special_zone": "đặc khu",
    }
    print(
        f"Đã sinh {len(done.scenarios)} tỉnh, thành phố trong {done.out} ({done.units} đơn vị: "
        + ", ".join(f"{kinds.get(k, 0)} {label}" for k, label in labels.items())
        + f"; các tháng {months[0]}..{months[-1]}; hạt giống {args.seed})."
    )
    criticised = sum(len(s.history()) for s in done.scenarios)
    print(f"history.csv: {criticised} lượt phê bình trước tháng {months[-1]}.")
    print(f"Chạy: make run PERIOD={months[-1]} CONFIG_DIR={done.out}")
    return 0
