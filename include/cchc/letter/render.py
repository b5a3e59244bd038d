"""Rendering the letter: decisions.json + authority.yaml + the Word template → DOCX, PDF, chart.

Files go to the period folder (``cchc.core.paths.PeriodFolder``): ``letter.docx``, ``letter.pdf`` and
``annex_chart.png``. Everything is produced in a private staging folder first and
moved into place only when every step (template, PDF, signature) succeeded, so a failure never
leaves a half-filled letter or a PDF of an older DOCX next to a newer one.

The template is rendered with StrictUndefined (a field the data does not have is an error naming
it) and autoescape (a unit called "A & B <C>" cannot break the document's XML).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from cchc.core import wording
from cchc.core.authorities import Authority, load_authority
from cchc.core.files import publish
from cchc.core.paths import CHART_NAME, PeriodFolder
from cchc.letter import layout
from cchc.letter.annex import annex_context, drop_column, render_chart
from cchc.letter.build_template import TEMPLATE_PATH
from cchc.letter.context import build_context, letter_summary, percent
from cchc.letter.decisions import load_decisions
from cchc.letter.errors import DecisionsError, LetterError, LetterTemplateError
from cchc.letter.pdf import DEFAULT_TIMEOUT, prestart, to_pdf
from cchc.letter.records import LetterResult
from cchc.letter.sign import sign_pdf, signing_config

log = logging.getLogger(__name__)

CHART_WIDTH_MM = 160


# --------------------------------------------------------------------------------------------
# Jinja
# --------------------------------------------------------------------------------------------


def _finalize(value: Any) -> Any:
    """Nothing the template prints may be a bare None: the letter would read "None"."""
    if value is None:
        raise LetterTemplateError("mẫu in ra một giá trị rỗng (None)")
    return value


def jinja_environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True, finalize=_finalize)
    env.filters["percent"] = percent
    env.filters["count"] = wording.count
    env.filters["join"] = wording.join
    return env


_FIELD_PATTERNS = (
    re.compile(r"has no attribute '([^']+)'"),
    re.compile(r"'([^']+)' is undefined"),
    re.compile(r"no element '?([^'\s]+)'?"),
)


def _template_line(exc: Exception, tpl: DocxTemplate | None) -> int | None:
    """The template line Jinja was at: given for a syntax error, found in the traceback otherwise."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _where(exc: Exception, tpl: DocxTemplate | None) -> str:
    """The text of the template paragraph at fault, so the clerk can find it in Word."""
    line = _template_line(exc, tpl)
    if not line:
        return ""
    source = getattr(exc, "source", None)
    if not source and tpl is not None:
        try:
            # docxtpl renders the patched XML with one paragraph per line: rebuild it to read the line.
            source = re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(tpl.get_xml()))
        except Exception:  # the message is still useful without it
            return ""
    lines = (source or "").splitlines()
    if not 0 < line <= len(lines):
        return ""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", lines[line - 1])).strip()
    return f"; tại đoạn: «{text[:300]}»" if text else ""


def _template_error(template: Path, exc: Exception, tpl: DocxTemplate | None = None) -> LetterTemplateError:
    name = template.name
    if isinstance(exc, jinja2.UndefinedError):
        field = next((m.group(1) for p in _FIELD_PATTERNS if (m := p.search(str(exc)))), None)
        what = f"thiếu trường '{field}'" if field else "thiếu một trường"
        return LetterTemplateError(f"mẫu công văn {name} ({template}): {what} ({exc}){_where(exc, tpl)}")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return LetterTemplateError(
            f"mẫu công văn {name} ({template}): lỗi cú pháp Jinja: {exc.message}{_where(exc, tpl)}"
        )
    if isinstance(exc, LetterTemplateError):
        return LetterTemplateError(f"mẫu công văn {name} ({template}): {exc}{_where(exc, tpl)}")
    return LetterTemplateError(
        f"mẫu công văn {name} ({template}): {type(exc).__name__}: {exc}{_where(exc, tpl)}"
    )


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _fit_body_rule(document, issuing_body: list[str]) -> None:
    """The rule under the issuing body: 45% of its last line (Decree 30: a third to a half), centred."""
    line = issuing_body[-1] if issuing_body else ""
    width = 0.45 * layout.text_width_mm(line, 13, bold=True)
    indent = layout.centred_indent_mm(layout.HEADER_LEFT_MM, width, layout.HEADER_CELL_MARGIN_MM)
    for table in document.tables[:1]:
        for cell in table._cells:
            for paragraph in cell.paragraphs:
                if paragraph.style is not None and paragraph.style.name == layout.STYLE_BODY_RULE:
                    paragraph.paragraph_format.left_indent = Mm(indent)
                    paragraph.paragraph_format.right_indent = Mm(indent)


