"""One LibreOffice for many conversions: the converter session behind ``cchc.letter.pdf.to_pdf``.

A cold ``soffice --convert-to`` costs about 1.4 s on the 2-core reference machine, almost all of it
LibreOffice starting; a national run converted 68 times for 34 letters. A session starts LibreOffice
once (about 1 s), then converts each letter in about 0.3 s.

Options weighed (measured on the seed letter, LibreOffice 7.4, Debian 12):

- (a) ``soffice --accept=pipe`` driven over UNO: chosen. Debian's ``python3-uno`` is built for the
  system's ``/usr/bin/python3``; the venv's Python is another build (here pyenv 3.11.7) whose process
  would load a second libpython through pyuno, which works by the luck of a shared soname and breaks
  with any other venv Python. So a small bridge script (``uno_bridge.py``, standard library only) runs
  under the system Python, holds the UNO connection and takes jobs as JSON lines over stdin/stdout.
  The PDFs are the same as ``--convert-to``'s (same filter, same text and size).
- (b) the ``unoserver`` package: the same UNO calls behind an XML-RPC server on a TCP port. It still
  needs ``uno`` importable in its interpreter (the same system-Python problem), adds a port per
  session to allocate, and does not time out or restart a stuck conversion: nothing gained over (a).
- (c) a warmed profile copied per conversion (no daemon): measured 1.37–1.44 s against 1.37–1.50 s
  for a fresh profile. The profile is not what is slow; not worth it.

The session: a private profile (``-env:UserInstallation``) and pipe name per session, so concurrent
task processes never share one; one conversion at a time (a lock). No pool: a task converts its
letters one after another, and the parallelism of a national run is Airflow's mapped tasks, each a
process with its own session (a second LibreOffice per process would only compete for the same
cores); a per-conversion timeout, after which the process group (bridge and
``soffice.bin``) is killed, a fresh LibreOffice started and the conversion tried once more; the same
when LibreOffice died (killed, crashed). Nothing outlives the process that started it: ``close()``
(a context manager), a ``weakref.finalize`` that also runs at exit, the bridge ending when its stdin
closes or its parent changes (a task process killed outright, or ended with ``os._exit``), and
``PR_SET_PDEATHSIG`` on ``soffice.bin`` (the bridge killed). An idle session quits
LibreOffice after ``idle_timeout`` seconds and starts again on the next conversion. A forked child
does not inherit the session (it starts its own).

When the session cannot start (no ``python3-uno``, no system Python) ``to_pdf`` converts with one
LibreOffice process per document, as before, and says so once in the log.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import IO, Any

from cchc.core import settings
from cchc.core.files import atomic_path
from cchc.letter.errors import PdfConversionError
from cchc.letter.soffice import DEFAULT_TIMEOUT, find_soffice, tail

log = logging.getLogger(__name__)

BRIDGE = Path(__file__).resolve().with_name("uno_bridge.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # the interpreter Debian's python3-uno is built for
START_TIMEOUT = 60.0
DEFAULT_IDLE_TIMEOUT = 120.0  # an idle LibreOffice holds some 150 MB
_CLOSE_GRACE = 10.0


class SessionUnavailable(PdfConversionError):
    """The session could not start (no python3-uno, LibreOffice not answering): convert per process."""


class _Stuck(Exception):
    pass


class _Gone(Exception):
    pass


def soffice_binary(executable: str) -> str:
    """``soffice.bin`` beside the ``soffice`` launcher script, else the executable itself.

    The bridge starts ``soffice.bin`` directly so that the kernel kills it with the bridge (the
    launcher, oosplash, would be the one to die and leave ``soffice.bin`` running).
    """
    real = Path(executable).resolve()
    candidate = real.with_name("soffice.bin")
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else str(real)


def _reap(process: subprocess.Popen, folder: Path, grace: float) -> None:
    """Stop a bridge: close its stdin (it quits LibreOffice) and wait ``grace`` seconds, then kill its
    process group (bridge and soffice.bin) if it is still there."""
    if grace > 0 and process.returncode is None:
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=grace)
        except (OSError, subprocess.TimeoutExpired):
            pass
    if process.returncode is None:
        # Not reaped yet, so the group id is still ours (a zombie keeps it): nothing else can be hit.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
    for stream in (process.stdin, process.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


class _Bridge:
    """One bridge process and the LibreOffice it started."""

    def __init__(self, python: str, soffice: str, *, idle_timeout: float, start_timeout: float) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cchc-lo-session-"))
        profile = self.folder / "profile"
        self.command = [
            python,
            "-I",  # neither the venv's PYTHONPATH nor the user's site: only the system's uno
            str(BRIDGE),
            "--soffice",
            soffice,
            "--profile",
            profile.as_uri(),
            "--pipe",
            f"cchc-{os.getpid()}-{uuid.uuid4().hex[:12]}",
            "--idle",
            f"{idle_timeout:g}",
            "--start-timeout",
            f"{start_timeout:g}",
            "--remove",
            str(self.folder),
        ]
        self.log: IO[bytes] = (self.folder / "bridge.log").open("w+b")
        self._buffer = b""
        try:
            # Own process group: a timeout kills the bridge and soffice.bin together.
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
                start_new_session=True,
                env=settings.current().child_environment(HOME=str(profile)),
            )
        except OSError as exc:
            self.log.close()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise SessionUnavailable(f"không chạy được {python} cho phiên LibreOffice: {exc}") from exc
        self._finalizer = weakref.finalize(self, _reap, self.process, self.folder, _CLOSE_GRACE)
        try:
            ready = self._read(start_timeout + 10.0)
        except (_Stuck, _Gone) as exc:
            self.kill()
            raise SessionUnavailable(
                f"phiên LibreOffice không khởi động được ({type(exc).__name__.strip('_').lower()}); "
                f"lệnh: {self.shown}; stderr: {self.stderr_tail()}"
            ) from None
        if not ready.get("ready"):
            self.kill()
            raise SessionUnavailable(
                f"phiên LibreOffice không khởi động được: {ready.get('error')}; lệnh: {self.shown}; "
                f"stderr: {self.stderr_tail()}"
            )
        self.soffice_pid = int(ready["soffice_pid"])

    @property
    def shown(self) -> str:
        return " ".join(self.command)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            self.log.flush()
            self.log.seek(0)
            return tail(self.log.read(), limit)
        except (OSError, ValueError):
            return "(trống)"

    def _read(self, timeout: float) -> dict[str, Any]:
        """The bridge's next answer; ``_Stuck`` after ``timeout`` seconds, ``_Gone`` if it ended."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Stuck
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise _Gone
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, job: dict[str, str], timeout: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Gone from None
        return self._read(timeout)

    def kill(self) -> None:
        """The process group killed now (stuck or dead: no graceful quit to wait for)."""
        self._finalizer.detach()
        _reap(self.process, self.folder, 0)
        self.log.close()

    def close(self) -> None:
        self._finalizer.detach()
        _reap(self.process, self.folder, _CLOSE_GRACE)
        self.log.close()

    def forget(self) -> None:
        """In a forked child: let go of the parent's bridge without touching it."""
        self._finalizer.detach()
        self.process.returncode = -1  # not ours to wait for or kill in this process
        for stream in (self.process.stdin, self.process.stdout, self.log):
            try:
                if stream is not None:
                    stream.close()  # this process's copy of the descriptor only
            except (OSError, ValueError):
                pass


