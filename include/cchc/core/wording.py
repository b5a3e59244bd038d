"""Vietnamese wording shared by the decisions, the letter and the emails.

Lists ("A, B và C"), counts with a leading zero ("03"), units grouped by kind ("UBND các xã A và B"),
their heads ("Trưởng phòng Tài chính - Kế hoạch huyện, Chủ tịch UBND các xã A và B"), ordinals
("lần thứ hai") and the date forms of Decree 30/2020 (days under 10 and months 1–2 take a zero).

Units may be ``cchc.core.authorities.Unit`` objects or the unit dicts of decisions.json: anything with ``kind``,
``name`` and ``head_title``.

The trích yếu ("V/v biểu dương, nhắc nhở các cơ quan chuyên môn, UBND các xã, thị trấn trong thực hiện
nhiệm vụ Cải cách hành chính tháng 8/2023") is built here once (``summary_line``): the letter prints it,
the DOCX and PDF carry it as their title, and the emails quote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cchc.core.periods import Period

# Kinds of local committee and how the letter names one or several of them.
COMMUNE_KINDS = {
    "commune": ("UBND xã", "UBND các xã"),
    "township": ("UBND thị trấn", "UBND các thị trấn"),
    "ward": ("UBND phường", "UBND các phường"),
    "special_zone": ("UBND đặc khu", "UBND các đặc khu"),
}
# Order of the kinds inside one phrase: agencies first, then the local committees.
KIND_ORDER = ("department", "vertical_agency", "commune", "township", "ward", "special_zone")
# Local committees as the law lists them ("xã, phường, thị trấn", "xã, phường, đặc khu").
LOCAL_WORDS = {"commune": "xã", "ward": "phường", "township": "thị trấn", "special_zone": "đặc khu"}
# The groups of addressees of a letter: departments, vertical agencies, local committees.
GROUPS = ("departments", "vertical_agencies", "communes")
# Words that open an authority's name and name its level: "huyện Tứ Kỳ" → "huyện".
LEVEL_WORDS = ("thành phố", "thị xã", "huyện", "quận", "tỉnh")
ORDINALS = {2: "hai", 3: "ba", 4: "tư", 5: "năm", 6: "sáu", 7: "bảy", 8: "tám", 9: "chín", 10: "mười"}


def _get(unit: Any, key: str) -> str:
    return str(unit[key] if isinstance(unit, Mapping) else getattr(unit, key))


def group_of(kind: str) -> str:
    """'departments', 'vertical_agencies' or 'communes' (every kind of local committee)."""
    if kind == "vertical_agency":
        return "vertical_agencies"
    return "communes" if kind in COMMUNE_KINDS else "departments"


def level_word(name: str, level: str = "district") -> str:
    """'huyện' for "huyện Tứ Kỳ", 'thành phố' for "thành phố Hải Phòng"; by level when the name says none."""
    text = name.strip().casefold()
    for word in LEVEL_WORDS:
        if text.startswith(word + " "):
            return word
    return "huyện" if level == "district" else "tỉnh"


def local_units_words(kinds: Iterable[str]) -> str:
    """'xã, thị trấn' for the kinds of local committee present, in the law's order."""
    present = set(kinds)
    return ", ".join(word for kind, word in LOCAL_WORDS.items() if kind in present) or "xã"


def actions(section_kinds: Iterable[str]) -> str:
    """'biểu dương, nhắc nhở', 'biểu dương' or 'nhắc nhở': what the letter does, from its sections."""
    kinds = set(section_kinds)
    words = []
    if "commend" in kinds:
        words.append("biểu dương")
    if kinds & {"remind", "criticise", "request"} or not words:
        words.append("nhắc nhở")
    return ", ".join(words)


