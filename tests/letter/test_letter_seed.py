"""The seed letter (Tứ Kỳ, August 2023) regenerated from its decisions: wording, layout, PDF.

The body is compared with the real letter section by section, after normalising whitespace and the
seed's own inconsistencies (listed in SEED_FIXES), so every sentence, figure and unit name of the
seed is said, in the seed's order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from PIL import Image
from support.letters import normalise, run
from support.paths import SEED_AUTHORITY, SEED_DECISIONS, SEED_LETTER

from cchc.core.files import sha256_file
from cchc.letter import layout
from cchc.letter.render import letter_text, render_letter

# Where the seed is inconsistent with itself, the letter says it one way (BRIEF §4).
SEED_FIXES = [
    ("vượt tỷ lệ giao", "vượt chỉ tiêu giao"),  # beside "vượt chỉ tiêu giao" ×4
    ("tuy nhiên; kết quả", "tuy nhiên, kết quả"),  # Tân Kỳ
    ("do UBND tỉnh giao (30%).", "do UBND tỉnh giao."),  # Tân Kỳ only
    ("năm năm 2023", "năm 2023"),
    ("Trưởng phòng và Chuyên viên Phòng", "Trưởng phòng"),  # the heads, as for every request
    ("trong 8 tháng đầu năm chỉ đạt", "trong 8 tháng đầu năm 2023 chỉ đạt"),
    ("trong các tháng cuối năm đạt 100%", "trong các tháng cuối năm 2023 đạt 100%"),
    ("TTHC UBND xã Hưng Đạo mặc dù", "TTHC - UBND xã Hưng Đạo mặc dù"),  # every other entry has its dash
]


def fix_seed(text: str) -> str:
    text = normalise(text)
    # "số hoá" and "số hóa" both occur; the letter writes "hóa" throughout.
    text = text.replace("hoá", "hóa").replace("Hoá", "Hóa")
    for wrong, right in SEED_FIXES:
        assert wrong in text, f"seed fix no longer applies: {wrong!r}"
        text = text.replace(wrong, right)
    return text


def body_of(text: str) -> str:
    start = text.index("Trong tháng")
    end = text.index("nghiêm túc thực hiện./.") + len("nghiêm túc thực hiện./.")
    return text[start:end]


_HEADING = re.compile(r"(?:^|(?<=\s))(\d{1,2}(?:\.\d{1,2})?)\. (?=\w)")


def sections(text: str) -> list[tuple[str, str]]:
    """('0', preamble), ('1', '1. Biểu dương …'), ('2.1', …): split where a numbered heading starts."""
    starts = [m for m in _HEADING.finditer(text) if text[m.end()].isupper()]
    bounds = [0] + [m.start() for m in starts] + [len(text)]
    labels = ["0"] + [m.group(1) for m in starts]
    return [(label, text[a:b].strip()) for label, a, b in zip(labels, bounds[:-1], bounds[1:], strict=True)]


@pytest.fixture(scope="module")
def docx_text(seed_letter) -> str:
    return letter_text(seed_letter.docx_path)


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED_LETTER.read_text(encoding="utf-8")


def test_body_says_what_the_seed_says_section_by_section(docx_text, seed_text):
    ours = sections(normalise(body_of(docx_text)))
    theirs = sections(fix_seed(body_of(seed_text)))
    assert [label for label, _ in ours] == ["0", "1", "2", "2.1", "2.2", "2.3", "3", "4", "5"]
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    for (label, mine), (_, seed) in zip(ours, theirs, strict=True):
        assert mine == seed, f"mục {label} khác bản gốc:\n  sinh ra: {mine}\n  bản gốc: {seed}"


def test_header_recipients_and_signature_are_the_seeds(docx_text, seed_text):
    ours = normalise(docx_text)
    seed = normalise(seed_text)
    assert "Số: /UBND-NV" in ours and "Số: /UBND-NV" in seed  # the draft leaves the number blank
    summary = (
        "V/v biểu dương, nhắc nhở các cơ quan chuyên môn, UBND các xã, thị trấn trong thực hiện nhiệm vụ "
        "Cải cách hành chính tháng 8/2023"
    )
    date = "Tứ Kỳ, ngày tháng 9 năm 2023"
    recipients = (
        "Kính gửi: - Thủ trưởng các cơ quan chuyên môn thuộc UBND huyện; - Chủ tịch UBND các xã, thị trấn."
    )
    copies = (
        "Nơi nhận: - Như trên; - Ban Thường vụ Huyện uỷ; - CT, các PCT.UBND huyện; - Đảng uỷ, UBND các xã, "
        "thị trấn; - Các cơ quan, đơn vị có liên quan; - Lưu: VT, NV."
    )
    for fragment in (summary, date, recipients, copies, "CHỦ TỊCH Vũ Thị Hà", "Độc lập - Tự do - Hạnh phúc"):
        assert fragment in seed, fragment
        assert fragment in ours, fragment
    lines = docx_text.splitlines()
    assert lines[:2] == ["ỦY BAN NHÂN DÂN", "HUYỆN TỨ KỲ"]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in lines
    assert "TM. ỦY BAN NHÂN DÂN" in lines
    # The day is left blank for signing; the month is the one after the period.
    assert re.search(r"^Tứ Kỳ, ngày {3,}tháng 9 năm 2023$", docx_text, re.M)
    assert re.search(r"^Số: {3,}/UBND-NV$", docx_text, re.M)


def _style_value(paragraph, attribute: str, section: str = "font"):
    """An attribute as it takes effect: on the paragraph's style or the style it is based on."""
    style = paragraph.style
    while style is not None:
        value = getattr(getattr(style, section), attribute)
        if value is not None:
            return value
        style = style.base_style
    return None


