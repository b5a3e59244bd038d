"""The provincial procedure system's Excel export of one period: the second source of the counts.

Operators of the Hệ thống thông tin giải quyết TTHC download the per-unit counts of a month as an
.xlsx. ``write_export`` produces such a file from the simulator's dataset (for scenarios and tests);
``read_export`` reads one back into the tidy rows, tolerating what people do to spreadsheets (title
and notes around the table, columns moved, old or new Vietnamese tone placement in the headings) and
refusing, with file, sheet row, unit and column, what would silently corrupt the figures.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from cchc.core.authorities import Authority, list_authority_ids, load_authority, load_monthly
from cchc.core.errors import ConfigError, ExtractError
from cchc.core.fields import COUNT_FIELDS
from cchc.core.periods import Period

# (row key, heading) in the order the export lays them out.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("stt", "STT"),
    ("unit_code", "Mã đơn vị"),
    ("unit_name", "Tên đơn vị"),
    ("received", "Tiếp nhận"),
    ("received_digitized", "Số hoá đầy đủ thành phần khi tiếp nhận"),
    ("resolved", "Đã giải quyết"),
    ("resolved_digitized", "Số hoá kết quả giải quyết"),
    ("fee_dossiers", "Hồ sơ TTHC có phí, lệ phí"),
    ("paid_online", "Đã thanh toán trực tuyến"),
    ("web_posts", "Số tin bài đăng tải"),
    ("official_email_regular", "Sử dụng thư điện tử công vụ thường xuyên"),
)
HEADINGS = dict(COLUMNS)
REQUIRED_KEYS = ("unit_code", *COUNT_FIELDS, "official_email_regular")
TOTAL_LABEL = "Tổng cộng"
YES, NO = "Có", "Không"

_TITLE_MONTH = re.compile(r"thang\s*(\d{1,2})\s*[/.-]\s*(\d{4})")
_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _key(text: Any) -> str:
    """A heading or label reduced for comparison.

    Diacritics are dropped because the same heading comes with old or new tone placement
    ("Số hoá" / "Số hóa") and with decomposed or composed characters, depending on who typed it.
    """
    decomposed = unicodedata.normalize("NFD", str(text))
    plain = (
        "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("đ", "d").replace("Đ", "D")
    )
    return " ".join(plain.casefold().split())


_HEADING_KEYS = {_key(heading): key for key, heading in COLUMNS}


def title(authority: Authority, period: Period) -> str:
    return f"BÁO CÁO TÌNH HÌNH GIẢI QUYẾT TTHC THÁNG {period.label} - {authority.name.upper()}"


def write_export(
    authority: Authority, monthly_rows_for_period: Iterable[dict[str, Any]], period: Period, path: str | Path
) -> Path:
    """Write the export of ``period``: title, period line, header, one row per unit, the total row.

    Units come in registry order; a unit without a row is left out, as the real system does.
    """
    by_code: dict[str, dict[str, Any]] = {}
    known = set(authority.unit_codes)
    for row in monthly_rows_for_period:
        code = row["unit_code"]
        if code not in known:
            raise ConfigError(
                f"{authority.id}: đơn vị '{code}' không có trong units.csv, không thể xuất Excel"
            )
        if "period" in row and str(row["period"]) != str(period):
            raise ConfigError(
                f"{authority.id}, đơn vị {code}: dòng của kỳ {row['period']} không thuộc kỳ {period}"
            )
        if code in by_code:
            raise ConfigError(f"{authority.id}: đơn vị '{code}' có hai dòng số liệu cho kỳ {period}")
        by_code[code] = row

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"Tháng {period.month:02d}-{period.year}"
    width = len(COLUMNS)
    sheet.append([title(authority, period)])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = Font(bold=True, size=13)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    sheet.append([f"(Từ ngày {period.first_day:%d/%m/%Y} đến ngày {period.last_day:%d/%m/%Y})"])
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    sheet.cell(2, 1).font = Font(italic=True)
    sheet.cell(2, 1).alignment = Alignment(horizontal="center")
    sheet.append([])
    sheet.append([heading for _, heading in COLUMNS])
    header_row = sheet.max_row
    for column in range(1, width + 1):
        cell = sheet.cell(header_row, column)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BORDER

    totals = dict.fromkeys(COUNT_FIELDS, 0)
    number = 0
    for unit in authority.units:
        counts = by_code.get(unit.code)
        if counts is None:
            continue
        number += 1
        email = counts.get("official_email_regular")
        values = {"stt": number, "unit_code": unit.code, "unit_name": unit.name}
        values.update({name: counts[name] for name in COUNT_FIELDS})
        values["official_email_regular"] = "" if email is None else (YES if email else NO)
        for name in COUNT_FIELDS:
            totals[name] += counts[name]
        sheet.append([values[key] for key, _ in COLUMNS])
    sheet.append([None, None, TOTAL_LABEL, *(totals[name] for name in COUNT_FIELDS), None])
    total_row = sheet.max_row
    for row_cells in sheet.iter_rows(min_row=header_row + 1, max_row=total_row):
        for cell in row_cells:
            cell.border = _BORDER
    for cell in sheet[total_row]:
        cell.font = Font(bold=True)

    sheet.row_dimensions[header_row].height = 60
    for index, (key, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = {
            "stt": 6,
            "unit_code": 12,
            "unit_name": 38,
        }.get(key, 16)
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _count(value: Any) -> int | None:
    """A non-negative integer cell, or None when the cell holds anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())  # numbers typed as text are common and harmless
    if isinstance(value, int) and value >= 0:
        return value
    return None


