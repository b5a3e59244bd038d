"""The letter's record in the warehouse (tables ``letters`` and ``document_numbers``): write and read.

``record_letter`` inserts a rendered letter as the period's current letter (an earlier letter of the
same period stops being current), or, given ``letter_id``, refreshes that letter's files and hashes
after it was rendered again with its document number. ``find_letter`` reads one letter back as the
distribution sees it (``LetterRef``: its number, files and hashes). Paths are stored relative to the
output folder (``CCHC_OUTPUT_DIR``); numbers are allocated by ``cchc.delivery.issue``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from cchc.core import settings
from cchc.core.db import Bind, begin, connect, engine_of, mask_text, new_key
from cchc.core.errors import WarehouseError
from cchc.core.paths import PeriodFolder, relative_to_output, under_output
from cchc.core.periods import Period
from cchc.core.wording import document_number_text
from cchc.letter.errors import LetterError
from cchc.letter.lifecycle import PIPELINE, move, record_event
from cchc.warehouse.migrate import require_head
from cchc.warehouse.schema import document_numbers, letters

ISSUED = "issued"


@dataclass(frozen=True)
class LetterResult:
    authority_id: str
    period: str
    output_dir: Path
    folder: Path
    docx_path: Path
    docx_sha256: str
    pdf_path: Path | None
    pdf_sha256: str | None
    chart_path: Path | None
    decisions_path: Path
    decisions_sha256: str
    rulebook_version: str
    document_number: str | None
    signed: bool
    run_id: str | None
    template_path: Path

    @property
    def status(self) -> str:
        """'draft' until the letter carries a document number, then 'issued'."""
        return "issued" if self.document_number else "draft"

    def summary(self) -> dict[str, Any]:
        """JSON-safe description, for XCom, logs and `make demo`."""
        shown = {
            "authority_id": "authority",
            "docx_path": "docx",
            "pdf_path": "pdf",
            "chart_path": "chart",
            "decisions_path": "decisions",
        }
        out = {
            shown.get(k, k): str(v) if isinstance(v, Path) else v
            for k, v in asdict(self).items()
            if k not in ("output_dir", "folder", "template_path")
        }
        return {**out, "status": self.status}


def _relative(path: Path | None, output_dir: Path) -> str | None:
    return None if path is None else relative_to_output(path, output_dir)


def _number(result: LetterResult) -> int | None:
    if result.document_number is None:
        return None
    try:
        return int(result.document_number)
    except ValueError as exc:
        raise LetterError(
            f"số văn bản '{result.document_number}' không phải số nguyên: không ghi được vào kho"
        ) from exc


def record_letter(
    bind: Bind,
    result: LetterResult,
    *,
    letter_id: int | None = None,
    created_at: datetime | None = None,
    content: Mapping[str, Any] | None = None,
) -> int:
    """Store ``result`` in ``letters``; returns the letter id.

    Without ``letter_id``: a new row, current for its (authority, period); a draft the new row replaces
    before it was issued is discarded, and the new row's first step is recorded. With ``letter_id``:
    that row's paths, hashes, status and number are replaced by the re-rendered files'. ``content``
    adds what the letter was made from: ``content_hash``, ``decision_run_key``, ``replaces_letter_id``,
    ``reason``. Paths are stored relative to the output folder (CCHC_OUTPUT_DIR).
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
        **dict(content or {}),
    }
    where = f"công văn {result.authority_id}, kỳ {result.period}"
    engine = engine_of(bind)
    try:
        with begin(bind) as conn:
            require_head(conn)
            if letter_id is not None:
                row = conn.execute(
                    sa.select(letters.c.authority_id, letters.c.period).where(
                        letters.c.letter_id == letter_id
                    )
                ).first()
                if row is None:
                    raise LetterError(f"{where}: không có công văn số hiệu bản ghi {letter_id} trong kho")
                if (row.authority_id, row.period) != (result.authority_id, result.period):
                    raise LetterError(
                        f"{where}: bản ghi {letter_id} thuộc {row.authority_id}, kỳ {row.period}"
                    )
                conn.execute(letters.update().where(letters.c.letter_id == letter_id).values(**values))
                return letter_id
            previous = conn.execute(
                sa.select(letters.c.letter_id, letters.c.status).where(
                    letters.c.authority_id == result.authority_id,
                    letters.c.period == result.period,
                    letters.c.is_current == sa.true(),
                )
            ).first()
            if previous is not None:
                conn.execute(
                    letters.update().where(letters.c.letter_id == previous.letter_id).values(is_current=False)
                )
            inserted = conn.execute(
                letters.insert().values(
                    authority_id=result.authority_id,
                    period=result.period,
                    is_current=True,
                    created_at=stamp,
                    **values,
                )
            )
            new_id = new_key(inserted)
            record_event(
                conn,
                new_id,
                values["status"],
                previous=None,
                actor=PIPELINE,
                run_id=result.run_id,
                reason=values.get("reason"),
                at=stamp,
            )
            if previous is not None and previous.status in ("draft", "approved"):
                move(
                    conn,
                    previous.letter_id,
                    "discarded",
                    reason=f"thay bằng bản thảo mới (bản ghi {new_id})",
                    run_id=result.run_id,
                    at=stamp,
                )
            return new_id
    except (LetterError, WarehouseError):
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise WarehouseError(
            f"kho dữ liệu: không ghi được {where}: {mask_text(str(exc), engine.url)}"
        ) from exc


