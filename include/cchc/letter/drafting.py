"""The draft of a period's letter: rendered from decisions.json, or the current letter reused.

A rerun with the same decisions keeps the period's current letter (draft or issued, with its number
and ledger), so nothing is issued or sent twice; revised decisions make a new letter.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from cchc.core.authorities import Authority
from cchc.core.errors import ConfigError
from cchc.core.files import sha256_file
from cchc.core.paths import PeriodFolder, under_output
from cchc.core.periods import Period
from cchc.letter.records import read_letters, record_letter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    letter_id: int
    docx: Path
    pdf: Path
    reused: bool


def draft_letter(
    engine: Engine,
    authority: Authority,
    period: Period | str,
    output_dir: str | os.PathLike,
    run_id: str | None = None,
) -> Draft:
    """The period's current letter if it was made from the same decisions.json, else a new draft."""
    from cchc.letter.render import render_letter  # docxtpl, matplotlib: only when a letter is made

    folder = PeriodFolder(output_dir, authority.id, period)
    decisions = folder.decisions_json
    if not decisions.exists():
        raise ConfigError(
            f"{authority.id}, kỳ {folder.period}: chưa có {decisions}; chạy DAG cchc_monthly cho kỳ này trước"
        )
    digest = sha256_file(decisions)
    current = next(
        (row for row in read_letters(engine, authority.id, folder.period) if row["is_current"]), None
    )
    if current and current["decisions_hash"] == digest:
        log.info(
            "Công văn %s kỳ %s đã có (mã %s, %s), quyết định không đổi: dùng lại",
            authority.id,
            folder.period,
            current["letter_id"],
            current["status"],
        )
        return Draft(
            current["letter_id"],
            under_output(current["docx_path"], output_dir),
            under_output(current["pdf_path"], output_dir),
            reused=True,
        )
    result = render_letter(decisions, authority, output_dir, run_id=run_id)
    letter_id = record_letter(engine, result)
    log.info(
        "Bản thảo công văn %s kỳ %s: %s, %s", authority.id, folder.period, result.docx_path, result.pdf_path
    )
    return Draft(letter_id, result.docx_path, result.pdf_path or folder.letter_pdf, reused=False)
