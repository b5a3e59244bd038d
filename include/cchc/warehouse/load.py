"""Writing to the warehouse: the unit registry and the monthly facts of a period.

Both writes are single transactions. A load is keyed on (authority, unit, period) and versioned by
period: loading the figures already current changes nothing; different figures become the next
version and the previous one stops being current but stays readable (by version or load_id), so what
an issued letter was based on never changes under it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cchc.core.authorities import Authority
from cchc.core.db import guarded, mask_text, new_key
from cchc.core.errors import WarehouseError
from cchc.core.fields import COUNT_FIELDS as COUNT_COLUMNS
from cchc.core.fields import METRIC_FIELDS as METRIC_COLUMNS
from cchc.core.periods import Period
from cchc.warehouse.errors import LoadRefused
from cchc.warehouse.migrate import require_head
from cchc.warehouse.schema import loads, monthly_facts, units

log = logging.getLogger(__name__)

FRAME_COLUMNS = ("authority", "period", "unit_code", *COUNT_COLUMNS, "official_email_regular", "source")
# Numerator/denominator pairs the warehouse's CHECK constraints enforce, for explaining a refusal.
_PAIRS = tuple(METRIC_COLUMNS.values())
_MAX_LISTED = 50
_TRUE = {"true", "1", "yes", "có"}
_FALSE = {"false", "0", "no", "không"}


def as_period(value: Period | str) -> Period:
    return value if isinstance(value, Period) else Period.parse(str(value))


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ unit registry


@dataclass(frozen=True)
class SyncResult:
    authority_id: str
    period: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)
    # Backfill only: the registry file differs from the history stored for this older period, and
    # that history (written by a later period's sync) is left as it is.
    kept: list[str] = field(default_factory=list)
    backfill: bool = False

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.closed or self.extended)

    def summary(self) -> dict[str, Any]:
        return asdict(self)


def _unit_values(unit, position: int) -> dict[str, Any]:
    return {
        "name": unit.name,
        "kind": unit.kind,
        "head_title": unit.head_title,
        "email": unit.email or None,
        "position": position,
    }


def _open_row(conn: sa.Connection, authority_id: str, code: str, first: date, values: dict[str, Any]) -> None:
    """A registry row valid from ``first`` with no end yet."""
    conn.execute(
        units.insert().values(authority_id=authority_id, code=code, valid_from=first, valid_to=None, **values)
    )


_HISTORY_FIELDS = ("name", "kind", "head_title")
_CURRENT_FIELDS = ("email", "position")


class _RegistrySync:
    """One sync of an authority's registry as of a period's first day, inside one transaction."""

    def __init__(self, conn: sa.Connection, authority_id: str, period: Period, backfill: bool) -> None:
        self.conn, self.authority_id = conn, authority_id
        self.first = period.first_day
        self.day_before = self.first - timedelta(days=1)
        self.backfill = backfill
        self.result = SyncResult(authority_id, str(period), backfill=backfill)

    def _key(self, row: Any) -> sa.ColumnElement[bool]:
        return sa.and_(
            units.c.authority_id == self.authority_id,
            units.c.code == row["code"],
            units.c.valid_from == row["valid_from"],
        )

    def _update(self, row: Any, **values: Any) -> None:
        self.conn.execute(units.update().where(self._key(row)).values(**values))

    def listed(self, unit: Any, position: int, rows: list[Any]) -> None:
        """A unit of the registry file: added, extended back, changed (history) or updated in place."""
        first, result = self.first, self.result
        values = _unit_values(unit, position)
        at = next(
            (
                r
                for r in rows
                if r["valid_from"] <= first and (r["valid_to"] is None or r["valid_to"] >= first)
            ),
            None,
        )
        if at is None:
            later = [r for r in rows if r["valid_from"] > first]
            if later:
                # Known from a later period only: it existed at least since this one.
                self._update(later[0], valid_from=first)
                result.extended.append(unit.code)
            else:
                _open_row(self.conn, self.authority_id, unit.code, first, values)
                result.added.append(unit.code)
            return
        if not all(at[f] == values[f] for f in _HISTORY_FIELDS):
            if self.backfill or at["valid_to"] is not None:
                result.kept.append(unit.code)
            else:
                if at["valid_from"] == first:
                    # Opened by an earlier run of this same period: a correction, not history.
                    self._update(at, **values)
                else:
                    self._update(at, valid_to=self.day_before)
                    _open_row(self.conn, self.authority_id, unit.code, first, values)
                result.changed.append(unit.code)
                return
        open_row = next((r for r in rows if r["valid_to"] is None), None)
        if open_row is not None and any(open_row[f] != values[f] for f in _CURRENT_FIELDS):
            self._update(open_row, **{f: values[f] for f in _CURRENT_FIELDS})

    def unlisted(self, code: str, rows: list[Any]) -> None:
        """A stored unit the file no longer lists: closed the day before (or dropped if opened this period)."""
        for row in rows:
            if row["valid_to"] is not None:
                continue
            if row["valid_from"] < self.first:
                self._update(row, valid_to=self.day_before)
            else:
                # Opened by an earlier run of this same period and since taken out of the file.
                self.conn.execute(units.delete().where(self._key(row)))
            self.result.closed.append(code)


@guarded("đồng bộ danh mục đơn vị")
def sync_units(engine: Engine, authority: Authority, period: Period | str) -> SyncResult:
    """Bring the stored registry in line with ``authority.units`` as of the period's first day.

    A new unit gets a row valid from that day; a unit whose name, kind or head title changed has its
    row closed the day before and a new one opened; a unit no longer listed is closed. Email and
    registry order are current contact data and are updated in place. Running it again changes
    nothing.

    The registry file has no dates, so it can only speak for the latest period. When a later period
    has already been synced (a backfill), stored history is not rewritten: units are only added or
    their first row extended back to this period, and differences are reported in ``kept``.
    """
    period = as_period(period)
    first = period.first_day
    with engine.begin() as conn:
        require_head(conn)
        stored = (
            conn.execute(
                sa.select(units)
                .where(units.c.authority_id == authority.id)
                .order_by(units.c.code, units.c.valid_from)
            )
            .mappings()
            .all()
        )
        by_code: dict[str, list] = defaultdict(list)
        for row in stored:
            by_code[row["code"]].append(row)
        backfill = any(
            row["valid_from"] > first or (row["valid_to"] is not None and row["valid_to"] >= first)
            for row in stored
        )
        sync = _RegistrySync(conn, authority.id, period, backfill)
        for position, unit in enumerate(authority.units, start=1):
            sync.listed(unit, position, by_code.get(unit.code, []))
        if not backfill:
            listed = {unit.code for unit in authority.units}
            for code, rows in by_code.items():
                if code not in listed:
                    sync.unlisted(code, rows)
    _log_sync(sync.result)
    return sync.result


def _log_sync(result: SyncResult) -> None:
    where = f"{result.authority_id} kỳ {result.period}"
    if result.touched:
        log.info(
            "%s: danh mục đơn vị — thêm %d, đổi tên/loại %d, đóng %d, mở rộng về trước %d",
            where,
            len(result.added),
            len(result.changed),
            len(result.closed),
            len(result.extended),
        )
    if result.kept:
        log.warning(
            "%s: danh mục đơn vị hiện tại khác lịch sử đã lưu cho kỳ này (%s); giữ nguyên lịch sử vì kỳ "
            "sau đã được đồng bộ",
            where,
            ", ".join(result.kept),
        )


def units_valid_in(conn: sa.Connection, authority_id: str, period: Period) -> list[dict[str, Any]]:
    """The registry rows valid on any day of the period, in registry order."""
    rows = (
        conn.execute(
            sa.select(units)
            .where(
                units.c.authority_id == authority_id,
                units.c.valid_from <= period.last_day,
                sa.or_(units.c.valid_to.is_(None), units.c.valid_to >= period.first_day),
            )
            .order_by(units.c.position, units.c.code, units.c.valid_from)
        )
        .mappings()
        .all()
    )
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        # Rows open and close on month boundaries, so one per code; keep the latest if not.
        out[row["code"]] = dict(row)
    return list(out.values())


@guarded("đọc danh mục đơn vị")
def read_units(engine: Engine, authority_id: str, period: Period | str | None = None) -> list[dict[str, Any]]:
    """The registry: every row (with its history) or, for a period, the rows valid in it."""
    with engine.connect() as conn:
        if period is not None:
            return units_valid_in(conn, authority_id, as_period(period))
        rows = (
            conn.execute(
                sa.select(units)
                .where(units.c.authority_id == authority_id)
                .order_by(units.c.position, units.c.valid_from)
            )
            .mappings()
            .all()
        )
        return [dict(r) for r in rows]


# ------------------------------------------------------------------------------ facts


@dataclass(frozen=True)
class LoadResult:
    load_id: int
    version: int
    rows: int
    changed: bool
    authority_id: str = ""
    period: str = ""
    content_hash: str = ""

    def summary(self) -> dict[str, Any]:
        return asdict(self)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _count(value: Any) -> int | None:
    """The value as an int, or None if it is not a whole number (a bool is not a count)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.lstrip("-").isdigit() else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not number.is_integer():
        return None
    return int(value) if not isinstance(value, float) else int(number)


