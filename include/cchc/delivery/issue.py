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
number goes to the letter that will be sent. The numbered files are the draft's DOCX with the number
written in (``cchc.letter.render.number_draft``), or, when that cannot be done, a render with
``render_letter(…, document_number=…)``; then ``record_letter(…, letter_id=…)``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cchc.core.authorities import Authority
from cchc.core.db import advisory_lock, mask_text
from cchc.core.paths import DRAFT_STEM, LETTER_STEM, PeriodFolder, under_output
from cchc.core.periods import TIMEZONE
from cchc.delivery.errors import DeliveryError
from cchc.delivery.recipients import check_allowed, distribution_config, plan_recipients
from cchc.letter.content import content_hash
from cchc.letter.decisions import read_decisions_file
from cchc.letter.lifecycle import is_numbered, move
from cchc.letter.records import (
    ISSUED,
    LetterKey,
    LetterResult,
    describe_key,
    letter_row,
    record_letter,
    select_letter,
)
from cchc.warehouse.migrate import require_head
from cchc.warehouse.schema import document_numbers, letters

log = logging.getLogger(__name__)

_COLLISION_RETRIES = 3


def _issue_once(
    conn: Connection, letter: LetterKey, issued_at: datetime, run_id: str | None = None
) -> tuple[int, bool]:
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
        if row["document_number"] != existing.number or not is_numbered(row["status"]):
            # Repair a half-done issue.
            _mark_issued(conn, letter_id, existing.number, existing.issued_at, run_id)
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
    _mark_issued(conn, letter_id, number, issued_at, run_id)
    return number, True


def _mark_issued(
    conn: Connection, letter_id: int, number: int, issued_at: datetime, run_id: str | None = None
) -> None:
    move(
        conn,
        letter_id,
        ISSUED,
        values={"document_number": number, "issued_at": issued_at},
        details={"document_number": number},
        run_id=run_id,
        at=issued_at.astimezone(UTC),  # every event's time in UTC (SQLite keeps the text as given)
    )


def issue_letter(
    engine: Engine, letter: LetterKey, *, issued_at: datetime | None = None, run_id: str | None = None
) -> int:
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
                number, new = _issue_once(conn, letter, stamp, run_id)
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
    docx: Path
    pdf: Path
    rendered: bool  # False when the numbered files were already there (a retry, or a letter reused)


def check_before_number(
    engine: Engine,
    authority: Authority,
    row: dict[str, Any],
    folder: PeriodFolder,
    *,
    approval_required: bool,
) -> None:
    """Everything that must hold before a number is taken: the content is the draft's (and what the
    approver approved), and every recipient may receive it. Raises ``DeliveryError``, taking nothing."""
    where = f"công văn {authority.id} kỳ {row['period']} (bản ghi {row['letter_id']})"
    decisions, _ = read_decisions_file(folder.decisions_json)
    digest = content_hash(decisions, authority)
    if row["content_hash"] and digest != row["content_hash"]:
        raise DeliveryError(
            f"{where}: quyết định hoặc cấu hình đã thay đổi sau khi soạn bản thảo (nội dung {digest[:12]}, bản thảo "
            f"{row['content_hash'][:12]}): không cấp số, không gửi; chạy lại để soạn và duyệt bản thảo mới"
        )
    if approval_required:
        if row["status"] != "approved":
            raise DeliveryError(
                f"{where}: cần được duyệt trước khi cấp số (đang ở trạng thái {row['status']})"
            )
        if (
            row["approved_content_hash"] != row["content_hash"]
            or row["approved_pdf_sha256"] != row["pdf_sha256"]
        ):
            raise DeliveryError(
                f"{where}: nội dung hoặc tệp PDF khác bản đã được duyệt: không cấp số, không gửi; cần duyệt lại"
            )
    config = distribution_config(authority)
    plan = plan_recipients(authority, decisions, config)
    if not plan.recipients:
        raise DeliveryError(f"{where}: không có người nhận nào có địa chỉ email: không cấp số")
    units = decisions.get("units") or {}
    check_allowed(plan.recipients, config, unit_names={c: u.get("name", c) for c, u in units.items()})