def _email(value: Any) -> bool | None | str:
    """True, False, None (blank), or the string ``"?"`` when the cell is neither."""
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    key = _key(value)
    if key in (_key(YES), "x"):
        return True
    if key == _key(NO):
        return False
    return "?"


def read_export(path: str | Path, authority: Authority, period: Period) -> list[dict[str, Any]]:
    """The export's rows as ``{unit_code, <COUNT_FIELDS> (int), official_email_regular (bool|None)}``.

    The header row is found by its headings, wherever it is; the total row and text-only notes are
    skipped. Every problem raises ExtractError naming the file, the sheet row, the unit and the column.
    """
    path = Path(path)
    try:
        workbook = load_workbook(path, data_only=True, read_only=True)
    except FileNotFoundError as exc:
        raise ExtractError(f"{path}: không tìm thấy tệp Excel") from exc
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException… on a bad file
        raise ExtractError(f"{path}: không đọc được tệp Excel ({exc.__class__.__name__}: {exc})") from exc
    try:
        for sheet in workbook.worksheets:
            rows = list(sheet.iter_rows(values_only=True))
            found = _find_header(rows)
            if found is not None:
                return _read_sheet(path, sheet.title, rows, found, authority, period)
        raise ExtractError(
            f"{path}: không tìm thấy dòng tiêu đề cột có ô '{HEADINGS['unit_code']}' ở trang nào"
        )
    finally:
        workbook.close()


def _find_header(rows: list[tuple[Any, ...]]) -> int | None:
    unit_code = _key(HEADINGS["unit_code"])
    for index, row in enumerate(rows):
        if any(isinstance(cell, str) and _key(cell) == unit_code for cell in row):
            return index
    return None


