"""Reading a CCHC_CONFIG_DIR: one sub-folder per issuing authority.

Each folder holds ``authority.yaml``, ``units.csv``, optionally ``history.csv`` and, where the folder
also feeds the portal simulator, ``monthly.csv``. Every problem is reported with the file, the line
and the field, before any run uses the folder.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cchc.core.errors import ConfigError
from cchc.core.fields import COUNT_FIELDS, MONTHLY_COLUMNS
from cchc.core.periods import Period

UNIT_KINDS = ("department", "commune", "township", "ward", "special_zone", "vertical_agency")
LEVELS = ("district", "province")
UNIT_COLUMNS = ("code", "name", "kind", "head_title", "email")
HISTORY_COLUMNS = ("period", "unit_code", "count")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    head_title: str
    email: str


@dataclass(frozen=True)
class Signer:
    name: str
    title: str = "CHỦ TỊCH"
    on_behalf: str = "TM. ỦY BAN NHÂN DÂN"


@dataclass
class Authority:
    id: str
    level: str
    name: str
    issuing_body: list[str]
    place: str
    document_symbol: str
    signer: Signer
    recipients: list[str]
    copies: list[str]
    root_department_id: str
    units: list[Unit]
    folder: Path
    rules: dict[str, Any] = field(default_factory=dict)
    portal: dict[str, Any] = field(default_factory=dict)  # root_department_id, source, inbox, …
    extra: dict[str, Any] = field(default_factory=dict)

    def unit(self, code: str) -> Unit:
        for unit in self.units:
            if unit.code == code:
                return unit
        raise ConfigError(f"{self.id}: không có đơn vị mã '{code}' trong units.csv")

    @property
    def unit_codes(self) -> list[str]:
        return [unit.code for unit in self.units]

    @property
    def monthly_path(self) -> Path:
        return self.folder / "monthly.csv"

    @property
    def history_path(self) -> Path:
        return self.folder / "history.csv"


def list_authority_ids(config_dir: str | os.PathLike) -> list[str]:
    root = Path(config_dir)
    if not root.is_dir():
        raise ConfigError(f"thư mục cấu hình không tồn tại: {root}")
    ids = sorted(p.name for p in root.iterdir() if (p / "authority.yaml").is_file())
    if not ids:
        raise ConfigError(f"{root}: không có thư mục cơ quan nào chứa authority.yaml")
    return ids


def load_authorities(config_dir: str | os.PathLike) -> list[Authority]:
    return [load_authority(Path(config_dir) / aid) for aid in list_authority_ids(config_dir)]


def _require(data: dict, key: str, where: str) -> Any:
    if key not in data or data[key] in (None, "", []):
        raise ConfigError(f"{where}: thiếu trường '{key}'")
    return data[key]


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: trường '{key}' phải là danh sách chuỗi")
    return list(value)


def load_authority(folder: str | os.PathLike) -> Authority:
    folder = Path(folder)
    path = folder / "authority.yaml"
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{where}: không tìm thấy tệp") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: YAML không hợp lệ: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: nội dung phải là một bảng khóa–giá trị")

    known = {
        "id",
        "level",
        "name",
        "issuing_body",
        "place",
        "document_symbol",
        "signer",
        "recipients",
        "copies",
        "portal",
        "rules",
    }
    aid = str(_require(data, "id", where))
    if aid != folder.name:
        raise ConfigError(f"{where}: id '{aid}' phải trùng tên thư mục '{folder.name}'")
    level = _require(data, "level", where)
    if level not in LEVELS:
        raise ConfigError(f"{where}: level '{level}' không hợp lệ (chỉ nhận {', '.join(LEVELS)})")
    signer_data = _require(data, "signer", where)
    if not isinstance(signer_data, dict) or not signer_data.get("name"):
        raise ConfigError(f"{where}: trường 'signer' phải có 'name' (và 'title', 'on_behalf')")
    unknown_signer = set(signer_data) - {"name", "title", "on_behalf"}
    if unknown_signer:
        raise ConfigError(f"{where}: khóa không biết trong 'signer': {', '.join(sorted(unknown_signer))}")
    portal = data.get("portal") or {}
    if not isinstance(portal, dict):
        raise ConfigError(f"{where}: trường 'portal' phải là bảng khóa–giá trị")
    rules = data.get("rules") or {}
    if not isinstance(rules, dict):
        raise ConfigError(f"{where}: trường 'rules' phải là bảng khóa–giá trị")

    return Authority(
        id=aid,
        level=level,
        name=str(_require(data, "name", where)),
        issuing_body=_str_list(_require(data, "issuing_body", where), "issuing_body", where),
        place=str(_require(data, "place", where)),
        document_symbol=str(_require(data, "document_symbol", where)),
        signer=Signer(**{k: str(v) for k, v in signer_data.items()}),
        recipients=_str_list(_require(data, "recipients", where), "recipients", where),
        copies=_str_list(_require(data, "copies", where), "copies", where),
        root_department_id=str(_require(portal, "root_department_id", f"{where} (portal)")),
        units=load_units(folder / "units.csv"),
        folder=folder,
        rules=rules,
        portal=dict(portal),
        extra={k: v for k, v in data.items() if k not in known},
    )


def _read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: không tìm thấy tệp") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ConfigError(f"{path}: thiếu cột {', '.join(missing)}")
        # Line numbers as an editor shows them: the header is line 1.
        return [(i + 2, {k: (v or "").strip() for k, v in row.items() if k}) for i, row in enumerate(reader)]


def load_units(path: Path) -> list[Unit]:
    units: list[Unit] = []
    seen: set[str] = set()
    for line, row in _read_csv(path, UNIT_COLUMNS):
        for column in ("code", "name", "kind", "head_title"):
            if not row[column]:
                raise ConfigError(f"{path}, dòng {line}: cột '{column}' trống")
        if row["kind"] not in UNIT_KINDS:
            raise ConfigError(
                f"{path}, dòng {line}, đơn vị {row['code']}: kind '{row['kind']}' không hợp lệ "
                f"(chỉ nhận {', '.join(UNIT_KINDS)})"
            )
        if row["code"] in seen:
            raise ConfigError(f"{path}, dòng {line}: mã đơn vị '{row['code']}' bị trùng")
        if row["email"] and "@" not in row["email"]:
            raise ConfigError(
                f"{path}, dòng {line}, đơn vị {row['code']}: email '{row['email']}' không hợp lệ"
            )
        seen.add(row["code"])
        units.append(Unit(**{c: row[c] for c in UNIT_COLUMNS}))
    if not units:
        raise ConfigError(f"{path}: không có đơn vị nào")
    return units


def _count(value: str, where: str, column: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{where}, trường '{column}': '{value}' không phải số nguyên") from exc
    if number < 0:
        raise ConfigError(f"{where}, trường '{column}': số âm ({number})")
    return number


def _bool(value: str, where: str, column: str) -> bool | None:
    lowered = value.lower()
    if lowered == "":
        return None
    if lowered in ("true", "1", "yes", "có"):
        return True
    if lowered in ("false", "0", "no", "không"):
        return False
    raise ConfigError(f"{where}, trường '{column}': '{value}' không phải true/false")


def load_monthly(authority: Authority) -> list[dict[str, Any]]:
    """The simulator's dataset: one row per (period, unit) with the raw counts.

    Rows are returned as dicts with ``period`` (str YYYY-MM), ``unit_code``, the count fields as int
    and ``official_email_regular`` as bool or None.
    """
    path = authority.monthly_path
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    known = set(authority.unit_codes)
    for line, row in _read_csv(path, MONTHLY_COLUMNS):
        where = f"{path}, dòng {line}, đơn vị {row['unit_code']}, kỳ {row['period']}"
        period = str(Period.parse(row["period"]))
        if row["unit_code"] not in known:
            raise ConfigError(f"{where}: mã đơn vị không có trong units.csv")
        key = (period, row["unit_code"])
        if key in seen:
            raise ConfigError(f"{where}: trùng dòng cho cùng đơn vị và kỳ")
        seen.add(key)
        record: dict[str, Any] = {"period": period, "unit_code": row["unit_code"]}
        for column in COUNT_FIELDS:
            record[column] = _count(row[column], where, column)
        record["official_email_regular"] = _bool(
            row.get("official_email_regular", ""), where, "official_email_regular"
        )
        rows.append(record)
    return rows


def load_history(authority: Authority) -> list[dict[str, Any]]:
    """Criticisms issued before the system existed: ``period,unit_code,count`` (optional file)."""
    path = authority.history_path
    if not path.exists():
        return []
    known = set(authority.unit_codes)
    out = []
    for line, row in _read_csv(path, HISTORY_COLUMNS):
        where = f"{path}, dòng {line}, đơn vị {row['unit_code']}, kỳ {row['period']}"
        period = str(Period.parse(row["period"]))
        if row["unit_code"] not in known:
            raise ConfigError(f"{where}: mã đơn vị không có trong units.csv")
        out.append(
            {"period": period, "unit_code": row["unit_code"], "count": _count(row["count"], where, "count")}
        )
    return out