def _flag(value: Any) -> tuple[bool, bool | None]:
    """(ok, value) of official_email_regular: true/false/empty, as the tidy table writes it."""
    if _missing(value):
        return True, None
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return True, bool(value)
    text = str(value).strip().lower()
    if text == "":
        return True, None
    if text in _TRUE:
        return True, True
    if text in _FALSE:
        return True, False
    return False, None


def _records(frame: pd.DataFrame, authority_id: str, period: Period, source: str) -> list[dict[str, Any]]:
    """The frame as rows for monthly_facts, or LoadRefused listing every unit and field at fault.

    Only the shape is checked here (identity, whole numbers, duplicates). Value rules (no negative
    count, numerator ≤ denominator) are the warehouse's CHECK constraints; a row breaking them makes
    the insert fail and the whole load roll back (see ``_explain``).
    """
    where = f"{authority_id} kỳ {period}"
    missing_columns = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing_columns:
        raise LoadRefused(
            f"{where}: bảng số liệu thiếu cột {', '.join(missing_columns)}; kho dữ liệu giữ nguyên"
        )
    if len(frame) == 0:
        raise LoadRefused(f"{where}: bảng số liệu không có dòng nào; kho dữ liệu giữ nguyên")
    problems: list[str] = []
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(frame[list(FRAME_COLUMNS)].to_dict("records"), start=1):
        unit = "" if _missing(raw["unit_code"]) else str(raw["unit_code"]).strip()
        label = f"đơn vị {unit}" if unit else f"dòng {index}"
        if not unit:
            problems.append(f"{label}, trường 'unit_code': trống")
        for column, expected in (("authority", authority_id), ("period", str(period))):
            value = "" if _missing(raw[column]) else str(raw[column]).strip()
            if value != expected:
                what = "cơ quan" if column == "authority" else "kỳ"
                problems.append(f"{label}, trường '{column}': '{value}' khác {what} đang nạp {expected}")
        record: dict[str, Any] = {"authority_id": authority_id, "unit_code": unit, "period": str(period)}
        for column in COUNT_COLUMNS:
            value = raw[column]
            number = None if _missing(value) else _count(value)
            if _missing(value):
                problems.append(f"{label}, trường '{column}': trống")
            elif number is None:
                problems.append(f"{label}, trường '{column}': '{value}' không phải số nguyên")
            record[column] = number
        ok, flag = _flag(raw["official_email_regular"])
        if not ok:
            problems.append(
                f"{label}, trường 'official_email_regular': '{raw['official_email_regular']}' "
                "không phải true/false"
            )
        record["official_email_regular"] = flag
        record["source"] = (
            source
            if _missing(raw["source"]) or not str(raw["source"]).strip()
            else str(raw["source"]).strip()
        )
        if unit:
            if unit in seen:
                problems.append(f"{label}: xuất hiện nhiều lần (dòng {seen[unit]} và dòng {index})")
            else:
                seen[unit] = index
        records.append(record)
    if problems:
        raise LoadRefused(_refusal(where, problems), problems)
    return records


