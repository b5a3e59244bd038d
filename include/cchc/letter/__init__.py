"""The letter: the monthly công văn in the legal format of Decree 30/2020, from decisions.json.

Modules (import from the one that defines a name):

- ``decisions``: reading decisions.json and refusing one that breaks the contract;
- ``context``: what the Word template prints, shaped for the letter's prose; ``annex``: the annex;
- ``render``: template → DOCX → PDF (``pdf``: through the process's LibreOffice session, ``office``
  with its ``uno_bridge``, or one soffice per conversion, ``soffice``) → signature (``sign``, pyHanko),
  published atomically; ``number_draft`` (with ``numbering``): the issued letter as its draft with the
  number written in; ``layout``: the measures of Decree 30; ``build_template``: the shipped template;
- ``records``: the letter's row in the warehouse (``record_letter``) and read back (``find_letter``);
- ``cli``: ``cchc letter``.

Typical use in the letters DAG's tasks::

    result = render_letter(decisions_path, authority, output_dir)        # draft: "Số:       /UBND-NV"
    letter_id = record_letter(engine, result)
    # after cchc.delivery.issue.issue_letter(...) gave the number (issue_with_files does all this):
    issued = number_draft(result.docx_path, decisions_path, authority, output_dir, number, folder=folder)
    # ... or, when the draft cannot be numbered in place (None):
    issued = render_letter(decisions_path, authority, output_dir, document_number=number)
    record_letter(engine, issued, letter_id=letter_id)
"""
