"""``make airflow``: Airflow standalone on the embedded defaults, with everything a month needs.

The users' path, under a real scheduler: ``airflow standalone`` (scheduler with the LocalExecutor,
dag-processor, triggerer, API server with the UI) whose task workers reach the API server's
execution API on the chosen port, the portal simulator on ``CCHC_CONFIG_DIR`` unless ``cchc_portal``
is defined, and a local SMTP sink (every message saved as an ``.eml`` file under the output folder)
unless ``smtp_default`` is defined. A connection counts as defined when the environment
(``AIRFLOW_CONN_…``) or Airflow's metadata (the UI's connections) has it: a simulator or a sink must
never stand in for a real portal or mail server someone configured.

Airflow runs in a session of its own, its output in ``<output>/logs/airflow-standalone.log``; the
startup lines say where everything is. SIGINT (Ctrl+C), SIGTERM or SIGHUP stops it all: standalone
first gets SIGINT (it then stops its components), whatever of its session is still alive after
``STOP_GRACE`` seconds gets SIGTERM, then SIGKILL (``cchc.pipeline.processes``). Task processes put
themselves in process groups of their own but stay in the session, so nothing started here outlives
the command.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from cchc.core import settings
from cchc.core.authorities import list_authority_ids
from cchc.core.errors import ConfigError
from cchc.core.paths import helper_log, standalone_mail_dir, warehouse_file
from cchc.pipeline.processes import stop_session

DAG_IDS = ("cchc_monthly", "cchc_letters")
READY_TIMEOUT = 300.0  # a fresh metadata database takes a while to migrate on a busy machine
DAGS_TIMEOUT = 180.0
LOG_NAME = "airflow-standalone.log"
SIMULATOR_LOG_NAME = "simulator.log"
READY_LINE = "Airflow đã sẵn sàng"


# --------------------------------------------------------------------------- the REST API


class AirflowApi:
    """Airflow's public REST API as a user of the simple auth manager (``POST /auth/token``)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username, self._password = username, password
        self.timeout = timeout
        self.session = requests.Session()

    def login(self) -> AirflowApi:
        answer = self.session.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self._password},
            timeout=self.timeout,
        )
        if answer.status_code != 201:
            raise RuntimeError(
                f"Airflow từ chối đăng nhập của '{self.username}': {answer.status_code} {answer.text[:200]}"
            )
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return self

    def request(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs) -> dict:
        answer = self.session.request(
            method, f"{self.base_url}/api/v2/{path}", timeout=self.timeout, **kwargs
        )
        if answer.status_code not in expect:
            raise RuntimeError(
                f"Airflow REST {method} /api/v2/{path}: {answer.status_code} {answer.text[:500]}"
            )
        return answer.json() if answer.content else {}

    def get(self, path: str, **params) -> dict:
        return self.request("GET", path, params=params)

    def unpause(self, dag_id: str) -> dict:
        return self.request("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict) -> dict:
        """A manual run now (no logical date: two runs of one period never collide on it)."""
        return self.request("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})


def health(base_url: str) -> dict | None:
    """``/api/v2/monitor/health`` (no login needed), or None while the API server does not answer."""
    try:
        answer = requests.get(f"{base_url}/api/v2/monitor/health", timeout=2)
        return answer.json() if answer.ok else None
    except (requests.RequestException, ValueError):
        return None


def all_healthy(report: dict | None) -> bool:
    components = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return report is not None and all((report.get(c) or {}).get("status") == "healthy" for c in components)


def logins(passwords_file: Path, users: str) -> dict[str, str]:
    """The configured users (``name:role,…``) and the passwords Airflow generated for them."""
    try:
        passwords = json.loads(passwords_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    names = [item.split(":", 1)[0].strip() for item in users.split(",") if item.strip()]
    return {name: passwords[name] for name in names if name in passwords}


# --------------------------------------------------------------------------- the pieces


@dataclass
class Stack:
    """What ``make airflow`` started, and where an operator finds it."""

    ui_url: str
    output_dir: Path
    config_dir: Path
    log_path: Path
    passwords_file: Path
    users: str
    portal: str = ""  # the simulator's URL, or "" when the deployment's cchc_portal is used
    mail_dir: Path | None = None  # the sink's folder, or None when the deployment's smtp_default is used
    smtp_port: int | None = None
    warehouse: str = ""
    notes: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None  # airflow standalone, leader of its own session


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _connect_host(host: str) -> str:
    """The address a local client uses for a server bound to ``host`` (all interfaces: loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def airflow_environment(current: settings.Settings, config_dir: Path, output_dir: Path) -> dict[str, str]:
    """The environment of the Airflow components: the project's defaults where the deployment sets none."""
    env = current.child_environment(
        **{settings.CONFIG_DIR: str(config_dir), settings.OUTPUT_DIR: str(output_dir)}
    )
    # standalone starts its components as `airflow …`: the virtualenv's command must come first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    host, port = current.airflow_api_host, current.airflow_api_port
    env[settings.AIRFLOW_API_HOST] = host
    env[settings.AIRFLOW_API_PORT] = str(port)
    # The workers call the execution API of this API server: on its port, not Airflow's default 8080.
    env[settings.AIRFLOW_EXECUTION_API_URL] = (
        current.airflow_execution_api_url or f"http://{_connect_host(host)}:{port}/execution/"
    )
    env[settings.AIRFLOW_AUTH_USERS] = current.airflow_users
    return env


def _run_airflow(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.CompletedProcess:
    with log_path.open("ab") as log:
        return subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )


def metadata_connections(env: dict[str, str], log_path: Path) -> set[str]:
    """The connection ids stored in Airflow's metadata database (defined in the UI or the CLI)."""
    result = _run_airflow(["connections", "list", "--output", "json"], env, log_path)
    if result.returncode != 0:
        raise SystemExit(f"Không đọc được các kết nối của Airflow (nhật ký {log_path}).")
    try:
        rows = json.loads(result.stdout.decode("utf-8") or "[]")
    except ValueError:
        return set()
    return {str(row["conn_id"]) for row in rows if isinstance(row, dict) and row.get("conn_id")}


@contextmanager
def _sink(folder: Path) -> Iterator[int]:
    from cchc.delivery import sink

    controller = sink.start(folder)
    try:
        yield controller.port
    finally:
        controller.stop()


@contextmanager
def started(current: settings.Settings, stop: threading.Event | None = None) -> Iterator[Stack]:
    """Everything ``make airflow`` runs, ready to use; stopped (every process) when the block ends."""
    from cchc.pipeline.localrun import simulator, sink_connection

    stop = stop or threading.Event()
    config_dir = current.config_dir.resolve()
    output_dir = current.output_dir.resolve()
    list_authority_ids(config_dir)  # a wrong folder fails here, before Airflow starts
    env = airflow_environment(current, config_dir, output_dir)
    host, port = env[settings.AIRFLOW_API_HOST], int(env[settings.AIRFLOW_API_PORT])
    if _port_taken(host, port):
        raise SystemExit(
            f"Cổng {host}:{port} của giao diện Airflow đang bị chiếm: đặt {settings.AIRFLOW_API_PORT} "
            "sang cổng khác (ví dụ AIRFLOW__API__PORT=8081 make airflow)."
        )
    log_path = helper_log(output_dir, LOG_NAME)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        ui_url=f"http://{_connect_host(host)}:{port}",
        output_dir=output_dir,
        config_dir=config_dir,
        log_path=log_path,
        passwords_file=current.airflow_passwords_file,
        users=env[settings.AIRFLOW_AUTH_USERS],
    )
    print(f"Đang khởi động Airflow (nhật ký: {log_path}) …", flush=True)
    if _run_airflow(["db", "migrate"], env, log_path).returncode != 0:
        raise SystemExit(f"'airflow db migrate' thất bại; xem nhật ký {log_path}.")
    stored = metadata_connections(env, log_path)
    if stop.is_set():
        raise SystemExit("Đã dừng trước khi Airflow khởi động.")

    with ExitStack() as stack_exit:
        portal_variable = settings.connection_variable(settings.PORTAL_CONN_ID)
        if env.get(portal_variable) or settings.PORTAL_CONN_ID in stored:
            stack.notes.append("Cổng DVC: dùng kết nối cchc_portal đã cấu hình.")
        else:
            url = stack_exit.enter_context(
                simulator(config_dir, helper_log(output_dir, SIMULATOR_LOG_NAME), current.simulator_port)
            )
            env[portal_variable] = url
            stack.portal = url
        smtp_variable = settings.connection_variable(settings.SMTP_CONN_ID)
        if env.get(smtp_variable) or settings.SMTP_CONN_ID in stored:
            stack.notes.append("Thư: gửi qua kết nối smtp_default đã cấu hình.")
        else:
            stack.mail_dir = standalone_mail_dir(output_dir)
            stack.smtp_port = stack_exit.enter_context(_sink(stack.mail_dir))
            env[smtp_variable] = sink_connection(stack.smtp_port)
        if env.get(settings.connection_variable(settings.WAREHOUSE_CONN_ID)) or (
            settings.WAREHOUSE_CONN_ID in stored
        ):
            stack.warehouse = "kết nối cchc_warehouse"
        else:
            stack.warehouse = str(warehouse_file(output_dir))

        log = stack_exit.enter_context(log_path.open("ab"))
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its whole tree, task processes included, is found by the session
        )
        stack.proc = proc
        try:
            _wait_ready(stack, proc, stop)
            yield stack
        finally:
            stop_session(proc)


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def _wait_ready(stack: Stack, proc: subprocess.Popen, stop: threading.Event) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not all_healthy(health(stack.ui_url)):
        if proc.poll() is not None:
            raise SystemExit(
                f"airflow standalone đã dừng (mã {proc.returncode}); nhật ký {stack.log_path}:\n"
                f"{_tail(stack.log_path)}"
            )
        if time.monotonic() > deadline:
            raise SystemExit(
                f"Airflow chưa sẵn sàng sau {READY_TIMEOUT:.0f} giây: {health(stack.ui_url)}; "
                f"nhật ký {stack.log_path}:\n{_tail(stack.log_path)}"
            )
        if stop.wait(1):
            raise SystemExit("Đã dừng trước khi Airflow sẵn sàng.")
    stack.notes.extend(_dag_notes(stack, stop))


def _dag_notes(stack: Stack, stop: threading.Event) -> list[str]:
    """Whether the DAGs are loaded and paused, or why not (an import error names the file)."""
    users = logins(stack.passwords_file, stack.users)
    if not users:
        return []
    username, password = next(iter(users.items()))
    try:
        api = AirflowApi(stack.ui_url, username, password).login()
        deadline = time.monotonic() + DAGS_TIMEOUT
        while True:
            errors = api.get("importErrors").get("import_errors", [])
            if errors:
                return [f"LỖI nạp DAG {e['filename']}:\n{e['stack_trace']}" for e in errors]
            dags = {d["dag_id"]: d for d in api.get("dags", dag_id_pattern="cchc_").get("dags", [])}
            if all(dag_id in dags for dag_id in DAG_IDS):
                paused = [dag_id for dag_id in DAG_IDS if dags[dag_id]["is_paused"]]
                if paused:
                    return [f"DAG {', '.join(paused)}: đang tạm dừng (paused); bật lên trước khi chạy."]
                return [f"DAG {', '.join(DAG_IDS)}: đã bật."]
            if time.monotonic() > deadline or stop.wait(1):
                return [f"DAG chưa nạp xong sau {DAGS_TIMEOUT:.0f} giây; xem nhật ký {stack.log_path}."]
    except (RuntimeError, requests.RequestException) as exc:
        return [f"Chưa kiểm tra được các DAG qua REST API: {exc}"]


def startup_lines(stack: Stack) -> list[str]:
    """What an operator needs to start working (Vietnamese): where everything is, how to run a month."""
    users = logins(stack.passwords_file, stack.users)
    login = "; ".join(f"{name} / {password}" for name, password in users.items()) or (
        f"xem {stack.passwords_file}"
    )
    first_user = next(iter(users), "admin")
    lines = ["", f"{READY_LINE}.", f"  Giao diện Airflow:       {stack.ui_url} (đăng nhập: {login})"]
    if stack.portal:
        lines.append(f"  Trình giả lập Cổng DVC:  {stack.portal} (dữ liệu: {stack.config_dir})")
    if stack.mail_dir is not None:
        lines.append(
            f"  Hộp thư thử nghiệm:      SMTP 127.0.0.1:{stack.smtp_port}, mỗi thư lưu thành một tệp .eml "
            f"trong {stack.mail_dir}"
        )
    lines += [
        f"  Kết quả:                 {stack.output_dir}/<cơ quan>/<kỳ>/ (số liệu, Data Docs, công văn)",
        f"  Kho dữ liệu:             {stack.warehouse}",
        f"  Nhật ký:                 {stack.log_path} (Airflow); nhật ký tác vụ trong giao diện",
        *[f"  {note}" for note in stack.notes],
        "  Chạy một tháng: bật (unpause) cả cchc_monthly và cchc_letters, rồi Trigger cchc_monthly với",
        '    tham số period = "2023-08" (chạy tay một kỳ bất kỳ). Bật cchc_monthly cũng lên lịch tháng gần',
        "    nhất; lần chạy đó chờ Cổng DVC khóa số liệu (tối đa 5 ngày) và không cản lần chạy kỳ khác.",
        "  Báo cáo CCHC: mục Báo cáo CCHC trong thanh điều hướng (số liệu, công văn, gửi thư, tệp).",
        "  Hạn gửi: bật cchc_deadlines để mỗi ngày cảnh báo cán bộ vận hành khi công văn quá hạn gửi.",
        "  Qua REST API:",
        f"    TOKEN=$(curl -s -X POST {stack.ui_url}/auth/token -H 'Content-Type: application/json' \\",
        f'      -d \'{{"username": "{first_user}", "password": "<mật khẩu>"}}\' | '
        "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'    curl -X PATCH {stack.ui_url}/api/v2/dags/cchc_monthly -H "Authorization: Bearer $TOKEN" \\',
        "      -H 'Content-Type: application/json' -d '{\"is_paused\": false}'   # và cchc_letters",
        f'    curl -X POST {stack.ui_url}/api/v2/dags/cchc_monthly/dagRuns -H "Authorization: Bearer $TOKEN" \\',
        '      -H \'Content-Type: application/json\' -d \'{"logical_date": null, "conf": {"period": "2023-08"}}\'',
        "  Dừng: Ctrl+C",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cchc.pipeline.standalone", description=__doc__)
    parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        return _serve(settings.current(), stop)
    except ConfigError as exc:  # a missing or wrong CCHC_CONFIG_DIR, a bad port: said before anything starts
        print(f"make airflow: {exc}", file=sys.stderr)
        return 2


def _serve(current: settings.Settings, stop: threading.Event) -> int:
    code = 0
    with started(current, stop) as stack:
        print("\n".join(startup_lines(stack)), flush=True)
        proc = stack.proc
        assert proc is not None  # started() yields a running standalone
        while not stop.wait(1):
            if proc.poll() is not None:
                print(
                    f"airflow standalone đã tự dừng (mã {proc.returncode}); nhật ký {stack.log_path}:\n"
                    f"{_tail(stack.log_path)}",
                    file=sys.stderr,
                    flush=True,
                )
                code = 1
                break
        print("Đang dừng Airflow, trình giả lập và hộp thư thử nghiệm …", flush=True)
    print("Đã dừng.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
