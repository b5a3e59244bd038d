"""``cchc decide``: decide a period and print its decisions for an operator, without Airflow.

Registered in ``cchc.cli`` through ``add_arguments(parser)`` and ``run_from_args(args)``. The warehouse
is ``--url``, else ``CCHC_WAREHOUSE_URL``, else ``<output dir>/warehouse.db``; it is migrated to head
first (idempotent). The period's rates are used as stored when they were computed with the rulebook's
campaign starts; otherwise they are (re)computed from the stored facts. When the warehouse has no
facts for a month the period needs (January to the period, and the month before for the changes) and
the authority folder has a ``monthly.csv`` (the scenario the portal simulator serves), those months
are loaded from it first — months already loaded are never overwritten — so the command works on a
fresh checkout.
"""

from __future__ import annotations

import argparse
import json
import uuid

import pandas as pd

from cchc.core import options
from cchc.core.authorities import load_monthly
from cchc.core.db import mask_url
from cchc.core.periods import Period
from cchc.rules.rulebook import load_rulebook
from cchc.rules.service import decide_period, stale_rates
from cchc.warehouse.load import list_loads, load_facts, sync_units
from cchc.warehouse.migrate import upgraded_engine
from cchc.warehouse.rates import compute_rates, read_rates

SOURCE = "monthly.csv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_scope(parser)
    options.add_warehouse_url(parser)
    options.add_output_dir(parser, ", nơi ghi <cơ quan>/<kỳ>/decisions.json")
    parser.add_argument(
        "--note",
        default=None,
        help="câu nhận xét của cán bộ cho kỳ này (mặc định: notes.yaml của cơ quan, nếu có)",
    )
    parser.add_argument(
        "--run-id", default=None, help="mã lần chạy ghi cùng quyết định (mặc định: manual__…)"
    )
    parser.add_argument("--json", action="store_true", help="in bản tóm tắt dạng JSON thay cho văn bản")


def _needed(period: Period) -> list[Period]:
    """Months whose facts the period's rates read: January to the period, and the month before."""
    months = period.months_since(Period(period.year, 1))
    return [period.previous(), *months] if period.month == 1 else months


def prepare_rates(engine, authority, period: Period) -> list[str]:
    """Make sure the period's rates exist under the rulebook's campaign starts; returns what was done."""
    done: list[str] = []
    starts = load_rulebook(authority).rules_for(period).campaign_starts(period.year)
    rows = read_rates(engine, authority.id, period)
    if rows and not stale_rates(rows, starts):
        return done
    loaded = {row["period"] for row in list_loads(engine, authority.id)}
    missing = [p for p in _needed(period) if str(p) not in loaded]
    if missing and authority.monthly_path.exists():
        by_period: dict[str, list[dict]] = {}
        for row in load_monthly(authority):
            by_period.setdefault(row["period"], []).append(row)
        run_id = f"cli-decide__{uuid.uuid4().hex[:12]}"
        for month in missing:
            records = by_period.get(str(month))
            if not records:
                continue
            frame = pd.DataFrame([{**r, "authority": authority.id, "source": SOURCE} for r in records])
            sync_units(engine, authority, month)
            load_facts(engine, authority.id, month, frame, run_id, SOURCE)
            done.append(f"nạp số liệu kỳ {month} từ {authority.monthly_path}")
    # An operator's look: partial windows are computed and said (the DAG refuses them).
    result = compute_rates(engine, authority.id, period, starts, partial=True)
    done.append(
        f"tính tỷ lệ kỳ {period} (chiến dịch từ: "
        f"{', '.join(f'{m} {p}' for m, p in result.campaign_starts.items())})"
    )
    if result.missing_periods:
        done.append(
            f"CẢNH BÁO: kho thiếu số liệu các tháng {', '.join(result.missing_periods)}; tỷ lệ lũy kế "
            "không tính các tháng này"
        )
    return done


def run_from_args(args: argparse.Namespace) -> int:
    period = options.period(args)
    authorities = options.authorities(args)
    output_dir = options.output_dir(args)
    url = options.warehouse_url(args)
    summaries = []
    with upgraded_engine(url) as engine:
        for authority in authorities:
            load_rulebook(authority)  # an invalid rulebook is refused before anything is written
            steps = prepare_rates(engine, authority, period)
            result = decide_period(
                engine, authority, period, run_id=args.run_id, output_dir=output_dir, operator_note=args.note
            )
            if args.json:
                summaries.append(result.summary())
                continue
            print(f"Kho dữ liệu {mask_url(url)}")
            for step in steps:
                print(f"  {step}")
            print()
            print(result.text())
            print()
    if args.json:
        print(json.dumps(summaries if len(summaries) != 1 else summaries[0], ensure_ascii=False, indent=2))
    return 0
