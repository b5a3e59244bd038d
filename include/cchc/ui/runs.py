"""From an Airflow DAG run or task instance to the authority and period it is about.

A run of ``cchc_monthly`` or ``cchc_letters`` reports on the period of its ``period`` param (else the
month before its logical date) for the authorities of its ``authorities`` param (else all). Its
``plan`` task returns one job per authority, and the ``authority`` task group is mapped over that
list, so a task's map index names its authority. Read from Airflow's metadata database, where the
API server runs (Airflow is imported inside the functions).
"""

from __future__ import annotations

from typing import Any

from cchc.core.periods import resolve_period

DAGS = ("cchc_monthly", "cchc_letters")
LINKED_TASKS = ("authority.render", "authority.issue", "authority.distribute")


def _plan(session: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The run's jobs as its ``plan`` task returned them ([] before it ran)."""
    from airflow.models.xcom import XComModel

    query = XComModel.get_many(run_id=run_id, key="return_value", dag_ids=dag_id, task_ids="plan")
    rows = session.scalars(query).all()
    for row in rows:
        value = XComModel.deserialize_value(row)
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict)]
    return []


def run_target(dag_id: str, run_id: str) -> tuple[list[str], str | None]:
    """The authorities and the period of a run; LookupError when there is no such run of ours."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    if dag_id not in DAGS:
        raise LookupError("Lần chạy này không thuộc quy trình CCHC")
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one_or_none()
        if run is None:
            raise LookupError("Không có lần chạy này")
        jobs = _plan(session, dag_id, run_id)
        conf = dict(run.conf or {})
        logical_date = run.logical_date
    if jobs:
        return [str(j["authority"]) for j in jobs], str(jobs[0]["period"])
    try:
        period: str | None = str(resolve_period(conf, logical_date))
    except Exception:  # noqa: BLE001 - a run without a period: the page's default
        period = None
    wanted = conf.get("authorities") or []
    return [str(a) for a in wanted], period


def task_target(dag_id: str, run_id: str, map_index: int) -> tuple[str | None, str | None]:
    """The authority and period of one mapped task instance of the ``authority`` group."""
    from airflow.utils.session import create_session

    with create_session() as session:
        jobs = _plan(session, dag_id, run_id)
    if 0 <= map_index < len(jobs):
        return str(jobs[map_index]["authority"]), str(jobs[map_index]["period"])
    authorities, period = run_target(dag_id, run_id)
    return (authorities[0] if len(authorities) == 1 else None), period
