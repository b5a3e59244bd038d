"""``cchc warehouse …``: migrate, inspect, load and read the warehouse without Airflow.

Registered in ``cchc.cli`` through ``add_arguments(parser)`` and ``run_from_args(args)``. The
warehouse is ``--url``, else ``CCHC_WAREHOUSE_URL``, else ``<CCHC_OUTPUT_DIR or output>/warehouse.db``;
URLs are printed with the password hidden.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

import pandas as pd

from cchc.core import options
from cchc.core.db import engine_for, mask_url
from cchc.core.errors import ConfigError
from cchc.core.fields import METRIC_LABELS, RATE_METRICS
from cchc.core.periods import Period
from cchc.warehouse.load import load_facts, sync_units
from cchc.warehouse.migrate import current_revision, head_revision, upgrade
from cchc.warehouse.rates import authority_totals, compute_rates, display_lines, read_rates
from cchc.warehouse.schema import AUTHORITY_TOTAL


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="warehouse_command", required=True, metavar="LỆNH")

    def with_url(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        options.add_warehouse_url(p)
        return p

    with_url(sub.add_parser("upgrade", help="áp dụng mọi migration của kho dữ liệu (tạo kho nếu chưa có)"))
    with_url(sub.add_parser("current", help="cho biết phiên bản lược đồ hiện tại của kho dữ liệu"))

    load = with_url(sub.add_parser("load", help="nạp bảng số liệu chuẩn (CSV) của một kỳ vào kho"))
    load.add_argument(
        "--csv",
        required=True,
        type=Path,
        help="bảng chuẩn, ví dụ output/tu-ky/2023-08/extracted/extracted.csv",
    )
    options.add_scope(load, authority_required=True)
    load.add_argument("--run-id", default=None, help="mã lần chạy ghi cùng số liệu (mặc định: manual__…)")
    load.add_argument(
        "--source", default=None, help="nguồn số liệu (mặc định: cột source của bảng, hoặc 'manual')"
    )

    rates = with_url(sub.add_parser("rates", help="tính (lại) và in tỷ lệ của một kỳ"))
    rates.add_argument("--authority", required=True, help="mã cơ quan ban hành, ví dụ tu-ky")
    rates.add_argument("--period", required=True, help=options.PERIOD_HELP)
    rates.add_argument(
        "--campaign",
        action="append",
        default=[],
        metavar="CHỈ_TIÊU=YYYY-MM",
        help="tháng bắt đầu chiến dịch của một chỉ tiêu, ví dụ payment=2023-04 (lặp lại được)",
    )
    rates.add_argument("--no-compute", action="store_true", help="chỉ đọc tỷ lệ đã lưu, không tính lại")
    rates.add_argument("--units", action="store_true", help="in thêm tỷ lệ từng đơn vị")


def _campaigns(values: list[str]) -> dict[str, Period]:
    out = {}
    for value in values:
        metric, sep, start = value.partition("=")
        if not sep or metric.strip() not in RATE_METRICS:
            raise ConfigError(
                f"--campaign '{value}' không hợp lệ: dùng CHỈ_TIÊU=YYYY-MM với chỉ tiêu "
                f"{', '.join(RATE_METRICS)}"
            )
        out[metric.strip()] = Period.parse(start)
    return out


def run_from_args(args: argparse.Namespace) -> int:
    url = options.warehouse_url(args)
    shown_url = mask_url(url)
    command = args.warehouse_command
    if command == "upgrade":
        revision = upgrade(url)
        print(f"Kho dữ liệu {shown_url}: lược đồ ở phiên bản {revision}")
        return 0
    if command == "current":
        revision = current_revision(url)
        head = head_revision()
        state = "mới nhất" if revision == head else f"cần nâng cấp lên {head}"
        print(f"Kho dữ liệu {shown_url}: phiên bản {revision or '(trống)'} ({state})")
        return 0 if revision == head else 1

    engine = engine_for(url)
    try:
        if command == "load":
            return _load(args, engine, shown_url)
        if command == "rates":
            return _rates(args, engine, shown_url)
    finally:
        engine.dispose()
    raise ConfigError(f"lệnh kho dữ liệu không biết: {command}")


def _load(args: argparse.Namespace, engine, shown_url: str) -> int:
    period = options.period(args)
    [authority] = options.authorities(args)
    if not args.csv.is_file():
        raise ConfigError(f"không tìm thấy bảng số liệu {args.csv}")
    # Everything as text: load_facts checks and converts each field, naming the unit at fault.
    frame = pd.read_csv(args.csv, dtype=str, keep_default_na=False)
    sources = sorted({s for s in frame.get("source", pd.Series(dtype=str)) if s})
    source = args.source or (sources[0] if len(sources) == 1 else "manual")
    run_id = args.run_id or f"manual__{uuid.uuid4().hex[:12]}"
    sync = sync_units(engine, authority, period)
    result = load_facts(engine, authority.id, period, frame, run_id, source)
    print(f"Kho dữ liệu {shown_url}")
    print(f"  danh mục: thêm {len(sync.added)}, đổi {len(sync.changed)}, đóng {len(sync.closed)} đơn vị")
    if result.changed:
        print(
            f"  {authority.id} kỳ {period.label}: nạp phiên bản {result.version} (load_id {result.load_id}), "
            f"{result.rows} đơn vị"
        )
    else:
        print(
            f"  {authority.id} kỳ {period.label}: số liệu trùng phiên bản {result.version} hiện hành "
            f"(load_id {result.load_id}), không ghi gì thêm"
        )
    return 0


def _rates(args: argparse.Namespace, engine, shown_url: str) -> int:
    period = Period.parse(args.period)
    if not args.no_compute:
        # An operator's look: partial windows are computed (the DAG refuses them).
        compute_rates(engine, args.authority, period, _campaigns(args.campaign) or None, partial=True)
    totals = authority_totals(engine, args.authority, period)
    print(f"{args.authority} kỳ {period.label} (kho {shown_url})")
    for line in display_lines(totals):
        print(f"  {line}")
    if args.units:
        rows = read_rates(engine, args.authority, period)
        by_unit: dict[str, dict] = {}
        for row in rows:
            if row["unit_code"] != AUTHORITY_TOTAL:
                by_unit.setdefault(row["unit_code"], {"name": row["unit_name"]})[
                    (row["metric"], row["window"])
                ] = row
        for code, unit in by_unit.items():
            parts = []
            for metric in RATE_METRICS:
                month, ytd, campaign = (unit[(metric, w)] for w in ("month", "ytd", "campaign"))
                parts.append(
                    f"{METRIC_LABELS[metric].lower()} {month['text']} (lũy kế năm {ytd['text']}, "
                    f"chiến dịch từ {campaign['window_start']}: {campaign['text']})"
                )
            parts.append(f"tin bài {unit[('posts', 'month')]['text']}")
            print(f"  {code} {unit['name']}: " + "; ".join(parts))
    return 0
