"""The letter: the monthly công văn in the legal format of Decree 30/2020, from decisions.json.

Modules (import from the one that defines a name):

- ``decisions``: reading decisions.json and refusing one that breaks the contract;
- ``context``: what the Word template prints, shaped for the letter's prose; ``annex``: the annex;
- ``render``: template → DOCX → PDF (``pdf``, LibreOffice) → signature (``sign``, pyHanko), published
  atomically; ``layout``: the measures of Decree 30; ``build_template``: the shipped template;
- ``records``: the letter's row in the warehouse (``record_letter``) and read back (``find_letter``);
- ``cli``: ``cchc letter``.

Typical use in the letters DAG's tasks::

    result = render_letter(decisions_path, authority, output_dir)        # draft: "Số:       /UBND-NV"
    letter_id = record_letter(engine, result)
    # after cchc.delivery.issue.issue_letter(...) gave the number:
    issued = render_letter(decisions_path, authority, output_dir, document_number=number)
    record_letter(engine, issued, letter_id=letter_id)
"""
