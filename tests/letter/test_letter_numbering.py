"""Issuing without rendering again (cchc.letter.numbering, render.number_draft): the issued letter is
the draft's DOCX with the number written in, nothing else changed, converted once, signed as before;
a draft that cannot be numbered in place is refused (the issue then renders in full)."""

from __future__ import annotations

import re
import zipfile

import pytest
from support.letters import normalise, run
from support.paths import SEED_AUTHORITY, SEED_DECISIONS

from cchc.letter.numbering import CORE_PART, DOCUMENT_PART, fill_number
from cchc.letter.render import letter_text, number_draft, render_letter

SYMBOL = "UBND-NV"
NUMBER_LINES = (
    ("Số:        /UBND-NV", "Số: 07/UBND-NV"),
    ("(Kèm theo Công văn số        /UBND-NV ngày", "(Kèm theo Công văn số 07/UBND-NV ngày"),
)


@pytest.fixture(scope="module")
def draft_docx(tmp_path_factory):
    out = tmp_path_factory.mktemp("draft")
    return render_letter(SEED_DECISIONS, SEED_AUTHORITY, out, pdf=False, run_id="draft-run").docx_path


def parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def numbered(text: str) -> str:
    for blank, number in NUMBER_LINES:
        text = text.replace(blank, number)
    return text


def test_the_number_is_the_only_change(tmp_path, draft_docx):
    target = tmp_path / "letter.docx"
    assert fill_number(draft_docx, target, "07", document_symbol=SYMBOL, comments="document_number: 7")
    before, after = parts(draft_docx), parts(target)
    assert list(before) == list(after)  # the same parts, in the same order
    assert {name for name in before if before[name] != after[name]} == {DOCUMENT_PART, CORE_PART}
    draft_lines, issued_lines = letter_text(draft_docx).splitlines(), letter_text(target).splitlines()
    assert len(draft_lines) == len(issued_lines)
    changed = [(a, b) for a, b in zip(draft_lines, issued_lines, strict=True) if a != b]
    assert len(changed) == 2  # the "Số:" line and the annex's "Kèm theo Công văn số …"
    assert letter_text(target) == numbered(letter_text(draft_docx))
    # The document.xml itself differs only by the two numbers.
    document = before[DOCUMENT_PART].decode()
    assert after[DOCUMENT_PART].decode() == document.replace(
        '<w:t xml:space="preserve">       </w:t>', '<w:t xml:space="preserve">07</w:t>'
    )
    assert b"document_number: 7" in after[CORE_PART]


def test_a_draft_that_cannot_be_numbered_in_place_is_refused(tmp_path, draft_docx):
    document = parts(draft_docx)[DOCUMENT_PART].decode()

    def variant(name: str, xml: str):
        path = tmp_path / f"{name}.docx"
        with zipfile.ZipFile(draft_docx) as source, zipfile.ZipFile(path, "w") as out:
            for info in source.infolist():
                data = xml.encode() if info.filename == DOCUMENT_PART else source.read(info.filename)
                out.writestr(info, data)
        return path

    no_marks = variant("no-marks", re.sub(r"<w:bookmark(Start|End) [^>]*/>", "", document))
    # The annex's number without its bookmark: it would go out blank.
    one_mark = variant("one-mark", re.sub(r'<w:bookmarkStart w:id="2" [^>]*/>', "", document))
    once = tmp_path / "once.docx"
    assert fill_number(draft_docx, once, "07", document_symbol=SYMBOL)
    for path in (no_marks, one_mark, once):  # once: already numbered
        target = tmp_path / f"numbered-{path.name}"
        assert not fill_number(path, target, "08", document_symbol=SYMBOL)
        assert not target.exists()


@pytest.mark.libreoffice
def test_the_issued_pdf_is_the_drafts_with_the_number_and_signed(
    tmp_path, monkeypatch, seed_letter, certificate
):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    monkeypatch.setenv("CCHC_SIGNING_P12", str(certificate["p12"]))
    monkeypatch.setenv("CCHC_SIGNING_PASSWORD", certificate["password"])
    folder = tmp_path / "letters" / "1"
    folder.mkdir(parents=True)
    issued = number_draft(
        seed_letter.docx_path, SEED_DECISIONS, SEED_AUTHORITY, tmp_path, 7, "issue-run", folder=folder
    )
    assert issued is not None and issued.document_number == "7" and issued.status == "issued"
    assert issued.signed and issued.pdf_path == folder / "letter.pdf"
    assert sorted(p.name for p in folder.iterdir()) == ["letter.docx", "letter.pdf"]  # no staging left

    draft_text = normalise(run("pdftotext", str(seed_letter.pdf_path), "-"))
    issued_text = normalise(run("pdftotext", str(issued.pdf_path), "-"))
    assert issued_text == draft_text.replace("Số: /UBND-NV", "Số: 07/UBND-NV").replace(
        "Công văn số /UBND-NV", "Công văn số 07/UBND-NV"
    )
    assert "Số: 07/UBND-NV" in issued_text and "Kèm theo Công văn số 07/UBND-NV" in issued_text
    # What a full render with the number prints, word for word.
    full = render_letter(SEED_DECISIONS, SEED_AUTHORITY, tmp_path / "full", document_number=7, sign=False)
    assert full.pdf_path is not None
    assert issued_text == normalise(run("pdftotext", str(full.pdf_path), "-"))
    assert letter_text(issued.docx_path) == letter_text(full.docx_path)

    with issued.pdf_path.open("rb") as handle:
        (signature,) = PdfFileReader(handle).embedded_signatures
        status = validate_pdf_signature(
            signature, ValidationContext(trust_roots=[load_cert_from_pemder(str(certificate["pem"]))])
        )
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
