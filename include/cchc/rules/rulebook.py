"""The rulebook: thresholds, targets and campaign starts, with the dates from which each applies.

The package ships ``default_rulebook.yaml`` (the values of BRIEF §3, which reproduce the seed letter);
an authority overrides any value under ``rules:`` in its ``authority.yaml``. Both are lists of versions
with a ``valid_from`` date; a version lists only what changes and inherits the rest from the version
before it. The rules of a period are, for each layer, the latest version whose ``valid_from`` is on or
before the period's first day; the authority's values win over the default ones, plain values
(outside ``versions``) apply to every date.

Everything is checked when the rulebook is loaded, so a typo or a threshold of 120 is refused with the
file and the key before any run decides anything with it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from cchc.core.errors import ConfigError
from cchc.core.periods import Period

DEFAULT_RULEBOOK = Path(__file__).resolve().parent / "default_rulebook.yaml"
RATE_METRICS = ("receipt", "result", "payment")
PERCENT_KEYS = (
    "commend_receipt",
    "commend_result",
    "low_month",
    "low_ytd",
    "payment_target",
    "digitization_target",
)
KEYS = (*PERCENT_KEYS, "posts_required", "campaign_start", "criticism_reset")
RESETS = ("year", "never")
NOTES_FILE = "notes.yaml"


def count_window_start(period: Period, reset: str) -> Period | None:
    """January of the period's year when counts reset each year; None (since the first) otherwise."""
    return Period(period.year, 1) if reset == "year" else None


def decimal_text(value: Decimal | None) -> str | None:
    """A Decimal as decisions.json writes it: '98.5', '99', '100' (no exponent, no trailing zeros)."""
    if value is None:
        return None
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class Rules:
    """The rules in force for one period (every value resolved)."""

    version: str
    commend_receipt: Decimal
    commend_result: Decimal
    low_month: Decimal
    low_ytd: Decimal
    payment_target: Decimal | None
    posts_required: int
    digitization_target: Decimal
    criticism_reset: str
    campaign_start: Mapping[str, Mapping[int, Period]] = field(default_factory=dict)

    def campaign_starts(self, year: int) -> dict[str, Period]:
        """First month of each metric's campaign window in ``year``; January unless the rulebook sets one."""
        return {m: self.campaign_start.get(m, {}).get(year, Period(year, 1)) for m in RATE_METRICS}

    def count_window_start(self, period: Period) -> Period | None:
        """First period whose criticisms count towards the n-th criticism in ``period`` (None: all)."""
        return count_window_start(period, self.criticism_reset)

    def values_json(self) -> dict[str, Any]:
        """The effective values for decisions.json and the warehouse (decimals as strings)."""
        out: dict[str, Any] = {key: decimal_text(getattr(self, key)) for key in PERCENT_KEYS}
        out["posts_required"] = self.posts_required
        out["criticism_reset"] = self.criticism_reset
        out["campaign_start"] = {
            metric: {str(year): str(start) for year, start in sorted(years.items())}
            for metric, years in sorted(self.campaign_start.items())
        }
        return out

    def targets_json(self) -> dict[str, Any]:
        """decisions.json ``targets``: the values the letter words and restates in its directives."""
        return {
            "commend_receipt": decimal_text(self.commend_receipt),
            "commend_result": decimal_text(self.commend_result),
            "low_month": decimal_text(self.low_month),
            "low_ytd": decimal_text(self.low_ytd),
            "payment_target": decimal_text(self.payment_target),
            "posts_required": self.posts_required,
            "digitization_target": decimal_text(self.digitization_target),
        }


@dataclass(frozen=True)
class _Version:
    valid_from: date
    values: dict[str, Any]