_sessions: weakref.WeakSet[OfficeSession] = weakref.WeakSet()


class OfficeSession:
    """A long-lived LibreOffice converting DOCX to PDF, one document at a time (see the module doc).

    ``with OfficeSession() as office: office.convert(docx, pdf)``; LibreOffice starts on the first
    conversion. ``starts`` counts the LibreOffice processes started (restarts included).
    """

    def __init__(
        self,
        soffice: str | None = None,
        *,
        python: str | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.executable = find_soffice(soffice)
        self.python = python or settings.current().uno_python or SYSTEM_PYTHON
        self.idle_timeout = idle_timeout
        self.start_timeout = start_timeout
        self.starts = 0
        self.closed = False
        self._bridge: _Bridge | None = None
        self._lock = threading.Lock()
        self._owner = os.getpid()
        _sessions.add(self)

    def __enter__(self) -> OfficeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def soffice_pid(self) -> int | None:
        """The running soffice.bin, if any (for the tests and the logs)."""
        bridge = self._bridge
        return bridge.soffice_pid if bridge is not None and bridge.alive() else None

    def start(self) -> None:
        """Start LibreOffice now (else the first conversion does); raises ``SessionUnavailable``."""
        with self._lock:
            self._live_bridge()

    def prestart(self) -> None:
        """Start LibreOffice in the background, so that it is up by the time the document to convert
        is made (docxtpl, the chart): the conversion then waits for the start, if at all, on the lock."""
        if self.closed or (self._bridge is not None and self._bridge.alive()):
            return

        def start() -> None:
            try:
                self.start()
            except PdfConversionError as exc:  # the conversion will try again, and fall back
                log.debug("phiên LibreOffice chưa khởi động được: %s", exc)

        threading.Thread(target=start, name="cchc-libreoffice-start", daemon=True).start()

    def _live_bridge(self) -> _Bridge:
        if self.closed:
            raise PdfConversionError("phiên LibreOffice đã đóng")
        if self._owner != os.getpid():  # forked without os.register_at_fork having run
            self._forget()
        if self._bridge is not None and not self._bridge.alive():
            self._bridge.kill()  # ended on its own (idle): start a new one
            self._bridge = None
        if self._bridge is None:
            self._bridge = _Bridge(
                self.python,
                soffice_binary(self.executable),
                idle_timeout=self.idle_timeout,
                start_timeout=self.start_timeout,
            )
            self.starts += 1
            log.debug("phiên LibreOffice: soffice.bin %s", self._bridge.soffice_pid)
        return self._bridge

    def _drop(self) -> None:
        if self._bridge is not None:
            self._bridge.kill()
            self._bridge = None

    def _forget(self) -> None:
        if self._bridge is not None:
            self._bridge.forget()
        self._bridge = None
        self._lock = threading.Lock()
        self._owner = os.getpid()

    def convert(
        self, docx: str | os.PathLike, pdf: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT
    ) -> Path:
        """``docx`` as ``pdf`` (written atomically). A stuck or dead LibreOffice is killed, restarted and
        the document tried once more; a document LibreOffice refuses is an error at once."""
        docx = Path(docx).resolve()
        pdf = Path(pdf)
        if not docx.is_file():
            raise PdfConversionError(f"không có tệp để chuyển sang PDF: {docx}")
        with self._lock, atomic_path(pdf) as staging:
            failures: list[str] = []
            for _attempt in range(2):
                bridge = self._live_bridge()
                staging.unlink(missing_ok=True)
                try:
                    answer = bridge.ask({"src": str(docx), "dst": str(staging.resolve())}, timeout)
                except _Stuck:
                    failures.append(f"quá thời gian {timeout:g} giây (soffice.bin {bridge.soffice_pid})")
                except _Gone:
                    failures.append(
                        f"LibreOffice dừng giữa chừng (soffice.bin {bridge.soffice_pid}); stderr: "
                        f"{bridge.stderr_tail(500)}"
                    )
                else:
                    if answer.get("ok") and staging.is_file() and staging.stat().st_size > 0:
                        return pdf
                    if not answer.get("dead"):
                        raise PdfConversionError(
                            f"LibreOffice không chuyển được {docx.name} sang PDF: "
                            f"{answer.get('error') or 'không có tệp PDF'}; phiên LibreOffice: {bridge.shown}; "
                            f"stderr: {bridge.stderr_tail()}"
                        )
                    failures.append(f"LibreOffice dừng giữa chừng: {answer.get('error')}")
                log.warning(
                    "Phiên LibreOffice khi chuyển %s sang PDF: %s; khởi động lại LibreOffice",
                    docx.name,
                    failures[-1],
                )
                self._drop()
            raise PdfConversionError(
                f"LibreOffice {failures[0]} khi chuyển {docx.name} sang PDF; thử lại trên một LibreOffice mới: "
                f"{failures[-1]}"
            )

    def close(self) -> None:
        """Quit LibreOffice and remove the session's profile (also done at exit, and when collected)."""
        with self._lock:
            self.closed = True
            if self._bridge is not None:
                if self._owner == os.getpid():
                    self._bridge.close()
                else:
                    self._bridge.forget()
                self._bridge = None


def _after_fork_in_child() -> None:
    global _shared, _shared_lock
    for session in list(_sessions):
        session._forget()
    _shared = None
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)

