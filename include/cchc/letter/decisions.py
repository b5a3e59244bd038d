"""Reading decisions.json (docs/decisions.md) for the letter, and refusing one that breaks the contract.

The letter trusts the decisions stage for *what* to say, but checks what it relies on to *say it*:
the keys it reads, that every unit a section names is in ``units``, and that the section numbers are
contiguous (1, 2, 3 … and 2.1, 2.2 …), so a broken producer fails here with the field at fault
instead of printing a letter with a gap or a missing name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cchc.core.fields import COMMEND_GROUPS, REMIND_METRICS, REMIND_REASONS, SECTION_KINDS
from cchc.core.files import sha256_bytes
from cchc.letter.errors import DecisionsError

SCHEMA = "cchc.decisions/1"
TOP_LEVEL = (
    "schema",
    "authority",
    "period",
    "period_label",
    "previous_period_label",
    "year",
    "rulebook",
    "windows",
    "targets",
    "totals",
    "shortfalls",
    "units",
    "sections",
)


def read_decisions_file(path: str | Path) -> tuple[dict[str, Any], str]:
    """decisions.json as written by the decisions stage, and the sha256 of its bytes: the one reader.

    The letter checks the contract on top (``load_decisions``); the distribution reads what it quotes.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DecisionsError(f"{path}: không tìm thấy tệp quyết định (decisions.json)") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecisionsError(f"{path}: không đọc được JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DecisionsError(f"{path}: nội dung phải là một đối tượng JSON")
    return data, sha256_bytes(raw)


def load_decisions(path: str | Path) -> tuple[dict[str, Any], str]:
    """The decisions, checked against the contract, and the sha256 of the file's bytes (the letter's record keeps it)."""
    data, digest = read_decisions_file(path)
    validate(data, str(path))
    return data, digest


def _need(data: Any, key: str, where: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise DecisionsError(f"{where}: thiếu trường '{key}'")
    return data[key]


def _known_unit(units: dict, code: Any, where: str) -> None:
    if code not in units:
        raise DecisionsError(f"{where}: đơn vị '{code}' không có trong 'units'")


def _entries(entries: Any, units: dict, where: str) -> None:
    if not isinstance(entries, list) or not entries:
        raise DecisionsError(f"{where}: 'entries' phải là danh sách không rỗng")
    for i, entry in enumerate(entries):
        _known_unit(units, _need(entry, "unit", f"{where}.entries[{i}]"), f"{where}.entries[{i}]")
        if not isinstance(_need(entry, "reasons", f"{where}.entries[{i}]"), list):
            raise DecisionsError(f"{where}.entries[{i}]: 'reasons' phải là danh sách")


def validate(data: Any, where: str = "decisions.json") -> None:
    if not isinstance(data, dict):
        raise DecisionsError(f"{where}: nội dung phải là một đối tượng JSON")
    for key in TOP_LEVEL:
        _need(data, key, where)
    if data["schema"] != SCHEMA:
        raise DecisionsError(f"{where}: schema '{data['schema']}' không được hỗ trợ (cần '{SCHEMA}')")
    units = data["units"]
    if not isinstance(units, dict) or not units:
        raise DecisionsError(f"{where}: 'units' phải là bảng mã đơn vị → đơn vị, không rỗng")
    for code, unit in units.items():
        for key in ("name", "kind", "figures"):
            _need(unit, key, f"{where}: units.{code}")
    sections = data["sections"]
    if not isinstance(sections, list) or not sections:
        raise DecisionsError(f"{where}: 'sections' phải là danh sách không rỗng")
    for index, section in enumerate(sections, start=1):
        at = f"{where}: sections[{index - 1}]"
        kind = _need(section, "kind", at)
        number = _need(section, "number", at)
        if kind not in SECTION_KINDS:
            raise DecisionsError(
                f"{at}: loại mục '{kind}' không hợp lệ (chỉ nhận {', '.join(SECTION_KINDS)})"
            )
        if str(number) != str(index):
            raise DecisionsError(f"{at}: mục số '{number}', cần '{index}' (các mục phải đánh số liên tục)")
        if kind == "commend":
            groups = _need(section, "groups", at)
            if not groups:
                raise DecisionsError(f"{at}: mục biểu dương không có nhóm nào (mục rỗng phải được bỏ đi)")
            for g, group in enumerate(groups):
                if _need(group, "group", f"{at}.groups[{g}]") not in COMMEND_GROUPS:
                    raise DecisionsError(f"{at}.groups[{g}]: nhóm '{group['group']}' không hợp lệ")
                members = _need(group, "units", f"{at}.groups[{g}]")
                if not members:
                    raise DecisionsError(f"{at}.groups[{g}]: nhóm rỗng")
                for code in members:
                    _known_unit(units, code, f"{at}.groups[{g}]")
        elif kind == "remind":
            subsections = _need(section, "subsections", at)
            if not subsections:
                raise DecisionsError(f"{at}: mục nhắc nhở không có tiểu mục nào (mục rỗng phải được bỏ đi)")
            for s, sub in enumerate(subsections, start=1):
                sub_at = f"{at}.subsections[{s - 1}]"
                if str(_need(sub, "number", sub_at)) != f"{index}.{s}":
                    raise DecisionsError(f"{sub_at}: tiểu mục số '{sub['number']}', cần '{index}.{s}'")
                metric = _need(sub, "metric", sub_at)
                if metric not in REMIND_METRICS:
                    raise DecisionsError(f"{sub_at}: chỉ tiêu '{metric}' không hợp lệ")
                groups = _need(sub, "groups", sub_at)
                if not groups:
                    raise DecisionsError(f"{sub_at}: tiểu mục rỗng phải được bỏ đi")
                for g, group in enumerate(groups):
                    g_at = f"{sub_at}.groups[{g}]"
                    if _need(group, "reason", g_at) not in REMIND_REASONS[metric]:
                        raise DecisionsError(f"{g_at}: lý do '{group['reason']}' không hợp lệ cho '{metric}'")
                    _entries(_need(group, "entries", g_at), units, g_at)
                    request = _need(group, "request", g_at)
                    for key in ("units", "heads", "subjects"):
                        _need(request, key, f"{g_at}.request")
        elif kind in ("criticise", "request"):
            _need(section, "subjects", at)
            _entries(_need(section, "entries", at), units, at)
            if kind == "criticise":
                _need(section, "count", at)
            else:
                _need(section, "heads", at)
        else:
            _need(section, "addressees", at)
            if index != len(sections):
                raise DecisionsError(f"{at}: mục chỉ đạo (directives) phải là mục cuối cùng")
