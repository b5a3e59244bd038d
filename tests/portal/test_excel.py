"""The procedure system's Excel export: written, read back, and every way a broken file is refused."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cchc.core.authorities import load_authority
from cchc.core.errors import ExtractError
from cchc.core.periods import Period
from cchc.portal import excel

AUGUST = Period(2023, 8)


@pytest.fixture
def authority(config_dir: Path):
    return load_authority(config_dir / "demo")


@pytest.fixture
def august(data) -> list[dict]:
    return [row for row in data.rows if row["period"] == "2023-08"]


@pytest.fixture
def export(tmp_path: Path, authority, august) -> Path:
    return excel.write_export(authority, august, AUGUST, tmp_path / "xuat" / "thang-8.xlsx")


def tidy(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "period"} for row in rows]


def locate(path: Path) -> tuple[int, dict[str, int], dict[str, int]]:
    """Header row, column of each heading, row of each unit code (1-based, as Excel counts)."""
    sheet = load_workbook(path).active
    for row in sheet.iter_rows():
        values = [cell.value for cell in row]
        if "Mã đơn vị" in values:
            header = row[0].row
            columns = {value: index + 1 for index, value in enumerate(values) if value}
            break
    code_column = columns["Mã đơn vị"]
    units = {
        sheet.cell(r, code_column).value: r
        for r in range(header + 1, sheet.max_row + 1)
        if sheet.cell(r, code_column).value
    }
    return header, columns, units


def edit(path: Path, unit: str, heading: str, value) -> int:
    """Set one cell of a unit's row; returns the sheet row."""
    _, columns, units = locate(path)
    workbook = load_workbook(path)
    workbook.active.cell(units[unit], columns[heading]).value = value
    workbook.save(path)
    return units[unit]


def test_round_trip_gives_back_the_monthly_rows(export, authority, august):
    assert excel.read_export(export, authority, AUGUST) == tidy(august)


def test_layout_title_header_units_and_total(export, authority, august):
    sheet = load_workbook(export).active
    assert sheet.cell(1, 1).value == "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT TTHC THÁNG 8/2023 - HUYỆN THỬ NGHIỆM"
    header, columns, units = locate(export)
    assert list(columns) == [heading for _, heading in excel.COLUMNS]
    assert list(units) == ["P-A", "X-B", "X-C"]
    total = [sheet.cell(header + 4, c).value for c in range(1, len(excel.COLUMNS) + 1)]
    assert total[2] == "Tổng cộng"
    assert total[3] == sum(row["received"] for row in august)
    email = [
        sheet.cell(units[code], columns["Sử dụng thư điện tử công vụ thường xuyên"]).value for code in units
    ]
    assert email == ["Có", None, "Có"]  # blank when unknown (openpyxl reads an empty string back as None)


def test_header_is_found_wherever_it_is_and_whatever_the_tone_placement(export, authority, august):
    workbook = load_workbook(export)
    sheet = workbook.active
    sheet.unmerge_cells(start_row=1, start_column=1, end_row=1, end_column=len(excel.COLUMNS))
    sheet.unmerge_cells(start_row=2, start_column=1, end_row=2, end_column=len(excel.COLUMNS))
    sheet.insert_rows(3, amount=2)
    sheet.insert_cols(1)
    workbook.save(export)
    header, columns, _ = locate(export)
    workbook = load_workbook(export)
    workbook.active.cell(header, columns["Số hoá kết quả giải quyết"]).value = "Số hóa  kết quả giải quyết"
    workbook.active.cell(header + 5, 2).value = "Người lập biểu"  # a note under the table
    workbook.save(export)
    assert excel.read_export(export, authority, AUGUST) == tidy(august)