def letter_row(bind: Bind, letter_id: int) -> dict[str, Any]:
    with connect(bind) as conn:
        row = conn.execute(sa.select(letters).where(letters.c.letter_id == letter_id)).mappings().first()
    if row is None:
        raise LetterError(f"không có công văn bản ghi {letter_id} trong kho")
    return dict(row)


def standing_letter(bind: Bind, authority_id: str, period: str) -> dict[str, Any] | None:
    """The period's letter that went out and stands: numbered and not superseded (None if none)."""
    with connect(bind) as conn:
        row = (
            conn.execute(
                sa.select(letters)
                .where(
                    letters.c.authority_id == authority_id,
                    letters.c.period == str(period),
                    letters.c.status.in_(("issued", "sending", "sent", "partly_sent")),
                )
                .order_by(letters.c.letter_id.desc())
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def read_letters(bind: Bind, authority_id: str, period: str) -> list[dict[str, Any]]:
    """Every letter of a period, newest first (the current one has ``is_current``)."""
    query = (
        sa.select(letters)
        .where(letters.c.authority_id == authority_id, letters.c.period == str(period))
        .order_by(letters.c.letter_id.desc())
    )
    with connect(bind) as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


# ------------------------------------------------------------------------------ the distribution's view


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
        return None if self.document_number is None else document_number_text(self.document_number, symbol)


LetterKey = int | LetterRef | tuple[str, str | Period]


def select_letter(letter: LetterKey) -> sa.Select:
    """The query for one letter: by id, or the current letter of an authority and period."""
    if isinstance(letter, LetterRef):
        letter = letter.letter_id
    query = sa.select(letters)
    if isinstance(letter, int):
        return query.where(letters.c.letter_id == letter)
    authority_id, period = letter
    return query.where(
        letters.c.authority_id == str(authority_id),
        letters.c.period == str(period),
        letters.c.is_current == sa.true(),
    )


def describe_key(letter: LetterKey) -> str:
    if isinstance(letter, LetterRef):
        return f"công văn {letter.letter_id} ({letter.authority_id}, kỳ {letter.period})"
    if isinstance(letter, int):
        return f"công văn (bản ghi {letter})"
    return f"công văn của {letter[0]}, kỳ {letter[1]}"


def _path(value: Any, output_dir: Path | None) -> Path | None:
    if not value:
        return None
    return under_output(str(value), output_dir or settings.current().output_dir)


def find_letter(bind: Bind, letter: LetterKey, *, output_dir: str | os.PathLike | None = None) -> LetterRef:
    """The letter row by id or by (authority, period); a missing letter is an error naming the key.

    Relative file paths are read under ``output_dir`` (default ``CCHC_OUTPUT_DIR``). The number is the
    register's when the letter row does not carry it yet.
    """
    out = Path(output_dir) if output_dir is not None else None
    with connect(bind) as conn:
        row = conn.execute(select_letter(letter)).mappings().first()
        if row is None:
            raise LetterError(
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


def issued_number(bind: Bind, letter_id: int) -> int | None:
    """The number the register gave this letter, or None."""
    with connect(bind) as conn:
        return conn.execute(
            sa.select(document_numbers.c.number).where(document_numbers.c.letter_id == letter_id)
        ).scalar()


def default_paths(
    authority_id: str, period: str, output_dir: str | os.PathLike | None = None
) -> tuple[Path, Path]:
    """``<output>/<authority>/<period>/letter.pdf`` and ``letter.docx``, as the letter stage writes them."""
    folder = PeriodFolder(
        output_dir if output_dir is not None else settings.current().output_dir, authority_id, period
    )
    return folder.letter_pdf, folder.letter_docx
