"""Builds ``templates/letter.docx``, the Word template of the monthly CCHC letter.

Run ``python -m cchc.letter.build_template`` after changing this file and commit the generated
.docx with it. The office edits the .docx itself afterwards (in Word or LibreOffice): the wording of
every sentence, the header lines and the signature block are plain text with Jinja fields in
``{{ … }}``; paragraphs that hold only ``{%p … %}`` are control lines (conditions, loops) that
disappear from the letter. The variables are listed in ``cchc/letter/context.py``.

Layout (Decree 30/2020/NĐ-CP, Appendix I): A4, margins 20/20/30/15 mm, Times New Roman, the two-column
header (issuing body with a short rule | national title and motto with a rule as long as the motto),
number and "V/v" summary, italic place and date, "Kính gửi", justified body with a first-line indent
and 6 pt between paragraphs, "Nơi nhận" at left and the signature block at right, page numbers
centred in the top margin from page 2, and the annex (phụ lục) on a new page.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from cchc.letter import layout

TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "letter.docx"
NUMBER_BOOKMARK = "_cchc_so"  # the bookmarks around the document number's field

CENTER = WD_ALIGN_PARAGRAPH.CENTER
LEFT = WD_ALIGN_PARAGRAPH.LEFT
JUSTIFY = WD_ALIGN_PARAGRAPH.JUSTIFY

NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
KINH_GUI_LABEL = "Kính gửi: "
KINH_GUI_DASH = "- "
MOTTO = "Độc lập - Tự do - Hạnh phúc"
MOTTO_PT = 14
BODY_PT = 14

# ---------------------------------------------------------------------------------------------
# The letter's wording. One string per paragraph of the template; "{%p …%}" lines are control lines.
# Kept here, in the order of the letter, so the generated .docx reads top to bottom like the seed.
# ---------------------------------------------------------------------------------------------

OPENING = (
    "Trong tháng {{ period_label }}, "
    "{% if operator_note %}kết quả thực hiện cải cách hành chính của các địa phương {{ operator_note }}; "
    "đặc biệt trong lĩnh vực cải cách thủ tục hành chính"
    "{% else %}trong lĩnh vực cải cách thủ tục hành chính{% endif %}, "
    "tỷ lệ số hóa đầy đủ thành phần hồ sơ khi tiếp nhận đạt {{ totals.receipt.text }}"
    "{% if totals.receipt.change_text %}, {{ totals.receipt.change_text }}{% endif %}; "
    "tỷ lệ số hóa kết quả giải quyết TTHC đạt {{ totals.result.text }}"
    "{% if totals.result.change_text %}, {{ totals.result.change_text }}{% endif %}; "
    "tỷ lệ hồ sơ thanh toán trực tuyến trên cổng dịch vụ công đạt {{ totals.payment.text }}"
    "{% if totals.payment.change_text %}, {{ totals.payment.change_text }}{% endif %}"
    "{% if totals.compared %} so với tháng {{ previous_period_label }}{% endif %}."
)
HOWEVER = (
    "Tuy nhiên, "
    "{% if shortfalls.payment %}vẫn còn một số {{ shortfalls.payment_who }} có tỷ lệ thanh toán trực tuyến "
    "chưa đạt {% if shortfalls.vertical %}{{ vertical_target }}{% else %}chỉ tiêu do {{ target_giver }} giao"
    "{% endif %}{% endif %}"
    "{% if shortfalls.payment and shortfalls.posts %}; {% endif %}"
    "{% if shortfalls.posts %}việc đăng tải tin bài, văn bản trên Trang thông tin điện tử chưa cao, "
    "chưa đầy đủ, kịp thời{% endif %}."
)
INTRO = (
    "Chủ tịch UBND {{ level_word }} {{ actions }} các cơ quan, đơn vị về việc thực hiện cải cách hành chính "
    "trong tháng {{ period_label }}, cụ thể như sau:"
)

# Section 1: commendations. Departments one paragraph each; each group of communes one paragraph.
COMMEND_AGENCY = (
    "- {{ u.name }} có tỷ lệ "
    "{% if u.month.receipt == u.month.result %}số hóa đầy đủ thành phần hồ sơ khi tiếp nhận và số hóa kết quả "
    "giải quyết TTHC trong tháng {{ period_label }} đạt tỷ lệ {{ u.month.receipt }}"
    "{% else %}số hóa đầy đủ thành phần hồ sơ khi tiếp nhận đạt {{ u.month.receipt }}, số hóa kết quả giải quyết "
    "TTHC đạt {{ u.month.result }} trong tháng {{ period_label }}{% endif %}"
    "{% if u.month.payment %}; tỷ lệ hồ sơ đã thanh toán trực tuyến đạt {{ u.month.payment }}, đảm bảo theo "
    "{% if u.vertical %}{{ vertical_target }}{% else %}chỉ tiêu do {{ target_giver }} giao{% endif %}{% endif %}."
)
COMMEND_GROUP = (
    "- {{ g.count }} UBND {{ g.kinds }} có tỷ lệ số hóa đầy đủ thành phần hồ sơ khi tiếp nhận và số hóa kết quả "
    "giải quyết TTHC và hồ sơ đã thanh toán trực tuyến trên cổng dịch vụ công trong tháng {{ period_label }} "
    "đạt tỷ lệ cao"
    '{% if g.group == "communes_official_email" %}, sử dụng thư điện tử công vụ trong trao đổi công việc '
    "nội bộ thường xuyên{% endif %}, gồm: "
    "{% for u in g.units %}{{ u.name }} (tiếp nhận đạt {{ u.month.receipt }}; giải quyết đạt {{ u.month.result }}"
    "{% if u.month.payment %}; thanh toán trực tuyến đạt {{ u.month.payment }}{% endif %})"
    "{% if loop.last %}.{% else %}; {% endif %}{% endfor %}"
)

# Section 2: reminders, one sub-section per metric, one group per reason, each group closed by a request.
REMIND_TITLE = (
    "{{ s.number }}. Đối với các cơ quan, đơn vị, UBND {{ local_units }} có kết quả thực hiện nhiệm vụ "
    "cải cách hành chính đạt thấp"
)
REMIND_SUBTITLE = (
    '{{ ss.number }}. Về {% if ss.metric == "result" %}số hóa kết quả giải quyết thủ tục hành chính'
    '{% elif ss.metric == "receipt" %}số hóa hồ sơ khi tiếp nhận TTHC{% else %}thanh toán trực tuyến{% endif %}'
)
# "{{ ss.phrase }}": "số hóa kết quả giải quyết thủ tục hành chính" / "số hóa đầy đủ thành phần hồ sơ khi tiếp nhận".
REMIND_LOW_MONTH = "- {{ e.name }} có tỷ lệ {{ ss.phrase }} trong tháng {{ period_label }} đạt tỷ lệ thấp ({{ e.month.text }})."
REMIND_LOW_YTD = (
    "- {{ e.name }} mặc dù có tỷ lệ {{ ss.phrase }} trong tháng {{ period_label }} đạt {{ e.month.text }}; "
    "tuy nhiên kết quả này trong {{ ytd_label }} chỉ đạt {{ e.ytd.text }}."
)
# A vertical agency's target is not assigned by the committee: "{{ vertical_target }}" ("chỉ tiêu đề ra").
REMIND_PAYMENT_LOW_MONTH = (
    "- {{ e.name }} có tỷ lệ thanh toán trực tuyến trong tháng {{ period_label }} chỉ đạt {{ e.month.text }}, "
    "chưa đảm bảo {% if e.vertical %}{{ vertical_target }}{% else %}chỉ tiêu do {{ target_giver }} giao"
    "{% endif %} ({{ e.month.threshold_text }})."
)
REMIND_LOW_CAMPAIGN = (
    "- {{ e.name }} mặc dù có tỷ lệ thanh toán trực tuyến trong tháng {{ period_label }} đạt {{ e.month.text }}, "
    "{% if e.month.above %}vượt{% else %}đạt{% endif %} "
    "{% if e.vertical %}{{ vertical_target }}{% else %}chỉ tiêu giao của {{ target_giver }}{% endif %} "
    "({{ e.month.threshold_text }}); tuy nhiên, kết quả này tính {{ payment_window }} chỉ đạt "
    "{{ e.campaign.text }}, chưa đảm bảo {% if e.vertical %}{{ vertical_target }}{% else %}tỷ lệ do "
    "{{ target_giver }} giao{% endif %}."
)
# "{{ g.request.to_heads }}": "Yêu cầu Trưởng phòng …"; a vertical agency is asked, never required:
# "Đề nghị Giám đốc Bảo hiểm xã hội …; yêu cầu Chủ tịch UBND xã …".
REQUEST_RESULT_LOW_MONTH = (
    "{{ g.request.to_heads }} cần quan tâm thực hiện đúng quy trình giải quyết TTHC trực tuyến "
    "để nâng cao tỷ lệ số hóa kết quả giải quyết TTHC trong {{ rest_of_year }}."
)
REQUEST_RECEIPT_LOW_MONTH = (
    "{{ g.request.to_heads }} cần quan tâm thực hiện đúng quy trình tiếp nhận hồ sơ TTHC "
    "trực tuyến để nâng cao tỷ lệ số hóa đầy đủ thành phần hồ sơ khi tiếp nhận trong {{ rest_of_year }}."
)
REQUEST_RESULT_LOW_YTD = (
    "{% if g.request.mixed %}{{ g.request.to_subjects }} trong {{ rest_of_year }}"
    "{% else %}{{ g.request.verb }} trong {{ rest_of_year }}, {{ g.request.subjects }}{% endif %} "
    "cần duy trì kết quả số hóa kết quả giải quyết TTHC bằng hoặc cao hơn kết quả của tháng {{ period_label }}."
)
REQUEST_RECEIPT_LOW_YTD = (
    "{% if g.request.mixed %}{{ g.request.to_subjects }} trong {{ rest_of_year }}"
    "{% else %}{{ g.request.verb }} trong {{ rest_of_year }}, {{ g.request.subjects }}{% endif %} "
    "cần tiếp tục nâng cao tỷ lệ số hóa đầy đủ thành phần hồ sơ khi tiếp nhận."
)
REQUEST_PAYMENT = (
    "{{ g.request.to_heads }} tăng cường chỉ đạo, xác định giải pháp để triển khai thực hiện "
    "trong {{ remaining_of_year }}, đảm bảo hoàn thành và vượt "
    "{% if g.request.vertical %}{{ vertical_target }}{% else %}chỉ tiêu do {{ target_giver }} giao{% endif %}."
)

# Criticisms (one section per count) and requests to vertical agencies share the reasons' wording.
CRITICISE_TITLE = (
    "{{ s.number }}. Phê bình {% if s.ordinal %}{{ s.ordinal }} {% endif %}đối với {{ s.subjects }}"
)
REQUEST_TITLE = "{{ s.number }}. Đề nghị đối với {{ s.subjects }}"
REASON_ENTRY = (
    "- {{ e.name }} có tỷ lệ hồ sơ thanh toán trực tuyến trong tháng {{ period_label }} đạt {{ e.month.text }}; "
    "{{ payment_window }} đạt {{ e.campaign.text }}, chưa đảm bảo "
    "{% if e.vertical %}{{ vertical_target }}{% else %}tỷ lệ do {{ target_giver }} giao{% endif %}"
    "{% if e.posts %}; việc đăng tải tin bài, văn bản trên Trang thông tin điện tử chưa cao, chưa đầy đủ, "
    "kịp thời{% endif %}."
)
REQUEST_VERTICAL = (
    "Đề nghị {{ s.heads }} quan tâm chỉ đạo, có giải pháp nâng cao tỷ lệ thanh toán trực tuyến, đảm bảo "
    "{{ vertical_target }}."
)

# Last section: the directives, with the targets in force.
# The committee assigns ("giao") its departments and local committees; it asks ("đề nghị") the vertical agencies.
DIRECTIVES_TITLE = (
    "{{ s.number }}. Chủ tịch UBND {{ level_word }} {% if s.addressees %}giao {{ s.addressees }}{% endif %}"
    "{% if s.addressees and s.requested %}; {% endif %}{% if s.requested %}đề nghị {{ s.requested }}{% endif %} "
    "thực hiện đảm bảo"
)
DIRECTIVES = [
    "- Tỷ lệ số hóa đầy đủ thành phần hồ sơ và tỷ lệ số hóa kết quả giải quyết hồ sơ TTHC trong "
    "{{ rest_of_year }} đạt {{ targets.digitization_target|percent }}.",
    "- Tỷ lệ thanh toán trực tuyến trên Cổng dịch vụ công quốc gia trên tổng số giao dịch thanh toán của dịch vụ "
    "công đạt từ {{ targets.payment_target|percent }} trở lên.",
    "- Thường xuyên đăng tải tin bài, văn bản trên Trang thông tin điện tử kịp thời, đầy đủ.",
]
CLOSING = (
    "Yêu cầu các cơ quan, đơn vị, UBND các {{ local_units }} nghiêm túc thực hiện"
    "{% if has_vertical %}; đề nghị các cơ quan ngành dọc phối hợp thực hiện{% endif %}./."
)


# ---------------------------------------------------------------------------------------------
# python-docx helpers
# ---------------------------------------------------------------------------------------------


def _set_run_fonts(rpr, name: str = layout.FONT_NAME) -> None:
    """All four font slots (and no theme font), so Vietnamese text never falls back to Calibri."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        if attr.endswith("Theme"):
            del fonts.attrib[attr]
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), name)


