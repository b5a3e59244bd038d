"""Child processes in sessions of their own, and stopping them so that nothing is left (Linux /proc).

``make airflow`` (one ``airflow standalone``) and ``make run-celery`` (a scheduler, a dag-processor,
an API server, a triggerer and Celery workers) start each Airflow component as the leader of a new
session. Airflow's task processes put themselves in process groups of their own but stay in the
session, and its API server, workers and log servers rename themselves (setproctitle), so the session
is what still tells, at the end, which processes a component started.

Stopping: the leader gets ``first`` (SIGINT for standalone, which then stops its components; SIGTERM
for a single component, as a service manager sends it); whatever of the session is still alive after
the grace gets SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

STOP_GRACE = 30.0
KILL_GRACE = 10.0


def session_members(sid: int) -> list[int]:
    """The live processes of session ``sid`` (zombies left out: they are gone, only not yet reaped)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # The command name (field 2) may hold spaces and parentheses: the fields follow the last ')'.
        state, _ppid, _pgrp, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if int(session) == sid and state != "Z":
            members.append(int(entry.name))
    return members


def command_line(pid: int) -> str:
    """The command line of ``pid`` as ``ps`` shows it ("" once it is gone)."""
    try:
        raw = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def signal_all(pids: Sequence[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _alive(sids: Sequence[int]) -> list[int]:
    return [pid for sid in sids for pid in session_members(sid)]


def _wait_until_empty(sids: Sequence[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(sids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _reap(procs: Sequence[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def stop_sessions(
    procs: Sequence[subprocess.Popen],
    first: signal.Signals = signal.SIGTERM,
    grace: float = STOP_GRACE,
    kill_grace: float = KILL_GRACE,
) -> list[int]:
    """Stops session leaders ``procs`` and every process of their sessions, all at once (one grace
    for all, not one after the other); returns what was still alive at the end (nothing, normally)."""
    sids = [proc.pid for proc in procs]
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.send_signal(first)
            except ProcessLookupError:
                pass
    _reap(procs, grace)
    # What a leader started exits just after it: a little more time before anything is forced.
    if not _wait_until_empty(sids, grace / 3):
        signal_all(_alive(sids), signal.SIGTERM)
        if not _wait_until_empty(sids, kill_grace):
            signal_all(_alive(sids), signal.SIGKILL)
            _wait_until_empty(sids, kill_grace)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return _alive(sids)


def stop_session(
    proc: subprocess.Popen,
    grace: float = STOP_GRACE,
    kill_grace: float = KILL_GRACE,
    first: signal.Signals = signal.SIGINT,
) -> None:
    """Stops ``proc`` (a session leader) and every process of its session, as described above."""
    stop_sessions([proc], first=first, grace=grace, kill_grace=kill_grace)
