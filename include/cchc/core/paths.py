"""The period folder: where every artefact of one authority's month lives, named in one place.

    <output>/<authority>/<period>/
        raw/NNN/…, raw/NNN/manifest.jsonl   every portal answer as received, one folder per extraction
        extracted/extracted.csv              the tidy table; extracted/parent_totals.json the portal's totals
        validation/index.html …              Great Expectations Data Docs; validation/result.json the latest
        decisions.json                       the decisions (docs/decisions.md)
        letter.docx, letter.pdf, annex_chart.png   the period's current letter
        letters/<letter_id>/…                each letter's own files: draft.*, letter.* (issued, never
                                             changed), decisions.json and authority.json it was made from
        revision.json                        what changed since the issued letter (figures revised …)
    <output>/mail/<period>/                  the local SMTP sink's messages of make demo / make run
    <output>/mail/airflow/                   the local SMTP sink's messages of make airflow (any period)
    <output>/logs/                           logs of the helpers make run / make airflow start
    <output>/runs/<dag_id>/<run_id>.json     every authority's outcome in one Airflow run (its summary)
    <output>/warehouse.db                    the embedded warehouse
    <inbox>/<authority>/<period>.xlsx        an Excel export dropped for the extract stage

The authority id and the period are checked here, so no path built from configuration or a request
can leave the output folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cchc.core.errors import ConfigError
from cchc.core.periods import Period

RAW_DIR = "raw"
MANIFEST_NAME = "manifest.jsonl"
EXTRACTED_DIR = "extracted"
EXTRACTED_NAME = "extracted.csv"
PARENT_TOTALS_NAME = "parent_totals.json"
VALIDATION_DIR = "validation"
VALIDATION_RESULT_NAME = "result.json"
VALIDATION_RUNS_DIR = "runs"
DECISIONS_NAME = "decisions.json"
DOCX_NAME = "letter.docx"
PDF_NAME = "letter.pdf"
CHART_NAME = "annex_chart.png"
LETTERS_DIR = "letters"
REVISION_NAME = "revision.json"
DRAFT_STEM = "draft"
LETTER_STEM = "letter"
AUTHORITY_SNAPSHOT = "authority.json"
MAIL_DIR = "mail"
STANDALONE_MAIL_DIR = "airflow"
LOGS_DIR = "logs"
RUNS_DIR = "runs"
WAREHOUSE_FILE = "warehouse.db"

# Folder names of the configuration: letters, digits, '-' and '_' (no separator, no "..").
_AUTHORITY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def check_authority_id(authority_id: str) -> str:
    if not isinstance(authority_id, str) or not _AUTHORITY_ID.match(authority_id):
        raise ConfigError(
            f"mã cơ quan '{authority_id}' không hợp lệ: chỉ gồm chữ, số, '-' và '_' (dùng làm tên thư mục)"
        )
    return authority_id


class _Under:
    """A path under the period folder, read as an attribute (``folder.extracted_csv``)."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    def __get__(self, folder: PeriodFolder | None, owner: type) -> Any:
        return self if folder is None else folder.root.joinpath(*self.parts)


@dataclass(frozen=True)
class PeriodFolder:
    """Every path of one authority's period under the output folder."""

    output_dir: Path
    authority_id: str
    period: str

    def __init__(self, output_dir: str | os.PathLike, authority_id: str, period: Period | str) -> None:
        object.__setattr__(self, "output_dir", Path(output_dir))
        object.__setattr__(self, "authority_id", check_authority_id(authority_id))
        object.__setattr__(
            self, "period", str(period if isinstance(period, Period) else Period.parse(str(period)))
        )

    @property
    def root(self) -> Path:
        return self.output_dir / self.authority_id / self.period

    raw_dir = _Under(RAW_DIR)
    extracted_dir = _Under(EXTRACTED_DIR)
    extracted_csv = _Under(EXTRACTED_DIR, EXTRACTED_NAME)
    parent_totals = _Under(EXTRACTED_DIR, PARENT_TOTALS_NAME)
    validation_dir = _Under(VALIDATION_DIR)
    validation_index = _Under(VALIDATION_DIR, "index.html")
    validation_result = _Under(VALIDATION_DIR, VALIDATION_RESULT_NAME)
    decisions_json = _Under(DECISIONS_NAME)
    letter_docx = _Under(DOCX_NAME)
    letter_pdf = _Under(PDF_NAME)
    annex_chart = _Under(CHART_NAME)
    revision_json = _Under(REVISION_NAME)
    letters_dir = _Under(LETTERS_DIR)

    def validation_run(self, safe_run_id: str) -> Path:
        return self.validation_dir / VALIDATION_RUNS_DIR / f"{safe_run_id}.json"

    def letter_dir(self, letter_id: int | str) -> Path:
        """The folder of one letter's own files (``letters/<letter_id>/``): its draft, the issued
        files, and the decisions and authority lines it was made from."""
        return self.root / LETTERS_DIR / str(int(letter_id))

    def letter_snapshot(self, letter_id: int | str) -> Path:
        """The decisions.json the letter was made from, kept with it (what it printed)."""
        return self.letter_dir(letter_id) / DECISIONS_NAME

    def letter_authority(self, letter_id: int | str) -> Path:
        """The printed lines of authority.yaml the letter was made with."""
        return self.letter_dir(letter_id) / AUTHORITY_SNAPSHOT

    # -- stored paths
    def relative(self, path: str | os.PathLike) -> str:
        return relative_to_output(path, self.output_dir)

    def resolve(self, stored: str | os.PathLike) -> Path:
        return under_output(stored, self.output_dir)


def relative_to_output(path: str | os.PathLike, output_dir: str | os.PathLike) -> str:
    """A path as the warehouse stores it: relative to the output folder, so workers may mount it anywhere."""
    try:
        return Path(path).resolve().relative_to(Path(output_dir).resolve()).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def under_output(stored: str | os.PathLike, output_dir: str | os.PathLike) -> Path:
    """A stored (relative) path read under the output folder; an absolute one is taken as it is."""
    path = Path(stored)
    return path if path.is_absolute() else Path(output_dir) / path


def mail_dir(output_dir: str | os.PathLike, period: Period | str) -> Path:
    """Where the local SMTP sink of ``make demo`` / ``make run`` saves a period's messages."""
    return Path(output_dir) / MAIL_DIR / str(period)


def standalone_mail_dir(output_dir: str | os.PathLike) -> Path:
    """Where the local SMTP sink of ``make airflow`` saves every message, whatever its period."""
    return Path(output_dir) / MAIL_DIR / STANDALONE_MAIL_DIR


def file_safe(name: str) -> str:
    """A run id (Airflow's contain ':' and '+') or DAG id usable as a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "run"


def run_outcomes_file(output_dir: str | os.PathLike, dag_id: str, run_id: str) -> Path:
    """Where the summary task of a run writes every authority's outcome."""
    return Path(output_dir) / RUNS_DIR / file_safe(dag_id) / f"{file_safe(run_id)}.json"


def helper_log(output_dir: str | os.PathLike, name: str) -> Path:
    """A log of a helper process (the simulator, Airflow standalone): ``<output>/logs/<name>``."""
    return Path(output_dir) / LOGS_DIR / name


def inbox_file(inbox: str | os.PathLike, authority_id: str, period: Period | str) -> Path:
    """Where an authority's Excel export of a period is dropped: ``<inbox>/<authority>/<period>.xlsx``."""
    return Path(inbox) / check_authority_id(authority_id) / f"{Period.parse(str(period))}.xlsx"


def warehouse_file(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / WAREHOUSE_FILE