def _drop_campaign_column(document, heading: str) -> None:
    """The annex without its payment-campaign column (the campaign is the year to date this year)."""
    for table in reversed(document.tables):
        if drop_column(table, heading):
            return
    raise LetterTemplateError(
        f"phụ lục: không tìm thấy cột có tiêu đề «{heading}» trong bảng của mẫu công văn để bỏ đi "
        "(cột lũy kế chiến dịch trùng cột lũy kế từ đầu năm)"
    )


def _render_docx(
    template: Path,
    context_args: dict[str, Any],
    decisions: dict[str, Any],
    authority: Authority,
    docx_path: Path,
    chart_path: Path | None,
    meta: dict[str, str],
) -> None:
    try:
        tpl = DocxTemplate(str(template))
    except Exception as exc:
        raise LetterTemplateError(
            f"mẫu công văn {template.name} ({template}): không mở được tệp Word: {exc}"
        ) from exc
    annex: Any = False
    if chart_path is not None:
        chart = InlineImage(tpl, str(chart_path), width=Mm(CHART_WIDTH_MM))
        annex = annex_context(decisions, chart)
        annex["dated"] = wording.date_line(authority.place, *_dated(decisions))[len(authority.place) + 2 :]
    context = build_context(decisions, authority, annex=annex, **context_args)
    try:
        tpl.render(context, jinja_env=jinja_environment(), autoescape=True)
    except (jinja2.TemplateError, LetterTemplateError) as exc:
        raise _template_error(template, exc, tpl) from exc
    _fit_body_rule(tpl.docx, authority.issuing_body)
    if annex and not annex["campaign_column"]:
        _drop_campaign_column(tpl.docx, annex["campaign_heading"])
    core = tpl.docx.core_properties
    # The trích yếu the letter prints; LibreOffice carries it into the PDF's title.
    core.title = letter_summary(decisions, authority)
    core.subject = f"Công văn CCHC tháng {decisions['period_label']} của UBND {authority.name}"
    core.author = " ".join(authority.issuing_body)
    core.keywords = f"cchc; {authority.id}; {decisions['period']}"
    core.comments = _comments(meta)
    tpl.save(str(docx_path))


def _comments(meta: Mapping[str, str]) -> str:
    """The document's comments: what it was made from (decisions, rulebook, run, number)."""
    return "; ".join(f"{k}: {v}" for k, v in meta.items() if v)


def _dated(decisions: dict[str, Any]) -> tuple[int, int]:
    year, month = (int(x) for x in decisions["period"].split("-"))
    return (1, year + 1) if month == 12 else (month + 1, year)


def _authority(authority: Authority | str | os.PathLike) -> Authority:
    return authority if isinstance(authority, Authority) else load_authority(authority)


def _check_inputs(
    decisions_path: Path, authority: Authority, sign: bool | None, pdf: bool
) -> tuple[dict[str, Any], str, Any]:
    """decisions.json read and checked against the authority; the signing certificate, if any."""
    decisions, decisions_sha256 = load_decisions(decisions_path)
    declared = (decisions.get("authority") or {}).get("id")
    if declared != authority.id:
        raise DecisionsError(
            f"{decisions_path}: quyết định của cơ quan '{declared}', không phải '{authority.id}'"
        )
    signing = None
    if sign is not False:
        signing = signing_config(authority)
        if sign and signing is None:
            raise LetterError(
                "yêu cầu ký số nhưng chưa cấu hình chứng thư số (CCHC_SIGNING_P12 hoặc 'signing:')"
            )
    if signing is not None and not pdf:
        raise LetterError("ký số cần tệp PDF: không thể ký khi pdf=False")
    return decisions, decisions_sha256, signing


