"""``make run-celery``: one period under a distributed Airflow on this machine, then everything stopped.

The production layout (docker-compose.yaml) without containers: the CeleryExecutor with Redis as the
broker, PostgreSQL for Airflow's metadata (and Celery's results) and for the warehouse, and each
component a process of its own: API server (on 127.0.0.1, a free port), scheduler, dag-processor,
triggerer and ``--workers`` Celery workers (``worker1``, ``worker2``, … each with ``--concurrency``
slots). Around them, as ``make run`` does, the portal simulator unless the environment defines
``cchc_portal`` and a local SMTP sink (``<output>/mail/<period>/``) unless it defines ``smtp_default``.
The warehouse is always the run's own database: a run meant to be compared never writes elsewhere.

What belongs to the run, all named after the output folder (``names_for``), so two runs never meet:
- two new PostgreSQL databases, ``<name>_airflow`` and ``<name>_warehouse``: kept after the run so its
  ledger can be read; the next run on the same folder drops and recreates them; ``--drop`` removes them;
- a Redis key prefix ``<name>:`` (kombu's ``global_keyprefix``: queues, bindings, pub/sub) on the
  broker's database; its keys are deleted when the run stops;
- secrets made at run time (fernet key, the JWT secret every component must share, the API secret
  key), only in the components' environment: never written to a file, never printed;
- the Airflow home ``<output>/airflow-home`` (task logs, the generated login) and one log per component
  in ``<output>/logs/``; ``<output>/celery-run.json`` says what the run was and how it ended.

The run: ``airflow db migrate``; the components; once the API server says scheduler, dag-processor and
triggerer are healthy and every worker said it is ready, both DAGs unpaused (the scheduler's own
schedule is off, so no scheduled month runs beside this one) and ``cchc_monthly`` triggered with
``make run``'s conf (``period``, and the ``issued_at`` it gives the letters: same numbers, same dates),
which it passes on to the ``cchc_letters`` run it triggers for each authority. When the monthly run
and every letters run it triggered have finished, the outcome per authority, the workers the tasks ran
on and ``make run``'s report; then every component stopped (SIGTERM, SIGKILL after a grace) and
checked gone. Exit code 0 only if every run succeeded and nothing was left running.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cchc.core import settings
from cchc.core.authorities import list_authority_ids
from cchc.core.errors import ConfigError
from cchc.core.files import atomic_write_json
from cchc.core.paths import helper_log, mail_dir, run_outcomes_file
from cchc.core.periods import Period
from cchc.pipeline import processes
from cchc.pipeline.localrun import free_port, report, run_confs, simulator, sink_connection
from cchc.pipeline.standalone import DAG_IDS, AirflowApi, all_healthy, health, logins

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_WORKERS = 2
DEFAULT_CONCURRENCY = 2
RUN_RECORD = "celery-run.json"
HOME_DIR = "airflow-home"
HOSTNAME_CALLABLE = "cchc.pipeline.hostname.worker_hostname"
USERS = "admin:admin"
READY_TIMEOUT = 300.0  # the components start side by side on a busy 2-core machine
RUN_TIMEOUT = 3600.0
POLL_SECONDS = 3.0
FINISHED = ("success", "failed")


class Stopped(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: the run stops what it started and says so."""


# --------------------------------------------------------------------------- names and environment


@dataclass(frozen=True)
class Names:
    """What the run of one output folder owns in PostgreSQL and Redis."""

    base: str

    @property
    def metadata_db(self) -> str:
        return f"{self.base}_airflow"

    @property
    def warehouse_db(self) -> str:
        return f"{self.base}_warehouse"

    @property
    def redis_prefix(self) -> str:
        return f"{self.base}:"


def names_for(output_dir: Path) -> Names:
    """``cchc_<folder name>_<8 hex of its path>``: readable, and two folders never share a database."""
    resolved = output_dir.resolve()
    slug = re.sub(r"[^a-z0-9]+", "_", resolved.name.lower()).strip("_")[:24] or "run"
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return Names(f"cchc_{slug}_{digest}")