def _read_sheet(
    path: Path,
    sheet: str,
    rows: list[tuple[Any, ...]],
    header_index: int,
    authority: Authority,
    period: Period,
) -> list[dict[str, Any]]:
    header_line = header_index + 1  # sheet row numbers as Excel shows them
    here = f"{path}, trang '{sheet}'"

    _check_title(here, rows[:header_index], period)

    positions: dict[str, int] = {}
    for column, cell in enumerate(rows[header_index]):
        key = _HEADING_KEYS.get(_key(cell)) if isinstance(cell, str) else None
        if key is not None and key not in positions:
            positions[key] = column
    missing = [HEADINGS[key] for key in REQUIRED_KEYS if key not in positions]
    if missing:
        listed = ", ".join(f"'{heading}'" for heading in missing)
        raise ExtractError(f"{here}, dòng {header_line}: thiếu cột {listed}")

    known = set(authority.unit_codes)
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    total_key = _key(TOTAL_LABEL)
    for index in range(header_index + 1, len(rows)):
        line = index + 1
        row = rows[index]

        def cell(key: str, row: tuple[Any, ...] = row) -> Any:
            column = positions[key]
            return row[column] if column < len(row) else None

        if all(_is_blank(value) for value in row):
            continue
        if any(isinstance(value, str) and _key(value).startswith(total_key) for value in row):
            continue
        raw_code = cell("unit_code")
        if _is_blank(raw_code):
            if any(_count(cell(name)) is not None for name in COUNT_FIELDS):
                raise ExtractError(
                    f"{here}, dòng {line}, cột '{HEADINGS['unit_code']}': dòng có số liệu nhưng thiếu mã đơn vị"
                )
            continue  # a note or a signature line under the table
        code = str(
            int(raw_code) if isinstance(raw_code, float) and raw_code.is_integer() else raw_code
        ).strip()
        where = f"{here}, dòng {line}, đơn vị {code}"
        if code not in known:
            raise ExtractError(
                f"{where}, cột '{HEADINGS['unit_code']}': mã đơn vị không có trong danh mục đơn vị của '{authority.id}'"
            )
        if code in seen:
            raise ExtractError(
                f"{where}, cột '{HEADINGS['unit_code']}': đơn vị xuất hiện hai lần (đã có ở dòng {seen[code]})"
            )
        seen[code] = line

        record: dict[str, Any] = {"unit_code": code}
        for name in COUNT_FIELDS:
            value = cell(name)
            number = _count(value)
            if number is None:
                problem = (
                    "ô trống" if _is_blank(value) else f"giá trị {value!r} không phải số nguyên không âm"
                )
                raise ExtractError(f"{where}, cột '{HEADINGS[name]}': {problem}")
            record[name] = number
        email = _email(cell("official_email_regular"))
        if email == "?":
            raise ExtractError(
                f"{where}, cột '{HEADINGS['official_email_regular']}': giá trị {cell('official_email_regular')!r} "
                f"phải là '{YES}', '{NO}' hoặc để trống"
            )
        record["official_email_regular"] = email
        out.append(record)
    if not out:
        raise ExtractError(f"{here}: không có dòng số liệu nào dưới dòng tiêu đề cột {header_line}")
    return out


def _check_title(here: str, above_header: list[tuple[Any, ...]], period: Period) -> None:
    """The export says which month it is; a file of another month must never pass for this one."""
    for index, row in enumerate(above_header):
        for value in row:
            if not isinstance(value, str):
                continue
            match = _TITLE_MONTH.search(_key(value))
            if match is None:
                continue
            month, year = int(match.group(1)), int(match.group(2))
            if (year, month) != (period.year, period.month):
                raise ExtractError(
                    f"{here}, dòng {index + 1}: tiêu đề ghi tháng {month}/{year}, "
                    f"không phải kỳ được yêu cầu {period.label}"
                )
            return
    raise ExtractError(
        f'{here}: không tìm thấy tiêu đề ghi tháng báo cáo ("... THÁNG {period.label} ...") phía trên dòng tiêu đề cột'
    )


# --- command line --------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-dir", required=True, help="thư mục cấu hình các cơ quan (có monthly.csv)")
    parser.add_argument("--authority", required=True, help="mã cơ quan (tên thư mục, ví dụ tu-ky)")
    parser.add_argument("--period", required=True, help="kỳ báo cáo YYYY-MM, ví dụ 2023-08")
    parser.add_argument("--out", required=True, help="đường dẫn tệp .xlsx sẽ ghi")


def run_from_args(args: argparse.Namespace) -> int:
    period = Period.parse(args.period)
    if args.authority not in list_authority_ids(args.config_dir):
        raise ConfigError(f"{args.config_dir}: không có cơ quan '{args.authority}'")
    authority = load_authority(Path(args.config_dir) / args.authority)
    if not authority.monthly_path.is_file():
        raise ConfigError(f"{authority.monthly_path}: không tìm thấy tệp")
    rows = [row for row in load_monthly(authority) if row["period"] == str(period)]
    if not rows:
        raise ConfigError(f"{authority.monthly_path}: không có số liệu kỳ {period}")
    print(write_export(authority, rows, period, args.out))
    return 0