def _merge(base: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in values.items():
        if key == "campaign_start":
            # Per metric and year, so a later version can add 2025's start without restating 2023's.
            merged = {m: dict(years) for m, years in out.get("campaign_start", {}).items()}
            for metric, years in value.items():
                merged.setdefault(metric, {}).update(years)
            out["campaign_start"] = merged
        else:
            out[key] = value
    return out


def _canonical(values: Mapping[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, Decimal):
            return decimal_text(value)
        if isinstance(value, Period):
            return str(value)
        return value

    return json.dumps(plain(values), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Rulebook:
    """The default versions plus an authority's overrides; ``rules_for(period)`` resolves them."""

    id: str
    source: str
    versions: tuple[_Version, ...]
    authority_id: str | None = None
    override_source: str | None = None
    override_plain: dict[str, Any] = field(default_factory=dict)
    override_versions: tuple[_Version, ...] = ()

    def _in_force(self, versions: tuple[_Version, ...], day: date) -> tuple[dict[str, Any], _Version | None]:
        values: dict[str, Any] = {}
        latest = None
        for version in versions:  # sorted by valid_from
            if version.valid_from > day:
                break
            values = _merge(values, version.values)
            latest = version
        return values, latest

    def rules_for(self, period: Period | str) -> Rules:
        period = period if isinstance(period, Period) else Period.parse(str(period))
        day = period.first_day
        base, base_version = self._in_force(self.versions, day)
        if base_version is None:
            raise ConfigError(
                f"{self.source}: không có phiên bản quy tắc nào áp dụng cho kỳ {period} "
                f"(phiên bản sớm nhất áp dụng từ {self.versions[0].valid_from.isoformat()})"
            )
        version = f"{self.id}@{base_version.valid_from.isoformat()}"
        override, override_version = self._in_force(self.override_versions, day)
        override = _merge(self.override_plain, override)
        values = _merge(base, override)
        if override:
            # The authority's values in force, hashed: two different override sets never share an id.
            since = override_version.valid_from.isoformat() if override_version else "all"
            digest = hashlib.sha256(_canonical(override).encode("utf-8")).hexdigest()[:8]
            version += f"+{self.authority_id or 'override'}@{since}:{digest}"
        missing = [key for key in KEYS if key not in values]
        if missing:
            raise ConfigError(f"{self.source}: kỳ {period}: thiếu khóa {', '.join(missing)}")
        return Rules(version=version, **{key: values[key] for key in KEYS})

    def version_for(self, period: Period | str) -> str:
        return self.rules_for(period).version


# ------------------------------------------------------------------------------ parsing and checks


def _percent(value: Any, where: str, key: str, nullable: bool = False) -> Decimal | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ConfigError(
            f"{where}, khóa '{key}': phải là một số phần trăm từ 0 đến 100"
            f"{' hoặc null' if nullable else ''}, nhận {value!r}"
        )
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:  # nan, inf
        raise ConfigError(f"{where}, khóa '{key}': {value!r} không phải số") from exc
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
        raise ConfigError(f"{where}, khóa '{key}': {value!r} nằm ngoài khoảng 0–100")
    return number


def _posts(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}, khóa 'posts_required': phải là số nguyên không âm, nhận {value!r}")
    return value


def _reset(value: Any, where: str) -> str:
    if value not in RESETS:
        raise ConfigError(
            f"{where}, khóa 'criticism_reset': {value!r} không hợp lệ (chỉ nhận {', '.join(RESETS)})"
        )
    return value


def _campaign(value: Any, where: str) -> dict[str, dict[int, Period]]:
    key = "campaign_start"
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}, khóa '{key}': phải là bảng chỉ tiêu → năm → tháng bắt đầu (YYYY-MM)")
    out: dict[str, dict[int, Period]] = {}
    for metric, years in value.items():
        if metric not in RATE_METRICS:
            raise ConfigError(
                f"{where}, khóa '{key}.{metric}': chỉ tiêu không biết (chỉ nhận {', '.join(RATE_METRICS)})"
            )
        if not isinstance(years, Mapping):
            raise ConfigError(f"{where}, khóa '{key}.{metric}': phải là bảng năm → tháng bắt đầu (YYYY-MM)")
        out[metric] = {}
        for year, start in years.items():
            label = f"{where}, khóa '{key}.{metric}.{year}'"
            try:
                year_number = int(year)
                if isinstance(year, bool) or str(year_number) != str(year).strip():
                    raise ValueError
            except ValueError as exc:
                raise ConfigError(f"{label}: năm phải là số, ví dụ 2023") from exc
            if isinstance(start, int) and not isinstance(start, bool):
                start_text = f"{year_number:04d}-{start:02d}" if 1 <= start <= 12 else str(start)
            elif isinstance(start, str):
                start_text = start
            else:
                raise ConfigError(f"{label}: tháng bắt đầu phải có dạng YYYY-MM, nhận {start!r}")
            try:
                period = Period.parse(start_text)
            except ConfigError as exc:
                raise ConfigError(f"{label}: {exc}") from exc
            if period.year != year_number:
                raise ConfigError(f"{label}: tháng bắt đầu {period} không thuộc năm {year_number}")
            out[metric][year_number] = period
    return out


def _values(data: Mapping[str, Any], where: str, allowed_extra: tuple[str, ...] = ()) -> dict[str, Any]:
    unknown = [str(k) for k in data if k not in KEYS and k not in allowed_extra]
    if unknown:
        raise ConfigError(
            f"{where}: khóa không biết {', '.join(repr(k) for k in unknown)} "
            f"(các khóa hợp lệ: {', '.join((*allowed_extra, *KEYS))})"
        )
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in allowed_extra:
            continue
        if key in PERCENT_KEYS:
            out[key] = _percent(value, where, key, nullable=key == "payment_target")
        elif key == "posts_required":
            out[key] = _posts(value, where)
        elif key == "criticism_reset":
            out[key] = _reset(value, where)
        elif key == "campaign_start":
            out[key] = _campaign(value, where)
    return out


def _valid_from(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        raise ConfigError(f"{where}, khóa 'valid_from': chỉ ghi ngày (YYYY-MM-DD), không ghi giờ")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else Period.parse(text).first_day
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"{where}, khóa 'valid_from': '{value}' không phải ngày YYYY-MM-DD") from exc
    raise ConfigError(f"{where}, khóa 'valid_from': thiếu hoặc không phải ngày YYYY-MM-DD (nhận {value!r})")


def _versions(raw: Any, where: str) -> tuple[_Version, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}, khóa 'versions': phải là danh sách các phiên bản có valid_from")
    versions: list[_Version] = []
    seen: dict[date, int] = {}
    for index, item in enumerate(raw):
        label = f"{where}, versions[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{label}: phải là bảng khóa–giá trị có valid_from")
        if "valid_from" not in item:
            raise ConfigError(f"{label}: thiếu khóa 'valid_from'")
        valid_from = _valid_from(item["valid_from"], label)
        label = f"{where}, versions[{index}] (valid_from {valid_from.isoformat()})"
        if valid_from in seen:
            raise ConfigError(
                f"{label}, khóa 'valid_from': trùng với versions[{seen[valid_from]}]; hai phiên bản "
                "không được áp dụng từ cùng một ngày"
            )
        seen[valid_from] = index
        versions.append(_Version(valid_from, _values(item, label, allowed_extra=("valid_from",))))
    return tuple(sorted(versions, key=lambda v: v.valid_from))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: không tìm thấy tệp bộ quy tắc") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML không hợp lệ: {exc}") from exc


