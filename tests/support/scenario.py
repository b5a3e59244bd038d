"""The national scenario of the tests (tests/scenario/): its arguments and a folder read as bytes."""

from __future__ import annotations

from pathlib import Path

SEED = 7
MONTHS = "2026-01..2026-03"


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative path, as bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
