"""``cchc letter``: render a period's letter from its decisions.json and record it, without Airflow.

Registered in ``cchc.cli`` through ``add_arguments(parser)`` and ``run_from_args(args)``. The decisions
are read from ``<output dir>/<authority>/<period>/decisions.json`` (written by ``cchc decide``) unless
``--decisions`` names another file; the letter goes next to them. The warehouse is ``--url``, else
``CCHC_WAREHOUSE_URL``, else ``<output dir>/warehouse.db``; ``--no-record`` skips it.
"""

from __future__ import annotations

import argparse
import json
from contextlib import nullcontext
from pathlib import Path

from cchc.core import options
from cchc.core.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_scope(parser, output_dir=True)
    parser.add_argument(
        "--decisions",
        default=None,
        type=Path,
        help="tệp decisions.json (mặc định: <thư mục kết quả>/<cơ quan>/<kỳ>/decisions.json)",
    )
    parser.add_argument(
        "--number", default=None, type=int, help="số văn bản đã cấp (mặc định: để trống, bản dự thảo)"
    )
    parser.add_argument(
        "--template", default=None, type=Path, help="mẫu công văn .docx (mặc định: mẫu kèm theo)"
    )
    parser.add_argument("--no-pdf", action="store_true", help="chỉ tạo tệp DOCX")
    parser.add_argument("--no-record", action="store_true", help="không ghi công văn vào kho dữ liệu")
    options.add_warehouse_url(parser)
    parser.add_argument("--run-id", default=None, help="mã lần chạy ghi cùng công văn")
    parser.add_argument("--json", action="store_true", help="in bản tóm tắt dạng JSON")


def run_from_args(args: argparse.Namespace) -> int:
    from cchc.letter.records import record_letter
    from cchc.letter.render import render_letter
    from cchc.rules.store import decisions_path
    from cchc.warehouse.migrate import upgraded_engine

    period = options.period(args)
    authorities = options.authorities(args)
    if args.decisions and len(authorities) != 1:
        raise ConfigError("--decisions chỉ dùng được cùng --authority (một cơ quan)")
    output_dir = options.output_dir(args)
    summaries = []
    with nullcontext() if args.no_record else upgraded_engine(options.warehouse_url(args)) as engine:
        for authority in authorities:
            decisions = args.decisions or decisions_path(output_dir, authority.id, period)
            result = render_letter(
                decisions,
                authority,
                output_dir,
                document_number=args.number,
                run_id=args.run_id,
                template=args.template,
                pdf=not args.no_pdf,
            )
            summary = result.summary()
            if engine is not None:
                summary["letter_id"] = record_letter(engine, result)
            summaries.append(summary)
            if not args.json:
                _print_letter(authority.id, period, summary)
    if args.json:
        print(json.dumps(summaries if len(summaries) != 1 else summaries[0], ensure_ascii=False, indent=2))
    return 0


def _print_letter(authority_id: str, period: object, summary: dict) -> None:
    print(f"{authority_id} {period} ({summary['status']}):")
    print(f"  DOCX: {summary['docx']}")
    if summary["pdf"]:
        print(f"  PDF:  {summary['pdf']}{' (đã ký số)' if summary['signed'] else ''}")
    if "letter_id" in summary:
        print(f"  Bản ghi trong kho: {summary['letter_id']}")