def _paragraph(document, text: str):
    for table in [None, *document.tables]:
        paragraphs = document.paragraphs if table is None else [p for c in table._cells for p in c.paragraphs]
        for paragraph in paragraphs:
            if paragraph.text.startswith(text):
                return paragraph
    raise AssertionError(f"không thấy đoạn bắt đầu bằng {text!r}")


def test_docx_layout_follows_decree_30(seed_letter):
    document = Document(str(seed_letter.docx_path))
    section = document.sections[0]
    assert abs(section.page_width.mm - 210) < 0.5 and abs(section.page_height.mm - 297) < 0.5
    # Word stores twentieths of a point: 15 mm reads back as 14,993 mm.
    assert 19.95 <= section.top_margin.mm <= 25.05 and 19.95 <= section.bottom_margin.mm <= 25.05
    assert 29.95 <= section.left_margin.mm <= 35.05 and 14.95 <= section.right_margin.mm <= 20.05
    # Page numbers from page 2: a PAGE field in the default header, none on the first page.
    assert section.different_first_page_header_footer
    assert "PAGE" in "".join(t.text or "" for t in section.header._element.iter(qn("w:instrText")))
    assert not list(section.first_page_header._element.iter(qn("w:instrText")))

    fonts = (
        document.styles.element.find(qn("w:docDefaults"))
        .find(qn("w:rPrDefault"))
        .find(qn("w:rPr"))
        .find(qn("w:rFonts"))
    )
    assert {fonts.get(qn(slot)) for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs")} == {
        "Times New Roman"
    }

    body = _paragraph(document, "Trong tháng 8/2023")
    assert _style_value(body, "name") == "Times New Roman"
    assert _style_value(body, "size").pt == 14
    assert _style_value(body, "alignment", "paragraph_format") == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert 10 <= _style_value(body, "first_line_indent", "paragraph_format").mm <= 12.8
    assert _style_value(body, "space_after", "paragraph_format").pt >= 6
    heading = _paragraph(document, "3. Phê bình lần thứ hai")
    assert _style_value(heading, "bold")

    header = document.tables[0]
    assert len(header.columns) == 2
    for text, size in (
        ("ỦY BAN NHÂN DÂN", 13),
        ("HUYỆN TỨ KỲ", 13),
        ("CỘNG HÒA XÃ HỘI", 13),
        ("Độc lập - Tự do - Hạnh phúc", 14),
    ):
        paragraph = _paragraph(document, text)
        assert _style_value(paragraph, "bold"), text
        assert _style_value(paragraph, "size").pt == size, text
    assert _style_value(_paragraph(document, "Số:"), "size").pt == 13
    assert _style_value(_paragraph(document, "V/v"), "size").pt == 12
    date = _paragraph(document, "Tứ Kỳ, ngày")
    assert _style_value(date, "italic") and _style_value(date, "size").pt == 14
    # The motto's rule is as long as the motto: its paragraph is narrowed to the text's width.
    motto = _paragraph(document, "Độc lập")
    assert motto.style.element.find(qn("w:pPr")).find(qn("w:pBdr")) is not None
    narrowed = (
        layout.HEADER_RIGHT_MM - 2 * layout.HEADER_CELL_MARGIN_MM - 2 * motto.paragraph_format.left_indent.mm
    )
    assert abs(narrowed - layout.text_width_mm("Độc lập - Tự do - Hạnh phúc", 14, bold=True)) < 2

    where = _paragraph(document, "Nơi nhận:")
    assert (
        _style_value(where, "bold") and _style_value(where, "italic") and _style_value(where, "size").pt == 12
    )
    assert _style_value(_paragraph(document, "- Như trên;"), "size").pt == 11
    for text in ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Vũ Thị Hà"):
        paragraph = _paragraph(document, text)
        assert _style_value(paragraph, "bold"), text
        assert _style_value(paragraph, "alignment", "paragraph_format") == WD_ALIGN_PARAGRAPH.CENTER
    signature = document.tables[1]
    assert "Nơi nhận:" in signature.cell(0, 0).text and "Vũ Thị Hà" in signature.cell(0, 1).text