def worker_names(count: int) -> list[str]:
    return [f"worker{i}" for i in range(1, count + 1)]


def component_commands(workers: int, concurrency: int, host: str, port: int) -> dict[str, list[str]]:
    """The ``airflow …`` arguments of every component, by the name of its log.

    Nothing serves logs over HTTP (``--skip-serve-logs``): every component shares this machine's
    Airflow home, the API server reads the task logs from its folder, and two workers' log servers
    would want the same port.
    """
    commands = {
        "api-server": ["api-server", "--host", host, "--port", str(port)],
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer", "--skip-serve-logs"],
    }
    for name in worker_names(workers):
        commands[name] = [
            "celery",
            "worker",
            "--celery-hostname",
            f"{name}@%h",
            "--concurrency",
            str(concurrency),
            "--skip-serve-logs",
            # No chatter with other workers on the broker: this run's are all that matter.
            "--without-gossip",
            "--without-mingle",
        ]
    return commands


@dataclass(frozen=True)
class ClusterSecrets:
    """Made at run time for this run only; ``repr`` shows none of them."""

    fernet_key: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    api_secret_key: str = field(repr=False)

    @classmethod
    def generate(cls) -> ClusterSecrets:
        from cryptography.fernet import Fernet

        return cls(Fernet.generate_key().decode(), secrets.token_urlsafe(48), secrets.token_urlsafe(48))


def warehouse_connection(url: str) -> str:
    """``AIRFLOW_CONN_CCHC_WAREHOUSE`` for the run's database (the URL in ``extra.url``, as in compose)."""
    return json.dumps({"conn_type": "generic", "extra": {"url": url}})


def cluster_environment(
    current: settings.Settings,
    *,
    config_dir: Path,
    output_dir: Path,
    metadata_url: str,
    warehouse_url: str,
    redis_url: str,
    names: Names,
    port: int,
    slots: int,
    keys: ClusterSecrets,
) -> dict[str, str]:
    """The environment every component gets (the workers add their own name)."""
    home = output_dir / HOME_DIR
    env = current.child_environment(
        **{
            settings.CONFIG_DIR: str(config_dir),
            settings.OUTPUT_DIR: str(output_dir),
            settings.WAREHOUSE_URL: warehouse_url,
            settings.AIRFLOW_HOME: str(home),
            settings.AIRFLOW_API_HOST: "127.0.0.1",
            settings.AIRFLOW_API_PORT: str(port),
            # The workers' tasks call the execution API of this API server.
            settings.AIRFLOW_EXECUTION_API_URL: f"http://127.0.0.1:{port}/execution/",
            settings.AIRFLOW_AUTH_USERS: USERS,
            settings.AIRFLOW_PASSWORDS_FILE: str(home / "simple_auth_manager_passwords.json.generated"),
            settings.connection_variable(settings.WAREHOUSE_CONN_ID): warehouse_connection(warehouse_url),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata_url}",
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": names.redis_prefix,
            # Airflow's default, said out loud (it warns otherwise): a task runs for minutes at most;
            # the long waits (sensors in reschedule mode, the approval) hold no worker.
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "86400",
            "AIRFLOW__CORE__FERNET_KEY": keys.fernet_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": keys.jwt_secret,
            "AIRFLOW__API__SECRET_KEY": keys.api_secret_key,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": HOSTNAME_CALLABLE,
            "AIRFLOW__CORE__PARALLELISM": str(slots),
            # This run's period only: unpausing cchc_monthly must not also start the latest month.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }
    )
    env.pop(settings.WORKER_NAME, None)
    # `airflow` and the components it starts: the virtualenv's command first.
    env["PATH"] = ":".join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault(settings.TASK_RETRIES, "0")  # as make run: a failure shows at once
    return env


# --------------------------------------------------------------------------- PostgreSQL and Redis


