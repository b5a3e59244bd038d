"""``make run`` / ``make demo``: run the DAGs for one period in Airflow, without a scheduler.

Uses ``airflow dags test`` against the connections the environment defines. Where it defines none,
the run is self-contained: it starts the portal simulator on the config folder (and stops it after),
so a newcomer needs no server at all.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from cchc.core import settings
from cchc.core.authorities import list_authority_ids
from cchc.core.paths import PeriodFolder, helper_log, mail_dir, under_output, warehouse_file
from cchc.core.periods import TIMEZONE, Period

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def simulator(config_dir: Path, log_path: Path, port: int | None = None):
    """The portal simulator as a child process, for as long as the run lasts (on ``port``, else a free one).

    Its output goes to ``log_path``, never to a pipe: the simulator logs a line per request, and a
    pipe that nobody reads fills up (about 64 KiB) and then blocks every one of its handler threads.
    """
    port = port or free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cchc.cli", "simulate", "--config-dir", str(config_dir), "--port", str(port)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if proc.poll() is not None:
                tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise SystemExit(f"Trình giả lập cổng DVC không khởi động được (nhật ký {log_path}):\n{tail}")
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise SystemExit("Trình giả lập cổng DVC không trả lời sau 10 giây")
        print(f"Đã khởi động trình giả lập cổng DVC tại {url} (dữ liệu: {config_dir}; nhật ký: {log_path})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()


def logical_date_for(period: Period) -> str:
    """The scheduled logical date that reports on ``period``: 07:00 on the 1st of the next month (Vietnam)."""
    from datetime import datetime

    nxt = period.next()
    return datetime(nxt.year, nxt.month, 1, 7, 0, tzinfo=TIMEZONE).isoformat()


def airflow(*args: str, env: dict[str, str]) -> None:
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    result = subprocess.run(cmd, env=env)
    if result.returncode != 0:
        raise SystemExit(
            f"Lệnh '{' '.join(['airflow', *args])}' thất bại (mã {result.returncode}); xem log ở trên."
        )


def report(output_dir: Path, config_dir: Path, period: Period, warehouse_url: str | None = None) -> None:
    """What the run produced, per authority: where an operator finds it (``warehouse_url``: the
    warehouse the run used, when it is not the environment's)."""
    print()
    print(f"Kết quả kỳ {period}:")
    for authority_id in list_authority_ids(config_dir):
        folder = PeriodFolder(output_dir, authority_id, period)
        extracted = folder.extracted_csv
        raw = sorted(p for p in folder.raw_dir.glob("*") if p.is_dir())
        print(f"- {authority_id}:")
        if extracted.exists():
            rows = sum(1 for _ in extracted.open(encoding="utf-8")) - 1
            print(f"    số liệu trích xuất: {extracted} ({rows} đơn vị)")
        else:
            print("    chưa có số liệu trích xuất")
        if raw:
            print(f"    phản hồi gốc của cổng: {raw[-1]} (manifest.jsonl; {len(raw)} lần lấy)")
        validation = folder.validation_index
        if validation.exists():
            print(f"    kết quả kiểm tra (Data Docs): {validation}")
        totals, letter_lines = _from_warehouse(output_dir, authority_id, period, warehouse_url)
        for line in totals:
            print(f"    {line}")
        decisions = folder.decisions_json
        if decisions.exists():
            from cchc.rules.summary import decisions_text

            print(f"    quyết định: {decisions}")
            for line in decisions_text(json.loads(decisions.read_text(encoding="utf-8"))).splitlines():
                print(f"      {line}")
        for line in letter_lines:
            print(f"    {line}")
    mail = sorted(mail_dir(output_dir, period).glob("*.eml"))
    if mail:
        print(f"Thư đã gửi (hộp thư thử nghiệm): {len(mail)} tệp .eml trong {mail[0].parent}")
        for path in mail:
            print(f"  {path.name}")


def _from_warehouse(
    output_dir: Path, authority_id: str, period: Period, url: str | None = None
) -> tuple[list[str], list[str]]:
    """The authority totals and the period's letters, from the warehouse the run used (``url``, else
    the embedded one unless configured): two lists of lines."""
    from cchc.core.db import engine_for, mask_url, url_from_env
    from cchc.warehouse.rates import authority_totals, display_lines

    if url is None and settings.current().has_connection(settings.WAREHOUSE_CONN_ID):
        return ["tỷ lệ, công văn: xem kho dữ liệu của kết nối cchc_warehouse"], []
    url = url or url_from_env(output_dir)
    if url.startswith("sqlite") and not warehouse_file(output_dir).exists():
        return [], []
    engine = engine_for(url)
    try:
        totals = [f"kho dữ liệu: {mask_url(url)}", "tỷ lệ toàn " + authority_id + ":"]
        totals += [f"  {line}" for line in display_lines(authority_totals(engine, authority_id, period))]
        return totals, _letter_lines(engine, output_dir, authority_id, period)
    except Exception as exc:  # the report must not hide the run's own outcome
        return [f"kho dữ liệu: chưa đọc được ({exc})"], []
    finally:
        engine.dispose()


def _letter_lines(engine: Engine, output_dir: Path, authority_id: str, period: Period) -> list[str]:
    """Every letter of the period, newest first: its state, number and files (letters/<id>/…)."""
    from cchc.letter.lifecycle import STATE_LABELS
    from cchc.letter.records import read_letters

    lines = []
    for row in read_letters(engine, authority_id, str(period)):
        number = f" số {row['document_number']:02d}" if row["document_number"] else ""
        lines.append(f"công văn{number} ({STATE_LABELS.get(row['status'], row['status'])}):")
        for stored in (row["docx_path"], row["pdf_path"]):
            if stored:
                lines.append(f"  {under_output(stored, output_dir)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cchc-run", description=__doc__)
    parser.add_argument("--period", required=True, help="kỳ báo cáo YYYY-MM")
    parser.add_argument("--config-dir", required=True)
    parser.add_argument("--output-dir", default=str(settings.current().output_dir))
    args = parser.parse_args(argv)

    period = Period.parse(args.period)
    config_dir = Path(args.config_dir).resolve()
    output_dir = Path(args.output_dir).resolve()
    list_authority_ids(config_dir)  # a wrong folder fails here, before Airflow starts
    env = settings.current().child_environment(
        **{settings.CONFIG_DIR: str(config_dir), settings.OUTPUT_DIR: str(output_dir)}
    )
    env.setdefault(settings.TASK_RETRIES, "0")  # a one-off run reports a failure at once

    airflow("db", "migrate", env={**env, "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"})
    monthly, letters = run_confs(period)
    with _portal(env, config_dir, helper_log(output_dir, "simulator.log")), _mail(env, output_dir, period):
        # The monthly DAG's trigger of cchc_letters needs a scheduler; here the letters DAG is run
        # right after it instead, in the same way. No logical date is given: `airflow dags test` then
        # takes the time it starts, which is what the UI shows as the run's start (dag.test records a
        # run's start as its logical date, so a 2023 logical date made every run last ~3 years).
        airflow(
            "dags",
            "test",
            "cchc_monthly",
            "--conf",
            json.dumps(monthly),
            # A full match of the task id (the group's prefix included): a pattern that misses lets the
            # triggers run, leaving one queued cchc_letters run per authority for a later scheduler.
            "--mark-success-pattern",
            r"authority\.trigger_letters",
            env=env,
        )
        airflow("dags", "test", "cchc_letters", "--conf", json.dumps(letters), env=env)
    report(output_dir, config_dir, period)
    _timings(env, output_dir, config_dir, period)
    return 0


def _timings(env: dict[str, str], output_dir: Path, config_dir: Path, period: Period) -> None:
    """Each stage's time as Airflow recorded it, the largest process and what was written: printed
    and kept in ``<output>/logs/run-timings.json`` (``make bench`` reads it)."""
    from cchc.core.authorities import load_authority
    from cchc.pipeline import timings

    ids = list_authority_ids(config_dir)
    url = timings.metadata_url(env)
    runs = {dag_id: timings.latest_run_id(url, dag_id) for dag_id in ("cchc_monthly", "cchc_letters")}
    tasks, spans = timings.task_times(url, {k: v for k, v in runs.items() if v})
    result = timings.RunTimings(
        period=str(period),
        authorities=len(ids),
        units=sum(len(load_authority(config_dir / i).units) for i in ids),
        tasks=tasks,
        run_seconds=spans,
        peak_rss_mib=timings.peak_children_rss_mib(),
        output_bytes=timings.output_sizes(output_dir, str(period)),
    )
    path = timings.save(result, output_dir)
    print()
    print("\n".join(timings.lines(result)))
    print(f"(lưu ở {path})")


def command(period: str, config_dir: str | Path, output_dir: str | Path) -> list[str]:
    """``make run`` as a child process of this interpreter (the bench and the tests start it so)."""
    return [
        sys.executable,
        "-m",
        "cchc.pipeline.localrun",
        "--period",
        str(period),
        "--config-dir",
        str(config_dir),
        "--output-dir",
        str(output_dir),
    ]


def run_confs(period: Period) -> tuple[dict[str, str], dict[str, str]]:
    """The confs of the two runs: the period from the param, never from the logical date; the letter
    dated as the scheduled run of that month would date it (the 1st of the next month, 07:00)."""
    return {"period": str(period)}, {"period": str(period), "issued_at": logical_date_for(period)}


def sink_connection(port: int) -> str:
    """The ``smtp_default`` connection (as ``AIRFLOW_CONN_SMTP_DEFAULT``) for the local sink on ``port``."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "cchc-demo@localhost"},
        }
    )


@contextmanager
def _mail(env: dict[str, str], output_dir: Path, period: Period):
    """Without an smtp_default connection, a local SMTP sink that saves every message as an .eml file."""
    variable = settings.connection_variable(settings.SMTP_CONN_ID)
    if env.get(variable):
        print(f"Dùng kết nối smtp_default của môi trường ({variable}).")
        yield
        return
    from cchc.delivery import sink

    folder = mail_dir(output_dir, period)
    controller = sink.start(folder)
    env[variable] = sink_connection(controller.port)
    print(f"Hộp thư thử nghiệm SMTP tại 127.0.0.1:{controller.port}, lưu thư vào {folder}")
    try:
        yield
    finally:
        controller.stop()


@contextmanager
def _portal(env: dict[str, str], config_dir: Path, log_path: Path):
    variable = settings.connection_variable(settings.PORTAL_CONN_ID)
    if env.get(variable):
        print(f"Dùng kết nối cchc_portal của môi trường ({variable}).")
        yield
        return
    with simulator(config_dir, log_path) as url:
        env[variable] = url
        yield


if __name__ == "__main__":
    sys.exit(main())
