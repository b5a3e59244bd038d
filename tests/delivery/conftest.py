"""Delivery fixtures: the demo authority, its decisions and a small issued letter on SQLite.

The SMTP server (``smtp_server``), the recorded ``sleeps`` and the warehouses (``engine`` on SQLite and
PostgreSQL, ``sqlite_engine``) are shared fixtures of tests/support.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.delivery import AUTHORITY_ID, PERIOD, delivery_authority, insert_letter, make_decisions


@pytest.fixture
def output_dir(tmp_path) -> Path:
    folder = tmp_path / "output"
    folder.mkdir()
    return folder


@pytest.fixture
def authority():
    return delivery_authority()


@pytest.fixture
def decisions() -> dict:
    return make_decisions()


@dataclass
class LetterSetup:
    letter_id: int
    output_dir: Path
    pdf: bytes
    docx: bytes


@pytest.fixture
def letter(sqlite_engine, output_dir, decisions) -> LetterSetup:
    """A rendered letter for demo/2023-08 with its files and decisions.json, issued number 15."""
    folder = output_dir / AUTHORITY_ID / PERIOD
    folder.mkdir(parents=True)
    pdf = b"%PDF-1.4\n% test letter\n" + bytes(range(256)) + b"\n.\n..leading dots\n%%EOF\n"
    docx = b"PK\x03\x04 fake docx " + bytes(range(256))
    (folder / "letter.pdf").write_bytes(pdf)
    (folder / "letter.docx").write_bytes(docx)
    (folder / "decisions.json").write_text(json.dumps(decisions, ensure_ascii=False), encoding="utf-8")
    letter_id = insert_letter(sqlite_engine, folder, number=15)
    return LetterSetup(letter_id, output_dir, pdf, docx)
