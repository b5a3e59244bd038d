"""DAG parse time: each of the project's DAG files against a trivial one-task DAG, parsed in the same run.

Airflow's dag-processor parses a file in a fresh child process that has Airflow imported already and
nothing of the file's own imports: each measurement here is that, a new interpreter that imports
Airflow's DagBag first and then times only ``DagBag(<file>)`` (the file's imports included, as the
processor pays them). CPU time of the parsing process (a busy machine stretches wall time, not CPU time), median of a few runs; the target is each file within 1.5× the trivial DAG.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL = """
from airflow.sdk import dag, task


@dag(dag_id="trivial", schedule=None)
def trivial():
    @task
    def one():
        return 1

    one()


trivial()
"""

_PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
start = time.process_time()
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
seconds = time.process_time() - start
print(json.dumps({"seconds": seconds, "dags": len(bag.dags), "errors": {k: str(v)[:300] for k, v in bag.import_errors.items()}}))
"""


def parse_once(path: Path, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)], env=env, capture_output=True, text=True, check=True
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if data["errors"] or not data["dags"]:
        raise RuntimeError(f"{path.name} không phân tích được: {data['errors'] or 'không có DAG'}")
    return float(data["seconds"])


def bench_parse(repeat: int = 5) -> list[tuple[str, float, float]]:
    """(file, median seconds, ratio to the trivial DAG) for each DAG file, the trivial one first."""
    env = {
        **os.environ,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), os.environ.get("PYTHONPATH", "")]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial_dag.py"
        trivial.write_text(TRIVIAL, encoding="utf-8")
        files = [trivial, *sorted((ROOT / "dags").glob("*.py"))]
        times: dict[Path, list[float]] = {f: [] for f in files}
        for _ in range(repeat):  # interleaved: a busy moment of the machine touches every file alike
            for path in files:
                times[path].append(parse_once(path, env))
        base = statistics.median(times[trivial])
        return [
            ("DAG tầm thường (1 tác vụ)" if f == trivial else f.name, m, m / base)
            for f in files
            for m in [statistics.median(times[f])]
        ]


def report() -> list[str]:
    lines = []
    for name, seconds, ratio in bench_parse():
        lines.append(
            f"Phân tích {name}: {seconds * 1000:.0f} ms | ×{ratio:.2f} so với DAG tầm thường (mục tiêu ≤ 1,5)"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(report()))
