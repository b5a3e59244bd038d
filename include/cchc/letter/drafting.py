"""The period's letter for a run: the letter that went out, the pending draft, a new draft, or a revision.

An issued letter is a record: a rerun never renumbers, changes or resends it. What a run does:

- a letter of the period went out (issued and not superseded) and prints the same content (the
  canonical hash of ``cchc.letter.content``): it is reused — a corrected address is a delivery matter;
- it went out and the recomputed decisions print something else (figures revised, rules changed, a
  late load): nothing is made or sent; ``revision.json`` says what changed, old → new;
- an operator asked for a re-issue (with a reason): a new draft that replaces the letter that went
  out, which gets a new number when issued and says it replaces the old one;
- otherwise the pending draft of the same content (draft or approved) is kept, or a new draft made.

Each letter's files live in its own folder ``letters/<letter_id>/``: the draft (``draft.docx``,
``draft.pdf``) and, from the issue on, the numbered ``letter.docx``/``letter.pdf``, never changed after.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from cchc.core.authorities import Authority
from cchc.core.errors import ConfigError
from cchc.core.files import atomic_write, atomic_write_json, move_folder, sha256_file
from cchc.core.paths import (
    AUTHORITY_SNAPSHOT,
    DECISIONS_NAME,
    DRAFT_STEM,
    PeriodFolder,
    relative_to_output,
    under_output,
)
from cchc.core.periods import Period
from cchc.letter.content import authority_printed, content_hash, revision, revision_lines
from cchc.letter.decisions import read_decisions_file
from cchc.letter.errors import LetterError
from cchc.letter.records import letter_row, read_letters, record_letter, standing_letter
from cchc.warehouse.schema import decision_runs, letters

log = logging.getLogger(__name__)

PENDING = ("draft", "approved")


@dataclass(frozen=True)
class Reissue:
    """An operator's explicit request to replace the letter that went out, and why."""

    reason: str
    actor: str = "cchc"

    def __post_init__(self) -> None:
        if not self.reason or not self.reason.strip():
            raise ConfigError("phát hành lại công văn cần nêu lý do (tham số reissue_reason)")


@dataclass(frozen=True)
class Draft:
    """What the run works on. ``outcome``: ``draft`` (to approve and issue), ``reused`` (went out,
    same content), ``revision`` (went out, content changed: nothing is done but the report)."""

    outcome: str
    letter_id: int | None
    content_hash: str
    docx: Path | None = None
    pdf: Path | None = None
    status: str | None = None
    document_number: int | None = None
    replaces: int | None = None
    revision: Path | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def reused(self) -> bool:
        return self.outcome == "reused"


def _current(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in rows if r["is_current"]), None)


def _same_content(row: dict[str, Any], digest: str, decisions_sha: str) -> bool:
    # Letters recorded before the content hash existed are compared on the decisions.json bytes.
    return row["content_hash"] == digest if row["content_hash"] else row["decisions_hash"] == decisions_sha


def _as_draft(row: dict[str, Any], outcome: str, digest: str, output_dir: str | os.PathLike) -> Draft:
    return Draft(
        outcome=outcome,
        letter_id=int(row["letter_id"]),
        content_hash=row["content_hash"] or digest,
        docx=under_output(row["docx_path"], output_dir),
        pdf=under_output(row["pdf_path"], output_dir),
        status=row["status"],
        document_number=row["document_number"],
        replaces=row["replaces_letter_id"],
    )


def _decision_run(engine: Engine, authority_id: str, period: str) -> int | None:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return conn.execute(
            sa.select(decision_runs.c.run_key).where(
                decision_runs.c.authority_id == authority_id,
                decision_runs.c.period == period,
                decision_runs.c.is_current.is_(True),
            )
        ).scalar()


def draft_letter(
    engine: Engine,
    authority: Authority,
    period: Period | str,
    output_dir: str | os.PathLike,
    run_id: str | None = None,
    *,
    reissue: Reissue | None = None,
) -> Draft:
    """The letter this run works on (see the module's docstring); makes a draft only when needed."""
    folder = PeriodFolder(output_dir, authority.id, period)
    if not folder.decisions_json.exists():
        raise ConfigError(
            f"{authority.id}, kỳ {folder.period}: chưa có {folder.decisions_json}; chạy DAG cchc_monthly cho kỳ "
            "này trước"
        )
    decisions, decisions_sha = read_decisions_file(folder.decisions_json)
    digest = content_hash(decisions, authority)
    rows = read_letters(engine, authority.id, folder.period)
    current, standing = _current(rows), standing_letter(engine, authority.id, folder.period)
    pending = current if current is not None and current["status"] in PENDING else None

    if reissue is not None:
        if standing is None:
            raise LetterError(
                f"{authority.id}, kỳ {folder.period}: chưa có công văn nào đã phát hành để phát hành lại"
            )
        if (
            pending
            and pending["replaces_letter_id"] == standing["letter_id"]
            and _same_content(pending, digest, decisions_sha)
        ):
            return _as_draft(pending, "draft", digest, output_dir)  # a retry of the same re-issue
        if run_id and standing["replaces_letter_id"] is not None and standing["run_id"] == run_id:
            # This very run issued the replacement already (a cleared task, a rerun of the same Airflow
            # run): one request, one new letter. Another re-issue is another request (another run).
            log.info(
                "Công văn %s kỳ %s số %s là bản phát hành lại của chính lần chạy %s: dùng lại",
                authority.id,
                folder.period,
                standing["document_number"],
                run_id,
            )
            return _as_draft(standing, "reused", digest, output_dir)
        return _new_draft(
            engine,
            authority,
            folder,
            decisions,
            decisions_sha,
            digest,
            run_id,
            replaces=int(standing["letter_id"]),
            reason=reissue.reason.strip(),
        )
    if standing is not None:
        if (
            pending
            and pending["replaces_letter_id"] == standing["letter_id"]
            and _same_content(pending, digest, decisions_sha)
        ):
            return _as_draft(pending, "draft", digest, output_dir)  # a re-issue waiting for approval
        if _same_content(standing, digest, decisions_sha):
            log.info(
                "Công văn %s kỳ %s số %s đã phát hành, nội dung không đổi: dùng lại (không cấp số, không "
                "gửi lại cho ai đã nhận)",
                authority.id,
                folder.period,
                standing["document_number"],
            )
            return _as_draft(standing, "reused", digest, output_dir)
        return _report_revision(authority, folder, standing, decisions, digest)
    if pending and _same_content(pending, digest, decisions_sha):
        log.info(
            "Bản thảo công văn %s kỳ %s (bản ghi %s, %s) cùng nội dung: dùng lại",
            authority.id,
            folder.period,
            pending["letter_id"],
            pending["status"],
        )
        return _as_draft(pending, "draft", digest, output_dir)
    return _new_draft(engine, authority, folder, decisions, decisions_sha, digest, run_id)


