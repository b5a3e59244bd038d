"""Writing the document number into the approved draft's DOCX, instead of rendering the letter again.

Issuing changes nothing in a letter but its number: the draft already says what the letter says (a
re-issue's "Công văn này thay thế …" line included) and the date line leaves the day blank in both.
The template puts each ``{{ number }}`` alone in a run between the bookmarks ``_cchc_so_<n>`` (the
"Số:" line and the annex's "Kèm theo Công văn số …"), which the draft prints as blanks; ``fill_number``
writes the number there, in a copy of the draft, and changes nothing else in the file: every other
part of the DOCX is copied byte for byte, and the document's comments (``document_number``,
``run_id``) are the only other text that changes.

It refuses (returns False, writing nothing) when it cannot be sure: no bookmark (a template edited
without them), a bookmark that is not a blank number, or a blank number left over outside the
bookmarks (``"       /UBND-NV"``). The caller then renders the letter again in full.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from lxml import etree

from cchc.letter.build_template import NUMBER_BOOKMARK
from cchc.letter.context import BLANK_NUMBER

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DC = "http://purl.org/dc/elements/1.1/"
DOCUMENT_PART = "word/document.xml"
CORE_PART = "docProps/core.xml"


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


def _paragraph_texts(root) -> list[str]:
    return ["".join(t.text or "" for t in p.iter(_w("t"))) for p in root.iter(_w("p"))]


def _fill(root, number: str) -> int | None:
    """Number every bookmarked blank of ``root``; how many, or None when one is not a blank number."""
    filled = 0
    for start in root.iter(_w("bookmarkStart")):
        if not (start.get(_w("name")) or "").startswith(NUMBER_BOOKMARK):
            continue
        mark = start.get(_w("id"))
        runs = []
        node = start.getnext()
        while node is not None and not (node.tag == _w("bookmarkEnd") and node.get(_w("id")) == mark):
            if node.tag == _w("r"):
                runs.append(node)
            node = node.getnext()
        if node is None:  # the bookmark does not end in this paragraph: not the template's
            return None
        texts = [t for run in runs for t in run.iter(_w("t"))]
        if not texts or "".join(t.text or "" for t in texts) != BLANK_NUMBER:
            return None  # not a draft's blank (already numbered, or edited)
        texts[0].text = number
        for extra in texts[1:]:
            extra.text = ""
        filled += 1
    return filled


def _serialise(root) -> bytes:
    data: bytes = etree.tostring(root, encoding="UTF-8", standalone=True)  # as python-docx writes a part
    return data


def fill_number(
    draft: str | os.PathLike,
    target: str | os.PathLike,
    number: str,
    *,
    document_symbol: str,
    comments: str | None = None,
) -> bool:
    """A copy of ``draft`` at ``target`` with ``number`` ("07") in its bookmarked blanks; False (and
    nothing written) when the draft cannot be numbered this way. ``comments`` replaces the document's
    comments (the render's ``decisions_sha256: …; document_number: …`` line)."""
    leftover = f"{BLANK_NUMBER}/{document_symbol}"
    with zipfile.ZipFile(draft) as source:
        names = source.namelist()
        if DOCUMENT_PART not in names:
            return False
        document = etree.fromstring(source.read(DOCUMENT_PART))
        filled = _fill(document, number)
        if not filled:
            return False
        parts = {DOCUMENT_PART: document}
        # A number field the bookmarks missed (the body, or a page header or footer) would go out blank.
        for name in names:
            if name.startswith("word/") and name.endswith(".xml") and name != DOCUMENT_PART:
                if name.startswith(("word/header", "word/footer")):
                    parts[name] = etree.fromstring(source.read(name))
        if any(leftover in text for root in parts.values() for text in _paragraph_texts(root)):
            return False
        replaced = {DOCUMENT_PART: _serialise(document)}
        if comments is not None and CORE_PART in names:
            core = etree.fromstring(source.read(CORE_PART))
            description = core.find(f"{{{DC}}}description")
            if description is None:
                description = etree.SubElement(core, f"{{{DC}}}description")
            description.text = comments
            replaced[CORE_PART] = _serialise(core)
        target = Path(target)
        with zipfile.ZipFile(target, "w") as out:
            for info in source.infolist():
                out.writestr(info, replaced.get(info.filename) or source.read(info.filename))
    return True
