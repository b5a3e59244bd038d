"""Errors of the letter stage, in the words an operator reads in the task log."""

from __future__ import annotations

from cchc.core.errors import CchcError


class LetterError(CchcError):
    """The letter could not be produced; no file of this attempt is left in the output folder."""


class LetterTemplateError(LetterError):
    """The Word template is broken (a Jinja syntax error) or asks for a field the data does not have."""


class DecisionsError(LetterError):
    """decisions.json does not follow docs/decisions.md."""


class PdfConversionError(LetterError):
    """LibreOffice is missing, failed or timed out while turning the DOCX into a PDF."""


class SigningError(LetterError):
    """The PDF could not be signed with the configured PKCS#12 certificate."""
