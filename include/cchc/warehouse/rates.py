"""Rates computed in the warehouse, over the stored current facts (BRIEF §2).

A rate over a window is Σnumerators / Σdenominators of the window's months, never an average of
monthly rates, so the sums are taken in SQL (INSERT … SELECT … GROUP BY) and stored in ``rates``
with their numerator and denominator; a year-to-date figure reads earlier months from the warehouse
instead of extracting them again. Each stored row also carries the shown rate in hundredths of a
percent, computed in SQL with integer arithmetic, half-up on the exact fraction — the same value as
``cchc.rates.display.shown_percent`` (tested), which is what Python readers use.

Windows of a period P: ``month`` (P), ``previous_month`` (the month before, for the "tăng/giảm"
changes), ``ytd`` (January to P) and ``campaign`` (the metric's campaign start to P). Website posts
are counted for the month only. Unit rows cover every unit valid in P; the authority row
(``unit_code = '*'``) sums every unit's counts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cchc.core.db import guarded
from cchc.core.errors import WarehouseError
from cchc.core.fields import METRIC_FIELDS as METRIC_COLUMNS
from cchc.core.fields import METRICS, RATE_METRICS, WINDOWS
from cchc.core.percent import change, format_change, format_percent, shown_percent
from cchc.core.periods import Period
from cchc.warehouse.load import as_period, units_valid_in
from cchc.warehouse.migrate import require_head
from cchc.warehouse.schema import AUTHORITY_TOTAL, campaign_windows, current_facts, rates, units

log = logging.getLogger(__name__)

METRIC_LABELS = {
    "receipt": "Tiếp nhận",
    "result": "Kết quả giải quyết",
    "payment": "Thanh toán trực tuyến",
    "posts": "Tin bài đăng tải",
}
PAYMENT_CAMPAIGN_2023 = Period(2023, 4)
"""The online-payment target (30%) applies from 1 April 2023: the seed's "từ ngày 01/4/2023"."""


def default_campaign_starts(year: int) -> dict[str, Period]:
    """Campaign starts when neither the caller nor the warehouse has one for the year.

    Digitisation counts from January; online payment from April in 2023 (when its target began) and
    from January in later years. The rulebook overrides these through ``compute_rates``.
    """
    starts = {metric: Period(year, 1) for metric in RATE_METRICS}
    if year == PAYMENT_CAMPAIGN_2023.year:
        starts["payment"] = PAYMENT_CAMPAIGN_2023
    return starts


@dataclass(frozen=True)
class RatesResult:
    authority_id: str
    period: str
    rows: int
    units: int
    campaign_starts: dict[str, str]
    # Months of the year-to-date or campaign windows with no facts in the warehouse: their sums
    # silently lack those months, which an operator should know before a letter says "8 tháng".
    missing_periods: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return asdict(self)


