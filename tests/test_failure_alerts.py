"""Who gets the failure alert: a small DAG run by Airflow (``dag.test()``) with the pipeline's own
``default_args`` (its on_failure_callback), two authorities and the real SMTP sink (aiosmtpd).

A failed task of one authority's group alerts that authority's operators only, even when it failed
before it could name itself (``tasks.label``); a task of the whole run alerts everyone, in one email.
"""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest
from support.authorities import edit_yaml
from support.smtp import smtp_default_connection

from cchc.core.periods import TIMEZONE

pytestmark = pytest.mark.airflow

TU_KY = "cchc@tuky.haiduong.gov.vn"  # the seed authority's operator
GIA_LOC = "cchc@gialoc.haiduong.gov.vn"


@pytest.fixture
def two_authorities(seed_config, smtp_server, monkeypatch):
    """tu-ky (the seed) and gia-loc, each with its own operator; smtp_default on the sink."""
    shutil.copytree(seed_config / "tu-ky", seed_config / "gia-loc")
    document = edit_yaml(seed_config / "gia-loc" / "authority.yaml", id="gia-loc", name="huyện Gia Lộc")
    distribution = document["distribution"]
    distribution["operators"] = [{"name": "Bộ phận CCHC huyện Gia Lộc", "email": GIA_LOC}]
    distribution["allowed_domains"] = ["gialoc.haiduong.gov.vn"]
    edit_yaml(seed_config / "gia-loc" / "authority.yaml", distribution=distribution)
    monkeypatch.setenv("CCHC_CONFIG_DIR", str(seed_config))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_default_connection(smtp_server.port))
    return smtp_server


PROBE = """
from datetime import datetime

from airflow.sdk import dag, task, task_group

from cchc.pipeline.dag_defaults import default_args


def probe(dag_id, *, named, fail_plan=False):
    @dag(dag_id=dag_id, schedule=None, start_date=datetime(2023, 1, 1), default_args=default_args())
    def build():
        @task
        def plan() -> list[dict]:
            if fail_plan:
                raise RuntimeError("cấu hình hỏng")
            return [{"authority": "tu-ky", "period": "2023-08"}, {"authority": "gia-loc", "period": "2023-08"}]

        @task_group(group_id="authority")
        def authority(job: dict):
            @task(map_index_template="{{ authority_id }}")
            def extract(job: dict) -> dict:
                from cchc.pipeline import tasks

                failing = job["authority"] == "gia-loc"
                if failing and not named:  # fails before it names itself
                    raise RuntimeError("Cổng dịch vụ công không trả lời")
                tasks.label(job)
                if failing:
                    raise RuntimeError("Cổng dịch vụ công không trả lời")
                return job

            extract(job)

        authority.expand(job=plan())

    return build()


named = probe("cchc_alert_probe_named", named=True)
unnamed = probe("cchc_alert_probe_unnamed", named=False)
whole_run = probe("cchc_alert_probe_plan", named=True, fail_plan=True)
"""


@pytest.fixture
def probe_dags(airflow_db, tmp_path, monkeypatch):
    """The probe DAGs in a DAG bundle of their own (dag.test() runs only a DAG it finds in a bundle)."""
    import json

    from airflow.dag_processing.dagbag import DagBag

    folder = tmp_path / "probe_dags"
    folder.mkdir()
    (folder / "cchc_alert_probe.py").write_text(PROBE, encoding="utf-8")
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
        json.dumps(
            [
                {"name": "dags-folder", "classpath": local, "kwargs": {}},
                {"name": "cchc-alert-probe", "classpath": local, "kwargs": {"path": str(folder)}},
            ]
        ),
    )
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    for each in bag.dags.values():
        for t in each.tasks:
            t.retries = 0
    return bag.dags


def _alerts(server) -> list[tuple[str, list[str]]]:
    return [
        (r.message["Subject"], sorted(r.rcpt_tos))
        for r in server.handler.received
        if r.message["Subject"].startswith("[CCHC] Lỗi tác vụ")
    ]


@pytest.mark.parametrize("named", [True, False], ids=["after-label", "before-label"])
def test_a_failed_authority_task_alerts_only_its_own_operators(probe_dags, two_authorities, named):
    dag = probe_dags[f"cchc_alert_probe_{'named' if named else 'unnamed'}"]
    dag.test(logical_date=datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE))
    alerts = _alerts(two_authorities)
    assert [recipients for _, recipients in alerts] == [[GIA_LOC]]
    [received] = two_authorities.handler.to(GIA_LOC)
    assert "Cổng dịch vụ công không trả lời" in received.message.get_content()
    assert "- Cơ quan: gia-loc" in received.message.get_content()
    assert two_authorities.handler.to(TU_KY) == []


def test_a_failed_task_of_the_whole_run_alerts_every_operator_once(probe_dags, two_authorities):
    dag = probe_dags["cchc_alert_probe_plan"]
    dag.test(logical_date=datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE))
    alerts = _alerts(two_authorities)
    # One alert per operator (each gets its own message), none twice.
    assert sorted(address for _, recipients in alerts for address in recipients) == sorted([GIA_LOC, TU_KY])
    assert {subject for subject, _ in alerts} == {"[CCHC] Lỗi tác vụ cchc_alert_probe_plan.plan"}