def _refusal(where: str, problems: list[str]) -> str:
    listed = problems[:_MAX_LISTED]
    more = len(problems) - len(listed)
    lines = "\n".join(f"- {p}" for p in listed)
    tail = f"\n- … và {more} lỗi khác" if more else ""
    return f"{where}: không nạp bảng số liệu ({len(problems)} lỗi), kho dữ liệu giữ nguyên:\n{lines}{tail}"


def content_hash(records: list[dict[str, Any]]) -> str:
    """SHA-256 of the figures only (not the source or the run): same figures, same hash."""
    canonical = sorted(
        [r["unit_code"], *(r[c] for c in COUNT_COLUMNS), r["official_email_regular"]] for r in records
    )
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode("utf-8")).hexdigest()


def _explain(records: list[dict[str, Any]]) -> list[str]:
    """Which units break the rules the warehouse enforces, for the message of a refused load."""
    problems = []
    for r in records:
        label = f"đơn vị {r['unit_code']}"
        for column in COUNT_COLUMNS:
            if r[column] is not None and r[column] < 0:
                problems.append(f"{label}, trường '{column}': số âm ({r[column]})")
        for numerator, denominator in _PAIRS:
            if r[numerator] is not None and r[denominator] is not None and r[numerator] > r[denominator]:
                problems.append(
                    f"{label}, trường '{numerator}' ({r[numerator]}) lớn hơn '{denominator}' "
                    f"({r[denominator]})"
                )
    return problems


