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
PIPE_BUFFER = 64 * 1024
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
    # Well past what a pipe holds (64 KiB on Linux): a pipe here would have blocked the simulator.
    assert log_path.stat().st_size > 2 * PIPE_BUFFER
    logged = log_path.read_text(encoding="utf-8").splitlines()
    assert sum(1 for line in logged if "/healthz" in line or DIGITIZED in line) >= CALLS


@pytest.mark.airflow
@pytest.mark.long  # a whole make run of the seed month (minutes): make test-long
def test_make_run_records_true_durations_and_dates_the_letter_as_before(airflow_db, seed_config, tmp_path):
    """``make run`` of the seed month: both DAG runs start and end when they really ran (the DAG
    overview showed ~1,142 days when a run's start was its 2023 logical date), while the period and
    the letter's issue date still come from the month: number 01 of the 2023 register, issued
    1 September 2023 at 07:00, "tháng 9 năm 2023" printed."""
    import subprocess
    from datetime import UTC, datetime

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from support.warehouse import warehouse_of_run

    from cchc.core.paths import under_output
    from cchc.core.periods import TIMEZONE
    from cchc.letter.records import read_letters
    from cchc.pipeline.localrun import main

    out = tmp_path / "out"
    before = datetime.now(UTC)
    assert main(["--period", "2023-08", "--config-dir", str(seed_config), "--output-dir", str(out)]) == 0
    after = datetime.now(UTC)

    with create_session() as session:
        for dag_id in ("cchc_monthly", "cchc_letters"):
            run = session.scalars(
                select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
            ).one()
            assert run.conf["period"] == "2023-08", run.conf
            assert run.state == "success", (dag_id, run.state)
            # The run's start and end are the real ones: within the make run, not in 2023.
            assert before <= run.start_date <= run.end_date <= after, (dag_id, run.start_date, run.end_date)
            assert before <= run.logical_date <= after, (dag_id, run.logical_date)
        # The monthly run's trigger is marked done, not run: the only letters run is make run's own
        # (a trigger that ran left a queued run per authority for the next scheduler to pick up).
        letters_runs = session.scalars(
            select(DagRun).where(DagRun.dag_id == "cchc_letters", DagRun.run_after >= before)
        ).all()
        assert len(letters_runs) == 1, [(r.run_id, r.state) for r in letters_runs]

    with warehouse_of_run(out) as engine:
        (letter,) = read_letters(engine, "tu-ky", "2023-08")
    assert (letter["status"], letter["document_number"]) == ("sent", 1)
    issued = letter["issued_at"]
    issued = issued.astimezone(TIMEZONE) if issued.tzinfo else issued.replace(tzinfo=TIMEZONE)
    assert issued == datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE)
    pdf = under_output(letter["pdf_path"], out)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "tháng 9 năm 2023" in text and "01/UBND-NV" in text

    # The run's timings as Airflow recorded them, kept for make bench: every stage of the one authority.
    from cchc.core.authorities import load_authority
    from cchc.pipeline import timings

    recorded = timings.load(out)
    assert (recorded.period, recorded.authorities) == ("2023-08", 1)
    assert recorded.units == len(load_authority(seed_config / "tu-ky").units)
    for name, _task in timings.STAGES:
        stage = recorded.stage(name)
        assert stage.instances == 1 and stage.failed == 0 and stage.seconds > 0, (name, stage)
    assert set(recorded.run_seconds) == {"cchc_monthly", "cchc_letters"}
    assert recorded.peak_rss_mib and recorded.peak_rss_mib > 50
    assert {"raw", "extracted", "data_docs", "letters", "mail"} <= set(recorded.output_bytes)
