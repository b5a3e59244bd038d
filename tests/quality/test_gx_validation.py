"""Validation of the extracted table with real Great Expectations (no mocks).

GX is imported once per test process (several seconds); each validation then costs well under a
second, so every bad-data case gets its own run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from cchc.core.fields import COUNT_FIELDS
from cchc.quality.result import CRITICAL, WARNING, ValidationFailed, ValidationInputError, ValidationReport
from cchc.quality.suites import suite_name
from cchc.quality.validate import read_parent_totals, validate_extract, validated_frame

# Great Expectations: seconds to import, about a second a validation; out of `make test-fast`.
pytestmark = pytest.mark.slow

AUGUST = "2023-08"
Mutator = Callable[[list[dict[str, str]]], list[dict[str, str]]]


def row_of(rows: list[dict[str, str]], code: str) -> dict[str, str]:
    return next(r for r in rows if r["unit_code"] == code)


def output_of(csv_path: Path) -> Path:
    return csv_path.parents[3]


def run(authority, csv_path: Path, **kwargs) -> ValidationReport:
    return validate_extract(authority, AUGUST, csv_path, output_of(csv_path), **kwargs)


def set_value(code: str, column: str, value: str) -> Mutator:
    def mutate(rows):
        row_of(rows, code)[column] = value
        return rows

    return mutate


def without(code: str) -> Mutator:
    return lambda rows: [r for r in rows if r["unit_code"] != code]


def with_copy_of(code: str, new_code: str | None = None) -> Mutator:
    def mutate(rows):
        extra = dict(row_of(rows, code))
        if new_code:
            extra["unit_code"] = new_code
        return [*rows, extra]

    return mutate


# ---------------------------------------------------------------------------------------- the good


def test_seed_august_passes(authority, august, july, write_extract):
    path = write_extract(august)
    report = run(authority, path, previous=july, run_id="scheduled__2023-09-01T00:00:00+07:00")

    assert report.success, report.message()
    assert report.critical == []
    assert (report.rows, report.units) == (35, 35)
    assert report.suites == [suite_name("api", CRITICAL), suite_name("api", WARNING)]
    # The seed itself has real tenfold jumps against July (e.g. X-CL's fee-bearing dossiers 12 -> 160):
    # reported, never blocking.
    assert {(f.check, f.units[0], f.fields[0]) for f in report.warnings} >= {("jump", "X-CL", "fee_dossiers")}
    assert all(f.level == WARNING and f.check == "jump" for f in report.warnings)
    assert report.message().startswith("Kiểm tra số liệu tu-ky kỳ 2023-08 (nguồn api): ĐẠT")

    summary = report.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["critical"] == 0 and summary["rows"] == 35 and summary["units"] == 35
    report.raise_for_critical()  # no-op

    # Data Docs and the result JSON, under validation/
    vdir = output_of(path) / "tu-ky" / AUGUST / "validation"
    assert summary["data_docs"] == str(vdir / "index.html")
    assert (vdir / "index.html").is_file()
    assert (vdir / "result.json").is_file()
    run_file = vdir / "runs" / "scheduled__2023-09-01T00_00_00_07_00.json"
    assert summary["result"] == str(run_file) and run_file.is_file()
    stored = json.loads((vdir / "result.json").read_text(encoding="utf-8"))
    assert stored["summary"] == summary
    assert len(stored["warnings"]) == len(report.warnings)
    pages = [Path(p.removeprefix("file://")) for p in report.data_docs_pages]
    assert len(pages) == 2 and all(p.is_file() for p in pages)

    # The validated table, typed as the warehouse loads it
    frame = validated_frame(report)
    assert list(frame.columns) == [
        "authority",
        "period",
        "unit_code",
        *COUNT_FIELDS,
        "official_email_regular",
        "source",
    ]
    assert len(frame) == 35
    assert all(str(frame[c].dtype) == "Int64" for c in COUNT_FIELDS)
    assert str(frame["official_email_regular"].dtype) == "boolean"
    x_qk = frame.set_index("unit_code").loc["X-QK"]
    assert (x_qk["received"], x_qk["paid_online"], x_qk["official_email_regular"]) == (354, 145, True)
    assert pd.isna(frame.set_index("unit_code").loc["P-VP", "official_email_regular"])
    assert frame["received"].sum() == sum(int(r["received"]) for r in august)
    # the same from the paths the load task gets
    pd.testing.assert_frame_equal(validated_frame(summary["result"]), frame)
    pd.testing.assert_frame_equal(validated_frame(vdir), frame)
    pd.testing.assert_frame_equal(validated_frame(path), frame)


def test_totals_in_the_extract_stage_shape_are_checked(authority, august, write_extract):
    sums = {name: sum(int(r[name]) for r in august) for name in COUNT_FIELDS}
    totals = {  # as portal.extract writes parent_totals.json
        "authority": "tu-ky",
        "period": AUGUST,
        "source": "api",
        "dossier_digitized": {
            "id": "HD-TK",
            "name": "Tứ Kỳ",
            **{k: sums[k] for k in ("received", "received_digitized", "resolved", "resolved_digitized")},
        },
        "online_payment": {
            "id": "HD-TK",
            "name": "Tứ Kỳ",
            "fee_dossiers": sums["fee_dossiers"],
            "paid_online": sums["paid_online"] - 1,
        },
        "official_email": {"id": "HD-TK", "name": "Tứ Kỳ"},
    }
    path = write_extract(august, totals=totals)
    assert set(read_parent_totals(path.parent / "parent_totals.json")) == {
        "received",
        "received_digitized",
        "resolved",
        "resolved_digitized",
        "fee_dossiers",
        "paid_online",
    }
    report = run(authority, path)
    assert [(f.check, f.fields) for f in report.critical] == [("parent_total", ["paid_online"])]
    assert "trường paid_online: tổng các đơn vị là" in report.critical[0].message
    assert "(chênh +1)" in report.critical[0].message


def test_excel_source_has_its_own_suite(authority, august, write_extract):
    for row in august:
        row["source"] = "excel"
    report = run(authority, write_extract(august))
    assert report.success, report.message()
    assert report.source == "excel"
    assert report.suites == [suite_name("excel", CRITICAL), suite_name("excel", WARNING)]


# ----------------------------------------------------------------------------------------- the bad

BAD_CASES = {
    "missing unit": (
        without("P-NV"),
        "unit_registry",
        "P-NV",
        "unit_code",
        "Thiếu đơn vị P-NV (Phòng Nội vụ huyện) trong số liệu kỳ 2023-08",
    ),
    "unknown unit": (
        with_copy_of("X-HK", "ZZZ"),
        "unit_known",
        "ZZZ",
        "unit_code",
        "Đơn vị lạ ZZZ không có trong danh mục đơn vị (units.csv) của tu-ky (dòng 37)",
    ),
    "duplicate unit": (
        with_copy_of("X-HK"),
        "unit_unique",
        "X-HK",
        "unit_code",
        "Đơn vị X-HK xuất hiện 2 lần trong số liệu kỳ 2023-08 (dòng 24, 37)",
    ),
    "negative count": (
        set_value("X-QT", "received", "-3"),
        "count_integer",
        "X-QT",
        "received",
        "Đơn vị X-QT, kỳ 2023-08, trường received: giá trị '-3' không phải số nguyên không âm",
    ),
    "decimal count": (
        set_value("P-TP", "resolved", "12.5"),
        "count_integer",
        "P-TP",
        "resolved",
        "Đơn vị P-TP, kỳ 2023-08, trường resolved: giá trị '12.5' không phải số nguyên không âm",
    ),
    "text count": (
        set_value("X-DC", "web_posts", "abc"),
        "count_integer",
        "X-DC",
        "web_posts",
        "Đơn vị X-DC, kỳ 2023-08, trường web_posts: giá trị 'abc' không phải số nguyên không âm",
    ),
    "blank count": (
        set_value("X-MD", "fee_dossiers", ""),
        "count_integer",
        "X-MD",
        "fee_dossiers",
        "Đơn vị X-MD, kỳ 2023-08, trường fee_dossiers: thiếu số liệu (ô trống)",
    ),
    "numerator above denominator": (
        set_value("X-HK", "paid_online", "35"),
        "numerator_le_denominator",
        "X-HK",
        "paid_online",
        "Đơn vị X-HK, kỳ 2023-08, trường paid_online: 35 lớn hơn fee_dossiers 31",
    ),
    "digitised above received": (
        set_value("X-HK", "received_digitized", "311"),
        "numerator_le_denominator",
        "X-HK",
        "received_digitized",
        "Đơn vị X-HK, kỳ 2023-08, trường received_digitized: 311 lớn hơn received 310",
    ),
    "wrong period": (
        set_value("X-HK", "period", "2023-07"),
        "period",
        "X-HK",
        "period",
        "Đơn vị X-HK, kỳ 2023-08, trường period: kỳ báo cáo ghi '2023-07', khác kỳ báo cáo đang "
        "kiểm tra 2023-08",
    ),
    "wrong authority": (
        set_value("X-HK", "authority", "ninh-giang"),
        "authority",
        "X-HK",
        "authority",
        "Đơn vị X-HK, kỳ 2023-08, trường authority: cơ quan ghi 'ninh-giang', khác cơ quan đang "
        "kiểm tra tu-ky",
    ),
    "email not a boolean": (
        set_value("X-AT", "official_email_regular", "có lẽ"),
        "email_boolean",
        "X-AT",
        "official_email_regular",
        "Đơn vị X-AT, kỳ 2023-08, trường official_email_regular: giá trị 'có lẽ' không phải true/false",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_data_is_stopped_as_critical(case, authority, august, write_extract):
    mutate, check, unit, field, message = BAD_CASES[case]
    path = write_extract(mutate(august))
    report = run(authority, path)

    assert not report.success
    assert [f.check for f in report.critical] == [check], report.message()
    failure = report.critical[0]
    assert failure.level == CRITICAL and failure.expectation.startswith("expect_")
    assert unit in failure.units and field in failure.fields
    assert failure.message == message
    assert f"  1. {message}" in report.message()
    assert "KHÔNG ĐẠT" in report.message()

    with pytest.raises(ValidationFailed) as raised:
        report.raise_for_critical()
    assert str(raised.value) == report.message()
    assert raised.value.report is report
    # nothing to load, whichever way the load task asks
    with pytest.raises(ValidationFailed):
        validated_frame(report)
    with pytest.raises(ValidationFailed):
        validated_frame(report.summary()["result"])
    stored = json.loads(report.result_path.read_text(encoding="utf-8"))
    assert stored["summary"]["success"] is False and stored["critical"][0]["message"] == message


def test_totals_disagreeing_with_the_portal(authority, august, write_extract):
    received = sum(int(r["received"]) for r in august)
    resolved = sum(int(r["resolved"]) for r in august)
    path = write_extract(august, totals={"received": received + 12, "resolved": resolved})
    report = run(authority, path)
    assert [(f.check, f.fields) for f in report.critical] == [("parent_total", ["received"])]
    assert report.critical[0].message == (
        f"tu-ky ({authority.name}), kỳ 2023-08, trường received: tổng các đơn vị là {received}, khác số tổng "
        f"{received + 12} của Cổng dịch vụ công (chênh -12)"
    )


def test_several_failures_are_all_listed_and_blank_columns_grouped(authority, august, write_extract):
    rows = with_copy_of("X-HK", "ZZZ")(without("P-NV")(august))
    for row in rows[:3]:
        row["web_posts"] = ""
    row_of(rows, "X-QT")["received"] = "-3"
    report = run(authority, write_extract(rows))
    checks = [f.check for f in report.critical]
    assert checks == ["unit_known", "unit_registry", "count_integer", "count_integer"]
    blank = next(f for f in report.critical if "ô trống" in f.message)
    assert blank.units == ["P-VP", "P-KTHT", "P-TP"]
    assert blank.lines == [2, 3, 4]
    assert blank.message == (
        "Các đơn vị P-VP, P-KTHT, P-TP (3 đơn vị), kỳ 2023-08, trường web_posts: thiếu số liệu (ô trống)"
    )
    text = report.message()
    assert all(f.message in text for f in report.critical)


@pytest.mark.parametrize("column", ["web_posts", "unit_code"])
def test_missing_column_is_reported_once(column, authority, august, write_extract):
    header = [
        c
        for c in ("authority", "period", "unit_code", *COUNT_FIELDS, "official_email_regular", "source")
        if c != column
    ]
    report = run(authority, write_extract(august, header=header))
    assert [(f.check, f.fields) for f in report.critical] == [("columns", [column])]
    assert report.critical[0].message == f"Bảng số liệu kỳ 2023-08 thiếu cột '{column}'"


# ------------------------------------------------------------------------------------ the doubtful


def test_tenfold_jump_is_only_a_warning(authority, august, july, write_extract):
    before = int(row_of(july.to_dict("records"), "X-HK")["received"])
    row_of(august, "X-HK")["received"] = str(before * 11)
    row_of(august, "X-QN")["web_posts"] = "650"
    row_of(august, "X-AT")["official_email_regular"] = ""  # other communes report it
    path = write_extract(august)
    report = run(authority, path, previous=july)

    assert report.success, report.message()
    assert report.critical == []
    jump = [f for f in report.warnings if f.check == "jump" and f.units == ["X-HK"]]
    assert len(jump) == 1 and jump[0].fields == ["received"]
    assert jump[0].message == (
        f"Đơn vị X-HK, kỳ 2023-08, trường received: {before * 11}, gấp 11 lần tháng trước "
        f"({before}), vượt ngưỡng 10 lần"
    )
    posts = [f for f in report.warnings if f.check == "web_posts_limit"]
    assert [(f.units, f.fields) for f in posts] == [(["X-QN"], ["web_posts"])]
    email = [f for f in report.warnings if f.check == "email_commune"]
    assert [(f.units, f.fields) for f in email] == [(["X-AT"], ["official_email_regular"])]
    assert "Cảnh báo (lần chạy vẫn tiếp tục" in report.message()
    report.raise_for_critical()
    frame = validated_frame(report)
    assert frame.set_index("unit_code").loc["X-HK", "received"] == before * 11


# --------------------------------------------------------------------------------- runs and files


def test_runs_of_a_period_keep_their_pages(authority, august, write_extract):
    path = write_extract(august)
    first = run(authority, path, run_id="run-a")
    rows = without("P-NV")(august)
    write_extract(rows)
    second = run(authority, path, run_id="run-b")

    vdir = first.validation_dir
    assert first.success and not second.success
    for page in first.data_docs_pages + second.data_docs_pages:
        assert Path(page.removeprefix("file://")).is_file()
    index = (vdir / "index.html").read_text(encoding="utf-8")
    assert "run-a" in index and "run-b" in index  # one entry point lists both runs
    latest = json.loads((vdir / "result.json").read_text(encoding="utf-8"))
    assert latest["summary"]["run_id"] == "run-b"
    assert (vdir / "runs" / "run-a.json").is_file()
    # The first run's result no longer matches the file on disk: the load refuses it.
    with pytest.raises(ValidationInputError, match="đã thay đổi sau lần kiểm tra run-a"):
        validated_frame(first)


def test_the_hash_describes_the_very_bytes_validated(authority, august, write_extract):
    """The CSV is read once: hashed and parsed from the same bytes. A file that changes between two
    reads (here a FIFO that serves the good table to its first reader and a table without P-NV to the
    next) cannot get the good table's hash on a result computed from the other."""
    import hashlib
    import os
    import threading

    path = write_extract(august)
    good = path.read_bytes()
    write_extract(without("P-NV")(august))
    other = path.read_bytes()
    path.unlink()
    os.mkfifo(path)
    served: list[bytes] = []

    def reader_gone() -> bool:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # ENXIO: no reader holds the FIFO open
            return True
        return False

    def serve() -> None:
        for data in (good, other):
            try:
                with path.open("wb") as pipe:  # blocks until a reader opens the FIFO
                    served.append(data)
                    pipe.write(data)
            except OSError:  # the reader left (BrokenPipeError): nothing more to serve
                return
            # The next table only to a reader of its own (the first must see its end of file).
            while not reader_gone():
                threading.Event().wait(0.01)

    writer = threading.Thread(target=serve, daemon=True)
    writer.start()
    try:
        report = run(authority, path, run_id="fifo")
    finally:
        # A second open by the validation would have taken the other table; release the writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
        writer.join(timeout=10)
    assert report.sha256 == hashlib.sha256(good).hexdigest()
    assert (report.rows, report.units) == (35, 35) and report.success, report.message()
    assert served[0] == good


def test_unreadable_input_is_an_input_error(authority, tmp_path, write_extract, august):
    with pytest.raises(ValidationInputError, match="không tìm thấy bảng số liệu"):
        validate_extract(authority, AUGUST, tmp_path / "nope.csv", tmp_path)
    path = write_extract(august, totals={"received": "nhiều"})
    with pytest.raises(ValidationInputError, match="trường 'received'"):
        run(authority, path)


def test_import_is_cheap():
    code = (
        "import sys, time; t = time.perf_counter(); import cchc.quality; "
        "print(time.perf_counter() - t, 'great_expectations' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert float(out[0]) < 1.0
    assert out[1:] == ["False", "False"]


def test_real_extract_of_the_seed_validates(authority, tmp_path):
    """The extract stage's own output (simulated portal), parent totals included, passes."""
    from cchc.portal.client import PortalClient
    from cchc.portal.extract import extract_period
    from cchc.portal.simulator import PortalSimulator

    with PortalSimulator(Path(authority.folder).parent) as simulator:
        client = PortalClient(simulator.base_url, sleep=lambda _s: None)
        try:
            result = extract_period(authority, AUGUST, tmp_path / "out", client=client, run_id="e2e")
        finally:
            client.close()
    assert len(read_parent_totals(result.parent_totals)) == 6
    report = validate_extract(authority, AUGUST, result.path, tmp_path / "out", run_id="e2e")
    assert report.success, report.message()
    assert report.warnings == []
    assert len(validated_frame(report)) == 35


# ------------------------------------------------------------------------------- offline Data Docs


class _References(__import__("html.parser").parser.HTMLParser):
    """Every script, stylesheet and image a page loads, and the index's table setup."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag in ("script", "img") and found.get("src"):
            self.loaded.append(found["src"])
        if tag == "link" and found.get("href") and "icon" not in (found.get("rel") or ""):
            self.loaded.append(found["href"])
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def references(page: Path) -> _References:
    parser = _References()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_data_docs_load_nothing_from_the_internet(authority, august, july, write_extract):
    """Where the committee's network has no internet the Data Docs still read: every script,
    stylesheet, font and image of every page is a local file of the site, and the index page's
    results table is drawn by a local script from the runs it lists."""
    import re

    path = write_extract(august)
    first = run(authority, path, previous=july, run_id="run-a")
    second = run(authority, path, previous=july, run_id="run-b")
    vdir = first.validation_dir
    pages = sorted(p for p in vdir.rglob("*.html") if "static" not in p.parts)
    assert len(pages) == 1 + 2 + 4  # index, the two suites, two runs of two suites

    for page in pages:
        found = references(page)
        assert found.loaded, page
        for ref in found.loaded:
            assert not re.match(r"(https?:)?//", ref), f"{page.relative_to(vdir)} loads {ref}"
            assert (page.parent / ref.split("?")[0]).resolve().is_file(), f"{page.relative_to(vdir)}: {ref}"
        assert any(r.endswith("jquery.min.js") for r in found.loaded)
        assert any(r.endswith("bootstrap.min.css") for r in found.loaded)
    # The stylesheets' own fonts and images are local too.
    for css in vdir.glob("static/**/*.css"):
        text = css.read_text(encoding="utf-8")
        assert not re.search(r"(url\(|@import)\s*['\"]?(https?:)?//", text), (
            css
        )  # licence comments may name sites
        for ref in re.findall(r"url\(['\"]?([^)'\"]+)", text):
            if not ref.startswith("data:"):
                assert (css.parent / ref.split("?")[0].split("#")[0]).resolve().is_file(), (css, ref)

    index = references(vdir / "index.html")
    assert "cchc/cchc-datadocs.js" in " ".join(index.loaded)
    setup = " ".join(index.scripts)
    assert ".bootstrapTable(" in setup and "run-a" in setup and "run-b" in setup

    # Once per site: a third run rewrites its own pages, copies no library again.
    library = vdir / "static" / "vendor" / "jquery" / "jquery.min.js"
    stamp = library.stat().st_mtime_ns
    run(authority, path, previous=july, run_id="run-c")
    assert library.stat().st_mtime_ns == stamp
    assert second.success