def _current_load(conn: sa.Connection, authority_id: str, period: str):
    return (
        conn.execute(
            sa.select(loads)
            .where(loads.c.authority_id == authority_id, loads.c.period == period)
            .order_by(loads.c.version.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


@guarded("nạp số liệu")
def load_facts(
    engine: Engine, authority_id: str, period: Period | str, frame: pd.DataFrame, run_id: str, source: str
) -> LoadResult:
    """Load a validated tidy table of one authority's period, in one transaction.

    Same figures as the current version: nothing is written and ``changed`` is False. Different
    figures: a new load and version; the previous version's rows stay, no longer current. Only this
    period's rows are touched. Any refusal or failure leaves the warehouse exactly as it was.
    """
    period = as_period(period)
    if not run_id:
        raise WarehouseError(f"{authority_id} kỳ {period}: thiếu mã lần chạy (run_id) cho lần nạp")
    records = _records(frame, authority_id, period, source)
    digest = content_hash(records)
    where = f"{authority_id} kỳ {period}"
    with engine.begin() as conn:
        require_head(conn)
        registered = {u["code"] for u in units_valid_in(conn, authority_id, period)}
        unknown = [r["unit_code"] for r in records if r["unit_code"] not in registered]
        if unknown:
            problems = [
                f"đơn vị {code}, trường 'unit_code': không có trong danh mục đơn vị của kho cho kỳ {period} "
                "(đồng bộ danh mục bằng sync_units trước khi nạp)"
                for code in unknown
            ]
            raise LoadRefused(_refusal(where, problems), problems)

        current = _current_load(conn, authority_id, str(period))
        if current is not None and current["content_hash"] == digest:
            result = LoadResult(
                current["load_id"],
                current["version"],
                current["row_count"],
                False,
                authority_id,
                str(period),
                digest,
            )
            log.info(
                "%s: số liệu trùng phiên bản %d hiện hành (load_id %d); không ghi gì thêm",
                where,
                current["version"],
                current["load_id"],
            )
            return result

        version = 1 if current is None else current["version"] + 1
        load_id = new_key(
            conn.execute(
                loads.insert().values(
                    authority_id=authority_id,
                    period=str(period),
                    version=version,
                    run_id=str(run_id),
                    source=str(source),
                    row_count=len(records),
                    content_hash=digest,
                    loaded_at=_now(),
                )
            )
        )
        # Retire the previous version first, so the new rows never meet it in the "one current" index.
        conn.execute(
            monthly_facts.update()
            .where(
                monthly_facts.c.authority_id == authority_id,
                monthly_facts.c.period == str(period),
                monthly_facts.c.is_current.is_(True),
            )
            .values(is_current=False)
        )
        rows = [
            {**r, "version": version, "run_id": str(run_id), "load_id": load_id, "is_current": True}
            for r in records
        ]
        try:
            conn.execute(monthly_facts.insert(), rows)
        except sa.exc.IntegrityError as exc:
            problems = _explain(records) or [
                f"vi phạm ràng buộc của kho: {mask_text(str(exc.orig), engine.url)}"
            ]
            raise LoadRefused(_refusal(where, problems), problems) from exc
    result = LoadResult(load_id, version, len(records), True, authority_id, str(period), digest)
    log.info(
        "%s: nạp phiên bản %d (load_id %d), %d đơn vị, nguồn %s, lần chạy %s%s",
        where,
        version,
        load_id,
        len(records),
        source,
        run_id,
        "" if version == 1 else f"; phiên bản {version - 1} được giữ lại",
    )
    return result


@guarded("đọc lịch sử nạp")
def list_loads(engine: Engine, authority_id: str, period: Period | str | None = None) -> list[dict[str, Any]]:
    """Every recorded load (newest version last), of one period or of all."""
    query = sa.select(loads).where(loads.c.authority_id == authority_id)
    if period is not None:
        query = query.where(loads.c.period == str(as_period(period)))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(loads.c.period, loads.c.version)).mappings()]


@guarded("đọc số liệu")
def read_facts(
    engine: Engine,
    authority_id: str,
    period: Period | str,
    *,
    version: int | None = None,
    load_id: int | None = None,
) -> list[dict[str, Any]]:
    """A period's facts: the current version, or an earlier one by ``version`` or ``load_id``."""
    period = as_period(period)
    query = sa.select(monthly_facts).where(
        monthly_facts.c.authority_id == authority_id, monthly_facts.c.period == str(period)
    )
    if load_id is not None:
        query = query.where(monthly_facts.c.load_id == load_id)
    elif version is not None:
        query = query.where(monthly_facts.c.version == version)
    else:
        query = query.where(monthly_facts.c.is_current.is_(True))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(monthly_facts.c.unit_code)).mappings()]
