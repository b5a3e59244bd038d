"""DOCX → PDF through LibreOffice headless.

``to_pdf`` converts through the process's LibreOffice session (``cchc.letter.office``: one LibreOffice
kept running for every conversion of the process, with a timeout and a restart of a stuck one), or,
when the session cannot start or is turned off (``CCHC_LIBREOFFICE_SESSION=0``), with one soffice per
conversion (``cchc.letter.soffice``). Either way each LibreOffice has a private user profile, so two
tasks converting at once never share, lock or corrupt one. LibreOffice substitutes Liberation Serif,
metric-compatible, for Times New Roman where Times is absent, and embeds the fonts it used (a subset
with the Vietnamese glyphs) in the PDF; the session and the per-process path give the same PDF.
"""

from __future__ import annotations

from pathlib import Path

from cchc.core import settings
from cchc.letter import office
from cchc.letter.errors import PdfConversionError
from cchc.letter.office import OfficeSession
from cchc.letter.soffice import DEFAULT_TIMEOUT, convert_in_process, find_soffice

__all__ = ["DEFAULT_TIMEOUT", "OfficeSession", "convert_in_process", "find_soffice", "prestart", "to_pdf"]


def prestart(soffice: str | None = None) -> None:
    """Start the process's session in the background now, when a conversion will follow (a task
    process starts its own: its start then overlaps with making the DOCX). Never raises."""
    if not settings.current().libreoffice_session:
        return
    try:
        chosen = office.shared_session(soffice)
    except PdfConversionError:  # no soffice: the conversion says so
        return
    if chosen is not None:
        chosen.prestart()


def to_pdf(
    docx: str | Path,
    pdf: str | Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    soffice: str | None = None,
    session: OfficeSession | bool | None = None,
) -> Path:
    """Convert ``docx`` to ``pdf`` (written atomically); raises PdfConversionError saying why.

    ``session``: None uses the process's shared session (unless ``CCHC_LIBREOFFICE_SESSION=0``), falling
    back to one process per conversion when it cannot start; an ``OfficeSession`` uses that one; False
    runs one soffice for this conversion.
    """
    if session is False or (session is None and not settings.current().libreoffice_session):
        return convert_in_process(docx, pdf, timeout=timeout, soffice=soffice)
    chosen = session if isinstance(session, office.OfficeSession) else office.shared_session(soffice)
    if chosen is None:
        return convert_in_process(docx, pdf, timeout=timeout, soffice=soffice)
    try:
        return chosen.convert(docx, pdf, timeout=timeout)
    except office.SessionUnavailable as exc:
        if session is not None:
            raise
        office.mark_unavailable(str(exc))
        return convert_in_process(docx, pdf, timeout=timeout, soffice=soffice)