@pytest.mark.parametrize(
    ("unit", "heading", "value", "problem"),
    [
        ("X-B", "Tiếp nhận", "nhiều", "không phải số nguyên"),
        ("X-C", "Đã giải quyết", 2.5, "không phải số nguyên"),
        ("P-A", "Đã thanh toán trực tuyến", -1, "không phải số nguyên không âm"),
        ("X-C", "Số tin bài đăng tải", None, "ô trống"),
        ("X-B", "Sử dụng thư điện tử công vụ thường xuyên", "Thỉnh thoảng", "'Có', 'Không'"),
    ],
)
def test_a_bad_value_names_file_row_unit_and_column(export, authority, unit, heading, value, problem):
    row = edit(export, unit, heading, value)
    with pytest.raises(ExtractError) as caught:
        excel.read_export(export, authority, AUGUST)
    message = str(caught.value)
    for part in (str(export), f"dòng {row}", f"đơn vị {unit}", f"cột '{heading}'", problem):
        assert part in message


def test_a_missing_column_is_named(export, authority):
    header, columns, _ = locate(export)
    workbook = load_workbook(export)
    workbook.active.delete_cols(columns["Hồ sơ TTHC có phí, lệ phí"])
    workbook.save(export)
    with pytest.raises(ExtractError, match=rf"dòng {header}: thiếu cột 'Hồ sơ TTHC có phí, lệ phí'"):
        excel.read_export(export, authority, AUGUST)


def test_an_unknown_unit_code_is_refused(export, authority):
    row = edit(export, "X-C", "Mã đơn vị", "X-ZZ")
    with pytest.raises(ExtractError, match=rf"dòng {row}, đơn vị X-ZZ, cột 'Mã đơn vị': mã đơn vị không có"):
        excel.read_export(export, authority, AUGUST)


def test_a_duplicate_unit_is_refused(export, authority):
    first = locate(export)[2]["X-B"]
    row = edit(export, "X-C", "Mã đơn vị", "X-B")
    with pytest.raises(ExtractError, match=rf"dòng {row}, đơn vị X-B, cột 'Mã đơn vị': .*dòng {first}"):
        excel.read_export(export, authority, AUGUST)


def test_figures_without_a_unit_code_are_refused(export, authority):
    row = edit(export, "X-C", "Mã đơn vị", None)
    with pytest.raises(
        ExtractError, match=rf"dòng {row}, cột 'Mã đơn vị': dòng có số liệu nhưng thiếu mã đơn vị"
    ):
        excel.read_export(export, authority, AUGUST)


def test_a_file_of_another_month_is_refused(export, authority):
    with pytest.raises(
        ExtractError, match=r"dòng 1: tiêu đề ghi tháng 8/2023, không phải kỳ được yêu cầu 7/2023"
    ):
        excel.read_export(export, authority, Period(2023, 7))


def test_a_file_without_title_is_refused(export, authority):
    workbook = load_workbook(export)
    workbook.active.cell(1, 1).value = "BÁO CÁO"
    workbook.save(export)
    with pytest.raises(ExtractError, match="không tìm thấy tiêu đề ghi tháng báo cáo"):
        excel.read_export(export, authority, AUGUST)


def test_a_file_that_is_not_excel_is_refused(tmp_path, authority):
    bogus = tmp_path / "bao-cao.xlsx"
    bogus.write_text("<html>Lỗi hệ thống</html>", encoding="utf-8")
    with pytest.raises(ExtractError, match="không đọc được tệp Excel"):
        excel.read_export(bogus, authority, AUGUST)
    with pytest.raises(ExtractError, match="không tìm thấy tệp Excel"):
        excel.read_export(tmp_path / "khong-co.xlsx", authority, AUGUST)


def test_cli_writes_the_export_of_a_period(config_dir, tmp_path, authority, august, capsys):
    parser = argparse.ArgumentParser()
    excel.add_arguments(parser)
    out = tmp_path / "cli" / "t8.xlsx"
    args = parser.parse_args(
        ["--config-dir", str(config_dir), "--authority", "demo", "--period", "2023-08", "--out", str(out)]
    )
    assert excel.run_from_args(args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert excel.read_export(out, authority, AUGUST) == tidy(august)