def addressed(kinds: Iterable[str], letter: Any) -> str:
    """Whom the letter addresses, for its trích yếu: 'các cơ quan chuyên môn, UBND các xã, thị trấn'.

    ``letter`` is a ``cchc.core.authorities.LetterSettings`` (the names of the departments and of the
    vertical agencies, and ``local_units`` when the authority sets it).
    """
    present = set(kinds)
    groups = {group_of(kind) for kind in present}
    parts = []
    if "departments" in groups:
        parts.append(letter.summary_departments)
    if "vertical_agencies" in groups:
        parts.append(letter.summary_vertical_agencies)
    if "communes" in groups:
        parts.append(f"UBND các {letter.local_units or local_units_words(present)}")
    return ", ".join(parts) or "các cơ quan, đơn vị"


def summary_line(document: Mapping[str, Any], letter: Any) -> str:
    """The trích yếu of the letter of a decisions.json document, the one used everywhere.

    'V/v biểu dương, nhắc nhở các cơ quan chuyên môn, UBND các xã, thị trấn trong thực hiện nhiệm vụ
    Cải cách hành chính tháng 8/2023': what the letter does (from its sections), whom it addresses
    (from the kinds of unit of the period's registry) and the month.
    """
    kinds = [str(u.get("kind")) for u in (document.get("units") or {}).values()]
    what = actions(s.get("kind") for s in document.get("sections") or [])
    return (
        f"V/v {what} {addressed(kinds, letter)} trong thực hiện nhiệm vụ Cải cách hành chính "
        f"tháng {document['period_label']}"
    )


