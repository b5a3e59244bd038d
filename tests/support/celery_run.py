"""``make run-celery`` in the tests: the config folder it runs on, and what a run left to compare.

The distributed run is checked against ``make run`` on the same folder and period. The default folder
has two provinces, so the monthly run maps two authorities and triggers two letters runs: the
shipped thành phố Hải Phòng and a copy of it under another id, portal root and mail domain (the
shipped scenarios have no second authority with the same months: Tứ Kỳ's are of 2023). Any folder of
authorities (a national scenario) can be given instead with ``CCHC_CELERY_TEST_CONFIG`` and
``CCHC_CELERY_TEST_PERIOD``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from .paths import ROOT

PROVINCE = ROOT / "scenarios" / "province" / "hai-phong"
PERIOD = "2026-03"
COPY_ID = "hai-phong-b"
DOMAIN, COPY_DOMAIN = "haiphong.example.gov.vn", "haiphongb.example.gov.vn"


def two_provinces(target: Path) -> Path:
    """``target`` holding hai-phong and its copy hai-phong-b (root HP-B, mail under another domain)."""
    shutil.copytree(PROVINCE, target / "hai-phong")
    copy = target / COPY_ID
    shutil.copytree(PROVINCE, copy)
    yaml_path = copy / "authority.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    assert "id: hai-phong\n" in text and 'root_department_id: "HP"' in text
    text = text.replace("id: hai-phong\n", f"id: {COPY_ID}\n").replace(
        'root_department_id: "HP"', 'root_department_id: "HP-B"'
    )
    yaml_path.write_text(text.replace(DOMAIN, COPY_DOMAIN), encoding="utf-8")
    units = copy / "units.csv"
    units.write_text(units.read_text(encoding="utf-8").replace(DOMAIN, COPY_DOMAIN), encoding="utf-8")
    return target


def config_and_period(tmp_path: Path) -> tuple[Path, str]:
    given = os.environ.get("CCHC_CELERY_TEST_CONFIG")
    if given:
        return Path(given).resolve(), os.environ.get("CCHC_CELERY_TEST_PERIOD", PERIOD)
    return two_provinces(tmp_path / "config"), PERIOD


# --------------------------------------------------------------------------- what must be the same

# The letter row's fields that say what was issued, to whom it belongs and from what: equal in both
# runs. Not compared: letter_id (the order the authorities reached the warehouse), run_id, created_at,
# and the files' hashes (DOCX and PDF carry the time they were written); their text is compared.
LETTER_FIELDS = (
    "status",
    "document_number",
    "decisions_hash",
    "rulebook_version",
    "content_hash",
    "signed",
    "is_current",
    "replaces_letter_id",
)
# A delivery row's fields that must match; message_id, times and the letter id may differ.
DELIVERY_FIELDS = (
    "state",
    "attempts",
    "recipient_name",
    "unit_codes",
    "roles",
    "envelope_to",
    "subject",
    "smtp_code",
)
LETTER_ID_IN_SUMMARY = re.compile(r"\(mã công văn \d+\)")


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    return "\n".join(lines)


def _issued_at(value):
    from cchc.core.periods import TIMEZONE

    if value is None:
        return None
    # SQLite keeps the wall time without its offset (Vietnam time, as written); PostgreSQL the instant.
    return value.astimezone(TIMEZONE) if value.tzinfo else value.replace(tzinfo=TIMEZONE)


def letters_of(url: str, output_dir: Path) -> dict[str, list[dict]]:
    """authority/period → its letters (newest first), reduced to what must be equal, with their text."""
    import sqlalchemy as sa

    from cchc.core.db import engine_for
    from cchc.core.paths import under_output
    from cchc.warehouse.schema import letters

    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            rows = [
                dict(r)
                for r in conn.execute(sa.select(letters).order_by(letters.c.letter_id.desc())).mappings()
            ]
    finally:
        engine.dispose()
    out: dict[str, dict] = {}
    for row in rows:
        reduced = {k: row[k] for k in LETTER_FIELDS}
        reduced["issued_at"] = _issued_at(row["issued_at"])
        reduced["pdf_text"] = pdf_text(under_output(row["pdf_path"], output_dir)) if row["pdf_path"] else None
        reduced["docx_text"] = docx_text(under_output(row["docx_path"], output_dir))
        out.setdefault(f"{row['authority_id']}/{row['period']}", []).append(reduced)
    return out


def ledger_of(url: str) -> dict[str, dict]:
    """authority/period → (recipient, kind, batch) → the delivery fields that must be equal, and
    whether each message carried the exact PDF its letter row records."""
    import sqlalchemy as sa

    from cchc.core.db import engine_for
    from cchc.warehouse.schema import deliveries, letters

    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            query = sa.select(deliveries, letters.c.pdf_sha256.label("letter_pdf_sha256")).join(
                letters, letters.c.letter_id == deliveries.c.letter_id
            )
            rows = [dict(r) for r in conn.execute(query).mappings()]
    finally:
        engine.dispose()
    out: dict[str, dict] = {}
    for row in rows:
        key = (row["recipient"], row["kind"], row["batch"])
        entry = {k: row[k] for k in DELIVERY_FIELDS}
        entry["carried_its_letter"] = row["pdf_sha256"] == row["letter_pdf_sha256"]
        out.setdefault(f"{row['authority_id']}/{row['period']}", {})[key] = entry
    return out


def mail_by_recipient(folder: Path) -> dict[str, list[tuple]]:
    """Every saved message: recipient → sorted (kind, subject, attachment names, plain text body); the
    operators' summary names the letter by its row id, which is masked."""
    out: dict[str, list[tuple]] = {}
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        recipient = path.name.rsplit("-", 1)[0].replace("_at_", "@").lower()
        kind = "letter" if message["X-CCHC-Letter"] else "other"
        attachments = tuple(sorted(part.get_filename() or "" for part in message.iter_attachments()))
        body = message.get_body(preferencelist=("plain",))
        text = LETTER_ID_IN_SUMMARY.sub("(mã công văn …)", body.get_content() if body is not None else "")
        out.setdefault(recipient, []).append((kind, str(message["Subject"]), attachments, text))
    return {recipient: sorted(messages) for recipient, messages in out.items()}
