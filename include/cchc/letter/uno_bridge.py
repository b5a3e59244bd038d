"""The UNO side of the converter session (``cchc.letter.office``): run by the system Python, not the venv.

Debian's ``python3-uno`` is built for the system's ``/usr/bin/python3``; importing it into the venv's
Python (another build, maybe another version) is not safe. So this script, which imports nothing of
``cchc`` and only the standard library and ``uno``, is what holds the UNO connection: it starts
``soffice.bin`` with a private profile, listening on a private pipe, connects, then converts the
documents the session sends, one JSON line per job on stdin, one JSON line per answer on stdout::

    → {"src": "/abs/letter.docx", "dst": "/abs/out.pdf"}
    ← {"ok": true}  |  {"ok": false, "error": "…", "dead": false}

The first line it writes is ``{"ready": true, "soffice_pid": …}`` (or ``{"ready": false, "error": …}``).
It ends, taking LibreOffice with it, when stdin closes (the session closed, or its process died: the
pipe's only writer is gone), after ``--idle`` seconds without a job, or when LibreOffice dies. If the
bridge itself is killed, the kernel kills LibreOffice (``PR_SET_PDEATHSIG``). A stuck conversion is the
session's to notice: it kills this process group after its timeout.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

PR_SET_PDEATHSIG = 1
RESTART_CODE = 81  # soffice.bin asks its launcher to start it again


def _die_with(parent: int):
    def before_exec() -> None:
        """In the child, before exec: SIGKILL when the bridge (its parent) dies, however it dies."""
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the bridge died before the line above took effect
            os._exit(1)

    return before_exec


def _answer(out, message: dict) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _prop(name: str, value):
    from com.sun.star.beans import PropertyValue

    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def _launch(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
        stderr=sys.stderr,
        preexec_fn=_die_with(os.getpid()),
    )


def _connect(pipe: str, command: list[str], deadline: float, offices: list):
    """LibreOffice started and its Desktop; restarted as oosplash would when it asks to (exit code 81,
    which a first start on a fresh profile does once)."""
    import uno
    from com.sun.star.connection import NoConnectException

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    office = _launch(command)
    offices.append(office)
    restarts = 0
    while True:
        try:
            context = resolver.resolve(url)
            desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
            return office, desktop
        except NoConnectException:
            if office.poll() == RESTART_CODE and restarts < 3:
                restarts += 1
                office = _launch(command)
                offices.append(office)
                continue
            if office.poll() is not None:
                raise RuntimeError(f"LibreOffice dừng khi khởi động (mã thoát {office.returncode})") from None
            if time.monotonic() > deadline:
                raise RuntimeError("LibreOffice không mở kết nối UNO kịp thời hạn khởi động") from None
            time.sleep(0.05)


def _convert(desktop, src: str, dst: str) -> None:
    import uno

    document = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(src), "_blank", 0, (_prop("Hidden", True), _prop("ReadOnly", True))
    )
    if document is None:
        raise RuntimeError(
            f"LibreOffice không mở được {os.path.basename(src)} (tệp hỏng hoặc không phải văn bản)"
        )
    try:
        document.storeToURL(uno.systemPathToFileUrl(dst), (_prop("FilterName", "writer_pdf_Export"),))
    finally:
        try:
            document.close(True)
        except Exception:
            document.dispose()


def _watch_parent(offices: list, remove: str | None) -> None:
    """The session's process gone (reparented: getppid changes), maybe while a conversion blocks the
    main thread: kill LibreOffice, remove the profile and leave, so nothing outlives that process."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            for office in offices:
                if office.poll() is None:
                    office.kill()
                    office.wait()
            if remove:
                shutil.rmtree(remove, ignore_errors=True)
            os._exit(3)


def _is_dead(exc: BaseException) -> bool:
    """The connection is gone (LibreOffice crashed or was killed), not just this document failing."""
    name = type(exc).__name__
    return name in ("DisposedException", "RuntimeException") or "Binary URP bridge" in str(exc)


def _shutdown(desktop, office: subprocess.Popen) -> None:
    if office.poll() is not None:
        return

    # terminate() asks LibreOffice to quit; a hung one is killed after a few seconds either way.
    def kill_if_running() -> None:
        if office.poll() is None:
            office.kill()

    killer = threading.Timer(5.0, kill_if_running)
    killer.daemon = True
    killer.start()
    try:
        if desktop is not None:
            desktop.terminate()
    except Exception:
        pass
    try:
        office.wait(timeout=6.0)
    except subprocess.TimeoutExpired:
        office.kill()
        office.wait()
    killer.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soffice", required=True, help="soffice.bin (or soffice) to start")
    parser.add_argument("--profile", required=True, help="file:// URL of the private user profile")
    parser.add_argument("--pipe", required=True, help="name of the private UNO pipe")
    parser.add_argument("--idle", type=float, default=0.0, help="seconds without a job before quitting")
    parser.add_argument("--start-timeout", type=float, default=60.0)
    parser.add_argument("--remove", help="folder to remove on the way out (the session's profile)")
    args = parser.parse_args(argv)
    out = sys.stdout
    # Nothing but answers on stdout: anything LibreOffice or a library prints goes to stderr.
    sys.stdout = sys.stderr
    command = [
        args.soffice,
        f"-env:UserInstallation={args.profile}",
        "--headless",
        "--invisible",
        "--nologo",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        f"--accept=pipe,name={args.pipe};urp;StarOffice.ComponentContext",
    ]
    try:
        import uno  # noqa: F401  (fails fast without python3-uno)
    except ImportError as exc:
        _answer(out, {"ready": False, "error": f"không nhập được uno (gói python3-uno): {exc}"})
        return 2
    offices: list = []
    threading.Thread(target=_watch_parent, args=(offices, args.remove), daemon=True).start()
    try:
        office, desktop = _connect(args.pipe, command, time.monotonic() + args.start_timeout, offices)
    except Exception as exc:
        for started in offices:
            if started.poll() is None:
                started.kill()
        _answer(out, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    try:
        _answer(out, {"ready": True, "soffice_pid": office.pid})
        for job in _jobs(args.idle or None):
            try:
                _convert(desktop, job["src"], job["dst"])
            except Exception as exc:
                dead = office.poll() is not None or _is_dead(exc)
                message = f"{type(exc).__name__}: {getattr(exc, 'Message', '') or exc}"
                traceback.print_exc()  # into the session's log, before the answer it reads it after
                sys.stderr.flush()
                _answer(out, {"ok": False, "error": message.strip(), "dead": dead})
                if dead:
                    return 1
                continue
            _answer(out, {"ok": True})
        return 0
    finally:
        _shutdown(desktop, office)
        if args.remove:  # also when the session's process died and cannot remove it itself
            shutil.rmtree(args.remove, ignore_errors=True)


def _jobs(idle: float | None):
    """The jobs read from stdin, until it closes or nothing comes for ``idle`` seconds."""
    buffered = b""
    while True:
        while b"\n" not in buffered:
            ready, _, _ = select.select([0], [], [], idle)
            if not ready:
                return  # idle: LibreOffice's memory back; the session starts a new one when needed
            chunk = os.read(0, 65536)
            if not chunk:
                return  # the session closed, or its process is gone
            buffered += chunk
        line, buffered = buffered.split(b"\n", 1)
        yield json.loads(line)


if __name__ == "__main__":
    sys.exit(main())