def _number_the_draft(
    row: dict[str, Any],
    authority: Authority,
    decisions_path: Path,
    output_dir: str | os.PathLike,
    number: int,
    run_id: str | None,
    target: Path,
) -> LetterResult | None:
    """The numbered letter written into the draft's own DOCX (``number_draft``), or None for a full render.

    Only the draft the register knows is numbered: its DOCX must be the file recorded (same sha256) when
    it was rendered, and so approved; a file changed since, or missing, is rendered again from the
    decisions instead, as is a draft of a template without the number's bookmarks.
    """
    from cchc.core.files import sha256_file
    from cchc.letter.render import number_draft

    draft = under_output(row["docx_path"], output_dir) if row["docx_path"] else None
    if draft is None or draft.name != f"{DRAFT_STEM}.docx" or not draft.is_file():
        return None
    if sha256_file(draft) != row["docx_sha256"]:
        log.warning(
            "%s: tệp %s khác bản thảo đã ghi nhận (sha256): soạn lại công văn từ quyết định thay vì ghi số vào đó",
            describe_key(int(row["letter_id"])),
            draft,
        )
        return None
    result = number_draft(
        draft, decisions_path, authority, output_dir, number, run_id, folder=target, stem=LETTER_STEM
    )
    if result is None:
        log.info(
            "%s: mẫu không đánh dấu chỗ ghi số: soạn lại toàn bộ công văn",
            describe_key(int(row["letter_id"])),
        )
    return result


def issue_with_files(
    engine: Engine,
    authority: Authority,
    letter_id: int,
    output_dir: str | os.PathLike,
    *,
    issued_at: datetime | None = None,
    run_id: str | None = None,
    approval_required: bool | None = None,
) -> IssuedLetter:
    """Issue a draft: checks first (``check_before_number``), then its number, then its numbered files.

    The numbered DOCX is the draft's with the number written in (``_number_the_draft``: no second render;
    the draft already carries a re-issue's "thay thế …" line), converted to PDF once and signed, into
    ``letters/<letter_id>/letter.*``, once: a retry finds them. When the draft cannot be numbered in
    place, the letter is rendered again from the decisions the draft was made from (kept in the letter's
    folder), which prints the same. A re-issue marks the letter it replaces superseded.
    """
    from cchc.letter.pdf import prestart
    from cchc.letter.render import render_letter  # docxtpl, matplotlib: only when a letter is made

    row = letter_row(engine, letter_id)
    folder = PeriodFolder(output_dir, authority.id, row["period"])
    if not is_numbered(row["status"]):
        prestart()  # LibreOffice starts while the checks and the register are done
        required = (
            distribution_config(authority).require_approval
            if approval_required is None
            else approval_required
        )
        check_before_number(engine, authority, row, folder, approval_required=required)
    number = issue_letter(engine, letter_id, issued_at=issued_at, run_id=run_id)
    row = letter_row(engine, letter_id)
    target = folder.letter_dir(letter_id)
    current_pdf = under_output(row["pdf_path"], output_dir) if row["pdf_path"] else None
    if current_pdf is not None and current_pdf.name != f"{DRAFT_STEM}.pdf" and current_pdf.exists():
        # The numbered files exist (a retry, or a letter reused): they went out, or will: never again.
        return IssuedLetter(number, under_output(row["docx_path"], output_dir), current_pdf, rendered=False)
    snapshot = folder.letter_snapshot(letter_id)
    decisions_path = snapshot if snapshot.exists() else folder.decisions_json
    replaced = letter_row(engine, row["replaces_letter_id"]) if row["replaces_letter_id"] else None
    result = _number_the_draft(row, authority, decisions_path, output_dir, number, run_id, target)
    if result is None:
        result = render_letter(
            decisions_path,
            authority,
            output_dir,
            document_number=number,
            run_id=run_id,
            folder=target,
            stem=LETTER_STEM,
            replaces=None
            if replaced is None
            else {"document_number": replaced["document_number"], "issued_at": replaced["issued_at"]},
        )
    record_letter(engine, result, letter_id=letter_id)
    if replaced is not None and replaced["status"] != "superseded":
        move(
            engine,
            int(replaced["letter_id"]),
            "superseded",
            reason=row["reason"],
            run_id=run_id,
            details={"replaced_by": letter_id, "document_number": number},
        )
    log.info(
        "Đã cấp số %s/%s cho công văn %s kỳ %s: %s",
        number,
        authority.document_symbol,
        authority.id,
        row["period"],
        result.pdf_path,
    )
    return IssuedLetter(
        number, result.docx_path, result.pdf_path or target / f"{LETTER_STEM}.pdf", rendered=True
    )
