"""How long each stage of a run took, and what the run wrote: read after ``make run`` from Airflow's
metadata (the task instances' durations) and from the output folder.

``make run`` prints the table and writes it to ``<output>/logs/run-timings.json``; ``make bench`` reads
that file for the seed district and for the national scenario, and divides by the units count.
Nothing here reads the wall clock: the durations are the ones Airflow recorded for its tasks.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cchc.core.paths import LOGS_DIR, MAIL_DIR, mail_dir

TIMINGS_NAME = "run-timings.json"
# The stages the bench compares, and the task of each (the DAGs' task ids, in run order).
STAGES = (
    ("extract", "authority.extract"),
    ("validate", "authority.validate"),
    ("load", "authority.load"),
    ("rates", "authority.compute_rates"),
    ("decide", "authority.decide"),
    ("render", "authority.render"),
    ("issue", "authority.issue"),
    ("send", "authority.distribute"),
)


@dataclass
class StageTime:
    task_id: str
    seconds: float = 0.0  # the sum over the stage's task instances (one per authority)
    instances: int = 0
    longest: float = 0.0
    failed: int = 0


@dataclass
class RunTimings:
    """One ``make run``: per task, summed over authorities; what it wrote; its largest process."""

    period: str
    authorities: int
    units: int
    tasks: dict[str, StageTime] = field(default_factory=dict)
    run_seconds: dict[str, float] = field(default_factory=dict)  # dag_id -> the run's duration
    peak_rss_mib: float | None = None  # the largest process the run started (``dags test`` runs them all)
    output_bytes: dict[str, int] = field(default_factory=dict)  # kind of output -> bytes written

    def stage(self, name: str) -> StageTime:
        task_id = dict(STAGES)[name]
        return self.tasks.get(task_id, StageTime(task_id))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunTimings:
        tasks = {k: StageTime(**v) for k, v in data.get("tasks", {}).items()}
        return cls(**{**data, "tasks": tasks})


def metadata_url(env: dict[str, str] | None = None) -> str:
    """Airflow's metadata database as the run's environment configures it (the embedded SQLite file
    under AIRFLOW_HOME unless ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` says otherwise)."""
    env = dict(os.environ if env is None else env)
    configured = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if configured:
        return configured
    home = Path(env.get("AIRFLOW_HOME") or Path.home() / "airflow")
    return f"sqlite:///{home / 'airflow.db'}"


def latest_run_id(url: str, dag_id: str) -> str | None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT run_id FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"),
                {"d": dag_id},
            ).scalar()
    finally:
        engine.dispose()


def task_times(url: str, runs: dict[str, str]) -> tuple[dict[str, StageTime], dict[str, float]]:
    """Per task id, the durations of its instances in the given runs (dag_id -> run_id); and each
    run's own duration (from its first task's start to its last task's end)."""
    import sqlalchemy as sa

    tasks: dict[str, StageTime] = {}
    spans: dict[str, float] = {}
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            for dag_id, run_id in runs.items():
                rows = conn.execute(
                    sa.text(
                        "SELECT task_id, state, duration, start_date, end_date FROM task_instance "
                        "WHERE dag_id = :d AND run_id = :r"
                    ),
                    {"d": dag_id, "r": run_id},
                ).all()
                starts = [_stamp(r.start_date) for r in rows if r.start_date is not None]
                ends = [_stamp(r.end_date) for r in rows if r.end_date is not None]
                if starts and ends:
                    spans[dag_id] = round(max(ends) - min(starts), 3)
                for row in rows:
                    item = tasks.setdefault(row.task_id, StageTime(row.task_id))
                    seconds = float(row.duration or 0.0)
                    item.seconds = round(item.seconds + seconds, 3)
                    item.instances += 1
                    item.longest = max(item.longest, round(seconds, 3))
                    item.failed += row.state in ("failed", "upstream_failed")
    finally:
        engine.dispose()
    return tasks, spans


def _stamp(value: Any) -> float:
    from datetime import datetime

    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    return float(value.timestamp())


def output_sizes(output_dir: Path, period: str) -> dict[str, int]:
    """What the run wrote for ``period``, in bytes, by kind: raw portal responses, the extracted
    tables, Data Docs, letters, mail (the sink's .eml files), other (decisions, manifests, …)."""
    sizes: dict[str, int] = defaultdict(int)
    kinds = {"raw": "raw", "extracted": "extracted", "validation": "data_docs", "letters": "letters"}
    for authority in sorted(p for p in output_dir.iterdir() if p.is_dir()) if output_dir.is_dir() else []:
        folder = authority / period
        if authority.name in (LOGS_DIR, MAIL_DIR) or not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.is_file():
                top = path.relative_to(folder).parts[0]
                sizes[kinds.get(top, "other")] += path.stat().st_size
    mail = mail_dir(output_dir, period)
    if mail.is_dir():
        sizes["mail"] = sum(p.stat().st_size for p in mail.rglob("*") if p.is_file())
    return dict(sizes)


def peak_children_rss_mib() -> float:
    """The largest resident set of any child this process has waited for (Linux: kilobytes)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def timings_path(output_dir: Path) -> Path:
    return output_dir / LOGS_DIR / TIMINGS_NAME


def save(timings: RunTimings, output_dir: Path) -> Path:
    path = timings_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(timings.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def load(output_dir: Path) -> RunTimings:
    return RunTimings.from_dict(json.loads(timings_path(output_dir).read_text(encoding="utf-8")))


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB".replace(",", ".")


def lines(timings: RunTimings) -> list[str]:
    """The table ``make run`` prints: each stage's time (all authorities), then the outputs' sizes."""
    out = [
        f"Thời gian từng bước (kỳ {timings.period}; {timings.authorities} cơ quan, {timings.units} đơn vị; "
        "cộng mọi cơ quan):"
    ]
    for name, task_id in STAGES:
        item = timings.tasks.get(task_id)
        if item is None:
            continue
        failed = f", {item.failed} lỗi" if item.failed else ""
        out.append(
            f"  {name:<9} {item.seconds:8.1f} s  ({item.instances} tác vụ, lâu nhất {item.longest:.1f} s{failed})"
        )
    for dag_id, seconds in timings.run_seconds.items():
        out.append(f"  lần chạy {dag_id}: {seconds:.1f} s")
    if timings.peak_rss_mib is not None:
        out.append(f"  bộ nhớ lớn nhất của một tiến trình: {timings.peak_rss_mib:.0f} MiB")
    if timings.output_bytes:
        total = sum(timings.output_bytes.values())
        parts = ", ".join(f"{k} {_mib(v)}" for k, v in sorted(timings.output_bytes.items()))
        out.append(f"  dữ liệu ghi ra: {_mib(total)} ({parts})")
    return out