def join(items: Iterable[str]) -> str:
    """'A', 'A và B', 'A, B và C'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} và {items[-1]}"


def count(n: int) -> str:
    """Counts under ten take a leading zero in prose: 3 → '03'."""
    return f"{n:02d}" if 0 <= n < 10 else str(n)


def document_number_text(number: int, symbol: str) -> str:
    """'15/UBND-NV', '07/UBND-NV': the number as the letter prints it after 'Số:' (under 10 with a zero)."""
    return f"{count(number)}/{symbol}"


def ordinal(n: int) -> str | None:
    """'lần thứ hai' for the second time; None for the first (the letter then says just 'Phê bình')."""
    if n <= 1:
        return None
    return f"lần thứ {ORDINALS.get(n, str(n))}"


def _by_kind(units: Iterable[Any]) -> list[tuple[str, list[Any]]]:
    groups: dict[str, list[Any]] = {}
    for unit in units:
        groups.setdefault(_get(unit, "kind"), []).append(unit)
    return [(kind, groups[kind]) for kind in KIND_ORDER if kind in groups] + [
        (kind, members) for kind, members in groups.items() if kind not in KIND_ORDER
    ]


def _short_name(unit: Any, prefix: str) -> str | None:
    name = _get(unit, "name")
    return name[len(prefix) :].strip() if name.startswith(prefix + " ") else None


def _committees(kind: str, members: list[Any]) -> str:
    """'UBND xã A' or 'UBND các xã A, B và C'; falls back to the full names when they do not fit."""
    singular, plural = COMMUNE_KINDS[kind]
    short = [_short_name(u, singular) for u in members]
    names = [s for s in short if s is not None]
    if len(names) != len(short):
        return join(_get(u, "name") for u in members)
    if len(members) == 1:
        return f"{singular} {names[0]}"
    return f"{plural} {join(names)}"


def subjects(units: Iterable[Any]) -> str:
    """The units as the letter names them: 'Phòng Nội vụ huyện, UBND các xã Hưng Đạo và Phượng Kỳ'."""
    parts: list[str] = []
    for kind, members in _by_kind(units):
        if kind in COMMUNE_KINDS:
            parts.append(_committees(kind, members))
        else:
            parts.extend(_get(u, "name") for u in members)
    return join(parts) if all(k not in COMMUNE_KINDS for k, _ in _by_kind(units)) else ", ".join(parts)


def head_of(unit: Any) -> str:
    """The head of one unit: 'Trưởng phòng' + 'Phòng Tư pháp huyện' → 'Trưởng phòng Tư pháp huyện'.

    The words the title and the name share ("phòng", "Sở", "UBND xã") are written once.
    """
    title = _get(unit, "head_title").split()
    name = _get(unit, "name").split()
    overlap = 0
    for k in range(min(len(title), len(name)), 0, -1):
        if [w.casefold() for w in title[-k:]] == [w.casefold() for w in name[:k]]:
            overlap = k
            break
    return " ".join(title + name[overlap:])


def _head_prefix(unit: Any, kind: str) -> str | None:
    """'Chủ tịch' for a committee whose head reads 'Chủ tịch UBND xã Kiến Thụy'; None when it does not fit.

    The registry may hold the title alone ("Chủ tịch"), with the kind ("Chủ tịch UBND xã") or in full
    ("Chủ tịch UBND xã Kiến Thụy"): the head reads the same each time, so the prefix is found on it.
    """
    singular, _ = COMMUNE_KINDS[kind]
    short = _short_name(unit, singular)
    if short is None:
        return None
    head = head_of(unit)
    tail = f" {singular} {short}"
    if not head.endswith(tail):
        return None
    return head[: -len(tail)].strip() or None


def heads(units: Iterable[Any]) -> str:
    """The heads to act, grouped by kind: 'Trưởng phòng Tài chính - Kế hoạch huyện, Chủ tịch UBND các xã A và B'.

    The committees of one kind whose heads share a title are named once ("Chủ tịch UBND các xã Kiến
    Thụy và Vĩnh Bảo"), whatever form ``head_title`` takes in the registry.
    """
    parts: list[str] = []
    for kind, members in _by_kind(units):
        if kind in COMMUNE_KINDS and len(members) > 1:
            prefixes = {_head_prefix(u, kind) for u in members}
            if len(prefixes) == 1 and None not in prefixes:
                parts.append(f"{prefixes.pop()} {_committees(kind, members)}")
                continue
        parts.extend(head_of(u) for u in members)
    return ", ".join(parts)


def local_heads(units: Iterable[Any]) -> str | None:
    """'Chủ tịch UBND các xã, phường, đặc khu': the heads of every kind of local committee present.

    None when the units hold no local committee.
    """
    members = list(units)
    kinds = [k for k in KIND_ORDER if k in COMMUNE_KINDS and any(_get(u, "kind") == k for u in members)]
    if not kinds:
        return None
    first = next(u for u in members if _get(u, "kind") == kinds[0])
    title = _head_prefix(first, kinds[0]) or "Chủ tịch"
    places = [COMMUNE_KINDS[k][1].removeprefix("UBND các ") for k in kinds]
    return f"{title} UBND các {', '.join(places)}"


def day_month(day: int, month: int) -> str:
    """'01/4', '31/8', '05/01': days under 10 and months 1–2 take a zero (Decree 30/2020)."""
    return f"{day:02d}/{month:02d}" if month <= 2 else f"{day:02d}/{month}"


def date_line(place: str, month: int, year: int, day: int | None = None) -> str:
    """'Tứ Kỳ, ngày      tháng 9 năm 2023': the day is left blank for signing unless given."""
    day_text = f"{day:02d}" if day else "     "
    month_text = f"{month:02d}" if month <= 2 else str(month)
    return f"{place}, ngày {day_text} tháng {month_text} năm {year}"


def window_label(start: Period, end: Period) -> str:
    """'từ ngày 01/4/2023-31/8/2023'."""
    return f"từ ngày {day_month(1, start.month)}/{start.year}-{day_month(end.last_day.day, end.month)}/{end.year}"


def window_heading(start: Period, end: Period) -> str:
    """'Từ ngày 01/4/2023 đến 31/8/2023': a window as a table heading, breakable between its dates.

    "01/4/2023-31/8/2023" is one unbreakable word to a line breaker (a hyphen before a digit never
    breaks), so a narrow column would cut it inside a date.
    """
    return (
        f"Từ ngày {day_month(1, start.month)}/{start.year} "
        f"đến {day_month(end.last_day.day, end.month)}/{end.year}"
    )


def ytd_label(period: Period) -> str:
    """'8 tháng đầu năm 2023'; December reads 'năm 2023'."""
    return f"năm {period.year}" if period.month == 12 else f"{period.month} tháng đầu năm {period.year}"
