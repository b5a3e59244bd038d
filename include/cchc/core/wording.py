"""Vietnamese wording shared by the decisions, the letter and the emails.

Lists ("A, B và C"), counts with a leading zero ("03"), units grouped by kind ("UBND các xã A và B"),
their heads ("Trưởng phòng Tài chính - Kế hoạch huyện, Chủ tịch UBND các xã A và B"), ordinals
("lần thứ hai") and the date forms of Decree 30/2020 (days under 10 and months 1–2 take a zero).

Units may be ``cchc.core.authorities.Unit`` objects or the unit dicts of decisions.json: anything with ``kind``,
``name`` and ``head_title``.
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
ORDINALS = {2: "hai", 3: "ba", 4: "tư", 5: "năm", 6: "sáu", 7: "bảy", 8: "tám", 9: "chín", 10: "mười"}


def _get(unit: Any, key: str) -> str:
    return str(unit[key] if isinstance(unit, Mapping) else getattr(unit, key))


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
    if any(s is None for s in short):
        return join(_get(u, "name") for u in members)
    if len(members) == 1:
        return f"{singular} {short[0]}"
    return f"{plural} {join(short)}"


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


def heads(units: Iterable[Any]) -> str:
    """The heads to act, grouped by kind: 'Trưởng phòng Tài chính - Kế hoạch huyện, Chủ tịch UBND các xã A và B'."""
    parts: list[str] = []
    for kind, members in _by_kind(units):
        if kind in COMMUNE_KINDS and len(members) > 1:
            singular, _ = COMMUNE_KINDS[kind]
            title = _get(members[0], "head_title")
            if title.endswith(singular) and all(_get(u, "head_title") == title for u in members):
                parts.append(f"{title[: -len(singular)].strip()} {_committees(kind, members)}")
                continue
        parts.extend(head_of(u) for u in members)
    return ", ".join(parts)


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


def ytd_label(period: Period) -> str:
    """'8 tháng đầu năm 2023'; December reads 'năm 2023'."""
    return f"năm {period.year}" if period.month == 12 else f"{period.month} tháng đầu năm {period.year}"
