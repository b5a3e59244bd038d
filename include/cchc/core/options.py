"""The command-line options every ``cchc`` sub-command shares, and how they resolve.

``--config-dir`` falls back to ``CCHC_CONFIG_DIR``, ``--output-dir`` to ``CCHC_OUTPUT_DIR`` (else
``output``), ``--url`` to ``CCHC_WAREHOUSE_URL`` (else the SQLite file under the output folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cchc.core import settings
from cchc.core.authorities import Authority, list_authority_ids, load_authority
from cchc.core.db import url_from_env
from cchc.core.periods import Period

PERIOD_HELP = "kỳ báo cáo dạng YYYY-MM, ví dụ 2023-08"


def add_scope(
    parser: argparse.ArgumentParser, *, authority_required: bool = False, output_dir: bool = False
) -> None:
    """``--config-dir``, ``--period`` and ``--authority`` (one authority, or every one of the folder),
    and ``--output-dir`` when the command writes."""
    parser.add_argument(
        "--config-dir",
        default=None,
        type=Path,
        help=f"thư mục cấu hình các cơ quan ban hành (mặc định: {settings.CONFIG_DIR})",
    )
    parser.add_argument("--period", required=True, help=PERIOD_HELP)
    every = "" if authority_required else " (mặc định: mọi cơ quan trong thư mục cấu hình)"
    parser.add_argument(
        "--authority",
        required=authority_required,
        default=None,
        help=f"mã cơ quan ban hành, ví dụ tu-ky{every}",
    )
    if output_dir:
        add_output_dir(parser)


def add_output_dir(parser: argparse.ArgumentParser, what: str = "") -> None:
    parser.add_argument(
        "--output-dir",
        default=None,
        type=Path,
        help=f"thư mục kết quả{what} (mặc định: {settings.OUTPUT_DIR} hoặc output)",
    )


def add_warehouse_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help=f"địa chỉ kho dữ liệu (mặc định: {settings.WAREHOUSE_URL}, hoặc tệp SQLite "
        "<thư mục kết quả>/warehouse.db)",
    )


def config_dir(args: argparse.Namespace) -> Path:
    return Path(args.config_dir) if getattr(args, "config_dir", None) else settings.current().config_dir


def output_dir(args: argparse.Namespace) -> Path:
    return Path(args.output_dir) if getattr(args, "output_dir", None) else settings.current().output_dir


def warehouse_url(args: argparse.Namespace) -> str:
    return getattr(args, "url", None) or url_from_env(output_dir(args))


def period(args: argparse.Namespace) -> Period:
    return Period.parse(args.period)


def authorities(args: argparse.Namespace) -> list[Authority]:
    """The authority named by ``--authority``, or every authority of the configuration folder."""
    folder = config_dir(args)
    ids = [args.authority] if getattr(args, "authority", None) else list_authority_ids(folder)
    return [load_authority(folder / authority_id) for authority_id in ids]
