"""``make airflow`` started once for the session, with the seed month run: the fixture ``standalone``.

Starting Airflow standalone and running a month costs minutes, so every test that needs the real
thing (tests/test_airflow_standalone.py, the browser test tests/test_ui_browser.py) shares one.
The fixture runs ``scripts/airflow-standalone.sh`` (what ``make airflow`` runs) with its own Airflow
home, output folder and a free loopback port: ``airflow standalone`` (LocalExecutor: task workers
reach the execution API on that port), the portal simulator on the seed scenario, the local SMTP sink.
Then, as an operator would: logs in through the REST API with the login the startup lines print,
unpauses both DAGs (so the scheduled latest month starts too and waits in its sensor for a period the
seed never closes), triggers ``cchc_monthly`` for 2023-08 and waits for it and for the
``cchc_letters`` run it triggers. The tests then look at what it left (runs, mail, pages).

The warehouse already holds January–July, as it does every month in production: the run extracts,
validates and loads August only (the backfill of earlier months is the DAG tests' business, and under
the scheduler it would add minutes of Great Expectations runs to the suite).

``standalone_stopped`` stops it (SIGTERM, as a service manager would) and says how it stopped; the
tests that use it run after every other test of the session (tests/support/fixtures.py orders them),
so no test finds the server gone. Without such a test the session's end stops it all the same.

On a failure, ``StandaloneMonth.diagnosing()`` prints the supervisor's output, the tail of Airflow's
log and of every task log of the runs that did not succeed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from .net import free_tcp_port
from .paths import ROOT, SEED_CONFIG

AUTHORITY = "tu-ky"
PERIOD = "2023-08"
READY_TIMEOUT = 360.0
RUN_TIMEOUT = 480.0
STOP_TIMEOUT = 90.0
# What a test using the fixture may take, its setup included (pytest-timeout counts the fixture's
# setup in the first test that requests it): the startup, the month's two runs and the test itself.
TIMEOUT = 1500


# --------------------------------------------------------------------------- processes


def processes_with(marker: bytes, sessions: frozenset[int] = frozenset()) -> list[tuple[int, str]]:
    """Live processes whose environment holds ``marker`` (``AIRFLOW_HOME=<this test's home>``), or
    that belong to one of ``sessions``: Airflow's api-server, workers and log servers rename
    themselves (setproctitle), which overwrites their environment as /proc shows it, so only their
    session (standalone's own) still tells where they come from."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: the fields follow the last ')'.
        state, _ppid, _pgrp, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if state == "Z":  # a zombie is gone, only not yet reaped
            continue
        if marker in environ.split(b"\0") or int(session) in sessions:
            found.append((int(entry.name), cmdline.strip()[:200]))
    return found


def session_of(pid: int) -> int | None:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[3])


