"""The "Báo cáo CCHC" page in the Airflow UI: a thin plugin over ``cchc.ui``.

- the FastAPI app (``cchc.ui.app``) at ``/cchc``; every route requires a user through Airflow's auth
  manager (the app does it, Airflow does not);
- a navigation entry "Báo cáo CCHC" rendered inside the UI (``/plugin/cchc``), and an entry on each
  DAG run that opens the page at that run's authority and period;
- a link "Báo cáo CCHC" on the tasks render, issue and distribute of ``cchc_letters`` that opens
  the page at the task's authority and period (the API server computes it from the run's plan).
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink

log = logging.getLogger(__name__)

PAGE = "Báo cáo CCHC"


class LazyApp:
    """The page's ASGI app, built on its first request: every Airflow process imports the plugins,
    only the API server serves the page, and building it imports FastAPI and Airflow's security."""

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send) -> None:
        if self._app is None:
            from cchc.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class CchcReportLink(BaseOperatorLink):
    """The page at the task's authority and period, on the letters' render/issue/distribute tasks;
    "" (no link shown) on every other task."""

    name = PAGE

    def get_link(self, operator, *, ti_key) -> str:
        from cchc.ui.app import page_url
        from cchc.ui.runs import LINKED_TASKS, task_target

        if ti_key.dag_id != "cchc_letters" or ti_key.task_id not in LINKED_TASKS:
            return ""
        try:
            authority, period = task_target(ti_key.dag_id, ti_key.run_id, ti_key.map_index)
        except Exception:  # noqa: BLE001 - a link must never break the task's page
            log.exception("Không tìm được cơ quan, kỳ của %s", ti_key)
            return ""
        return page_url("/", authority, period)


class CchcReportsPlugin(AirflowPlugin):
    name = "cchc_reports"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": "/cchc", "name": PAGE}]
    external_views = [
        {"name": PAGE, "href": "/cchc/", "destination": "nav", "url_route": "cchc", "nav_top_level": True},
        {
            "name": PAGE,
            "href": "/cchc/run?dag_id={DAG_ID}&run_id={RUN_ID}",
            "destination": "dag_run",
            "url_route": "cchc-run",
        },
    ]
    global_operator_extra_links = [CchcReportLink()]
