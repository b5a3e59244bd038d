"""Paths and small helpers of the letter tests (a module of its own: "conftest" is not importable by name)."""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
ROOT = HERE.parents[1]
SEED_AUTHORITY = ROOT / "scenarios" / "seed" / "tu-ky"
SEED_DECISIONS = FIXTURES / "seed_decisions.json"
SEED_LETTER = FIXTURES / "seed_letter.txt"  # the text of the real letter, as shipped in ../shared/seed/
PROVINCE_AUTHORITY = FIXTURES / "province" / "quang-ninh"
PROVINCE_DECISIONS = FIXTURES / "province_decisions.json"
P12_PASSWORD = "mật-khẩu thử 123"


def normalise(text: str) -> str:
    """NFC, one space between words, no space before ';' ',' ')' '.'."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([;,.)])", r"\1", text)


def load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout
