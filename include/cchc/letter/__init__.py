"""The letter: the monthly công văn in the legal format of Decree 30/2020, from decisions.json.

Typical use in the letters DAG's tasks::

    result = render_letter(decisions_path, authority, output_dir)        # draft: "Số:       /UBND-NV"
    letter_id = record_letter(engine, result)
    # after issue_letter(...) gave the number (distribution stage):
    issued = render_letter(decisions_path, authority, output_dir, document_number=number)
    record_letter(engine, issued, letter_id=letter_id)
    result.summary()                                                    # small dict for XCom

``render_letter`` fills the Word template (``templates/letter.docx``, editable by the office) from
decisions.json and authority.yaml, converts it to PDF with LibreOffice, signs the PDF when a
certificate is configured and writes ``letter.docx``, ``letter.pdf`` and ``annex_chart.png`` under
``<output_dir>/<authority>/<period>/`` atomically.

The names are imported lazily: ``cchc.letter.tables`` is imported by the warehouse schema (so that
the schema-vs-migrations check sees the letters' tables) and must not pull docxtpl, matplotlib or
the warehouse while the schema module is still loading; a DAG file importing this package stays
cheap to parse.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DecisionsError": "cchc.letter.errors",
    "LetterError": "cchc.letter.errors",
    "LetterTemplateError": "cchc.letter.errors",
    "PdfConversionError": "cchc.letter.errors",
    "SigningError": "cchc.letter.errors",
    "LetterResult": "cchc.letter.render",
    "letter_text": "cchc.letter.render",
    "render_letter": "cchc.letter.render",
    "to_pdf": "cchc.letter.pdf",
    "SigningConfig": "cchc.letter.sign",
    "sign_pdf": "cchc.letter.sign",
    "signing_config": "cchc.letter.sign",
    "read_letters": "cchc.letter.record",
    "record_letter": "cchc.letter.record",
    "load_decisions": "cchc.letter.decisions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cchc.letter' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
