"""Authorities for tests: one builder of ``Authority`` objects, the small unit lists, config folders.

The warehouse tests use the three units of ``UNITS``; the decisions tests add a vertical agency
(``FOUR_UNITS``); the delivery tests have their own lists (support.decisions). Every authority is the
district "huyện Thử" unless told otherwise.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from cchc.core.authorities import Authority, Signer, Unit

AUTHORITY_ID = "demo"
ISSUING_BODY = ["ỦY BAN NHÂN DÂN", "HUYỆN THỬ"]
RECIPIENTS = ["Thủ trưởng các cơ quan chuyên môn thuộc UBND huyện"]
COPIES = ["Như trên", "Lưu: VT, NV"]

UNITS = [
    Unit("P-A", "Phòng Tài chính - Kế hoạch huyện", "department", "Trưởng phòng", "taichinh@example.vn"),
    Unit("X-B", "UBND xã Hà Kỳ", "commune", "Chủ tịch UBND xã", "haky@example.vn"),
    Unit("X-C", "UBND xã Tân Kỳ", "commune", "Chủ tịch UBND xã", "tanky@example.vn"),
]
VERTICAL_AGENCY = Unit(
    "V-T", "Chi cục Thuế khu vực Tứ Kỳ", "vertical_agency", "Chi cục trưởng", "thue@example.vn"
)
FOUR_UNITS = [UNITS[0], VERTICAL_AGENCY, *UNITS[1:]]  # a department, a vertical agency, two communes


def make_authority(
    units: list[Unit] | None = None,
    *,
    authority_id: str = AUTHORITY_ID,
    folder: Path | None = None,
    rules: dict | None = None,
    history: list[tuple[str, str, int]] | None = None,
    recipients: list[str] | None = None,
    copies: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Authority:
    """The district "huyện Thử" with ``units`` (default ``UNITS``).

    ``history`` (period, unit, count) is written to ``folder``/history.csv, as an operator would.
    """
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    if history is not None:
        if folder is None:
            raise ValueError("history.csv needs a folder")
        lines = ["period,unit_code,count", *(f"{p},{u},{c}" for p, u, c in history)]
        (folder / "history.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Authority(
        id=authority_id,
        level="district",
        name="huyện Thử",
        issuing_body=list(ISSUING_BODY),
        place="Thử",
        document_symbol="UBND-NV",
        signer=Signer(name="Nguyễn Văn A"),
        recipients=list(recipients if recipients is not None else RECIPIENTS),
        copies=list(copies if copies is not None else COPIES),
        root_department_id="HD-DEMO",
        units=list(units if units is not None else UNITS),
        folder=folder,  # type: ignore[arg-type]  # None where nothing reads the folder
        rules=dict(rules or {}),
        extra=dict(extra or {}),
    )


def authority_document(
    authority_id: str, name: str, root_department_id: str, **fields: Any
) -> dict[str, Any]:
    """authority.yaml of a district called ``name`` ("huyện …"), with ``fields`` added or replaced."""
    document = {
        "id": authority_id,
        "level": "district",
        "name": name,
        "issuing_body": ["ỦY BAN NHÂN DÂN", name.upper()],
        "place": name.split(" ", 1)[1],
        "document_symbol": "UBND-NV",
        "signer": {"name": "Nguyễn Văn A"},
        "recipients": list(RECIPIENTS),
        "copies": list(COPIES),
        "portal": {"root_department_id": root_department_id},
    }
    document.update(fields)
    return document


def write_config(folder: Path, document: dict[str, Any], units: list[Unit]) -> Path:
    """An authority's config folder: authority.yaml and units.csv (what load_authority reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "authority.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with (folder / "units.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "kind", "head_title", "email"])
        writer.writerows([u.code, u.name, u.kind, u.head_title, u.email] for u in units)
    return folder


def edit_yaml(path: Path, **fields: Any) -> dict[str, Any]:
    """Set ``fields`` in a YAML document on disk (an operator editing authority.yaml); returns it."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document.update(fields)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return document
