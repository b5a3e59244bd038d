"""The annex (phụ lục): every unit's rates against the targets, as a table and a chart.

The letter names only the units it commends, reminds or criticises; the annex shows all of them, so
a head of unit can see where the unit stands even when the letter is silent about it. Figures come
from ``units[…].figures`` of decisions.json, already rounded and formatted by the decisions stage.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from docxtpl import RichText

from cchc.core import wording
from cchc.core.periods import Period
from cchc.letter.context import decimal, percent

DASH = "–"  # no dossiers: the rate is undefined, neither 0% nor 100%
# (metric, window, bar in decisions.targets): a rate under its bar is printed in bold.
COLUMNS = (
    ("receipt", "month", "low_month"),
    ("receipt", "ytd", "low_ytd"),
    ("result", "month", "low_month"),
    ("result", "ytd", "low_ytd"),
    ("payment", "month", "payment_target"),
    ("payment", "ytd", "payment_target"),
    ("payment", "campaign", "payment_target"),
)


def _cell(window: dict[str, Any] | None, bar: Decimal) -> RichText:
    if not window or window.get("shown") is None:
        return RichText(DASH)
    below = decimal(window["shown"], "figures") < bar
    return RichText(window.get("text") or percent(window["shown"]), bold=below)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def campaign_column(decisions: dict[str, Any]) -> bool:
    """False when the payment campaign is the year to date (it starts in January): its column would
    repeat the year-to-date one, number for number, so the annex shows one."""
    windows = decisions["windows"]
    return windows["campaign"]["payment"]["start"] != windows["ytd"]["start"]


def annex_context(decisions: dict[str, Any], chart: Any) -> dict[str, Any]:
    """Variables of the annex: ``rows``, ``targets``, column headings, ``dated``, ``chart``.

    ``campaign_column`` says whether the payment campaign has its own column; the template always has
    it, and the renderer removes it where it would repeat the year to date (``drop_column``).
    """
    targets = decisions["targets"]
    bars = {
        key: decimal(targets[key], f"targets.{key}") for key in ("low_month", "low_ytd", "payment_target")
    }
    required = int(targets.get("posts_required") or 0)
    rows = []
    for position, (code, unit) in enumerate(decisions["units"].items(), start=1):
        figures = unit.get("figures") or {}
        row: dict[str, Any] = {"position": str(position), "code": code, "name": unit["name"]}
        for metric, window, bar in COLUMNS:
            row[f"{metric}_{window}"] = _cell((figures.get(metric) or {}).get(window), bars[bar])
        posts = (figures.get("posts") or {}).get("month")
        row["posts"] = RichText(DASH) if posts is None else RichText(str(posts), bold=posts < required)
        rows.append(row)
    ytd = decisions["windows"]["ytd"]["label"]
    campaign = decisions["windows"]["campaign"]["payment"]
    return {
        "rows": rows,
        "targets": {
            "digitization": percent(targets.get("digitization_target", "100")),
            "payment": f"≥ {percent(targets['payment_target'])}",
            "posts": f"≥ {required}",
        },
        "ytd_heading": _capitalised(ytd),
        "campaign_heading": wording.window_heading(
            Period.parse(campaign["start"]), Period.parse(campaign["end"])
        ),
        "campaign_column": campaign_column(decisions),
        "chart": chart,
    }


def _grid_span(tc) -> int:
    from docx.oxml.ns import qn

    properties = tc.find(qn("w:tcPr"))
    span = properties.find(qn("w:gridSpan")) if properties is not None else None
    return int(span.get(qn("w:val"))) if span is not None else 1


def _cell_width(tc, twips: int) -> None:
    from docx.oxml.ns import qn

    width = tc.get_or_add_tcPr().find(qn("w:tcW"))
    if width is not None:
        width.set(qn("w:w"), str(twips))
        width.set(qn("w:type"), "dxa")


def drop_column(table, heading: str) -> bool:
    """Remove from a rendered table the grid column whose heading cell reads ``heading``.

    Every row loses the cell of that column (a cell merged across it gets one column less), and its
    width goes to the widest column (the units' names), so the table keeps the page's width. Returns
    False when no cell of the table's first two rows reads ``heading``.
    """
    from docx.oxml.ns import qn

    tbl = table._tbl
    rows = list(tbl.iterchildren(qn("w:tr")))

    def cells(tr):
        """(first grid column, cell) of every cell of the row."""
        column, out = 0, []
        for tc in tr.iterchildren(qn("w:tc")):
            out.append((column, tc))
            column += _grid_span(tc)
        return out

    target = None
    for tr in rows[:2]:
        for column, tc in cells(tr):
            if "".join(t.text or "" for t in tc.iter(qn("w:t"))).strip() == heading:
                target = column
    if target is None:
        return False
    grid = tbl.find(qn("w:tblGrid"))
    columns = list(grid.iterchildren(qn("w:gridCol")))
    widths = [int(c.get(qn("w:w"))) for c in columns]
    freed = widths[target]
    widest = max(range(len(widths)), key=lambda i: (widths[i], -i) if i != target else (-1, 0))
    for tr in rows:
        for column, tc in cells(tr):
            span = _grid_span(tc)
            if column <= target < column + span:
                if span == 1:
                    tr.remove(tc)
                else:
                    tc.tcPr.find(qn("w:gridSpan")).set(qn("w:val"), str(span - 1))
                    _cell_width(tc, sum(widths[column : column + span]) - freed)
            elif column == widest and span == 1:
                _cell_width(tc, widths[widest] + freed)
    columns[widest].set(qn("w:w"), str(widths[widest] + freed))
    grid.remove(columns[target])
    return True


def render_chart(decisions: dict[str, Any], path: str | Path) -> Path:
    """A PNG of every unit's month rates (receipt, result, payment) with the targets drawn in.

    matplotlib is imported here, with the Agg backend, so importing the letter package (e.g. when
    Airflow parses a DAG) never loads it and no display is ever needed.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    path = Path(path)
    targets = decisions["targets"]
    units = list(decisions["units"].values())
    names = [u["name"] for u in units]
    panels = (
        (
            "receipt",
            "Số hóa khi tiếp nhận",
            decimal(targets.get("digitization_target", "100"), "targets"),
            decimal(targets["low_month"], "targets.low_month"),
        ),
        (
            "result",
            "Số hóa kết quả giải quyết",
            decimal(targets.get("digitization_target", "100"), "targets"),
            decimal(targets["low_month"], "targets.low_month"),
        ),
        (
            "payment",
            "Thanh toán trực tuyến",
            decimal(targets["payment_target"], "targets.payment_target"),
            None,
        ),
    )
    count = len(units)
    # One page at most: bars get thinner as units are added (a province has ~120).
    height = min(9.0, 1.2 + 0.2 * count)
    label_size = max(4.0, min(8.0, 220 / max(count, 1)))
    rc: dict[str, Any] = {
        "font.family": "serif",
        "font.serif": ["Times New Roman", "Liberation Serif", "DejaVu Serif"],
        "font.size": 8,
        "axes.titlesize": 9,
    }
    with plt.rc_context(rc):  # type: ignore[arg-type]  # matplotlib types the keys as literals
        figure, axes = plt.subplots(1, 3, figsize=(6.3, height), sharey=True)
        positions = list(range(count))
        for axis, (metric, title, target, low) in zip(axes, panels, strict=True):
            values, colours = [], []
            for unit in units:
                shown = (((unit.get("figures") or {}).get(metric) or {}).get("month") or {}).get("shown")
                rate = float(shown) if shown is not None else 0.0
                values.append(rate)
                if shown is None:
                    colours.append("#ffffff")
                elif (low is not None and Decimal(str(shown)) < low) or (
                    low is None and Decimal(str(shown)) < target
                ):
                    colours.append("#c0392b")
                else:
                    colours.append("#2e86c1")
            axis.barh(positions, values, color=colours, edgecolor="#555555", linewidth=0.3, height=0.7)
            axis.axvline(float(target), color="#000000", linewidth=1.0)
            if low is not None:
                axis.axvline(float(low), color="#000000", linewidth=0.8, linestyle="--")
            axis.set_xlim(0, 105)
            axis.set_title(title)
            axis.set_xlabel("%")
            axis.grid(axis="x", linewidth=0.3, alpha=0.5)
            axis.tick_params(axis="y", labelsize=label_size)
        axes[0].set_yticks(positions)
        axes[0].set_yticklabels(names)
        axes[0].invert_yaxis()
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=200, format="png")
        plt.close(figure)
    _to_palette(path)
    return path


# Enough for the two bar colours, black, the grid's grey and the anti-aliased text around them.
CHART_COLOURS = 128


def _to_palette(path: Path) -> None:
    """Rewrite the chart as a palette PNG: a province's chart (170 bars) was 360 KB in full colour,
    most of the letter's PDF and so of each of its ~120 emails; with 128 colours it is about 100 KB
    and looks the same at print size."""
    from PIL import Image  # matplotlib's own dependency

    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(
            colors=CHART_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    palette.save(path, format="PNG", optimize=True)
