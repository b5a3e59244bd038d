"""``cchc letter``: render a period's letter from its decisions.json and record it, without Airflow.

Registered in ``cchc.cli`` through ``add_arguments(parser)`` and ``run_from_args(args)``. The decisions
are read from ``<output dir>/<authority>/<period>/decisions.json`` (written by ``cchc decide``) unless
``--decisions`` names another file; the letter goes next to them. The warehouse is ``--url``, else
``CCHC_WAREHOUSE_URL``, else ``<output dir>/warehouse.db``; ``--no-record`` skips it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cchc.core import settings
from cchc.core.authorities import list_authority_ids, load_authority
from cchc.core.errors import ConfigError
from cchc.core.periods import Period


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir",
        default=None,
        type=Path,
        help="thư mục cấu hình các cơ quan ban hành (mặc định: CCHC_CONFIG_DIR)",
    )
    parser.add_argument("--period", required=True, help="kỳ báo cáo dạng YYYY-MM, ví dụ 2023-08")
    parser.add_argument(
        "--authority",
        default=None,
        help="mã cơ quan ban hành, ví dụ tu-ky (mặc định: mọi cơ quan trong thư mục cấu hình)",
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        type=Path,
        help="thư mục kết quả (mặc định: CCHC_OUTPUT_DIR hoặc output)",
    )
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
    parser.add_argument(
        "--url",
        default=None,
        help="địa chỉ kho dữ liệu (mặc định: CCHC_WAREHOUSE_URL hoặc <thư mục kết quả>/warehouse.db)",
    )
    parser.add_argument("--run-id", default=None, help="mã lần chạy ghi cùng công văn")
    parser.add_argument("--json", action="store_true", help="in bản tóm tắt dạng JSON")


def run_from_args(args: argparse.Namespace) -> int:
    from cchc.letter.records import record_letter
    from cchc.letter.render import render_letter

    period = Period.parse(args.period)
    config_dir = Path(args.config_dir) if args.config_dir else settings.current().config_dir
    ids = [args.authority] if args.authority else list_authority_ids(config_dir)
    if args.decisions and len(ids) != 1:
        raise ConfigError("--decisions chỉ dùng được cùng --authority (một cơ quan)")
    output_dir = Path(args.output_dir) if args.output_dir else settings.current().output_dir
    engine = None
    if not args.no_record:
        from cchc.core.db import engine_for, url_from_env
        from cchc.warehouse.migrate import upgrade

        url = args.url or url_from_env(output_dir)
        upgrade(url)
        engine = engine_for(url)
    summaries = []
    try:
        from cchc.rules.store import decisions_path

        for authority_id in ids:
            authority = load_authority(config_dir / authority_id)
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
                print(f"{authority.id} {period} ({summary['status']}):")
                print(f"  DOCX: {summary['docx']}")
                if summary["pdf"]:
                    print(f"  PDF:  {summary['pdf']}{' (đã ký số)' if summary['signed'] else ''}")
                if "letter_id" in summary:
                    print(f"  Bản ghi trong kho: {summary['letter_id']}")
    finally:
        if engine is not None:
            engine.dispose()
    if args.json:
        print(json.dumps(summaries if len(summaries) != 1 else summaries[0], ensure_ascii=False, indent=2))
    return 0
