"""The ``cchc`` command line: the pipeline's logic without Airflow.

Each stage's module adds its own sub-command through ``add_arguments``/``run_from_args``; this file
only lists them. Modules are imported when the parser is built, never at package import.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from cchc.core.errors import CchcError

# (sub-command, module with add_arguments/run_from_args, help)
COMMANDS = (
    ("simulate", "cchc.portal.simulator", "chạy trình giả lập Cổng dịch vụ công trên 127.0.0.1"),
    ("export-excel", "cchc.portal.excel", "ghi tệp Excel xuất từ hệ thống giải quyết TTHC của một kỳ"),
    ("extract", "cchc.portal.extract", "trích xuất số liệu một kỳ từ cổng (hoặc tệp Excel) ra bảng chuẩn"),
    ("warehouse", "cchc.warehouse.cli", "kho dữ liệu: migration, nạp số liệu, xem tỷ lệ"),
    (
        "decide",
        "cchc.rules.cli",
        "in quyết định biểu dương, nhắc nhở, phê bình của một kỳ (không cần Airflow)",
    ),
    ("letter", "cchc.letter.cli", "soạn công văn (DOCX, PDF) từ decisions.json của một kỳ"),
    ("distribute", "cchc.delivery.cli", "gửi công văn đã cấp số tới mọi người nhận (đúng một lần)"),
    (
        "reissue",
        "cchc.delivery.reissue",
        "phát hành lại: công văn mới thay thế công văn đã phát hành (kèm lý do)",
    ),
    ("scenario", "cchc.scenario.generate", "sinh kịch bản cấu hình (toàn quốc: 34 tỉnh, thành phố)"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cchc", description="Thư biểu dương, nhắc nhở CCHC hằng tháng")
    parser.add_argument("-v", "--verbose", action="store_true", help="ghi log chi tiết")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module_name, help_text in COMMANDS:
        module = import_module(module_name)
        command = sub.add_parser(name, help=help_text)
        module.add_arguments(command)
        command.set_defaults(handler=module.run_from_args)
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