def _resolve_starts(
    conn: sa.Connection,
    authority_id: str,
    period: Period,
    given: Mapping[str, Period | str] | None,
    store: bool = True,
) -> dict[str, Period]:
    """One start per rate metric: the given ones (stored for the period's year when ``store``), else
    the stored ones, else the defaults."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(RATE_METRICS))
    if unknown:
        raise WarehouseError(
            f"{authority_id} kỳ {period}: chỉ tiêu chiến dịch không hợp lệ {', '.join(unknown)} "
            f"(chỉ nhận {', '.join(RATE_METRICS)})"
        )
    now = datetime.now(UTC)
    for metric, start in given.items() if store else ():
        start = as_period(start)
        key = sa.and_(
            campaign_windows.c.authority_id == authority_id,
            campaign_windows.c.metric == metric,
            campaign_windows.c.year == period.year,
        )
        existing = conn.execute(sa.select(campaign_windows.c.start_period).where(key)).scalar_one_or_none()
        if existing is None:
            conn.execute(
                campaign_windows.insert().values(
                    authority_id=authority_id,
                    metric=metric,
                    year=period.year,
                    start_period=str(start),
                    updated_at=now,
                )
            )
        elif existing != str(start):
            conn.execute(campaign_windows.update().where(key).values(start_period=str(start), updated_at=now))
    stored = {
        row.metric: Period.parse(row.start_period)
        for row in conn.execute(
            sa.select(campaign_windows.c.metric, campaign_windows.c.start_period).where(
                campaign_windows.c.authority_id == authority_id, campaign_windows.c.year == period.year
            )
        )
    }
    defaults = default_campaign_starts(period.year)
    wanted = {metric: as_period(start) for metric, start in given.items()}
    return {metric: wanted.get(metric) or stored.get(metric, defaults[metric]) for metric in RATE_METRICS}


@guarded("đọc thời điểm bắt đầu chiến dịch")
def campaign_starts(engine: Engine, authority_id: str, year: int) -> dict[str, Period]:
    """The campaign starts the warehouse holds for a year (defaults where it holds none)."""
    with engine.connect() as conn:
        stored = {
            row.metric: Period.parse(row.start_period)
            for row in conn.execute(
                sa.select(campaign_windows.c.metric, campaign_windows.c.start_period).where(
                    campaign_windows.c.authority_id == authority_id, campaign_windows.c.year == year
                )
            )
        }
    defaults = default_campaign_starts(year)
    return {metric: stored.get(metric, defaults[metric]) for metric in RATE_METRICS}


def _shown_hundredths(numerator: sa.ColumnElement, denominator: sa.ColumnElement) -> sa.ColumnElement:
    # floor((n·10000)/d + 1/2) = (2·n·10000 + d) div (2·d): integer arithmetic on both backends, the
    # same formula as cchc.rates.display.shown_percent (counts are never negative, so truncation and
    # floor agree).
    return sa.case((denominator > 0, (numerator * 20000 + denominator) // (denominator * 2)), else_=sa.null())


def _insert_window(
    conn: sa.Connection,
    authority_id: str,
    period: Period,
    metric: str,
    window: str,
    start: Period,
    end: Period,
    valid_codes: sa.Subquery,
    computed_at: datetime,
) -> None:
    """One INSERT … SELECT … GROUP BY for the units and one for the authority total."""
    facts = current_facts.alias("f")
    if metric == "posts":
        numerator_column, denominator_column = facts.c.web_posts, None
    else:
        num_name, den_name = METRIC_COLUMNS[metric]
        numerator_column, denominator_column = facts.c[num_name], facts.c[den_name]

    def constants(unit_code: sa.ColumnElement) -> list[sa.ColumnElement]:
        return [
            sa.literal(authority_id, sa.String),
            sa.literal(str(period), sa.String),
            unit_code,
            sa.literal(metric, sa.String),
            sa.literal(window, sa.String),
        ]

    numerator = sa.func.coalesce(sa.func.sum(numerator_column), 0)
    denominator: sa.ColumnElement[Any]
    shown: sa.ColumnElement[Any]
    if denominator_column is None:
        denominator = sa.null()
        shown = sa.null()
    else:
        denominator = sa.func.coalesce(sa.func.sum(denominator_column), 0)
        shown = _shown_hundredths(numerator, denominator)
    tail = [
        numerator,
        denominator,
        shown,
        sa.literal(str(start), sa.String),
        sa.literal(str(end), sa.String),
        sa.literal(computed_at, sa.DateTime(timezone=True)),
    ]
    columns = [
        "authority_id",
        "period",
        "unit_code",
        "metric",
        "window",
        "numerator",
        "denominator",
        "shown_hundredths",
        "window_start",
        "window_end",
        "computed_at",
    ]
    in_window = sa.and_(
        facts.c.authority_id == authority_id, facts.c.period >= str(start), facts.c.period <= str(end)
    )

    per_unit = (
        sa.select(*constants(valid_codes.c.code), *tail)
        .select_from(
            valid_codes.outerjoin(facts, sa.and_(facts.c.unit_code == valid_codes.c.code, in_window))
        )
        .group_by(valid_codes.c.code)
    )
    conn.execute(rates.insert().from_select(columns, per_unit))
    # Without GROUP BY an aggregate yields exactly one row, zeros included: the authority total.
    total = (
        sa.select(*constants(sa.literal(AUTHORITY_TOTAL, sa.String)), *tail)
        .select_from(facts)
        .where(in_window)
    )
    conn.execute(rates.insert().from_select(columns, total))


@guarded("tính tỷ lệ")
def compute_rates(
    engine: Engine,
    authority_id: str,
    period: Period | str,
    campaign_starts: Mapping[str, Period | str] | None = None,
    *,
    partial: bool = False,
) -> RatesResult:
    """Recompute and store every rate of (authority, period) from the current facts, in one transaction.

    The windows are checked before anything is written: when a month of the year-to-date or campaign
    windows has no facts, a year-to-date rate would cover part of the year, so it refuses
    (``WarehouseError``, the warehouse as it was) unless ``partial`` (an operator's look, the months
    then listed in ``missing_periods``).

    ``campaign_starts`` maps a metric (receipt, result, payment) to the first month of its campaign
    window; given starts are stored in ``campaign_windows`` for the period's year, missing ones come
    from that table or ``default_campaign_starts``. A start after the period gives an empty window
    (0/0, undefined). The period's facts must have been loaded.
    """
    period = as_period(period)
    where = f"{authority_id} kỳ {period}"
    computed_at = datetime.now(UTC)
    with engine.begin() as conn:
        require_head(conn)
        loaded = conn.execute(
            sa.select(sa.func.count())
            .select_from(current_facts)
            .where(current_facts.c.authority_id == authority_id, current_facts.c.period == str(period))
        ).scalar_one()
        if not loaded:
            raise WarehouseError(f"{where}: kho chưa có số liệu của kỳ này; nạp số liệu trước khi tính tỷ lệ")
        starts = _resolve_starts(conn, authority_id, period, campaign_starts, store=False)
        january = Period(period.year, 1)
        earliest = min([january, *starts.values()])
        present = {
            p
            for (p,) in conn.execute(
                sa.select(current_facts.c.period)
                .distinct()
                .where(
                    current_facts.c.authority_id == authority_id,
                    current_facts.c.period >= str(earliest),
                    current_facts.c.period <= str(period),
                )
            )
        }
        missing = [str(p) for p in period.months_since(earliest) if str(p) not in present]
        if missing and not partial:
            raise WarehouseError(
                f"{where}: kho thiếu số liệu các tháng {', '.join(missing)} nên tỷ lệ lũy kế sẽ sai; không tính, "
                "không ghi gì (chạy lại với tham số backfill = true để nạp bổ sung)"
            )
        starts = _resolve_starts(conn, authority_id, period, campaign_starts)
        conn.execute(
            rates.delete().where(rates.c.authority_id == authority_id, rates.c.period == str(period))
        )

        valid_codes = (
            sa.select(units.c.code)
            .where(
                units.c.authority_id == authority_id,
                units.c.valid_from <= period.last_day,
                sa.or_(units.c.valid_to.is_(None), units.c.valid_to >= period.first_day),
            )
            .distinct()
            .subquery("valid_units")
        )
        previous = period.previous()
        for metric in RATE_METRICS:
            windows = {
                "month": (period, period),
                "previous_month": (previous, previous),
                "ytd": (january, period),
                "campaign": (starts[metric], period),
            }
            for window, (start, end) in windows.items():
                _insert_window(
                    conn, authority_id, period, metric, window, start, end, valid_codes, computed_at
                )
        _insert_window(conn, authority_id, period, "posts", "month", period, period, valid_codes, computed_at)

        rows = conn.execute(
            sa.select(sa.func.count())
            .select_from(rates)
            .where(rates.c.authority_id == authority_id, rates.c.period == str(period))
        ).scalar_one()
        unit_count = len(units_valid_in(conn, authority_id, period))
    result = RatesResult(
        authority_id, str(period), rows, unit_count, {m: str(p) for m, p in starts.items()}, missing
    )
    log.info(
        "%s: tính %d tỷ lệ cho %d đơn vị và toàn %s (chiến dịch từ: %s)",
        where,
        rows,
        unit_count,
        authority_id,
        ", ".join(f"{m} {p}" for m, p in result.campaign_starts.items()),
    )
    if missing:
        log.warning(
            "%s: kho thiếu số liệu các tháng %s; tỷ lệ lũy kế không tính các tháng này",
            where,
            ", ".join(missing),
        )
    return result


def _shown(numerator: int, denominator: int | None) -> Decimal | None:
    if denominator is None:
        return None
    return shown_percent(int(numerator), int(denominator))


@guarded("đọc tỷ lệ")
def read_rates(engine: Engine, authority_id: str, period: Period | str) -> list[dict[str, Any]]:
    """The stored rates of a period: the authority row first, then units in registry order.

    Each row: authority_id, period, unit_code ('*' for the authority), unit_name, unit_kind, metric,
    window, numerator, denominator (None for posts), shown (Decimal percent, None when the
    denominator is 0 or for posts), text (as the letter prints it), window_start, window_end.
    An empty list when the period's rates have not been computed.
    """
    period = as_period(period)
    with engine.connect() as conn:
        stored = (
            conn.execute(
                sa.select(rates).where(rates.c.authority_id == authority_id, rates.c.period == str(period))
            )
            .mappings()
            .all()
        )
        registry = units_valid_in(conn, authority_id, period)
    order = {u["code"]: i for i, u in enumerate(registry, start=1)}
    names = {u["code"]: u for u in registry}
    out = []
    for row in stored:
        shown = _shown(row["numerator"], row["denominator"])
        unit = names.get(row["unit_code"])
        out.append(
            {
                "authority_id": row["authority_id"],
                "period": row["period"],
                "unit_code": row["unit_code"],
                "unit_name": unit["name"] if unit else None,
                "unit_kind": unit["kind"] if unit else None,
                "metric": row["metric"],
                "window": row["window"],
                "numerator": int(row["numerator"]),
                "denominator": None if row["denominator"] is None else int(row["denominator"]),
                "shown": shown,
                "text": str(row["numerator"]) if row["metric"] == "posts" else format_percent(shown),
                "window_start": row["window_start"],
                "window_end": row["window_end"],
            }
        )
    out.sort(
        key=lambda r: (
            0 if r["unit_code"] == AUTHORITY_TOTAL else 1,
            order.get(r["unit_code"], len(order) + 1),
            r["unit_code"],
            METRICS.index(r["metric"]),
            WINDOWS.index(r["window"]),
        )
    )
    return out


def index_rates(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Rows of ``read_rates`` by (unit_code, metric, window)."""
    return {(r["unit_code"], r["metric"], r["window"]): r for r in rows}


