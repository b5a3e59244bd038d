"""The monthly DAG run by Airflow (``dag.test()``) against the real portal simulator."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from cchc.periods import TIMEZONE

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def monthly_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[1] / "dags" / "cchc_monthly.py"))
    assert bag.import_errors == {}
    dag = bag.dags["cchc_monthly"]
    # A failing test should fail now, not after the production retry delays.
    for task in dag.tasks:
        task.retries = 0
    return dag


def run(dag, conf: dict | None, logical_date: datetime):
    from airflow.utils.state import DagRunState

    dagrun = dag.test(logical_date=logical_date, run_conf=conf)
    states = {(ti.task_id, ti.map_index): ti.state for ti in dagrun.get_task_instances()}
    return dagrun.state == DagRunState.SUCCESS, states


@pytest.fixture
def portal(monkeypatch, seed_config):
    from cchc.portal.simulator import Faults, PortalSimulator

    started = []

    def start(faults: Faults | None = None):
        sim = PortalSimulator(seed_config, faults=faults)
        url = sim.start()
        started.append(sim)
        host, port = url.removeprefix("http://").split(":")
        conn = {"conn_type": "http", "host": host, "port": int(port), "schema": "http"}
        monkeypatch.setenv("AIRFLOW_CONN_CCHC_PORTAL", json.dumps(conn))
        return sim

    monkeypatch.setenv("CCHC_CONFIG_DIR", str(seed_config))
    yield start
    for sim in started:
        sim.stop()


def test_scheduled_run_extracts_the_previous_month(monthly_dag, portal, tmp_path, monkeypatch):
    """A run scheduled on 1 September 2023 (Vietnam) extracts August 2023 without any param."""
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "out"))
    portal()
    ok, states = run(monthly_dag, None, datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE))
    assert ok, states
    table = tmp_path / "out" / "tu-ky" / "2023-08" / "extracted" / "extracted.csv"
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert len(rows) == 35
    assert {r["period"] for r in rows} == {"2023-08"}
    hk = next(r for r in rows if r["unit_code"] == "X-HK")
    assert (hk["fee_dossiers"], hk["paid_online"]) == ("31", "30")
    assert (tmp_path / "out" / "tu-ky" / "2023-08" / "raw" / "001" / "manifest.jsonl").exists()


def test_period_param_overrides_the_logical_date_and_survives_faults(monthly_dag, portal, tmp_path, monkeypatch):
    from cchc.portal.simulator import Faults

    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "out"))
    portal(Faults(share_5xx=0.2, share_429=0.1, retry_after=0, seed=7))
    ok, states = run(monthly_dag, {"period": "2023-07"}, datetime(2024, 5, 1, 7, 0, tzinfo=TIMEZONE))
    assert ok, states
    assert (tmp_path / "out" / "tu-ky" / "2023-07" / "extracted" / "extracted.csv").exists()
    assert not (tmp_path / "out" / "tu-ky" / "2024-04").exists()


def test_malformed_portal_answers_fail_the_run_and_keep_the_raw_data(monthly_dag, portal, tmp_path, monkeypatch):
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "out"))
    portal(Faults_malformed())
    ok, states = run(monthly_dag, {"period": "2023-08"}, datetime(2023, 9, 2, 7, 0, tzinfo=TIMEZONE))
    assert not ok
    assert states[("extract", 0)] == "failed"
    period_dir = tmp_path / "out" / "tu-ky" / "2023-08"
    assert not (period_dir / "extracted" / "extracted.csv").exists()
    landed = [p for p in (period_dir / "raw").rglob("*") if p.is_file() and p.name != "manifest.jsonl"]
    assert landed, "the malformed answers are kept for inspection"


def Faults_malformed():
    from cchc.portal.simulator import Faults

    # The period-status call answers normally; every report call is malformed.
    return Faults(share_malformed=1.0, only_paths=("evaluation",))