def _set_lang(rpr, lang: str = "vi-VN") -> None:
    element = rpr.find(qn("w:lang"))
    if element is None:
        element = OxmlElement("w:lang")
        rpr.append(element)
    element.set(qn("w:val"), lang)
    element.set(qn("w:eastAsia"), lang)
    element.set(qn("w:bidi"), "ar-SA")


def _document_defaults(document) -> None:
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_run_fonts(rpr)
    _set_lang(rpr)
    for tag in ("w:sz", "w:szCs"):
        element = rpr.find(qn(tag))
        if element is None:
            element = OxmlElement(tag)
            rpr.append(element)
        element.set(qn("w:val"), str(BODY_PT * 2))
    normal = document.styles["Normal"]
    normal.font.name = layout.FONT_NAME
    normal.font.size = Pt(BODY_PT)
    _set_run_fonts(normal.element.get_or_add_rPr())
    pf = normal.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    pf.widow_control = True
    # The starter document's default paragraph spacing (10 pt after, 1.15 lines) would leak into tables.
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    if spacing is not None:
        spacing.set(qn("w:after"), "0")
        spacing.set(qn("w:line"), "240")
        spacing.set(qn("w:lineRule"), "auto")


def _style(
    document,
    name: str,
    *,
    size: float = BODY_PT,
    bold: bool = False,
    italic: bool = False,
    align=LEFT,
    first_line_mm: float | None = None,
    left_mm: float | None = None,
    before: float = 0,
    after: float = 0,
    keep_with_next: bool = False,
    page_break_before: bool = False,
    base: str = "Normal",
):
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles[base]
    style.quick_style = True
    font = style.font
    font.name = layout.FONT_NAME
    font.size = Pt(size)
    font.bold = bold
    font.italic = italic
    _set_run_fonts(style.element.get_or_add_rPr())
    pf = style.paragraph_format
    pf.alignment = align
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    pf.first_line_indent = Mm(first_line_mm) if first_line_mm is not None else Mm(0)
    pf.left_indent = Mm(left_mm) if left_mm is not None else Mm(0)
    pf.keep_with_next = keep_with_next
    pf.page_break_before = page_break_before
    return style