# --------------------------------------------------------------------------------------------
# The session the whole process shares (a task, the command line, a local run of every task)
# --------------------------------------------------------------------------------------------

_shared: OfficeSession | None = None
_shared_lock = threading.Lock()
_unavailable: str | None = None  # why the session could not start in this process


def shared_session(soffice: str | None = None) -> OfficeSession | None:
    """This process's session for ``soffice`` (made on first use), or None when it cannot start here."""
    global _shared
    executable = find_soffice(soffice)
    with _shared_lock:
        if _unavailable is not None:
            return None
        if _shared is not None and (_shared.closed or _shared.executable != executable):
            _shared.close()
            _shared = None
        if _shared is None:
            _shared = OfficeSession(executable)
        return _shared


def mark_unavailable(reason: str) -> None:
    """The session cannot start in this process: per-process conversions from now on (logged once)."""
    global _unavailable, _shared
    with _shared_lock:
        if _unavailable is None:
            log.warning(
                "Không mở được phiên LibreOffice dùng chung (%s): mỗi lần chuyển PDF chạy một LibreOffice riêng "
                "(cài gói python3-uno để nhanh hơn)",
                reason,
            )
        _unavailable = reason
        if _shared is not None:
            _shared.close()
            _shared = None


def close_shared() -> None:
    """Close this process's session now (a new one starts on the next conversion)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None
