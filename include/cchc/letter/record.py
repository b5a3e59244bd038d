"""The letter's record in the warehouse (table ``letters``, migration 0003).

``record_letter`` inserts the rendered letter as the period's current letter (an earlier letter of the
same period stops being current), or, given ``letter_id``, refreshes that letter's files and hashes
after the distribution stage re-rendered it with its document number. Numbers themselves are
allocated by the distribution stage in ``document_numbers``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cchc.letter.errors import LetterError
from cchc.letter.render import LetterResult
from cchc.letter.tables import letters
from cchc.warehouse.engine import mask_text
from cchc.warehouse.errors import WarehouseError
from cchc.warehouse.migrate import require_head


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """Inside the caller's transaction when given a Connection; else one transaction of our own."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.begin() as conn:
            yield conn


def _relative(path: Path | None, output_dir: Path) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(output_dir.resolve()).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def _number(result: LetterResult) -> int | None:
    if result.document_number is None:
        return None
    try:
        return int(result.document_number)
    except ValueError as exc:
        raise LetterError(f"số văn bản '{result.document_number}' không phải số nguyên: không ghi được vào kho") from exc


def record_letter(bind: Engine | Connection, result: LetterResult, *, letter_id: int | None = None,
                  created_at: datetime | None = None) -> int:
    """Store ``result`` in ``letters``; returns the letter id.

    Without ``letter_id``: a new row, current for its (authority, period). With ``letter_id``: that row's
    paths, hashes, status and number are replaced by the re-rendered files' (same authority and period).
    Paths are stored relative to the output folder (CCHC_OUTPUT_DIR).
    """
    stamp = created_at or datetime.now(UTC)
    number = _number(result)
    values: dict[str, Any] = {
        "status": result.status,
        "document_number": number,
        "decisions_hash": result.decisions_sha256,
        "rulebook_version": result.rulebook_version or "",
        "docx_path": _relative(result.docx_path, result.output_dir),
        "docx_sha256": result.docx_sha256,
        "pdf_path": _relative(result.pdf_path, result.output_dir),
        "pdf_sha256": result.pdf_sha256,
        "signed": result.signed,
        "run_id": result.run_id,
    }
    where = f"công văn {result.authority_id}, kỳ {result.period}"
    engine = bind if isinstance(bind, Engine) else bind.engine
    try:
        with _transaction(bind) as conn:
            require_head(conn)
            if letter_id is not None:
                row = conn.execute(sa.select(letters.c.authority_id, letters.c.period)
                                   .where(letters.c.letter_id == letter_id)).first()
                if row is None:
                    raise LetterError(f"{where}: không có công văn số hiệu bản ghi {letter_id} trong kho")
                if (row.authority_id, row.period) != (result.authority_id, result.period):
                    raise LetterError(f"{where}: bản ghi {letter_id} thuộc {row.authority_id}, kỳ {row.period}")
                conn.execute(letters.update().where(letters.c.letter_id == letter_id).values(**values))
                return letter_id
            conn.execute(
                letters.update()
                .where(letters.c.authority_id == result.authority_id, letters.c.period == result.period,
                       letters.c.is_current == sa.true())
                .values(is_current=False)
            )
            inserted = conn.execute(
                letters.insert().values(authority_id=result.authority_id, period=result.period, is_current=True,
                                        created_at=stamp, **values)
            )
            return int(inserted.inserted_primary_key[0])
    except (LetterError, WarehouseError):
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise WarehouseError(f"kho dữ liệu: không ghi được {where}: {mask_text(str(exc), engine.url)}") from exc


def read_letters(bind: Engine | Connection, authority_id: str, period: str) -> list[dict[str, Any]]:
    """Every letter of a period, newest first (the current one has ``is_current``)."""
    query = (sa.select(letters).where(letters.c.authority_id == authority_id, letters.c.period == str(period))
             .order_by(letters.c.letter_id.desc()))
    if isinstance(bind, Connection):
        return [dict(row) for row in bind.execute(query).mappings()]
    with bind.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def output_path(stored: str, output_dir: str | os.PathLike) -> Path:
    """A stored (relative) path under the output folder."""
    path = Path(stored)
    return path if path.is_absolute() else Path(output_dir) / path
