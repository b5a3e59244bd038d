"""Letters in tests: the letter text compared as a reader sees it, JSON files, command output."""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from pathlib import Path

P12_PASSWORD = "mật-khẩu thử 123"  # of the test signing certificate


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
