"""The annex (phụ lục): every unit's rates against the targets, and the chart, after the signature."""

from __future__ import annotations

import re

from docx import Document
from docx.oxml.ns import qn
from PIL import Image
from support.letters import load_json, run
from support.paths import SEED_DECISIONS


def _annex_table(document):
    return document.tables[-1]


def _rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_annex_lists_every_unit_with_its_rates_and_the_targets(seed_letter):
    decisions = load_json(SEED_DECISIONS)
    document = Document(str(seed_letter.docx_path))
    rows = _rows(_annex_table(document))
    header, sub, targets, data = rows[0], rows[1], rows[2], rows[3:]
    assert header[1] == "Cơ quan, đơn vị" and "Thanh toán trực tuyến" in header
    assert sub[2:9] == [
        "Tháng 8/2023",
        "8 tháng đầu năm 2023",
        "Tháng 8/2023",
        "8 tháng đầu năm 2023",
        "Tháng 8/2023",
        "8 tháng đầu năm 2023",
        "Từ ngày 01/4/2023 đến 31/8/2023",  # breakable between the dates (issue 11)
    ]
    assert targets[1:] == ["Chỉ tiêu", "100%", "100%", "100%", "100%", "≥ 30%", "≥ 30%", "≥ 30%", "≥ 4"]
    assert [r[1] for r in data] == [u["name"] for u in decisions["units"].values()]
    assert [r[0] for r in data] == [str(i) for i in range(1, len(decisions["units"]) + 1)]
    by_name = {r[1]: r for r in data}
    for unit in decisions["units"].values():
        figures = unit["figures"]
        expected = [
            figures[m][w]["text"] or "–"
            for m, w in (
                ("receipt", "month"),
                ("receipt", "ytd"),
                ("result", "month"),
                ("result", "ytd"),
                ("payment", "month"),
                ("payment", "ytd"),
                ("payment", "campaign"),
            )
        ]
        assert by_name[unit["name"]][2:9] == expected, unit["code"]
        assert by_name[unit["name"]][9] == str(figures["posts"]["month"])
    # The figures the letter quotes are there, and the ones under their bar are bold.
    assert by_name["UBND xã Hưng Đạo"][3] == "85,89%"
    assert by_name["UBND xã Tiên Động"][8] == "1,45%"
    assert by_name["Văn phòng HĐND và UBND huyện"][6] == "–"  # no fee-bearing dossiers


def _bold_cells(table) -> set[tuple[str, str]]:
    out = set()
    for row in table.rows[3:]:
        name = row.cells[1].text
        for cell in row.cells[2:]:
            if any(
                r.element.find(qn("w:rPr")) is not None
                and r.element.find(qn("w:rPr")).find(qn("w:b")) is not None
                for p in cell.paragraphs
                for r in p.runs
            ):
                out.add((name, cell.text))
    return out


def test_rates_under_their_bar_are_bold(seed_letter):
    bold = _bold_cells(_annex_table(Document(str(seed_letter.docx_path))))
    assert ("UBND xã Hưng Đạo", "85,89%") in bold  # year-to-date receipt < 90%
    assert ("Phòng Văn hóa và Thông tin huyện", "50%") in bold  # month result < 90%
    assert ("UBND xã Tiên Động", "4,11%") in bold and ("UBND xã Tiên Động", "0") in bold  # payment, posts
    assert ("UBND xã Văn Tố", "90%") not in bold  # at the bar is not under it
    assert ("UBND xã Hà Kỳ", "96,77%") not in bold


def test_chart_is_a_png_embedded_in_the_annex(seed_letter):
    chart = seed_letter.chart_path
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(chart) as image:
        assert image.width >= 1000 and image.height >= 800
        # A palette image (it travels in every email's PDF), with the bars' two colours kept exactly.
        assert image.mode == "P"
        colours = {rgb for _, rgb in image.convert("RGB").getcolors(maxcolors=256)}
        assert {(0x2E, 0x86, 0xC1), (0, 0, 0)} <= colours
    document = Document(str(seed_letter.docx_path))
    images = [rel for rel in document.part.rels.values() if rel.reltype.endswith("/image")]
    assert len(images) == 1 and images[0].target_part.blob == chart.read_bytes()


def test_annex_starts_on_a_new_page_after_the_signature(seed_letter):
    pages = int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(seed_letter.pdf_path)), re.M).group(1))
    texts = [
        run("pdftotext", "-f", str(n), "-l", str(n), str(seed_letter.pdf_path), "-")
        for n in range(1, pages + 1)
    ]
    signature_page = next(i for i, t in enumerate(texts) if "Vũ Thị Hà" in t)
    annex_page = next(i for i, t in enumerate(texts) if "PHỤ LỤC" in t)
    assert annex_page == signature_page + 1
    assert "Nơi nhận" not in texts[annex_page] and "Trong tháng" not in texts[annex_page]
    # The closing line is kept on the signature's page: a signature alone on a page is not done.
    assert "nghiêm túc thực hiện./." in texts[signature_page]
    assert any("Biểu đồ" in t for t in texts[annex_page:])


def test_the_campaign_heading_breaks_between_its_dates_never_inside_one(seed_letter):
    """Issue 11: "01/4/2023-31/8/2023" is one unbreakable word, cut inside a date by a narrow column."""
    pages = int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(seed_letter.pdf_path)), re.M).group(1))
    html = run("pdftotext", "-bbox", "-f", str(pages - 1), "-l", str(pages), str(seed_letter.pdf_path), "-")
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', html)
    texts = [w for _, _, w in words]
    start = next(i for i in range(len(texts) - 4) if texts[i : i + 2] == ["Từ", "ngày"])
    assert texts[start + 2 : start + 5] == ["01/4/2023", "đến", "31/8/2023"]
    # Each date whole, on a line of its own, one under the other, inside its column.
    first, last = (words[start + 2], words[start + 4])
    assert float(last[1]) > float(first[1]) + 5
