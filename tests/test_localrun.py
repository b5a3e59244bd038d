"""``make run``'s simulator: its output goes to a log file, so thousands of calls never block it.

The simulator logs a line per request. When ``make run`` read nothing of a pipe it had given the
simulator for its output, the pipe filled after about 600 calls and every handler thread blocked
after answering: the run crawled at four calls per 30 s.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from cchc.pipeline.localrun import simulator

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "scenarios" / "seed"
CALLS = 2000
pytestmark = pytest.mark.slow  # a child process and thousands of calls: not for make test-fast
DIGITIZED = "/api/v1/reporting/evaluation/dossier-digitized"


def test_thousands_of_calls_through_the_make_run_simulator(tmp_path):
    log_path = tmp_path / "logs" / "simulator.log"
    body = json.dumps(
        {
            "timeType": "month",
            "year": 2023,
            "month": 8,
            "rootDepartmentId": "HD-TUKY",
            "currentPage": 1,
            "pageSize": 200,
        }
    )
    with simulator(SEED, log_path) as url, ThreadPoolExecutor(max_workers=4) as pool:
        session = requests.Session()

        def call(i: int) -> int:
            if i % 10 == 0:
                return session.post(
                    url + DIGITIZED, data=body, headers={"Content-Type": "application/json"}, timeout=5
                ).status_code
            return session.get(url + "/healthz", timeout=5).status_code

        statuses = list(pool.map(call, range(CALLS)))
    assert statuses.count(200) == CALLS
    logged = log_path.read_text(encoding="utf-8").splitlines()
    assert sum(1 for line in logged if "/healthz" in line or DIGITIZED in line) >= CALLS
