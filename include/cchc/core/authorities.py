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

from cchc.core import wording
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


# The groups of addressees a letter speaks to (authority.yaml's ``letter.directives.addressees``).
ADDRESSEE_GROUPS = wording.GROUPS
DIRECTIVE_MODES = ("concerned", "all")
DEFAULT_VERTICAL_TARGET = "chỉ tiêu đề ra"
LETTER_KEYS = ("target_giver", "vertical_target", "local_units", "summary", "directives")
SUMMARY_KEYS = ("departments", "vertical_agencies")
DIRECTIVE_KEYS = ("addressees", "departments", "vertical_agencies")


@dataclass(frozen=True)
class LetterSettings:
    """The ``letter:`` block of authority.yaml: wording that differs between authorities.

    A None is "the default for this authority" (``resolved`` fills it in from the level and the name):

    - ``target_giver``: who assigns the targets, in "chỉ tiêu do UBND tỉnh giao" (district: "UBND
      tỉnh"; province: "UBND" and the level word of the name, "UBND thành phố");
    - ``vertical_target``: how a vertical agency's target is named, since the committee does not
      assign it ("chỉ tiêu đề ra");
    - ``local_units``: the local committees, "xã, thị trấn" (default: from the registry's kinds);
    - ``summary_departments`` / ``summary_vertical_agencies``: how the trích yếu "V/v …" names the
      departments and the vertical agencies it addresses;
    - ``directive_addressees``: whom the closing directives address: "concerned" (the groups the
      letter reminds, criticises or requests), "all" (every group of the registry) or a tuple of
      groups (``departments``, ``vertical_agencies``, ``communes``);
    - ``directive_departments`` / ``directive_vertical_agencies``: how the directives name those.
    """

    target_giver: str | None = None
    vertical_target: str = DEFAULT_VERTICAL_TARGET
    local_units: str | None = None
    summary_departments: str = "các cơ quan chuyên môn"
    summary_vertical_agencies: str = "cơ quan ngành dọc"
    directive_addressees: str | tuple[str, ...] = "concerned"
    directive_departments: str | None = None
    directive_vertical_agencies: str | None = None

    def resolved(self, level: str = "district", name: str = "") -> LetterSettings:
        """Every default filled in for an authority of ``level`` called ``name`` ("thành phố Hải Phòng")."""
        word = wording.level_word(name, level)
        departments = (
            "Giám đốc các Sở, ban, ngành"
            if level == "province"
            else f"Thủ trưởng các cơ quan chuyên môn thuộc UBND {word}"
        )
        return LetterSettings(
            target_giver=self.target_giver or ("UBND tỉnh" if level == "district" else f"UBND {word}"),
            vertical_target=self.vertical_target,
            local_units=self.local_units,
            summary_departments=self.summary_departments,
            summary_vertical_agencies=self.summary_vertical_agencies,
            directive_addressees=self.directive_addressees,
            directive_departments=self.directive_departments or departments,
            directive_vertical_agencies=self.directive_vertical_agencies
            or f"Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn {word}",
        )


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
    letter: LetterSettings = field(default_factory=LetterSettings)

    @property
    def level_word(self) -> str:
        """'huyện', 'tỉnh', 'thành phố': the word that opens the authority's name."""
        return wording.level_word(self.name, self.level)

    @property
    def letter_wording(self) -> LetterSettings:
        """The ``letter:`` settings with every default of this authority filled in."""
        return self.letter.resolved(self.level, self.name)

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
        "letter",
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
        letter=load_letter_settings(data.get("letter"), where),
    )


def _text(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' phải là một chuỗi không rỗng (đang là {value!r})")
    return value.strip()


def _block(value: Any, key: str, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' phải là bảng khóa–giá trị")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise ConfigError(
            f"{where}: khóa không biết trong '{key}': {', '.join(unknown)} (chỉ nhận {', '.join(allowed)})"
        )
    return value


def _addressees(value: Any, where: str) -> str | tuple[str, ...]:
    key = "letter.directives.addressees"
    choices = f"chỉ nhận {', '.join(DIRECTIVE_MODES)} hoặc danh sách gồm {', '.join(ADDRESSEE_GROUPS)}"
    if isinstance(value, str):
        if value not in DIRECTIVE_MODES:
            raise ConfigError(f"{where}: '{key}' = '{value}' không hợp lệ ({choices})")
        return value
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f"{where}: '{key}' phải là {', '.join(DIRECTIVE_MODES)} hoặc một danh sách ({choices})"
        )
    wrong = [str(v) for v in value if v not in ADDRESSEE_GROUPS]
    if wrong:
        raise ConfigError(f"{where}: '{key}' có nhóm không hợp lệ: {', '.join(wrong)} ({choices})")
    return tuple(g for g in ADDRESSEE_GROUPS if g in value)  # the letter's order, whatever the file's


def load_letter_settings(data: Any, where: str) -> LetterSettings:
    """The ``letter:`` block of authority.yaml, checked key by key (see ``LetterSettings``)."""
    block = _block(data, "letter", LETTER_KEYS, where)
    summary = _block(block.get("summary"), "letter.summary", SUMMARY_KEYS, where)
    directives = _block(block.get("directives"), "letter.directives", DIRECTIVE_KEYS, where)
    values: dict[str, Any] = {}
    for key in ("target_giver", "vertical_target", "local_units"):
        if block.get(key) is not None:
            values[key] = _text(block[key], f"letter.{key}", where)
    for key in SUMMARY_KEYS:
        if summary.get(key) is not None:
            values[f"summary_{key}"] = _text(summary[key], f"letter.summary.{key}", where)
    for key in ("departments", "vertical_agencies"):
        if directives.get(key) is not None:
            values[f"directive_{key}"] = _text(directives[key], f"letter.directives.{key}", where)
    if directives.get("addressees") is not None:
        values["directive_addressees"] = _addressees(directives["addressees"], where)
    return LetterSettings(**values)


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