def parse_rulebook(data: Any, source: str) -> tuple[str, tuple[_Version, ...]]:
    """A rulebook file's content: ``id`` and ``versions``; the first version must set every key."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: nội dung phải là bảng khóa–giá trị có 'id' và 'versions'")
    unknown = [str(k) for k in data if k not in ("id", "versions", "description")]
    if unknown:
        raise ConfigError(
            f"{source}: khóa không biết {', '.join(repr(k) for k in unknown)} "
            "(chỉ nhận id, description, versions)"
        )
    book_id = data.get("id")
    if not isinstance(book_id, str) or not book_id.strip() or any(c in book_id for c in "@+: "):
        raise ConfigError(f"{source}, khóa 'id': phải là tên ngắn không chứa '@', '+', ':' hay dấu cách")
    if "versions" not in data:
        raise ConfigError(f"{source}: thiếu khóa 'versions'")
    versions = _versions(data["versions"], source)
    if not versions:
        raise ConfigError(f"{source}, khóa 'versions': không có phiên bản nào")
    missing = [k for k in KEYS if k not in versions[0].values]
    if missing:
        raise ConfigError(
            f"{source}, versions[0] (valid_from {versions[0].valid_from.isoformat()}): phiên bản "
            f"đầu tiên phải đặt mọi khóa; thiếu {', '.join(missing)}"
        )
    return book_id, versions


def parse_overrides(data: Any, source: str) -> tuple[dict[str, Any], tuple[_Version, ...]]:
    """``rules:`` of authority.yaml: plain values for every date and/or ``versions``."""
    if data is None:
        return {}, ()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}, khóa 'rules': phải là bảng khóa–giá trị")
    plain = _values(data, f"{source}, rules", allowed_extra=("versions",))
    versions = _versions(data["versions"], f"{source}, rules") if "versions" in data else ()
    return plain, versions


def authority_source(authority: Any) -> str:
    folder = getattr(authority, "folder", None)
    return str(Path(folder) / "authority.yaml") if folder else f"authority.yaml của {authority.id}"


def load_rulebook(
    authority: Any = None,
    *,
    path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Rulebook:
    """The default rulebook (or ``path``) with the authority's ``rules`` (or ``overrides``) on top.

    Every version of both layers is checked here, and the rules of every date where something changes
    are resolved once, so an invalid rulebook is refused before any period is decided.
    """
    file = Path(path) if path else DEFAULT_RULEBOOK
    book_id, versions = parse_rulebook(_read_yaml(file), str(file))
    if overrides is None and authority is not None:
        overrides = getattr(authority, "rules", None) or {}
    source = authority_source(authority) if authority is not None else "rules"
    plain, override_versions = parse_overrides(overrides or {}, source)
    book = Rulebook(
        id=book_id,
        source=str(file),
        versions=versions,
        authority_id=getattr(authority, "id", None),
        override_source=source,
        override_plain=plain,
        override_versions=override_versions,
    )
    for version in (*versions, *override_versions):
        if version.valid_from >= versions[0].valid_from:
            day = version.valid_from
            book.rules_for(
                Period(day.year, day.month) if day.day == 1 else Period(day.year, day.month).next()
            )
    return book


def campaign_starts_for(authority: Any, period: Period | str) -> dict[str, Period]:
    """The campaign starts of the period's year under the rules in force, for ``compute_rates``."""
    period = period if isinstance(period, Period) else Period.parse(str(period))
    return load_rulebook(authority).rules_for(period).campaign_starts(period.year)


# ------------------------------------------------------------------------------ operator notes


def load_notes(folder: str | os.PathLike | None) -> dict[str, str]:
    """``notes.yaml`` of an authority folder: ``"YYYY-MM": "sentence"`` (optional file)."""
    if not folder:
        return {}
    path = Path(folder) / NOTES_FILE
    if not path.exists():
        return {}
    data = _read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: nội dung phải là bảng kỳ (YYYY-MM) → câu nhận xét")
    notes: dict[str, str] = {}
    for key, value in data.items():
        try:
            period = Period.parse(str(key))
        except ConfigError as exc:
            raise ConfigError(f"{path}, khóa '{key}': {exc}") from exc
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}, khóa '{key}': câu nhận xét phải là một chuỗi không rỗng")
        notes[str(period)] = value.strip()
    return notes


def operator_note(authority: Any, period: Period | str) -> str | None:
    """The operator's sentence for the period ("đã có sự tiến bộ ở 7/7 lĩnh vực"), or None."""
    return load_notes(getattr(authority, "folder", None)).get(str(period))
