"""Atomic file writes and hashes: a reader sees the old file or the new one, never half of one.

Every artefact of a period (the tidy table, validation results, decisions.json, the letter's PDF) is
written to a temporary file beside its target and renamed over it; the rename is atomic because both
are in the same folder. A failure leaves the old file and no temporary one behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``target``; renamed over it when the block succeeds, removed if not.

    The block writes the file at the path it is given (directly, or by moving a file there).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(target: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8) to ``target`` atomically, flushed to disk before the rename."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(target) as tmp:
        with tmp.open("wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(target)


def atomic_write_json(target: str | os.PathLike, document: Any) -> Path:
    """``document`` as indented UTF-8 JSON (Vietnamese kept readable), written atomically."""
    return atomic_write(target, json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def publish(staged: list[Path], folder: Path) -> dict[str, str]:
    """Move files made in a staging folder (on the same file system) into ``folder``, all or none.

    Returns their sha256 by name, taken before the move. Each move is an atomic rename; should one
    fail, the ones already moved are removed, so the folder never holds part of a set.
    """
    hashes = {p.name: sha256_file(p) for p in staged}
    moved: list[Path] = []
    try:
        for path in staged:
            os.replace(path, folder / path.name)
            moved.append(folder / path.name)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
    return hashes


def move_folder(source: Path, target: Path) -> None:
    """Rename a finished staging folder to its place (atomic on one file system). A folder already at
    ``target`` is removed first: the caller knows nothing owns it (a run that never committed)."""
    import shutil

    if target.exists():
        shutil.rmtree(target)
    os.replace(source, target)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()