def month_change(
    index: Mapping[tuple[str, str, str], dict[str, Any]], unit_code: str, metric: str
) -> Decimal | None:
    """Change of a unit's month rate against the previous month, on the shown rates (None if either is undefined)."""
    current = index.get((unit_code, metric, "month"))
    previous = index.get((unit_code, metric, "previous_month"))
    if current is None or previous is None:
        return None
    return change(previous["shown"], current["shown"])


def authority_totals(engine: Engine, authority_id: str, period: Period | str) -> dict[str, dict[str, Any]]:
    """The authority-wide figures of the month and their changes against the previous month.

    ``{"receipt": {"numerator", "denominator", "shown", "text", "previous_shown", "change",
    "change_text"}, "result": …, "payment": …, "posts": {"numerator", "text"}}``; the change is the
    difference of the shown rates, as the letter writes it ("tăng 0,54%").
    """
    period = as_period(period)
    index = index_rates(
        [r for r in read_rates(engine, authority_id, period) if r["unit_code"] == AUTHORITY_TOTAL]
    )
    if not index:
        raise WarehouseError(f"{authority_id} kỳ {period}: chưa tính tỷ lệ; chạy compute_rates trước")
    totals: dict[str, dict[str, Any]] = {}
    for metric in RATE_METRICS:
        month = index[(AUTHORITY_TOTAL, metric, "month")]
        previous = index[(AUTHORITY_TOTAL, metric, "previous_month")]
        delta = month_change(index, AUTHORITY_TOTAL, metric)
        totals[metric] = {
            "numerator": month["numerator"],
            "denominator": month["denominator"],
            "shown": month["shown"],
            "text": month["text"],
            "previous_shown": previous["shown"],
            "change": delta,
            "change_text": format_change(delta),
        }
    posts = index[(AUTHORITY_TOTAL, "posts", "month")]
    totals["posts"] = {"numerator": posts["numerator"], "text": posts["text"]}
    return totals


