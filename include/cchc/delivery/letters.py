"""The letter as the distribution sees it: its warehouse row, its files and its document number.

The ``letters`` and ``document_numbers`` tables belong to the letter stage (``cchc.letter.tables``,
migration 0003): a letter is a draft until the distribution stage issues it with a number from the
register; paths are stored relative to the output folder (``CCHC_OUTPUT_DIR``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cchc.config import output_dir_from_env
from cchc.delivery.errors import DeliveryError
from cchc.letter.tables import document_numbers, letters
from cchc.periods import Period

ISSUED = "issued"


@dataclass(frozen=True)
class LetterRef:
    """One letter row: what the emails attach and quote."""

    letter_id: int
    authority_id: str
    period: str
    status: str | None = None
    document_number: int | None = None
    pdf_path: Path | None = None
    docx_path: Path | None = None
    issued_at: datetime | None = None
    pdf_sha256: str | None = None
    docx_sha256: str | None = None

    @property
    def issued(self) -> bool:
        return self.document_number is not None

    @property
    def period_obj(self) -> Period:
        return Period.parse(self.period)

    def number_text(self, symbol: str) -> str | None:
        """'15/UBND-NV', or None before the letter is issued."""
        from cchc.delivery.issue import document_number_text

        return None if self.document_number is None else document_number_text(self.document_number, symbol)


LetterKey = int | LetterRef | tuple[str, str | Period]


@contextmanager
def connection(bind: Engine | Connection) -> Iterator[Connection]:
    """The caller's connection, or a new one on the engine."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            yield conn
    else:
        yield bind


def select_letter(letter: LetterKey) -> sa.Select:
    """The query for one letter: by id, or the current letter of an authority and period."""
    if isinstance(letter, LetterRef):
        letter = letter.letter_id
    query = sa.select(letters)
    if isinstance(letter, int):
        return query.where(letters.c.letter_id == letter)
    authority_id, period = letter
    return query.where(letters.c.authority_id == str(authority_id), letters.c.period == str(period),
                       letters.c.is_current == sa.true())


def describe_key(letter: LetterKey) -> str:
    if isinstance(letter, LetterRef):
        return f"công văn {letter.letter_id} ({letter.authority_id}, kỳ {letter.period})"
    if isinstance(letter, int):
        return f"công văn (bản ghi {letter})"
    return f"công văn của {letter[0]}, kỳ {letter[1]}"


def _path(value: Any, output_dir: Path | None) -> Path | None:
    if not value:
        return None
    path = Path(str(value))
    if not path.is_absolute():
        path = (output_dir or output_dir_from_env()) / path
    return path


def find_letter(
    bind: Engine | Connection, letter: LetterKey, *, output_dir: str | os.PathLike | None = None
) -> LetterRef:
    """The letter row by id or by (authority, period); a missing letter is an error naming the key.

    Relative file paths are read under ``output_dir`` (default ``CCHC_OUTPUT_DIR``). The number is the
    register's when the letter row does not carry it yet.
    """
    out = Path(output_dir) if output_dir is not None else None
    with connection(bind) as conn:
        row = conn.execute(select_letter(letter)).mappings().first()
        if row is None:
            raise DeliveryError(
                f"không tìm thấy {describe_key(letter)} trong kho dữ liệu: chạy bước soạn công văn trước"
            )
        number = row["document_number"]
        if number is None:
            number = issued_number(conn, row["letter_id"])
    return LetterRef(
        letter_id=int(row["letter_id"]),
        authority_id=str(row["authority_id"]),
        period=str(row["period"]),
        status=row["status"],
        document_number=int(number) if number is not None else None,
        pdf_path=_path(row["pdf_path"], out),
        docx_path=_path(row["docx_path"], out),
        issued_at=row["issued_at"],
        pdf_sha256=row["pdf_sha256"],
        docx_sha256=row["docx_sha256"],
    )


def issued_number(bind: Engine | Connection, letter_id: int) -> int | None:
    """The number the register gave this letter, or None."""
    with connection(bind) as conn:
        return conn.execute(
            sa.select(document_numbers.c.number).where(document_numbers.c.letter_id == letter_id)
        ).scalar()


def default_paths(authority_id: str, period: str, output_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """``<output>/<authority>/<period>/letter.pdf`` and ``letter.docx``, as the letter stage writes them."""
    folder = Path(output_dir) if output_dir is not None else output_dir_from_env()
    base = folder / authority_id / str(period)
    return base / "letter.pdf", base / "letter.docx"