def test_pdf_is_a4_with_embedded_fonts(seed_letter):
    info = run("pdfinfo", "-f", "1", "-l", "99", str(seed_letter.pdf_path))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)
    assert pages >= 3 and len(sizes) == pages
    for width, height in sizes:
        assert abs(float(width) - 595.3) < 1 and abs(float(height) - 841.9) < 1
    fonts = run("pdffonts", str(seed_letter.pdf_path)).splitlines()[2:]
    assert fonts, "PDF không có phông chữ nào"
    for line in fonts:
        columns = line.split()
        emb = columns[-5]
        assert emb == "yes", f"phông chưa được nhúng: {line}"
        assert "Type 3" not in line
    names = " ".join(line.split()[0] for line in fonts)
    # Times New Roman, or its metric-compatible substitute, with bold and italic faces.
    assert re.search(r"LiberationSerif|TimesNewRoman", names)
    assert re.search(r"(LiberationSerif|TimesNewRoman\w*)-Bold", names)
    assert re.search(r"Italic", names)


def test_pdf_text_is_the_docx_text(seed_letter, docx_text):
    raw = run("pdftotext", "-enc", "UTF-8", str(seed_letter.pdf_path), "-")
    # Page numbers in the top margin are lines of their own.
    pdf = normalise("\n".join(line for line in raw.splitlines() if not re.fullmatch(r"\s*\d+\s*", line)))
    assert normalise(body_of(docx_text)) in pdf
    # The header table and the annex are laid out in columns, their narrow cells wrapped and
    # interleaved by pdftotext: every word of every cell is still there.
    words = set(normalise(raw).split())
    for line in docx_text.splitlines():
        missing = [w for w in normalise(line).split() if w not in words]
        assert not missing, f"{line!r}: thiếu {missing}"


def _words(pdf: Path, page: int) -> list[tuple[float, float, float, float, str]]:
    html = run("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-")
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(pattern, html)]


