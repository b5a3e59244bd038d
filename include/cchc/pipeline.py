"""The bodies of the DAGs' tasks, importable and testable without a running scheduler.

Each function takes plain values (a job dict, a run id) and returns small JSON-able summaries: the data
itself travels by reference (a path under CCHC_OUTPUT_DIR), never through XCom. Airflow is imported
only inside the functions that look up connections, so this module stays cheap to import.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from cchc.config import config_dir_from_env, load_authorities, load_authority, output_dir_from_env
from cchc.periods import Period, resolve_period

log = logging.getLogger(__name__)

PORTAL_CONN_ID = "cchc_portal"
WAREHOUSE_CONN_ID = "cchc_warehouse"


def plan(params: dict | None, logical_date: datetime | date | None) -> list[dict[str, str]]:
    """One job per issuing authority for the run's period.

    The whole configuration is loaded here, so a broken authority folder stops the run at its first
    task with the file and line, before anything is fetched.
    """
    period = resolve_period(params, logical_date)
    authorities = load_authorities(config_dir_from_env())
    wanted = (params or {}).get("authorities") or []
    if wanted:
        known = {a.id for a in authorities}
        unknown = sorted(set(wanted) - known)
        if unknown:
            from cchc.errors import ConfigError

            raise ConfigError(f"tham số 'authorities' có cơ quan không tồn tại: {', '.join(unknown)}")
        authorities = [a for a in authorities if a.id in wanted]
    jobs = [{"authority": a.id, "period": str(period)} for a in authorities]
    log.info("Kỳ báo cáo %s: %d cơ quan ban hành (%s)", period, len(jobs), ", ".join(j["authority"] for j in jobs))
    return jobs


def _authority(job: dict[str, str]):
    return load_authority(config_dir_from_env() / job["authority"])


def portal_client():
    """A PortalClient from the ``cchc_portal`` Airflow connection (looked up at run time only)."""
    from airflow.sdk import BaseHook

    from cchc.portal.client import PortalClient

    return PortalClient.from_connection(BaseHook.get_connection(PORTAL_CONN_ID))


def period_ready(job: dict[str, str]) -> bool:
    """True when the period's figures can be extracted: the portal closed it, or the export is in the inbox."""
    from cchc.portal.extract import excel_path, period_is_closed, source_settings

    authority = _authority(job)
    period = Period.parse(job["period"])
    settings = source_settings(authority)
    if settings.source == "excel":
        if settings.inbox is None:
            from cchc.errors import ConfigError

            raise ConfigError(f"{authority.id}: nguồn Excel nhưng chưa đặt portal.inbox hay CCHC_INBOX_DIR")
        path = excel_path(settings.inbox, authority, period)
        log.info("Nguồn Excel: chờ tệp %s (%s)", path, "đã có" if path.exists() else "chưa có")
        return path.exists()
    with portal_client() as client:
        closed = period_is_closed(authority, period, client)
    log.info("Cổng DVC: kỳ %s của %s %s", period, authority.id, "đã khóa số liệu" if closed else "chưa khóa số liệu")
    return closed


def extract(job: dict[str, str], run_id: str | None = None) -> dict[str, Any]:
    """Extract one authority's period; returns the summary with the tidy table's path."""
    from cchc.portal.extract import extract_period, source_settings

    authority = _authority(job)
    period = Period.parse(job["period"])
    output_dir = output_dir_from_env()
    if source_settings(authority).source == "excel":
        result = extract_period(authority, period, output_dir, run_id=run_id)
    else:
        with portal_client() as client:
            result = extract_period(authority, period, output_dir, client=client, run_id=run_id)
    summary = result.summary()
    log.info("Đã trích xuất %s kỳ %s: %s", authority.id, period, summary)
    return {**job, **summary}