def _produce(
    staging: Path,
    template: Path,
    decisions: dict[str, Any],
    authority: Authority,
    context_args: dict[str, Any],
    meta: dict[str, str],
    *,
    pdf: bool,
    annex: bool,
    signing: Any,
    timeout: float,
    stem: str,
) -> list[Path]:
    """Chart, DOCX, PDF and signature, all in ``staging``; returns the files made, in that order."""
    if pdf:
        prestart()  # LibreOffice starts while the chart and the DOCX are made
    chart = render_chart(decisions, staging / CHART_NAME) if annex else None
    docx = staging / f"{stem}.docx"
    _render_docx(template, context_args, decisions, authority, docx, chart, meta)
    pdf_file = None
    if pdf:
        pdf_file = to_pdf(docx, staging / f"{stem}.pdf", timeout=timeout)
        if signing is not None:
            _sign(pdf_file, signing, authority, decisions)
    return [p for p in (docx, pdf_file, chart) if p is not None]


def _sign(pdf_file: Path, signing: Any, authority: Authority, decisions: Mapping[str, Any]) -> None:
    sign_pdf(
        pdf_file,
        signing,
        signer_name=authority.signer.name,
        location=authority.place,
        reason=f"Ký số công văn CCHC tháng {decisions['period_label']}",
    )


def _meta(
    decisions: Mapping[str, Any], decisions_sha256: str, run_id: str | None, number: str | None
) -> dict[str, str]:
    return {
        "decisions_sha256": decisions_sha256,
        "rulebook": str((decisions.get("rulebook") or {}).get("version", "")),
        "run_id": run_id or "",
        "document_number": number or "",
    }