def _bottom_border(ppr, size_eighths: int = 6, space_pt: int = 1) -> None:
    """A single solid rule under the paragraph, between its indents (Decree 30's 'đường kẻ ngang')."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), str(size_eighths))
    bottom.set(qn("w:space"), str(space_pt))
    bottom.set(qn("w:color"), "000000")
    borders.append(bottom)
    # pBdr must come before spacing/ind/jc in CT_PPr's sequence.
    anchor = None
    for tag in ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:spacing", "w:ind", "w:jc"):
        anchor = ppr.find(qn(tag))
        if anchor is not None:
            break
    if anchor is not None:
        anchor.addprevious(borders)
    else:
        ppr.append(borders)


def _build_styles(document) -> None:
    _document_defaults(document)
    body_indent = 12.7  # 1,27 cm first-line indent
    _style(document, "CV Tên cơ quan", size=13, bold=True, align=CENTER)
    # Its own paragraph (the issuing body is a loop of lines): 3 pt above keeps the rule off the
    # diacritics under the last line ("HUYỆN").
    rule = _style(document, layout.STYLE_BODY_RULE, size=2, align=CENTER, before=3)
    rule.paragraph_format.line_spacing = Pt(2)
    rule.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    _bottom_border(rule.element.get_or_add_pPr())
    _style(document, "CV Quốc hiệu", size=13, bold=True, align=CENTER)
    motto = _style(document, layout.STYLE_MOTTO, size=MOTTO_PT, bold=True, align=CENTER)
    _bottom_border(motto.element.get_or_add_pPr(), space_pt=2)
    _style(document, "CV Số ký hiệu", size=13, align=CENTER, before=6)
    _style(document, "CV Trích yếu", size=12, align=CENTER, before=2)
    _style(document, "CV Địa danh", size=14, italic=True, align=CENTER, before=6)
    # Hanging indents: a recipient too long for its line goes on under its own first word, not under
    # "Kính gửi:" or under the dash ("- Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn …").
    label = layout.text_width_mm(KINH_GUI_LABEL, 14)
    _style(document, "CV Kính gửi", size=14, align=LEFT, left_mm=25 + label, first_line_mm=-label, before=18)
    dash = layout.text_width_mm(KINH_GUI_DASH, 14)
    _style(document, "CV Kính gửi danh sách", size=14, align=LEFT, left_mm=45 + dash, first_line_mm=-dash)
    body = _style(
        document, layout.STYLE_BODY, size=BODY_PT, align=JUSTIFY, first_line_mm=body_indent, after=6
    )
    body.paragraph_format.widow_control = True
    first = _style(
        document,
        "CV Nội dung đầu",
        size=BODY_PT,
        align=JUSTIFY,
        first_line_mm=body_indent,
        before=12,
        after=6,
        base=layout.STYLE_BODY,
    )
    first.paragraph_format.widow_control = True
    _style(
        document,
        layout.STYLE_SECTION,
        size=BODY_PT,
        bold=True,
        align=JUSTIFY,
        first_line_mm=body_indent,
        after=6,
        keep_with_next=True,
        base=layout.STYLE_BODY,
    )
    _style(
        document,
        layout.STYLE_SUBSECTION,
        size=BODY_PT,
        bold=True,
        italic=True,
        align=JUSTIFY,
        first_line_mm=body_indent,
        after=6,
        keep_with_next=True,
        base=layout.STYLE_BODY,
    )
    # The closing line stays on the signature's page: a signature alone on a page is not done.
    _style(
        document,
        "CV Nội dung cuối",
        size=BODY_PT,
        align=JUSTIFY,
        first_line_mm=body_indent,
        after=12,
        keep_with_next=True,
        base=layout.STYLE_BODY,
    )
    _style(
        document,
        layout.STYLE_LIST,
        size=BODY_PT,
        align=JUSTIFY,
        first_line_mm=body_indent,
        after=6,
        base=layout.STYLE_BODY,
    )
    _style(document, "CV Nơi nhận", size=12, bold=True, italic=True, align=LEFT, before=6)
    _style(document, "CV Nơi nhận danh sách", size=11, align=LEFT)
    _style(document, "CV Chức vụ người ký", size=14, bold=True, align=CENTER)
    _style(document, "CV Họ tên người ký", size=14, bold=True, align=CENTER, before=72)
    _style(document, "CV Số trang", size=13, align=CENTER)
    _style(document, "CV Phụ lục tiêu đề", size=14, bold=True, align=CENTER, page_break_before=True)
    _style(document, "CV Phụ lục tên", size=13, bold=True, align=CENTER, before=2)
    _style(document, "CV Phụ lục kèm theo", size=13, italic=True, align=CENTER, before=2, after=6)
    _style(document, "CV Bảng", size=9.5, align=CENTER)
    _style(document, "CV Bảng tên đơn vị", size=9.5, align=LEFT)
    _style(document, "CV Bảng tiêu đề", size=9.5, bold=True, align=CENTER)
    _style(document, "CV Chú thích", size=11, italic=True, align=JUSTIFY, before=6, after=6)
    _style(document, "CV Hình", size=BODY_PT, align=CENTER, before=6)


def _paragraph(container, style: str, text: str = ""):
    paragraph = container.add_paragraph(style=style)
    if text:
        paragraph.add_run(text)
    return paragraph


def _first_paragraph(cell, style: str, text: str = ""):
    """A cell starts with one empty paragraph: use it instead of leaving a blank line."""
    paragraph = cell.paragraphs[0]
    paragraph.style = cell.part.document.styles[style]
    if text:
        paragraph.add_run(text)
    return paragraph


def _number_runs(paragraph, before: str, after: str, index: int) -> None:
    """``before{{ number }}after``, the number alone in its run between the bookmarks
    ``_cchc_so_<index>``: issuing writes the number there into the approved draft instead of rendering
    the letter again (``cchc.letter.numbering``). A leading underscore hides the bookmark in Word's list."""
    paragraph.add_run(before)
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(index))
    start.set(qn("w:name"), f"{NUMBER_BOOKMARK}_{index}")
    paragraph._p.append(start)
    paragraph.add_run("{{ number }}")
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(index))
    paragraph._p.append(end)
    paragraph.add_run(after)