def _admin_engine(admin_url: str):
    import sqlalchemy as sa

    from cchc.core.db import engine_for

    return engine_for(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


def fresh_databases(admin_url: str, names: Names) -> tuple[str, str]:
    """Both databases of the run, new (a previous run's of the same folder dropped first): their URLs."""
    from cchc.core.db import create_database, drop_database, mask_text

    admin = _admin_engine(admin_url)
    try:
        urls = []
        for name in (names.metadata_db, names.warehouse_db):
            drop_database(admin, name)
            urls.append(create_database(admin, name))
        return urls[0], urls[1]
    except Exception as exc:
        raise SystemExit(
            f"Không tạo được cơ sở dữ liệu trên PostgreSQL {mask_text(admin_url)}: "
            f"{mask_text(str(exc)).splitlines()[0]}"
        ) from exc
    finally:
        admin.dispose()


def drop_databases(admin_url: str, names: Names) -> None:
    from cchc.core.db import drop_database

    admin = _admin_engine(admin_url)
    try:
        for name in (names.metadata_db, names.warehouse_db):
            drop_database(admin, name)
    finally:
        admin.dispose()


def redis_client(redis_url: str):
    import redis

    return redis.Redis.from_url(redis_url, socket_timeout=5)


def check_redis(redis_url: str) -> None:
    import redis

    from cchc.core.db import mask_text

    try:
        redis_client(redis_url).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis {mask_text(redis_url)} không trả lời: {exc}") from exc


def delete_redis_keys(redis_url: str, prefix: str) -> int:
    """Every key of the run's prefix (what the broker left: bindings, an empty queue): how many."""
    client = redis_client(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        client.delete(*keys)
    return len(keys)


# --------------------------------------------------------------------------- the output folder


def prepare_output(output_dir: Path) -> None:
    """An empty folder for the run; a previous run of make run-celery there is replaced, anything else
    refused (the run would mix its letters and ledger with files it did not make)."""
    if output_dir.exists() and any(output_dir.iterdir()):
        if not (output_dir / RUN_RECORD).is_file():
            raise SystemExit(
                f"Thư mục kết quả {output_dir} đã có dữ liệu không phải của make run-celery: chọn "
                "OUTPUT_DIR khác (một thư mục mới hoặc trống)."
            )
        print(
            f"Thay lần chạy make run-celery trước trong {output_dir} (xóa thư mục và cơ sở dữ liệu của nó)."
        )
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)


def write_record(output_dir: Path, record: dict[str, Any]) -> None:
    atomic_write_json(output_dir / RUN_RECORD, record)


def write_airflow_cfg(home: Path) -> Path:
    """An airflow.cfg with nothing in it: without one, Airflow writes its defaults there, random
    secret_key and jwt_secret included (unused, since the environment wins, but secrets on disk)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "airflow.cfg"
    path.write_text(
        "# make run-celery: every setting comes from the components' environment (cchc.pipeline.celeryrun).\n",
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- the components


@dataclass
class Component:
    name: str
    log_path: Path
    proc: subprocess.Popen


@dataclass
class Cluster:
    """What the run started; ``components`` in the order they started."""

    output_dir: Path
    api_url: str
    env: dict[str, str]
    components: list[Component] = field(default_factory=list)

    def get(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    @property
    def workers(self) -> list[Component]:
        return [c for c in self.components if c.name.startswith("worker")]


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def start_component(name: str, args: list[str], env: dict[str, str], log_path: Path) -> Component:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [_airflow(), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its whole tree, task processes included, is found by the session
        )
    return Component(name, log_path, proc)


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def check_alive(cluster: Cluster) -> None:
    for component in cluster.components:
        if component.proc.poll() is not None:
            raise SystemExit(
                f"Thành phần {component.name} đã dừng (mã {component.proc.returncode}); nhật ký "
                f"{component.log_path}:\n{_tail(component.log_path)}"
            )


def _wait(stop: threading.Event, seconds: float) -> None:
    if stop.wait(seconds):
        raise Stopped()


def worker_ready(component: Component) -> bool:
    """Celery logs ``<nodename> ready.`` once the worker consumes from the broker."""
    return (
        re.search(rf"{re.escape(component.name)}@\S+ ready\.", _tail(component.log_path, 200_000)) is not None
    )


def wait_ready(cluster: Cluster, stop: threading.Event, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not (all_healthy(health(cluster.api_url)) and all(worker_ready(w) for w in cluster.workers)):
        check_alive(cluster)
        if time.monotonic() > deadline:
            waiting = [w.name for w in cluster.workers if not worker_ready(w)]
            raise SystemExit(
                f"Các thành phần chưa sẵn sàng sau {timeout:.0f} giây: {health(cluster.api_url)}; "
                f"worker chưa sẵn sàng: {', '.join(waiting) or 'không'}; nhật ký trong "
                f"{cluster.output_dir / 'logs'}"
            )
        _wait(stop, 1)


def login(cluster: Cluster) -> AirflowApi:
    users = logins(Path(cluster.env[settings.AIRFLOW_PASSWORDS_FILE]), USERS)
    if not users:
        raise SystemExit(
            f"Không đọc được mật khẩu Airflow đã tạo ({cluster.env[settings.AIRFLOW_PASSWORDS_FILE]})."
        )
    username, password = next(iter(users.items()))
    return AirflowApi(cluster.api_url, username, password).login()


def wait_for_dags(
    api: AirflowApi, cluster: Cluster, stop: threading.Event, timeout: float = READY_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        errors = api.get("importErrors").get("import_errors", [])
        if errors:
            raise SystemExit("\n".join(f"LỖI nạp DAG {e['filename']}:\n{e['stack_trace']}" for e in errors))
        found = {d["dag_id"] for d in pages(api, "dags", "dags")}
        if set(DAG_IDS) <= found:
            return
        check_alive(cluster)
        if time.monotonic() > deadline:
            # Run outside make, the DAG folder is Airflow's default (and its examples are loaded).
            folder = cluster.env.get("AIRFLOW__CORE__DAGS_FOLDER") or "(mặc định của Airflow)"
            raise SystemExit(
                f"Chưa thấy DAG {', '.join(d for d in DAG_IDS if d not in found)} sau {timeout:.0f} giây "
                f"(thư mục DAG: {folder}; đã nạp: {', '.join(sorted(found)) or 'không DAG nào'}); chạy qua "
                f"make run-celery, hoặc xem {cluster.get('dag-processor').log_path}"
            )
        _wait(stop, 1)


@contextmanager
def _mail_sink(folder: Path) -> Iterator[int]:
    from cchc.delivery import sink

    controller = sink.start(folder)
    try:
        yield controller.port
    finally:
        controller.stop()


# --------------------------------------------------------------------------- the REST API


def pages(api: AirflowApi, path: str, key: str, **params: Any) -> list[dict]:
    """Every item of a list endpoint (the API gives 100 at most per page)."""
    items: list[dict] = []
    while True:
        page = api.get(path, limit=100, offset=len(items), **params)
        items += page[key]
        if not page[key] or len(items) >= page["total_entries"]:
            return items


def task_instances(api: AirflowApi, dag_id: str, run_id: str) -> list[dict]:
    return pages(api, f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", "task_instances")


def letters_runs_of(api: AirflowApi, monthly_run_id: str) -> list[dict]:
    """The cchc_letters runs the monthly run triggered (``<run_id>__letters__<map index>``)."""
    prefix = f"{monthly_run_id}__letters__"
    return [
        r for r in pages(api, "dags/cchc_letters/dagRuns", "dag_runs") if r["dag_run_id"].startswith(prefix)
    ]


def wait_for_runs(
    api: AirflowApi, cluster: Cluster, monthly_run_id: str, stop: threading.Event, timeout: float
) -> tuple[dict, list[dict]]:
    """The monthly run and its letters runs, once all have finished."""
    deadline = time.monotonic() + timeout
    while True:
        monthly = api.get(f"dags/cchc_monthly/dagRuns/{monthly_run_id}")
        letters = letters_runs_of(api, monthly_run_id)
        if monthly["state"] in FINISHED and all(r["state"] in FINISHED for r in letters):
            return monthly, letters
        check_alive(cluster)
        if time.monotonic() > deadline:
            states = ", ".join(f"{r['dag_run_id']}: {r['state']}" for r in [monthly, *letters])
            raise SystemExit(f"Các lần chạy chưa xong sau {timeout:.0f} giây ({states}).")
        _wait(stop, POLL_SECONDS)


# --------------------------------------------------------------------------- what it says


STATE_WORDS = {"success": "thành công", "failed": "thất bại"}


def _outcomes(output_dir: Path, dag_id: str, run_id: str) -> dict[str, str]:
    """Every authority's outcome as the run's summary task wrote it (authority → text)."""
    path = run_outcomes_file(output_dir, dag_id, run_id)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {o["authority"]: o["text"] for o in document.get("authorities", [])}


def worker_of(hostname: str | None) -> str:
    """``worker1@host`` → ``worker1``; a task that never ran has no host."""
    return (hostname or "").split("@", 1)[0] if hostname and "@" in hostname else (hostname or "")


def outcome_lines(
    output_dir: Path, authority_ids: list[str], monthly: dict, letters: list[dict], hosts: Counter
) -> list[str]:
    monthly_text = _outcomes(output_dir, "cchc_monthly", monthly["dag_run_id"])
    by_authority: dict[str, dict] = {}
    for item in letters:
        for authority in (item.get("conf") or {}).get("authorities") or []:
            by_authority[authority] = item
    lines = [
        f"cchc_monthly {monthly['dag_run_id']}: {STATE_WORDS.get(monthly['state'], monthly['state'])}; "
        f"{len(letters)} lần chạy cchc_letters"
    ]
    for authority in authority_ids:
        lines.append(f"- {authority}:")
        lines.append(f"    số liệu, quyết định: {monthly_text.get(authority, 'không có kết quả')}")
        letters_run = by_authority.get(authority)
        if letters_run is None:
            lines.append("    công văn: chưa có lần chạy cchc_letters")
            continue
        text = _outcomes(output_dir, "cchc_letters", letters_run["dag_run_id"]).get(
            authority, "không có kết quả"
        )
        lines.append(
            f"    công văn: {text} (cchc_letters {letters_run['dag_run_id']}: "
            f"{STATE_WORDS.get(letters_run['state'], letters_run['state'])})"
        )
    spread = ", ".join(f"{name}: {count}" for name, count in sorted(hosts.items())) or "không có"
    lines.append(f"Tác vụ đã chạy theo worker: {spread}")
    return lines


# --------------------------------------------------------------------------- the run


@dataclass
class Options:
    period: Period
    config_dir: Path
    output_dir: Path
    workers: int = DEFAULT_WORKERS
    concurrency: int = DEFAULT_CONCURRENCY
    pg_admin_url: str = DEFAULT_PG_ADMIN_URL
    redis_url: str = DEFAULT_REDIS_URL
    timeout: float = RUN_TIMEOUT


def run(options: Options, stop: threading.Event) -> int:
    """The whole run (see the module's doc); the exit code."""
    from cchc.core.db import mask_url

    period, config_dir, output_dir = options.period, options.config_dir, options.output_dir
    authority_ids = list_authority_ids(config_dir)  # a wrong folder fails here, before anything starts
    names = names_for(output_dir)
    check_redis(options.redis_url)
    prepare_output(output_dir)
    metadata_url, warehouse_url = fresh_databases(options.pg_admin_url, names)
    port = free_port()
    env = cluster_environment(
        settings.current(),
        config_dir=config_dir,
        output_dir=output_dir,
        metadata_url=metadata_url,
        warehouse_url=warehouse_url,
        redis_url=options.redis_url,
        names=names,
        port=port,
        slots=options.workers * options.concurrency,
        keys=ClusterSecrets.generate(),
    )
    logs = output_dir / "logs"
    record: dict[str, Any] = {
        "period": str(period),
        "config_dir": str(config_dir),
        "metadata_database": mask_url(metadata_url),
        "warehouse_database": mask_url(warehouse_url),
        "postgres": mask_url(options.pg_admin_url),
        "redis": mask_url(options.redis_url),
        "redis_prefix": names.redis_prefix,
        "api_url": f"http://127.0.0.1:{port}",
        "workers": worker_names(options.workers),
        "concurrency": options.concurrency,
        "logs": str(logs),
        "state": "starting",
    }
    write_record(output_dir, record)
    print(
        f"Cơ sở dữ liệu: {names.metadata_db} (Airflow), {names.warehouse_db} (kho dữ liệu); Redis: tiền tố {names.redis_prefix}"
    )
    print(
        f"Đang chuẩn bị cơ sở dữ liệu của Airflow (nhật ký: {logs / 'airflow-db-migrate.log'}) …", flush=True
    )
    write_airflow_cfg(Path(env[settings.AIRFLOW_HOME]))
    migrate_log = logs / "airflow-db-migrate.log"
    migrate_log.parent.mkdir(parents=True, exist_ok=True)
    with migrate_log.open("ab") as log:
        if subprocess.run(
            [_airflow(), "db", "migrate"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        ).returncode:
            raise SystemExit(f"'airflow db migrate' thất bại; xem nhật ký {migrate_log}.")

    cluster = Cluster(output_dir, f"http://127.0.0.1:{port}", env)
    code = 1
    with ExitStack() as stack:
        portal_variable = settings.connection_variable(settings.PORTAL_CONN_ID)
        if env.get(portal_variable):
            print(f"Dùng kết nối cchc_portal của môi trường ({portal_variable}).")
        else:
            env[portal_variable] = stack.enter_context(
                simulator(config_dir, helper_log(output_dir, "simulator.log"))
            )
        smtp_variable = settings.connection_variable(settings.SMTP_CONN_ID)
        if env.get(smtp_variable):
            print(f"Dùng kết nối smtp_default của môi trường ({smtp_variable}).")
        else:
            folder = mail_dir(output_dir, period)
            smtp_port = stack.enter_context(_mail_sink(folder))
            env[smtp_variable] = sink_connection(smtp_port)
            print(f"Hộp thư thử nghiệm SMTP tại 127.0.0.1:{smtp_port}, lưu thư vào {folder}")
        stack.callback(_stop_all, cluster, options, names, record)
        commands = component_commands(options.workers, options.concurrency, "127.0.0.1", port)
        for name, args in commands.items():
            component_env = {**env, settings.WORKER_NAME: name} if name.startswith("worker") else env
            cluster.components.append(start_component(name, args, component_env, logs / f"{name}.log"))
        print(
            f"Đang khởi động {', '.join(commands)} (CeleryExecutor, {options.workers} worker × "
            f"{options.concurrency} luồng; giao diện {cluster.api_url}; nhật ký trong {logs}) …",
            flush=True,
        )
        started = time.monotonic()
        wait_ready(cluster, stop)
        api = login(cluster)
        wait_for_dags(api, cluster, stop)
        print(f"Mọi thành phần đã sẵn sàng sau {time.monotonic() - started:.0f} giây.", flush=True)
        for dag_id in DAG_IDS:
            api.unpause(dag_id)
        _, conf = run_confs(period)
        triggered = api.trigger("cchc_monthly", conf)
        record.update(state="running", monthly_run_id=triggered["dag_run_id"])
        write_record(output_dir, record)
        print(
            f"Đã kích hoạt cchc_monthly {triggered['dag_run_id']} với {json.dumps(conf)}; đang chờ …",
            flush=True,
        )
        monthly, letters = wait_for_runs(api, cluster, triggered["dag_run_id"], stop, options.timeout)
        instances = task_instances(api, "cchc_monthly", monthly["dag_run_id"])
        for run_ in letters:
            instances += task_instances(api, "cchc_letters", run_["dag_run_id"])
        hosts = Counter(worker_of(t.get("hostname")) for t in instances if t.get("hostname"))
        ok = (
            monthly["state"] == "success"
            and len(letters) == len(authority_ids)
            and all(r["state"] == "success" for r in letters)
        )
        code = 0 if ok else 1
        record.update(
            state="success" if ok else "failed",
            monthly_state=monthly["state"],
            letters_runs={r["dag_run_id"]: r["state"] for r in letters},
            tasks_by_worker=dict(hosts),
        )
        print()
        print(f"Kết quả lần chạy phân tán kỳ {period}:")
        print("\n".join(outcome_lines(output_dir, authority_ids, monthly, letters, hosts)))
        print(f"Nhật ký tác vụ: {Path(env[settings.AIRFLOW_HOME]) / 'logs'}; các thành phần: {logs}")
        report(output_dir, config_dir, period, warehouse_url)
        print(f"Kho dữ liệu (giữ lại): {mask_url(warehouse_url)}; metadata Airflow: {mask_url(metadata_url)}")
    left = record.get("left_running") or []
    return 1 if left else code


def _stop_all(cluster: Cluster, options: Options, names: Names, record: dict[str, Any]) -> None:
    """Every component stopped, checked gone; the broker's keys deleted; the record completed."""
    print("Đang dừng các thành phần …", flush=True)
    left = processes.stop_sessions([c.proc for c in cluster.components], first=signal.SIGTERM)
    record["left_running"] = [f"{pid} {processes.command_line(pid)}" for pid in left]
    try:
        record["redis_keys_deleted"] = delete_redis_keys(options.redis_url, names.redis_prefix)
    except Exception as exc:  # noqa: BLE001 - the stop must finish; the record says what failed
        record["redis_keys_deleted"] = f"lỗi: {exc}"
    if record.get("state") in ("starting", "running"):
        record["state"] = "stopped"
    write_record(cluster.output_dir, record)
    if left:
        print("CÒN TIẾN TRÌNH CHƯA DỪNG:\n" + "\n".join(record["left_running"]), file=sys.stderr, flush=True)
    else:
        print(
            f"Đã dừng {len(cluster.components)} thành phần; không còn tiến trình nào của lần chạy.",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cchc.pipeline.celeryrun",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--period", help="kỳ báo cáo YYYY-MM")
    parser.add_argument("--config-dir")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="số worker Celery (mặc định 2)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="số luồng mỗi worker")
    parser.add_argument("--postgres", default=DEFAULT_PG_ADMIN_URL, help="URL quản trị PostgreSQL")
    parser.add_argument("--redis", default=DEFAULT_REDIS_URL, help="URL Redis làm broker")
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT, help="thời gian chờ tối đa (giây)")
    parser.add_argument(
        "--drop", action="store_true", help="chỉ xóa cơ sở dữ liệu của lần chạy trong --output-dir"
    )
    args = parser.parse_args(argv)
    output_dir = Path(args.output_dir).resolve()
    if args.drop:
        drop_databases(args.postgres, names_for(output_dir))
        print(f"Đã xóa cơ sở dữ liệu {names_for(output_dir).base}_* của {output_dir}.")
        return 0
    if not args.period or not args.config_dir:
        parser.error("cần --period và --config-dir")
    if args.workers < 1 or args.concurrency < 1:
        parser.error("--workers và --concurrency phải từ 1 trở lên")
    options = Options(
        period=Period.parse(args.period),
        config_dir=Path(args.config_dir).resolve(),
        output_dir=output_dir,
        workers=args.workers,
        concurrency=args.concurrency,
        pg_admin_url=args.postgres,
        redis_url=args.redis,
        timeout=args.timeout,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        return run(options, stop)
    except ConfigError as exc:
        print(f"make run-celery: {exc}", file=sys.stderr)
        return 2
    except Stopped:
        print("Đã dừng theo yêu cầu.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
