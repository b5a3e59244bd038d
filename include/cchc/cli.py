"""The ``cchc`` command line: the pipeline's logic without Airflow.

Each stage's module adds its own sub-command through ``add_arguments``/``run`` so that this file
only lists them.
"""

from __future__ import annotations

import argparse
import logging
import sys

from cchc.errors import CchcError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cchc", description="Thư biểu dương, nhắc nhở CCHC hằng tháng")
    parser.add_argument("-v", "--verbose", action="store_true", help="ghi log chi tiết")
    sub = parser.add_subparsers(dest="command", required=True)

    from cchc.portal import simulator

    simulate = sub.add_parser("simulate", help="chạy trình giả lập Cổng dịch vụ công trên 127.0.0.1")
    simulator.add_arguments(simulate)
    simulate.set_defaults(handler=simulator.run_from_args)

    export = sub.add_parser("export-excel", help="ghi tệp Excel xuất từ hệ thống giải quyết TTHC của một kỳ")
    from cchc.portal import excel

    excel.add_arguments(export)
    export.set_defaults(handler=excel.run_from_args)

    from cchc.portal import extract

    ext = sub.add_parser("extract", help="trích xuất số liệu một kỳ từ cổng (hoặc tệp Excel) ra bảng chuẩn")
    extract.add_arguments(ext)
    ext.set_defaults(handler=extract.run_from_args)

    from cchc.warehouse import cli as warehouse_cli

    wh = sub.add_parser("warehouse", help="kho dữ liệu: migration, nạp số liệu, xem tỷ lệ")
    warehouse_cli.add_arguments(wh)
    wh.set_defaults(handler=warehouse_cli.run_from_args)

    from cchc.rules import cli as rules_cli

    decide = sub.add_parser("decide", help="in quyết định biểu dương, nhắc nhở, phê bình của một kỳ (không cần Airflow)")
    rules_cli.add_arguments(decide)
    decide.set_defaults(handler=rules_cli.run_from_args)

    from cchc.letter import cli as letter_cli

    letter = sub.add_parser("letter", help="soạn công văn (DOCX, PDF) từ decisions.json của một kỳ")
    letter_cli.add_arguments(letter)
    letter.set_defaults(handler=letter_cli.run_from_args)

    from cchc.delivery import cli as delivery_cli

    distribute = sub.add_parser("distribute", help="gửi công văn đã cấp số tới mọi người nhận (đúng một lần)")
    delivery_cli.add_arguments(distribute)
    distribute.set_defaults(handler=delivery_cli.run_from_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except CchcError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