@contextmanager
def _staging_in(folder: Path) -> Iterator[Path]:
    """A private folder beside the published files (same file system, so each rename is atomic).

    A failure removes it, and the period folders this render created, so nothing half-made is left.
    """
    created = [p for p in (folder.parent, folder) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".letter-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for path in reversed(created):
            try:
                path.rmdir()
            except OSError:
                pass
        raise
    shutil.rmtree(staging, ignore_errors=True)


def _letter_result(
    authority: Authority,
    period_folder: PeriodFolder,
    target: Path,
    stem: str,
    hashes: dict[str, str],
    **record: Any,
) -> LetterResult:
    """What a render or a numbering published in ``target``: the files ``hashes`` names (the PDF only
    when one was made) and the record's other fields as given."""
    pdf = f"{stem}.pdf"
    return LetterResult(
        authority_id=authority.id,
        period=period_folder.period,
        output_dir=Path(period_folder.output_dir),
        folder=target,
        docx_path=target / f"{stem}.docx",
        docx_sha256=hashes[f"{stem}.docx"],
        pdf_path=target / pdf if pdf in hashes else None,
        pdf_sha256=hashes.get(pdf),
        **record,
    )


def render_letter(
    decisions_path: str | os.PathLike,
    authority: Authority | str | os.PathLike,
    output_dir: str | os.PathLike,
    document_number: int | str | None = None,
    run_id: str | None = None,
    *,
    template: str | os.PathLike | None = None,
    pdf: bool = True,
    annex: bool = True,
    sign: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    folder: str | os.PathLike | None = None,
    stem: str = "letter",
    replaces: Mapping[str, Any] | None = None,
) -> LetterResult:
    """Render the letter of one authority and period into ``folder`` (default: the period folder).

    The files are ``<stem>.docx``, ``<stem>.pdf`` and ``annex_chart.png``; the letters DAG gives each
    letter its own folder (``letters/<letter_id>/``), the command line writes beside decisions.json.

    ``replaces`` (``document_number``, ``issued_at``) names the letter a re-issue replaces: the letter
    then says so ("Công văn này thay thế Công văn số 01/UBND-NV ngày 05/9/2023 của …").
    ``document_number`` is None for the draft ("Số:       /UBND-NV"); the distribution stage renders
    again with the number allocated from the register when the letter is issued. ``sign``: None signs
    when a certificate is configured (see ``cchc.letter.sign``), True requires one, False never signs.
    Everything is made in a private staging folder and moved into place only when every step
    succeeded, so a failure never leaves a half-filled letter or a PDF of an older DOCX.
    """
    authority = _authority(authority)
    decisions_path = Path(decisions_path).resolve()
    output_dir = Path(output_dir).resolve()
    template = Path(template) if template is not None else TEMPLATE_PATH
    decisions, decisions_sha256, signing = _check_inputs(decisions_path, authority, sign, pdf)
    period_folder = PeriodFolder(output_dir, authority.id, str(decisions["period"]))
    target = Path(folder).resolve() if folder is not None else period_folder.root
    number = None if document_number in (None, "") else str(document_number)
    meta = _meta(decisions, decisions_sha256, run_id, number)
    with _staging_in(target) as staging:
        staged = _produce(
            staging,
            template,
            decisions,
            authority,
            {"document_number": document_number, "replaces": replaces},
            meta,
            pdf=pdf,
            annex=annex,
            signing=signing,
            timeout=timeout,
            stem=stem,
        )
        hashes = publish(staged, target)
    result = _letter_result(
        authority,
        period_folder,
        target,
        stem,
        hashes,
        chart_path=target / CHART_NAME if annex else None,
        decisions_path=decisions_path,
        decisions_sha256=decisions_sha256,
        rulebook_version=meta["rulebook"],
        document_number=number,
        signed=signing is not None,
        run_id=run_id,
        template_path=template,
    )
    log.info(
        "công văn %s kỳ %s (%s): %s", authority.id, period_folder.period, result.status, result.docx_path
    )
    return result


def number_draft(
    draft_docx: str | os.PathLike,
    decisions_path: str | os.PathLike,
    authority: Authority | str | os.PathLike,
    output_dir: str | os.PathLike,
    document_number: int,
    run_id: str | None = None,
    *,
    folder: str | os.PathLike,
    stem: str = "letter",
    sign: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> LetterResult | None:
    """The issued letter made from its draft without rendering it again: the draft's DOCX with the
    number written in (``cchc.letter.numbering``), converted to PDF once and signed as a render signs.

    ``decisions_path`` is what the draft was rendered from (its snapshot). None, with nothing written,
    when the draft cannot be numbered in place (a template without the number's bookmarks): the caller
    renders in full with ``render_letter(…, document_number=…)``, which gives the same letter.
    """
    from cchc.letter.context import document_number_text
    from cchc.letter.numbering import fill_number

    authority = _authority(authority)
    decisions_path = Path(decisions_path).resolve()
    output_dir = Path(output_dir).resolve()
    decisions, decisions_sha256, signing = _check_inputs(decisions_path, authority, sign, True)
    period_folder = PeriodFolder(output_dir, authority.id, str(decisions["period"]))
    target = Path(folder).resolve()
    meta = _meta(decisions, decisions_sha256, run_id, str(document_number))
    with _staging_in(target) as staging:
        docx = staging / f"{stem}.docx"
        printed = document_number_text(document_number)
        if not fill_number(
            draft_docx, docx, printed, document_symbol=authority.document_symbol, comments=_comments(meta)
        ):
            return None
        pdf_file = to_pdf(docx, staging / f"{stem}.pdf", timeout=timeout)
        if signing is not None:
            _sign(pdf_file, signing, authority, decisions)
        hashes = publish([docx, pdf_file], target)
    chart = target / CHART_NAME
    result = _letter_result(
        authority,
        period_folder,
        target,
        stem,
        hashes,
        chart_path=chart if chart.exists() else None,
        decisions_path=decisions_path,
        decisions_sha256=decisions_sha256,
        rulebook_version=meta["rulebook"],
        document_number=str(document_number),
        signed=signing is not None,
        run_id=run_id,
        template_path=Path(draft_docx),
    )
    log.info(
        "công văn %s kỳ %s: số %s ghi vào bản thảo %s", authority.id, result.period, printed, result.docx_path
    )
    return result


# --------------------------------------------------------------------------------------------
# Reading a letter back
# --------------------------------------------------------------------------------------------


def _block_text(element, out: list[str]) -> None:
    for child in element.iterchildren():
        if child.tag == qn("w:p"):
            out.append("".join(t.text or "" for t in child.iter(qn("w:t"))))
        elif child.tag == qn("w:tbl"):
            for row in child.iterchildren(qn("w:tr")):
                for cell in row.iterchildren(qn("w:tc")):
                    properties = cell.find(qn("w:tcPr"))
                    merge = properties.find(qn("w:vMerge")) if properties is not None else None
                    # A vertically merged continuation cell repeats nothing: skip it.
                    if merge is not None and merge.get(qn("w:val")) in (None, "continue"):
                        continue
                    _block_text(cell, out)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                _block_text(content, out)


def letter_text(docx_path: str | os.PathLike) -> str:
    """Every paragraph of the document body, tables included, one per line, in reading order."""
    document = Document(str(docx_path))
    out: list[str] = []
    _block_text(document.element.body, out)
    return "\n".join(out)