def _dark_runs(image: Image.Image, top: int, bottom: int, minimum: int) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark pixels at least ``minimum`` long: (y, x_start, x_end)."""
    gray = image.convert("L")
    width = gray.width
    pixels = gray.load()
    runs = []
    for y in range(top, bottom):
        x = 0
        while x < width:
            if pixels[x, y] < 110:
                start = x
                while x < width and pixels[x, y] < 110:
                    x += 1
                if x - start >= minimum:
                    runs.append((y, start, x))
            x += 1
    return runs


def test_page_one_shows_the_header_layout(seed_letter, tmp_path):
    """Page 1 as an image: issuing body left, national title right, their rules, the date under the motto."""
    run(
        "pdftoppm",
        "-r",
        "100",
        "-f",
        "1",
        "-l",
        "1",
        "-png",
        str(seed_letter.pdf_path),
        str(tmp_path / "page"),
    )
    image = Image.open(next(tmp_path.glob("page*.png")))
    assert abs(image.width / image.height - 210 / 297) < 0.01
    scale = image.width / 595.3  # pixels per PDF point

    words = _words(seed_letter.pdf_path, 1)

    def first(word: str, after_y: float = 0) -> tuple[float, float, float, float, str]:
        return next(w for w in words if w[4] == word and w[1] >= after_y)

    uy, cong, doc_lap, phuc = first("ỦY"), first("CỘNG"), first("Độc"), first("phúc")
    huyen, so, ky_place, kinh = first("HUYỆN"), first("Số:"), first("Kỳ,"), first("Kính")
    middle = 595.3 / 2
    assert uy[2] < cong[0] < middle + 40 < phuc[2]  # two columns: body left, nation right
    assert abs(uy[1] - cong[1]) < 3  # on the same first line
    assert doc_lap[1] > cong[1] and huyen[1] > uy[1]  # second lines under the first
    assert so[1] > huyen[1] and so[0] < middle  # number under the issuing body, left
    assert ky_place[1] > doc_lap[1] and ky_place[0] > middle - 20  # date under the motto, right
    assert kinh[1] > so[1]  # then "Kính gửi"
    # The page starts in the top margin's bounds (20 mm) and the body at the left margin (30 mm).
    body_start = first("Trong")
    assert abs(body_start[0] - (30 / 25.4 * 72 + 12.7 / 25.4 * 72)) < 3  # left margin + first-line indent

    runs = _dark_runs(image, int(cong[1] * scale), int(so[1] * scale), minimum=int(8 * scale))
    motto_rules = [r for r in runs if r[1] > middle * scale]
    body_rules = [r for r in runs if r[2] < middle * scale]
    assert motto_rules and body_rules, "không thấy đường kẻ dưới tên cơ quan và dưới tiêu ngữ"
    y, x0, x1 = max(motto_rules, key=lambda r: r[2] - r[1])
    motto_width = (phuc[2] - doc_lap[0]) * scale
    assert abs((x1 - x0) - motto_width) < 0.06 * motto_width  # as long as "Độc lập - Tự do - Hạnh phúc"
    assert y > doc_lap[3] * scale - 2  # under it
    y, x0, x1 = max(body_rules, key=lambda r: r[2] - r[1])
    line_width = (first("KỲ")[2] - huyen[0]) * scale
    assert line_width / 3 - 3 <= x1 - x0 <= line_width / 2 + 3  # a third to a half of "HUYỆN TỨ KỲ"
    assert abs((x0 + x1) / 2 - (huyen[0] + first("KỲ")[2]) / 2 * scale) < 4  # centred under it
    assert y > huyen[3] * scale - 2


def test_files_hashes_and_summary(seed_letter):
    folder = seed_letter.folder
    assert folder == seed_letter.output_dir / "tu-ky" / "2023-08"
    assert sorted(p.name for p in folder.iterdir()) == ["annex_chart.png", "letter.docx", "letter.pdf"]
    assert seed_letter.docx_sha256 == sha256_file(seed_letter.docx_path)
    assert seed_letter.pdf_sha256 == sha256_file(seed_letter.pdf_path)
    assert seed_letter.status == "draft" and seed_letter.document_number is None and not seed_letter.signed
    summary = seed_letter.summary()
    json.dumps(summary)
    assert summary["docx"].endswith("tu-ky/2023-08/letter.docx")
    assert summary["rulebook_version"] == "default@2023-04-01"
    assert summary["run_id"] == "manual__2023-09-01"
    assert len(summary["decisions_sha256"]) == 64
    properties = Document(str(seed_letter.docx_path)).core_properties
    assert seed_letter.decisions_sha256 in properties.comments


def test_issued_letter_carries_its_number(tmp_path):
    result = render_letter(SEED_DECISIONS, SEED_AUTHORITY, tmp_path, document_number=7, pdf=False)
    text = letter_text(result.docx_path)
    assert re.search(r"^Số: 07/UBND-NV$", text, re.M)  # numbers under 10 take a zero
    assert "Công văn số 07/UBND-NV" in text  # the annex refers to it
    assert result.status == "issued" and result.document_number == "7"
    assert sorted(p.name for p in result.folder.iterdir()) == ["annex_chart.png", "letter.docx"]