def display_lines(totals: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """'Tiếp nhận: 97,67% (tăng 0,54%)' … for a log or the command line."""
    lines = [f"{METRIC_LABELS[m]}: {totals[m]['text']} ({totals[m]['change_text']})" for m in RATE_METRICS]
    if "posts" in totals:
        lines.append(f"{METRIC_LABELS['posts']}: {totals['posts']['text']}")
    return lines


def rates_summary(engine: Engine, authority_id: str, period: Period | str) -> dict[str, Any]:
    """A small JSON-able dict for the task log and XCom: totals, changes, and how many units have no dossiers."""
    period = as_period(period)
    rows = read_rates(engine, authority_id, period)
    if not rows:
        raise WarehouseError(f"{authority_id} kỳ {period}: chưa tính tỷ lệ; chạy compute_rates trước")
    totals = authority_totals(engine, authority_id, period)
    unit_rows = [r for r in rows if r["unit_code"] != AUTHORITY_TOTAL]
    return {
        "authority": authority_id,
        "period": str(period),
        "rows": len(rows),
        "units": len({r["unit_code"] for r in unit_rows}),
        "totals": {m: totals[m]["text"] for m in RATE_METRICS},
        "changes": {m: totals[m]["change_text"] for m in RATE_METRICS},
        "posts": totals["posts"]["numerator"],
        # Units with a 0 denominator this month: undefined, so neither commended nor blamed on it.
        "no_dossiers": {
            m: sum(
                1 for r in unit_rows if r["metric"] == m and r["window"] == "month" and r["denominator"] == 0
            )
            for m in RATE_METRICS
        },
    }