class MakeAirflow:
    """The ``make airflow`` command in a session of its own, its output in a file."""

    def __init__(self, folder: Path, port: int) -> None:
        self.home = folder / "airflow-home"
        self.out = folder / "out"
        self.stdout_path = folder / "make-airflow.out"
        self.port = port
        self.marker = f"AIRFLOW_HOME={self.home}".encode()
        self.proc: subprocess.Popen | None = None
        # The sessions of what it started (``airflow standalone`` leads one of its own), noted while it
        # runs: after the stop, a survivor that renamed itself is found by its session.
        self.sessions: frozenset[int] = frozenset()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "PYTEST_"))}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__API__PORT": str(port),
                "CCHC_CONFIG_DIR": str(SEED_CONFIG),
                "CCHC_OUTPUT_DIR": str(self.out),
                "CCHC_TASK_RETRIES": "0",  # a failure shows at once, not after the retry delays
                # The scheduler's and triggerer's log servers (8793, 8794 by default, all interfaces):
                # ports of their own, so a developer's running Airflow never answers for this one.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_tcp_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_tcp_port()),
            }
        )
        env.pop("CCHC_WAREHOUSE_URL", None)
        env.pop("CCHC_SIMULATOR_PORT", None)
        self.env = env

    def start(self) -> None:
        self.stdout = self.stdout_path.open("wb")
        self.proc = subprocess.Popen(
            [str(ROOT / "scripts" / "airflow-standalone.sh")],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT
        while "Dừng: Ctrl+C" not in self.output():
            assert self.proc.poll() is None, f"make airflow stopped (code {self.proc.returncode})"
            assert time.monotonic() < deadline, f"make airflow not ready after {READY_TIMEOUT:.0f} s"
            time.sleep(1)
        self.note_sessions()
        return self.output()

    def note_sessions(self) -> None:
        own = session_of(os.getpid())
        found = {session_of(pid) for pid, _ in processes_with(self.marker)}
        self.sessions |= frozenset(s for s in found if s is not None and s != own)

    def leftovers(self) -> list[tuple[int, str]]:
        return processes_with(self.marker, self.sessions)

    def stop(self) -> int | None:
        """SIGTERM, as a service manager would; returns the exit code (None: it did not stop)."""
        if self.proc is None:
            return None
        self.note_sessions()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None
        finally:
            self.stdout.close()

    def kill_leftovers(self) -> None:
        """Whatever survived (after the assertion has seen it): killed, so no test leaves a process."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid, _ in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --------------------------------------------------------------------------- diagnostics


def tail(path: Path, chars: int = 3000, skip: tuple[str, ...] = ()) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"({exc})"
    text = "\n".join(line for line in lines if not any(s in line for s in skip))
    return text[-chars:]


def diagnostics(stack: MakeAirflow, api, runs: list[tuple[str, str]]) -> str:
    parts = [
        "===== make airflow (stdout) =====",
        tail(stack.stdout_path),
        "===== airflow-standalone.log (tail, without access and parsing lines) =====",
        tail(stack.out / "logs" / "airflow-standalone.log", 6000, skip=("http.access", "dag-processor |")),
    ]
    for dag_id, run_id in runs:
        try:
            tis = task_instances(api, dag_id, run_id)
        except Exception as exc:  # noqa: BLE001 (a diagnostic must not hide the failure)
            parts.append(f"===== {dag_id} {run_id}: task instances unreadable: {exc}")
            continue
        parts.append(
            f"===== {dag_id} {run_id}: {sorted((t['task_id'], t['map_index'], t['state']) for t in tis)}"
        )
        for ti in tis:
            if ti["state"] in ("success", "skipped"):
                continue
            folder = (
                stack.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={ti['task_id']}"
            )
            for log in sorted(folder.rglob("*.log")):
                parts += [f"----- {log.relative_to(stack.home)}", tail(log)]
    return "\n".join(parts)


# --------------------------------------------------------------------------- the REST API


def task_instances(api, dag_id: str, run_id: str) -> list[dict]:
    return api.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]


def wait_for_run(api, dag_id: str, run_id: str, timeout: float = RUN_TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(f"dags/{dag_id}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed"):
            return run
        assert time.monotonic() < deadline, f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s"
        time.sleep(3)


def letters_runs(api) -> dict[str, dict]:
    return {r["dag_run_id"]: r for r in api.get("dags/cchc_letters/dagRuns", limit=100)["dag_runs"]}


def new_letters_run(api, seen: set[str]) -> dict:
    """The cchc_letters run that trigger_letters has just created (it exists once the task succeeded)."""
    fresh = {k: v for k, v in letters_runs(api).items() if k not in seen}
    assert len(fresh) == 1, f"expected one new cchc_letters run, found {sorted(fresh)}"
    return next(iter(fresh.values()))


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_true_duration(run: dict, since: datetime, until: datetime) -> None:
    """Start and end lie within what the test saw: seconds or minutes, never a logical-date span."""
    start, end = parse_time(run["start_date"]), parse_time(run["end_date"])
    slack = timedelta(minutes=1)  # the API server and this process read the same clock
    assert since - slack <= start <= end <= until + slack, (run["dag_run_id"], start, end, since, until)


# --------------------------------------------------------------------------- the mailbox


def mailbox(folder: Path) -> dict[str, dict]:
    """Every saved message by file name: envelope recipient, kind, subject, attachment names."""
    messages = {}
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        subject = str(message["Subject"])
        if message["X-CCHC-Letter"]:
            kind = "letter"
        elif subject.startswith("[CCHC] Lỗi"):
            kind = "alert"
        else:
            kind = "summary"
        messages[path.name] = {
            "recipient": path.name.rsplit("-", 1)[0].replace("_at_", "@").lower(),
            "kind": kind,
            "subject": subject,
            "attachments": [part.get_filename() for part in message.iter_attachments()],
        }
    return messages


def expected_recipients() -> tuple[set[str], set[str]]:
    """Every letter recipient (units with an email, copies, operators) and the operators."""
    from cchc.core.authorities import load_authority
    from cchc.delivery.recipients import distribution_config

    authority = load_authority(SEED_CONFIG / AUTHORITY)
    config = distribution_config(authority)
    units = {u.email.lower() for u in authority.units if u.email}
    copies = {c.email.lower() for c in config.copies}
    operators = {c.email.lower() for c in config.operators}
    return units | copies | operators, operators


def preload_earlier_months(out: Path) -> None:
    """January–July in the warehouse, as a month's run finds them in production."""
    import pandas as pd

    from cchc.core.authorities import load_authority, load_monthly
    from cchc.core.db import default_url, engine_for
    from cchc.core.periods import Period
    from cchc.warehouse.load import load_facts, sync_units
    from cchc.warehouse.migrate import upgrade

    authority = load_authority(SEED_CONFIG / AUTHORITY)
    rows = load_monthly(authority)
    engine = engine_for(default_url(out))
    try:
        upgrade(engine)
        for month in range(1, 8):
            period = Period(2023, month)
            frame = pd.DataFrame(
                [
                    {**r, "authority": AUTHORITY, "source": "monthly.csv"}
                    for r in rows
                    if r["period"] == str(period)
                ]
            )
            sync_units(engine, authority, period)
            load_facts(engine, AUTHORITY, period, frame, "test-preload", "monthly.csv")
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the fixture


@dataclass
class Login:
    url: str
    username: str
    password: str


@dataclass
class Stopped:
    """How the server stopped: its exit code (None: it did not), its output, what it left alive."""

    code: int | None
    output: str
    left: list[tuple[int, str]]


@dataclass
class StandaloneMonth:
    """The running ``make airflow`` after the seed month's first run, and what that run left."""

    stack: MakeAirflow
    output: str  # the supervisor's output up to the ready line
    login: Login
    api: object  # cchc.pipeline.standalone.AirflowApi, logged in
    mail_dir: Path
    monthly: dict  # the cchc_monthly run of 2023-08, finished
    letters: dict  # the cchc_letters run it triggered, finished
    since: datetime  # just before the trigger
    until: datetime  # just after the letters run finished
    first_mail: dict[str, dict]  # the mailbox after the first month's runs
    runs: list[tuple[str, str]] = field(default_factory=list)  # every run a test made, for diagnostics
    stopped: Stopped | None = None

    @property
    def port(self) -> int:
        return self.stack.port

    @contextmanager
    def diagnosing(self) -> Iterator[None]:
        """Prints the diagnostics when the block fails."""
        try:
            yield
        except BaseException:
            print(diagnostics(self.stack, self.api, self.runs))
            raise

    def stop(self) -> Stopped:
        """Stops it once (SIGTERM); later calls answer the same."""
        if self.stopped is None:
            code = self.stack.stop()
            left = self.stack.leftovers()
            self.stack.kill_leftovers()
            self.stopped = Stopped(code, self.stack.output(), left)
        return self.stopped


def start_month(folder: Path) -> StandaloneMonth:
    """Starts ``make airflow`` in ``folder``, runs the seed month through it; stopped again on a failure."""
    from cchc.pipeline.standalone import AirflowApi

    stack = MakeAirflow(folder, free_tcp_port())
    preload_earlier_months(stack.out)
    api = None
    runs: list[tuple[str, str]] = []
    stack.start()
    try:
        # ---- the startup lines say where everything is, and the login works
        output = stack.wait_ready()
        ui = re.search(r"Giao diện Airflow:\s+(\S+) \(đăng nhập: (\S+) / ([^;)\s]+)", output)
        assert ui, output
        login = Login(*ui.groups())
        mail = re.search(r"tệp \.eml trong (\S+)", output)
        assert mail, output
        api = AirflowApi(login.url, login.username, login.password).login()

        # ---- unpause both, then trigger August as an operator does
        for dag_id in ("cchc_monthly", "cchc_letters"):
            assert api.unpause(dag_id)["is_paused"] is False
        since = datetime.now(UTC)
        first = api.trigger("cchc_monthly", {"period": PERIOD})
        runs.append(("cchc_monthly", first["dag_run_id"]))
        monthly = wait_for_run(api, "cchc_monthly", first["dag_run_id"])
        assert monthly["state"] == "success", f"the seed month's cchc_monthly run: {monthly['state']}"
        letters = new_letters_run(api, set())
        runs.append(("cchc_letters", letters["dag_run_id"]))
        letters = wait_for_run(api, "cchc_letters", letters["dag_run_id"])
        until = datetime.now(UTC)
        mail_dir = Path(mail.group(1))
        return StandaloneMonth(
            stack, output, login, api, mail_dir, monthly, letters, since, until, mailbox(mail_dir), runs
        )
    except BaseException:
        print(diagnostics(stack, api, runs))
        stack.stop()
        stack.kill_leftovers()
        raise


@pytest.fixture(scope="session")
def standalone(tmp_path_factory) -> Iterator[StandaloneMonth]:
    """``make airflow`` after the seed month's runs (see the module's doc); stopped at the session's end."""
    server = start_month(tmp_path_factory.mktemp("standalone"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def standalone_stopped(standalone) -> Stopped:
    """Stops the shared server (the tests using this run last) and says how it stopped."""
    return standalone.stop()