def _new_draft(
    engine: Engine,
    authority: Authority,
    folder: PeriodFolder,
    decisions: dict[str, Any],
    decisions_sha: str,
    digest: str,
    run_id: str | None,
    *,
    replaces: int | None = None,
    reason: str | None = None,
) -> Draft:
    """Render a draft into a staging folder, then record it and move the folder to ``letters/<id>/``."""
    from cchc.letter.render import render_letter  # docxtpl, matplotlib: only when a letter is made

    replaced = letter_row(engine, replaces) if replaces is not None else None
    staging = folder.letters_dir / f".new-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        result = render_letter(
            folder.decisions_json,
            authority,
            folder.output_dir,
            run_id=run_id,
            folder=staging,
            stem=DRAFT_STEM,
            replaces=_replaced_text(authority, replaced),
        )
        # What the letter was made from stays with it: the revision report compares against these.
        atomic_write(staging / DECISIONS_NAME, folder.decisions_json.read_bytes())
        atomic_write_json(staging / AUTHORITY_SNAPSHOT, authority_printed(authority))
        content = {
            "content_hash": digest,
            "decision_run_key": _decision_run(engine, authority.id, folder.period),
            "replaces_letter_id": replaces,
            "reason": reason,
        }
        with engine.begin() as conn:
            letter_id = record_letter(conn, result, content=content)
            target = folder.letter_dir(letter_id)
            # A folder already there was left by a run whose transaction did not commit: no record owns it.
            move_folder(staging, target)
            moved = replace(
                result,
                folder=target,
                docx_path=target / result.docx_path.name,
                pdf_path=target / result.pdf_path.name if result.pdf_path else None,
                chart_path=target / result.chart_path.name if result.chart_path else None,
            )
            conn.execute(
                letters.update()
                .where(letters.c.letter_id == letter_id)
                .values(
                    docx_path=relative_to_output(moved.docx_path, folder.output_dir),
                    pdf_path=relative_to_output(moved.pdf_path, folder.output_dir)
                    if moved.pdf_path
                    else None,
                )
            )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info(
        "Bản thảo công văn %s kỳ %s: bản ghi %s, %s%s",
        authority.id,
        folder.period,
        letter_id,
        moved.pdf_path,
        f" (thay thế bản ghi {replaces}: {reason})" if replaces else "",
    )
    return Draft(
        "draft",
        letter_id,
        digest,
        moved.docx_path,
        moved.pdf_path or moved.docx_path,
        "draft",
        replaces=replaces,
    )


def _replaced_text(authority: Authority, replaced: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the replacing letter says of the one it replaces: its number and date."""
    if replaced is None:
        return None
    return {
        "document_number": replaced["document_number"],
        "issued_at": replaced["issued_at"],
        "letter_id": replaced["letter_id"],
    }


def _report_revision(
    authority: Authority,
    folder: PeriodFolder,
    standing: dict[str, Any],
    decisions: dict[str, Any],
    digest: str,
) -> Draft:
    """The letter went out and the decisions now print something else: say what, send nothing."""
    letter_id = int(standing["letter_id"])
    snapshot = folder.letter_snapshot(letter_id)
    old: dict[str, Any] = {}
    if snapshot.exists():
        old, _ = read_decisions_file(snapshot)
    old_authority = (
        json.loads(folder.letter_authority(letter_id).read_text(encoding="utf-8"))
        if folder.letter_authority(letter_id).exists()
        else None
    )
    changes = revision(old, decisions, old_authority, authority_printed(authority))
    lines = revision_lines(changes)
    report = {
        "authority": authority.id,
        "period": folder.period,
        "letter_id": letter_id,
        "document_number": standing["document_number"],
        "issued_content_hash": standing["content_hash"],
        "new_content_hash": digest,
        "changes": changes,
        "lines": lines,
    }
    atomic_write_json(folder.revision_json, report)
    log.warning(
        "Công văn %s kỳ %s số %s đã phát hành nhưng quyết định tính lại khác (%d thay đổi): không gửi gì; "
        "xem %s; phát hành lại bằng tham số reissue (kèm lý do) nếu cần:\n%s",
        authority.id,
        folder.period,
        standing["document_number"],
        len(lines),
        folder.revision_json,
        "\n".join(lines),
    )
    return Draft(
        "revision",
        letter_id,
        digest,
        status=standing["status"],
        document_number=standing["document_number"],
        revision=folder.revision_json,
        changes=lines,
    )


def pdf_sha(draft: Draft) -> str | None:
    return sha256_file(draft.pdf) if draft.pdf is not None and draft.pdf.exists() else None
