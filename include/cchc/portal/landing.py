"""Raw landing: every portal response body (and every Excel export) kept on disk unchanged.

Each extract of a period gets its own numbered folder ``<output>/<authority>/<period>/raw/NNN/`` so
that a rerun never overwrites what an earlier run saw; an auditor can replay or diff any of them.
Portal responses go to one JSON-lines file per call (``dossier-digitized.jsonl``, …), a line per
response: ``{"seq": n, "body": "<the body as received>"}`` (``"body_base64"`` for a body that is not
UTF-8), so a national month lands in a handful of files instead of one per call, and each body
still comes back byte for byte (``read_body``). ``manifest.jsonl`` names every response (its file,
line, status, SHA-256 and size of the bytes received), so the folder can be checked later.
An Excel export is copied in as its own file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cchc.core.paths import MANIFEST_NAME, RAW_DIR, PeriodFolder

# Parameter names that could carry a credential; their values never reach the manifest.
SECRET_KEYS = {"client_secret", "password", "secret", "access_token", "token", "authorization"}

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _safe(text: str) -> str:
    return _SAFE.sub("-", text).strip("-") or "x"


def _clean_params(params: dict | None) -> dict:
    return {k: v for k, v in (params or {}).items() if str(k).lower() not in SECRET_KEYS}


class Landing:
    """A new ``raw/NNN`` folder under ``root_dir`` (the period folder), filled thread-safely.

    ``record`` has the signature of ``PortalClient``'s ``on_response`` hook.
    """

    def __init__(
        self, root_dir: str | os.PathLike, run_id: str | None = None, clock: Callable[[], datetime] = _utc_now
    ):
        self.root = Path(root_dir)
        self.run_id = run_id
        self._clock = clock
        self._lock = threading.Lock()
        self._seq = 0
        self._attempts: dict[str, int] = {}
        self._lines: dict[str, int] = {}  # JSON-lines file → lines written
        raw = self.root / RAW_DIR
        raw.mkdir(parents=True, exist_ok=True)
        # mkdir without exist_ok is the lock: two extracts of one period started together each
        # get their own number instead of writing into the same folder.
        taken = [int(p.name) for p in raw.iterdir() if p.is_dir() and p.name.isdigit()]
        number = max(taken, default=0) + 1
        while True:
            folder = raw / f"{number:03d}"
            try:
                folder.mkdir()
            except FileExistsError:
                number += 1
                continue
            break
        self.dir = folder
        self.manifest_path = folder / MANIFEST_NAME
        self.manifest_path.touch()

    @classmethod
    def for_period(
        cls, output_dir: str | os.PathLike, authority_id: str, period: Any, run_id: str | None = None
    ) -> Landing:
        return cls(PeriodFolder(output_dir, authority_id, period).root, run_id=run_id)

    def __repr__(self) -> str:
        return f"Landing({str(self.dir)!r})"

    @property
    def count(self) -> int:
        with self._lock:
            return self._seq

    def record(
        self, call: str, params: dict, page: int | None, status: int, body: bytes, headers: dict | None = None
    ) -> Path:
        """Append one response body as received to its call's JSON-lines file, then its manifest line."""
        params = _clean_params(params)
        # The attempt number is per request (same call, same parameters): a retried page lands as
        # _a1, _a2, ... so the failed attempts stay next to the one that worked.
        key = json.dumps([call, params, page], sort_keys=True, ensure_ascii=False, default=str)
        name = _safe(call) + ".jsonl"
        try:
            stored: dict[str, Any] = {"body": body.decode("utf-8")}
        except UnicodeDecodeError:
            stored = {"body_base64": base64.b64encode(body).decode("ascii")}
        with self._lock:
            self._seq += 1
            seq = self._seq
            attempt = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempt
            line = self._lines.get(name, 0) + 1
            self._lines[name] = line
            with (self.dir / name).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"seq": seq, **stored}, ensure_ascii=False) + "\n")
            self._append(
                {
                    "seq": seq,
                    "call": call,
                    "params": params,
                    "page": page,
                    "attempt": attempt,
                    "status": status,
                    "content_type": _header(headers, "content-type"),
                    "fetched_at": self._clock().isoformat(),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "size": len(body),
                    "file": name,
                    "line": line,
                    "run_id": self.run_id,
                }
            )
        return self.dir / name

    __call__ = record

    def land_file(
        self, path: str | os.PathLike, call: str = "excel-export", params: dict | None = None
    ) -> Path:
        """Copy a file (an Excel export) in unchanged, with its manifest line; returns the copy."""
        source = Path(path)
        with self._lock:
            self._seq += 1
            seq = self._seq
            name = f"{seq:04d}_{_safe(call)}_{_safe(source.name)}"
            target = self.dir / name
            shutil.copyfile(source, target)
            digest = hashlib.sha256()
            with target.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            self._append(
                {
                    "seq": seq,
                    "call": call,
                    "params": _clean_params(params),
                    "page": None,
                    "attempt": 1,
                    "status": None,
                    "source_path": str(source),
                    "fetched_at": self._clock().isoformat(),
                    "sha256": digest.hexdigest(),
                    "size": target.stat().st_size,
                    "file": name,
                    "run_id": self.run_id,
                }
            )
        return target

    def entries(self) -> list[dict]:
        with self._lock:
            text = self.manifest_path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def _append(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False, sort_keys=False)
        with self.manifest_path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _header(headers: dict | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def read_body(folder: str | os.PathLike, entry: dict) -> bytes:
    """The bytes a manifest entry stands for: its line of a JSON-lines file, or a whole file."""
    path = Path(folder) / entry["file"]
    if entry.get("line") is None:
        return path.read_bytes()
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if number == entry["line"]:
                stored = json.loads(text)
                if stored.get("seq") != entry["seq"]:
                    raise ValueError(
                        f"{entry['file']}:{number}: seq {stored.get('seq')} thay vì {entry['seq']}"
                    )
                if "body_base64" in stored:
                    return base64.b64decode(stored["body_base64"])
                return str(stored["body"]).encode("utf-8")
    raise ValueError(f"{entry['file']}: không có dòng {entry['line']}")


def verify(folder: str | os.PathLike) -> list[str]:
    """Problems found re-hashing a landing folder against its manifest (empty list: all intact)."""
    folder = Path(folder)
    problems = []
    for line in (folder / MANIFEST_NAME).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        where = entry["file"] + (f":{entry['line']}" if entry.get("line") is not None else "")
        if not (folder / entry["file"]).is_file():
            problems.append(f"{entry['file']}: thiếu tệp")
            continue
        try:
            data = read_body(folder, entry)
        except (ValueError, KeyError) as exc:
            problems.append(f"{where}: không đọc được ({exc})")
            continue
        if hashlib.sha256(data).hexdigest() != entry["sha256"] or len(data) != entry["size"]:
            problems.append(f"{where}: mã băm hoặc kích thước không khớp manifest")
    return problems
