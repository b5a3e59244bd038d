"""Issuing a letter: the next number of the authority's per-year register, gap-free, once per letter.

Everything happens in one transaction: lock the letter row, reuse its number if the register already
has one (a retried or rerun task gets the same number), else take ``max + 1`` of the year's register
under a lock that serialises issuers of the same authority and year, record it, mark the letter
issued. On PostgreSQL the locks are ``SELECT … FOR UPDATE`` on the letter and a transaction-scoped
advisory lock on (authority, year); on SQLite the warehouse engine opens every transaction with
``BEGIN IMMEDIATE``, which already admits one writer at a time. A transaction that fails leaves no
number behind, so the register has no gaps; its primary key (authority, year, number) is the last
line of defence, and a collision is retried.

A draft that is not current any more (the period's letter was rendered again) is not issued: the
number goes to the letter that will be sent. Re-rendering the DOCX/PDF with the number is the letter
stage's ``render_letter(…, document_number=…)`` followed by ``record_letter(…, letter_id=…)``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cchc.core.authorities import Authority
from cchc.core.db import advisory_lock, mask_text
from cchc.core.paths import PeriodFolder
from cchc.core.periods import TIMEZONE
from cchc.delivery.errors import DeliveryError
from cchc.letter.records import ISSUED, LetterKey, describe_key, find_letter, record_letter, select_letter
from cchc.warehouse.migrate import require_head
from cchc.warehouse.schema import document_numbers, letters

log = logging.getLogger(__name__)

_COLLISION_RETRIES = 3


def _issue_once(conn: Connection, letter: LetterKey, issued_at: datetime) -> tuple[int, bool]:
    require_head(conn)
    postgres = conn.dialect.name == "postgresql"
    query = select_letter(letter)
    if postgres:
        query = query.with_for_update(of=letters)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise DeliveryError(f"không tìm thấy {describe_key(letter)} để cấp số: chạy bước soạn công văn trước")
    letter_id = row["letter_id"]

    existing = conn.execute(
        sa.select(document_numbers.c.number, document_numbers.c.issued_at).where(
            document_numbers.c.letter_id == letter_id
        )
    ).first()
    if existing is not None:
        if row["document_number"] != existing.number or row["status"] != ISSUED:
            _mark_issued(conn, letter_id, existing.number, existing.issued_at)  # repair a half-done issue
        return int(existing.number), False
    if not row["is_current"]:
        raise DeliveryError(
            f"{describe_key(letter)} không còn là bản hiện hành của kỳ {row['period']} (đã có bản soạn lại): "
            "không cấp số cho bản cũ"
        )

    year = issued_at.year
    authority_id = row["authority_id"]
    advisory_lock(conn, "cchc.document_numbers", authority_id, year)
    last = conn.execute(
        sa.select(sa.func.max(document_numbers.c.number)).where(
            document_numbers.c.authority_id == authority_id, document_numbers.c.year == year
        )
    ).scalar()
    number = int(last or 0) + 1
    conn.execute(
        document_numbers.insert().values(
            authority_id=authority_id, year=year, number=number, letter_id=letter_id, issued_at=issued_at
        )
    )
    _mark_issued(conn, letter_id, number, issued_at)
    return number, True


def _mark_issued(conn: Connection, letter_id: int, number: int, issued_at: datetime) -> None:
    conn.execute(
        letters.update()
        .where(letters.c.letter_id == letter_id)
        .values(status=ISSUED, document_number=number, issued_at=issued_at)
    )


def issue_letter(engine: Engine, letter: LetterKey, *, issued_at: datetime | None = None) -> int:
    """The letter's document number: taken from the register on the first call, the same on every later one.

    ``letter`` is the letter id or ``(authority_id, period)`` (the period's current letter). The
    register's year is the year of ``issued_at`` (default: now, Asia/Ho_Chi_Minh): a December letter
    issued in January takes a number of the new year.
    """
    stamp = issued_at or datetime.now(TIMEZONE)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=TIMEZONE)
    stamp = stamp.astimezone(TIMEZONE)
    for attempt in range(1, _COLLISION_RETRIES + 1):
        try:
            with engine.begin() as conn:
                number, new = _issue_once(conn, letter, stamp)
        except sa.exc.IntegrityError as exc:
            # Another issuer took the same number in between (only possible without the locks above).
            if attempt == _COLLISION_RETRIES:
                raise DeliveryError(
                    f"không cấp được số cho {describe_key(letter)}: {mask_text(str(exc.orig), engine.url)}"
                ) from exc
            continue
        except sa.exc.DBAPIError as exc:
            raise DeliveryError(
                f"kho dữ liệu: lỗi khi cấp số cho {describe_key(letter)} (không số nào bị dùng): "
                f"{mask_text(str(exc.orig), engine.url)}"
            ) from exc
        log.info(
            "%s: %s số %d (sổ năm %d)", describe_key(letter), "cấp" if new else "đã có", number, stamp.year
        )
        return number
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class IssuedLetter:
    number: int
    docx: Path | None
    pdf: Path | None
    kept_files: bool


def issue_with_files(
    engine: Engine,
    authority: Authority,
    letter_id: int,
    output_dir: str | os.PathLike,
    *,
    issued_at: datetime | None = None,
    run_id: str | None = None,
) -> IssuedLetter:
    """The letter's number (the same one on a retry), written into its DOCX and PDF.

    Once sending has started, the files recipients got must stay exactly as they are: they are kept.
    """
    from cchc.delivery.status import distribution_report
    from cchc.letter.render import render_letter  # docxtpl, matplotlib: only when a letter is made

    number = issue_letter(engine, letter_id, issued_at=issued_at)
    ref = find_letter(engine, letter_id, output_dir=output_dir)
    if distribution_report(engine, letter_id)["counts"].get("total"):
        log.info("Công văn %s kỳ %s (số %s) đã bắt đầu gửi: giữ nguyên tệp", authority.id, ref.period, number)
        return IssuedLetter(number, None, None, kept_files=True)
    folder = PeriodFolder(output_dir, authority.id, ref.period)
    result = render_letter(
        folder.decisions_json, authority, output_dir, document_number=number, run_id=run_id
    )
    record_letter(engine, result, letter_id=letter_id)
    log.info(
        "Đã cấp số %s/%s cho công văn %s kỳ %s", number, authority.document_symbol, authority.id, ref.period
    )
    return IssuedLetter(number, result.docx_path, result.pdf_path, kept_files=False)
