"""Page geometry and text measurement shared by the template builder and the renderer.

Decree 30/2020/NĐ-CP, Appendix I: A4 portrait, margins top/bottom 20–25 mm, left 30–35 mm, right
15–20 mm. The header is a two-column table whose widths are fixed here so the builder and the
renderer (which resizes the rule under the issuing body) agree.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0
MARGIN_TOP_MM = 20.0
MARGIN_BOTTOM_MM = 20.0
MARGIN_LEFT_MM = 30.0
MARGIN_RIGHT_MM = 15.0
HEADER_DISTANCE_MM = 10.0  # the page number sits in the top margin
TEXT_WIDTH_MM = PAGE_WIDTH_MM - MARGIN_LEFT_MM - MARGIN_RIGHT_MM  # 165 mm

HEADER_LEFT_MM = 62.0
HEADER_RIGHT_MM = TEXT_WIDTH_MM - HEADER_LEFT_MM
HEADER_CELL_MARGIN_MM = 1.0  # narrow, so the national title at 13 pt fits on one line
SIGNATURE_LEFT_MM = 80.0
SIGNATURE_RIGHT_MM = TEXT_WIDTH_MM - SIGNATURE_LEFT_MM

FONT_NAME = "Times New Roman"
# Metric-compatible with Times New Roman: LibreOffice substitutes it when Times is absent, so text
# measured with it has the width it will have on the page.
_MEASURE_FONTS = {
    (False, False): "LiberationSerif-Regular.ttf",
    (True, False): "LiberationSerif-Bold.ttf",
    (False, True): "LiberationSerif-Italic.ttf",
    (True, True): "LiberationSerif-BoldItalic.ttf",
}
_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/liberation-serif"),
    Path("/usr/share/fonts/truetype/msttcorefonts"),
)

PT_PER_MM = 72 / 25.4

# Style names a clerk sees in Word's style list; the renderer finds the rules by them.
STYLE_BODY = "CV Nội dung"
STYLE_SECTION = "CV Đề mục"
STYLE_SUBSECTION = "CV Đề mục nhỏ"
STYLE_LIST = "CV Gạch đầu dòng"
STYLE_BODY_RULE = "CV Kẻ dưới tên cơ quan"
STYLE_MOTTO = "CV Tiêu ngữ"


@cache
def _font_metrics(bold: bool, italic: bool) -> tuple[dict[int, int], int] | None:
    try:
        from fontTools.ttLib import TTFont
    except ImportError:  # pragma: no cover - fontTools comes with matplotlib
        return None
    for folder in _FONT_DIRS:
        path = folder / _MEASURE_FONTS[(bold, italic)]
        if path.is_file():
            font = TTFont(str(path), lazy=True)
            cmap = font.getBestCmap()
            hmtx = font["hmtx"]
            widths = {code: hmtx[glyph][0] for code, glyph in cmap.items()}
            return widths, font["head"].unitsPerEm
    return None


def text_width_mm(text: str, size_pt: float, bold: bool = False, italic: bool = False) -> float:
    """The printed width of one line of text in Times New Roman (measured on Liberation Serif).

    Without the font files, an average of half an em per character is a fair estimate.
    """
    metrics = _font_metrics(bold, italic)
    if metrics is None:
        return len(text) * size_pt * 0.5 / PT_PER_MM
    widths, units_per_em = metrics
    default = units_per_em // 2
    total = sum(widths.get(ord(ch), default) for ch in text)
    return total / units_per_em * size_pt / PT_PER_MM


def centred_indent_mm(cell_width_mm: float, line_width_mm: float, cell_margin_mm: float) -> float:
    """Left and right indent that centre a paragraph of ``line_width_mm`` in a table cell."""
    return max(0.0, (cell_width_mm - 2 * cell_margin_mm - line_width_mm) / 2)