def _set_indents(paragraph, mm: float) -> None:
    paragraph.paragraph_format.left_indent = Mm(mm)
    paragraph.paragraph_format.right_indent = Mm(mm)


def _insert_in_tblpr(tbl_pr, element, successors: tuple[str, ...]) -> None:
    """Word refuses a table whose properties are out of the schema's order: insert before the successors."""
    for tag in successors:
        anchor = tbl_pr.find(qn(tag))
        if anchor is not None:
            anchor.addprevious(element)
            return
    tbl_pr.append(element)


def _borders(tbl_pr, value: str) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), value)
        if value != "nil":
            element.set(qn("w:sz"), "4")
            element.set(qn("w:space"), "0")
            element.set(qn("w:color"), "000000")
        borders.append(element)
    _insert_in_tblpr(tbl_pr, borders, ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook"))


def _cell_margins(tbl_pr, mm: float) -> None:
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(round(mm * 1440 / 25.4)))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    _insert_in_tblpr(tbl_pr, margins, ("w:tblLook", "w:tblCaption", "w:tblDescription"))


def _set_widths(table, widths_mm: list[float]) -> None:
    """Fixed layout (LibreOffice and Word then honour the column widths), centred."""
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(width)
    for column, width in zip(table.columns, widths_mm, strict=False):
        column.width = Mm(width)


