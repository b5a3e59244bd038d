"""The monthly DAG run by Airflow (``dag.test()``) against the real portal simulator."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from support.warehouse import warehouse_of_run

from cchc.core.periods import TIMEZONE

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def monthly_dag(load_dag):
    return load_dag("cchc_monthly")


def run(dag, conf: dict | None, logical_date: datetime):
    from airflow.utils.state import DagRunState

    # The trigger of cchc_letters needs the letters DAG serialised for a scheduler; it is tested by
    # tests/test_dag_letters.py, and marked done here.
    dagrun = dag.test(logical_date=logical_date, run_conf=conf, mark_success_pattern="trigger_letters")
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
        # The JSON form docker-compose uses: the base URL in extra.url.
        monkeypatch.setenv(
            "AIRFLOW_CONN_CCHC_PORTAL", json.dumps({"conn_type": "http", "extra": {"url": url}})
        )
        return sim

    monkeypatch.setenv("CCHC_CONFIG_DIR", str(seed_config))
    yield start
    for sim in started:
        sim.stop()


def warehouse_totals(out: Path, period: str) -> dict[str, str]:
    from cchc.warehouse.rates import authority_totals

    with warehouse_of_run(out) as engine:
        totals = authority_totals(engine, "tu-ky", period)
    return {
        metric: f"{values['text']} ({values['change_text']})"
        for metric, values in totals.items()
        if "change_text" in values
    }


def stored_periods(out: Path) -> list[str]:
    from cchc.warehouse.load import list_loads

    with warehouse_of_run(out) as engine:
        return sorted({row["period"] for row in list_loads(engine, "tu-ky")})


def test_scheduled_run_extracts_validates_loads_and_computes_rates(
    monthly_dag, portal, tmp_path, monkeypatch
):
    """A run scheduled on 1 September 2023 (Vietnam) reports on August 2023 without any param.

    The empty warehouse is filled from January first, so the rates are the seed letter's.
    """
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "out"))
    portal()
    ok, states = run(monthly_dag, None, datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE))
    assert ok, states
    assert stored_periods(tmp_path / "out") == [f"2023-{m:02d}" for m in range(1, 9)]
    assert warehouse_totals(tmp_path / "out", "2023-08") == {
        "receipt": "97,67% (tăng 0,54%)",
        "result": "99,05% (tăng 0,24%)",
        "payment": "80,2% (tăng 29,86%)",
    }
    assert (tmp_path / "out" / "tu-ky" / "2023-08" / "validation" / "index.html").exists()
    decisions = json.loads(
        (tmp_path / "out" / "tu-ky" / "2023-08" / "decisions.json").read_text(encoding="utf-8")
    )
    kinds = [(s["number"], s["kind"], s.get("count")) for s in decisions["sections"]]
    assert kinds == [
        ("1", "commend", None),
        ("2", "remind", None),
        ("3", "criticise", 2),
        ("4", "criticise", 3),
        ("5", "directives", None),
    ]
    table = tmp_path / "out" / "tu-ky" / "2023-08" / "extracted" / "extracted.csv"
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert len(rows) == 35
    assert {r["period"] for r in rows} == {"2023-08"}
    hk = next(r for r in rows if r["unit_code"] == "X-HK")
    assert (hk["fee_dossiers"], hk["paid_online"]) == ("31", "30")
    assert (tmp_path / "out" / "tu-ky" / "2023-08" / "raw" / "001" / "manifest.jsonl").exists()

    # A rerun of the same period: nothing new is loaded, the earlier landing stays, rates unchanged.
    ok, states = run(monthly_dag, {"period": "2023-08"}, datetime(2023, 9, 1, 8, 0, tzinfo=TIMEZONE))
    assert ok, states
    assert (tmp_path / "out" / "tu-ky" / "2023-08" / "raw" / "002").is_dir()
    assert warehouse_totals(tmp_path / "out", "2023-08")["payment"] == "80,2% (tăng 29,86%)"


def test_bad_data_stops_the_run_before_the_load(
    monthly_dag, portal, seed_config, mailbox, tmp_path, monkeypatch
):
    """Validation names the unit and field; the period is not loaded; the raw answers are kept; the
    operators get an alert email through smtp_default."""
    from email import message_from_bytes
    from email.policy import default as default_policy

    monthly = seed_config / "tu-ky" / "monthly.csv"
    rows = list(csv.DictReader(monthly.open(encoding="utf-8")))
    for row in rows:
        if row["period"] == "2023-08" and row["unit_code"] == "X-HK":
            row["paid_online"] = str(int(row["fee_dossiers"]) + 9)  # more paid online than fee-bearing
    with monthly.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out"
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(out))
    portal()
    ok, states = run(monthly_dag, {"period": "2023-08"}, datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE))
    assert not ok
    assert "failed" in {state for (task, _), state in states.items() if task == "authority.validate"}
    assert "2023-08" not in stored_periods(out)
    result = json.loads(
        (out / "tu-ky" / "2023-08" / "validation" / "result.json").read_text(encoding="utf-8")
    )
    text = json.dumps(result, ensure_ascii=False)
    assert "X-HK" in text and "paid_online" in text
    assert (out / "tu-ky" / "2023-08" / "raw" / "001" / "manifest.jsonl").exists()
    alerts = [message_from_bytes(p.read_bytes(), policy=default_policy) for p in mailbox.glob("*.eml")]
    alert = next(m for m in alerts if "validate" in m["Subject"])
    assert alert["To"].addresses[0].addr_spec == "cchc@tuky.haiduong.gov.vn"
    body = alert.get_body(("plain",)).get_content()
    assert "X-HK" in body and "paid_online" in body


def test_period_param_overrides_the_logical_date_and_survives_faults(
    monthly_dag, portal, tmp_path, monkeypatch
):
    from cchc.portal.simulator import Faults

    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "out"))
    portal(Faults(share_5xx=0.2, share_429=0.1, retry_after=0, seed=7))
    ok, states = run(monthly_dag, {"period": "2023-07"}, datetime(2024, 5, 1, 7, 0, tzinfo=TIMEZONE))
    assert ok, states
    assert (tmp_path / "out" / "tu-ky" / "2023-07" / "extracted" / "extracted.csv").exists()
    assert not (tmp_path / "out" / "tu-ky" / "2024-04").exists()


def test_malformed_portal_answers_fail_the_run_and_keep_the_raw_data(
    monthly_dag, portal, tmp_path, monkeypatch
):
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "out"))
    portal(Faults_malformed())
    ok, states = run(monthly_dag, {"period": "2023-08"}, datetime(2023, 9, 2, 7, 0, tzinfo=TIMEZONE))
    assert not ok
    assert states[("authority.extract", 0)] == "failed"
    # The backfill starts with January: its malformed answers are kept; a portal that keeps failing
    # stops the extraction there, so the later months are not tried (and nothing is extracted).
    first = tmp_path / "out" / "tu-ky" / "2023-01"
    assert not (first / "extracted" / "extracted.csv").exists()
    landed = [p for p in (first / "raw").rglob("*") if p.is_file() and p.name != "manifest.jsonl"]
    assert landed, "the malformed answers are kept for inspection"
    assert not (tmp_path / "out" / "tu-ky" / "2023-08" / "extracted" / "extracted.csv").exists()


def Faults_malformed():
    from cchc.portal.simulator import Faults

    # The period-status call answers normally; every report call is malformed.
    return Faults(share_malformed=1.0, only_paths=("evaluation",))