def _table_without_borders(table, widths_mm: list[float], cell_margin_mm: float | None = None) -> None:
    _set_widths(table, widths_mm)
    _borders(table._tbl.tblPr, "nil")
    if cell_margin_mm is not None:
        _cell_margins(table._tbl.tblPr, cell_margin_mm)


def _table_with_grid(table, widths_mm: list[float]) -> None:
    _set_widths(table, widths_mm)
    _borders(table._tbl.tblPr, "single")
    _cell_margins(table._tbl.tblPr, 1.0)  # the rates need every millimetre of a narrow column


def _repeat_as_header(row) -> None:
    row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))


def _cant_split(row) -> None:
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _vertical_center(cell) -> None:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _page_number(paragraph) -> None:
    """A PAGE field: Word and LibreOffice fill in the number of each page."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run._r.append(begin)
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    run._r.append(instr)
    run = paragraph.add_run()
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run._r.append(separate)
    paragraph.add_run("2")
    run = paragraph.add_run()
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(end)


# ---------------------------------------------------------------------------------------------
# The template
# ---------------------------------------------------------------------------------------------


def _page_setup(document) -> None:
    section = document.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width = Mm(layout.PAGE_WIDTH_MM)
    section.page_height = Mm(layout.PAGE_HEIGHT_MM)
    section.top_margin = Mm(layout.MARGIN_TOP_MM)
    section.bottom_margin = Mm(layout.MARGIN_BOTTOM_MM)
    section.left_margin = Mm(layout.MARGIN_LEFT_MM)
    section.right_margin = Mm(layout.MARGIN_RIGHT_MM)
    section.header_distance = Mm(layout.HEADER_DISTANCE_MM)
    section.footer_distance = Mm(layout.HEADER_DISTANCE_MM)
    # Page numbers from page 2 only: the first page has its own, empty, header.
    section.different_first_page_header_footer = True
    header = section.header
    header.is_linked_to_previous = False
    number = header.paragraphs[0]
    number.style = document.styles["CV Số trang"]
    _page_number(number)
    first = section.first_page_header
    first.is_linked_to_previous = False
    first.paragraphs[0].style = document.styles["CV Số trang"]


def _header(document) -> None:
    table = document.add_table(rows=2, cols=2)
    _table_without_borders(
        table, [layout.HEADER_LEFT_MM, layout.HEADER_RIGHT_MM], layout.HEADER_CELL_MARGIN_MM
    )
    left, right = table.rows[0].cells
    # Issuing body, one line per entry of authority.yaml's issuing_body, then the short rule.
    _first_paragraph(left, "CV Tên cơ quan", "{%p for line in authority.issuing_body %}")
    _paragraph(left, "CV Tên cơ quan", "{{ line }}")
    _paragraph(left, "CV Tên cơ quan", "{%p endfor %}")
    rule = _paragraph(left, layout.STYLE_BODY_RULE)
    # Resized by the renderer to the issuing body's last line; this is the width for "HUYỆN TỨ KỲ".
    rule_width = 0.45 * layout.text_width_mm("HUYỆN TỨ KỲ", 13, bold=True)
    _set_indents(
        rule, layout.centred_indent_mm(layout.HEADER_LEFT_MM, rule_width, layout.HEADER_CELL_MARGIN_MM)
    )

    _first_paragraph(right, "CV Quốc hiệu", NATIONAL_TITLE)
    motto = _paragraph(right, layout.STYLE_MOTTO, MOTTO)
    # The rule under the motto is as long as the motto: the paragraph is narrowed to the text's width.
    motto_width = layout.text_width_mm(MOTTO, MOTTO_PT, bold=True) + 1.0
    _set_indents(
        motto, layout.centred_indent_mm(layout.HEADER_RIGHT_MM, motto_width, layout.HEADER_CELL_MARGIN_MM)
    )

    left, right = table.rows[1].cells
    _number_runs(_first_paragraph(left, "CV Số ký hiệu"), "Số: ", "/{{ authority.document_symbol }}", 1)
    # The trích yếu is built once (cchc.core.wording.summary_line): the title and the emails use it too.
    _paragraph(left, "CV Trích yếu", "{{ summary }}")
    _first_paragraph(right, "CV Địa danh", "{{ date_line }}")


def _recipients(document) -> None:
    _paragraph(document, "CV Kính gửi", "{%p if authority.recipients|length == 1 %}")
    _paragraph(document, "CV Kính gửi", "Kính gửi: {{ authority.recipients[0] }}.")
    _paragraph(document, "CV Kính gửi", "{%p else %}")
    _paragraph(document, "CV Kính gửi", "Kính gửi:")
    _paragraph(document, "CV Kính gửi danh sách", "{%p for r in authority.recipients %}")
    _paragraph(document, "CV Kính gửi danh sách", "- {{ r }}{% if loop.last %}.{% else %};{% endif %}")
    _paragraph(document, "CV Kính gửi danh sách", "{%p endfor %}")
    _paragraph(document, "CV Kính gửi", "{%p endif %}")


def _body(document) -> None:
    body, section, subsection, item = (
        layout.STYLE_BODY,
        layout.STYLE_SECTION,
        layout.STYLE_SUBSECTION,
        layout.STYLE_LIST,
    )
    p = _paragraph
    # A re-issue says first which letter it replaces (BRIEF §4); a first issue prints nothing here.
    p(document, body, "{%p if replaces %}")
    p(document, body, "{{ replaces }}")
    p(document, body, "{%p endif %}")
    p(document, "CV Nội dung đầu", OPENING)
    p(document, body, "{%p if shortfalls.payment or shortfalls.posts %}")
    p(document, body, HOWEVER)
    p(document, body, "{%p endif %}")
    p(document, body, INTRO)

    p(document, body, "{%p for s in sections %}")
    # 1. Commendations.
    p(document, body, '{%p if s.kind == "commend" %}')
    p(document, section, "{{ s.number }}. Biểu dương các cơ quan, đơn vị")
    p(document, body, "{%p for g in s.groups %}")
    p(document, body, '{%p if g.group == "agencies" %}')
    p(document, body, "{%p for u in g.units %}")
    p(document, item, COMMEND_AGENCY)
    p(document, body, "{%p endfor %}")
    p(document, body, "{%p else %}")
    p(document, item, COMMEND_GROUP)
    p(document, body, "{%p endif %}")
    p(document, body, "{%p endfor %}")

    # 2. Reminders.
    p(document, body, '{%p elif s.kind == "remind" %}')
    p(document, section, REMIND_TITLE)
    p(document, body, "{%p for ss in s.subsections %}")
    p(document, subsection, REMIND_SUBTITLE)
    p(document, body, "{%p for g in ss.groups %}")
    p(document, body, "{%p for e in g.entries %}")
    p(document, body, '{%p if g.reason == "low_month" and ss.metric == "payment" %}')
    p(document, item, REMIND_PAYMENT_LOW_MONTH)
    p(document, body, '{%p elif g.reason == "low_month" %}')
    p(document, item, REMIND_LOW_MONTH)
    p(document, body, '{%p elif g.reason == "low_ytd" %}')
    p(document, item, REMIND_LOW_YTD)
    p(document, body, "{%p else %}")
    p(document, item, REMIND_LOW_CAMPAIGN)
    p(document, body, "{%p endif %}")
    p(document, body, "{%p endfor %}")
    p(document, body, '{%p if ss.metric == "payment" %}')
    p(document, body, REQUEST_PAYMENT)
    p(document, body, '{%p elif g.reason == "low_month" and ss.metric == "result" %}')
    p(document, body, REQUEST_RESULT_LOW_MONTH)
    p(document, body, '{%p elif g.reason == "low_month" %}')
    p(document, body, REQUEST_RECEIPT_LOW_MONTH)
    p(document, body, '{%p elif ss.metric == "result" %}')
    p(document, body, REQUEST_RESULT_LOW_YTD)
    p(document, body, "{%p else %}")
    p(document, body, REQUEST_RECEIPT_LOW_YTD)
    p(document, body, "{%p endif %}")
    p(document, body, "{%p endfor %}")
    p(document, body, "{%p endfor %}")

    # Criticisms, one section per count.
    p(document, body, '{%p elif s.kind == "criticise" %}')
    p(document, section, CRITICISE_TITLE)
    p(document, body, "Lý do:")
    p(document, body, "{%p for e in s.entries %}")
    p(document, item, REASON_ENTRY)
    p(document, body, "{%p endfor %}")

    # Vertical agencies are requested, never criticised.
    p(document, body, '{%p elif s.kind == "request" %}')
    p(document, section, REQUEST_TITLE)
    p(document, body, "Lý do:")
    p(document, body, "{%p for e in s.entries %}")
    p(document, item, REASON_ENTRY)
    p(document, body, "{%p endfor %}")
    p(document, body, REQUEST_VERTICAL)

    # Directives, always last.
    p(document, body, '{%p elif s.kind == "directives" %}')
    p(document, section, DIRECTIVES_TITLE)
    for line in DIRECTIVES:
        p(document, item, line)
    p(document, body, "{%p endif %}")
    p(document, body, "{%p endfor %}")
    p(document, "CV Nội dung cuối", CLOSING)


def _signature(document) -> None:
    table = document.add_table(rows=1, cols=2)
    _table_without_borders(table, [layout.SIGNATURE_LEFT_MM, layout.SIGNATURE_RIGHT_MM])
    _cant_split(table.rows[0])
    left, right = table.rows[0].cells
    _first_paragraph(left, "CV Nơi nhận", "Nơi nhận:")
    _paragraph(left, "CV Nơi nhận danh sách", "{%p for c in authority.copies %}")
    _paragraph(left, "CV Nơi nhận danh sách", "- {{ c }}{% if loop.last %}.{% else %};{% endif %}")
    _paragraph(left, "CV Nơi nhận danh sách", "{%p endfor %}")
    _first_paragraph(right, "CV Chức vụ người ký", "{%p if authority.signer.on_behalf %}")
    _paragraph(right, "CV Chức vụ người ký", "{{ authority.signer.on_behalf }}")
    _paragraph(right, "CV Chức vụ người ký", "{%p endif %}")
    _paragraph(right, "CV Chức vụ người ký", "{{ authority.signer.title }}")
    _paragraph(right, "CV Họ tên người ký", "{{ authority.signer.name }}")


# The campaign column is wide enough for "01/01/2026" on a line of its own (15,3 mm in bold 9,5 pt);
# the renderer drops it when the campaign is the year to date (cchc.letter.annex).
ANNEX_COLUMNS_MM = [10.0, 39.0, 14.0, 14.0, 14.0, 14.0, 14.0, 14.0, 19.0, 13.0]


def _annex(document) -> None:
    p = _paragraph
    p(document, "CV Phụ lục tiêu đề", "{%p if annex %}")
    p(document, "CV Phụ lục tiêu đề", "PHỤ LỤC")
    p(
        document,
        "CV Phụ lục tên",
        "Kết quả thực hiện các chỉ tiêu cải cách thủ tục hành chính tháng {{ period_label }} "
        "của các cơ quan, đơn vị, UBND các {{ local_units }}",
    )
    _number_runs(
        p(document, "CV Phụ lục kèm theo"),
        "(Kèm theo Công văn số ",
        "/{{ authority.document_symbol }} {{ annex.dated }} của UBND {{ authority.name }})",
        2,
    )

    table = document.add_table(rows=6, cols=len(ANNEX_COLUMNS_MM))
    _table_with_grid(table, ANNEX_COLUMNS_MM)
    top, second, targets, loop_start, data, loop_end = table.rows
    for row in (top, second):
        _repeat_as_header(row)
        _cant_split(row)
    heading = "CV Bảng tiêu đề"
    top.cells[0].merge(second.cells[0])
    top.cells[1].merge(second.cells[1])
    top.cells[9].merge(second.cells[9])
    _first_paragraph(top.cells[0], heading, "STT")
    _first_paragraph(top.cells[1], heading, "Cơ quan, đơn vị")
    _first_paragraph(top.cells[9], heading, "Tin bài đăng tải")
    receipt = top.cells[2].merge(top.cells[3])
    _first_paragraph(receipt, heading, "Số hóa hồ sơ khi tiếp nhận")
    result = top.cells[4].merge(top.cells[5])
    _first_paragraph(result, heading, "Số hóa kết quả giải quyết")
    payment = top.cells[6].merge(top.cells[8])
    _first_paragraph(payment, heading, "Thanh toán trực tuyến")
    labels = [
        "Tháng {{ period_label }}",
        "{{ annex.ytd_heading }}",
        "Tháng {{ period_label }}",
        "{{ annex.ytd_heading }}",
        "Tháng {{ period_label }}",
        "{{ annex.ytd_heading }}",
        "{{ annex.campaign_heading }}",
    ]
    for cell, label in zip(second.cells[2:9], labels, strict=True):
        _first_paragraph(cell, heading, label)
    for cell in list(top.cells) + list(second.cells):
        _vertical_center(cell)

    _first_paragraph(targets.cells[0], heading, "")
    _first_paragraph(targets.cells[1], heading, "Chỉ tiêu")
    target_fields = [
        "digitization",
        "digitization",
        "digitization",
        "digitization",
        "payment",
        "payment",
        "payment",
        "posts",
    ]
    for cell, field in zip(targets.cells[2:], target_fields, strict=True):
        _first_paragraph(cell, heading, "{{ annex.targets." + field + " }}")

    _first_paragraph(loop_start.cells[0], "CV Bảng", "{%tr for r in annex.rows %}")
    _first_paragraph(loop_end.cells[0], "CV Bảng", "{%tr endfor %}")
    _first_paragraph(data.cells[0], "CV Bảng", "{{ r.position }}")
    _first_paragraph(data.cells[1], "CV Bảng tên đơn vị", "{{ r.name }}")
    fields = [
        "receipt_month",
        "receipt_ytd",
        "result_month",
        "result_ytd",
        "payment_month",
        "payment_ytd",
        "payment_campaign",
        "posts",
    ]
    for cell, field in zip(data.cells[2:], fields, strict=True):
        # "{{r …}}": a rich-text value, printed in bold where the rate is below its bar.
        _first_paragraph(cell, "CV Bảng", "{{r r." + field + " }}")
    _cant_split(data)

    p(
        document,
        "CV Chú thích",
        "Ghi chú: số in đậm là tỷ lệ dưới ngưỡng nhắc nhở đối với số hóa (tháng dưới "
        "{{ targets.low_month|percent }}, lũy kế dưới {{ targets.low_ytd|percent }}), dưới chỉ tiêu "
        "{{ targets.payment_target|percent }} đối với thanh toán trực tuyến, dưới {{ targets.posts_required }} tin "
        "bài đối với việc đăng tải; dấu “–”: không phát sinh hồ sơ.",
    )
    p(document, "CV Hình", "{{ annex.chart }}")
    p(
        document,
        "CV Chú thích",
        "Biểu đồ: tỷ lệ của tháng {{ period_label }} so với chỉ tiêu (đường liền: chỉ tiêu; "
        "đường đứt: ngưỡng nhắc nhở; cột đỏ: dưới ngưỡng nhắc nhở hoặc dưới chỉ tiêu).",
    )
    p(document, "CV Chú thích", "{%p endif %}")


def build(path: Path = TEMPLATE_PATH) -> Path:
    document = Document()
    # python-docx's starter document holds one empty paragraph; the template starts with the header.
    body = document.element.body
    for element in list(body):
        if element.tag != qn("w:sectPr"):
            body.remove(element)
    _build_styles(document)
    _page_setup(document)
    _header(document)
    _recipients(document)
    _body(document)
    _signature(document)
    _annex(document)
    core = document.core_properties
    core.title = "Công văn CCHC hằng tháng (mẫu)"
    core.author = "cchc"
    # No Jinja-like braces here: docxtpl renders the core properties as a template too.
    core.comments = "Mẫu công văn: sửa lời văn trực tiếp; các trường trong ngoặc nhọn do hệ thống điền."
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tạo lại mẫu công văn letter.docx từ mã nguồn")
    parser.add_argument("--output", type=Path, default=TEMPLATE_PATH, help="tệp .docx cần ghi")
    args = parser.parse_args(argv)
    print(build(args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
