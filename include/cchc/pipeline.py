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
from cchc.errors import ConfigError
from cchc.periods import Period, resolve_period

log = logging.getLogger(__name__)

PORTAL_CONN_ID = "cchc_portal"
WAREHOUSE_CONN_ID = "cchc_warehouse"


def plan(params: dict | None, logical_date: datetime | date | None) -> list[dict[str, str]]:
    """One job per issuing authority for the run's period.

    The whole configuration is loaded here, so a broken authority folder stops the run at its first
    task with the file and line, before anything is fetched.
    """
    from cchc.rules import load_rulebook

    period = resolve_period(params, logical_date)
    authorities = load_authorities(config_dir_from_env())
    for authority in authorities:
        load_rulebook(authority).rules_for(period)  # an invalid rulebook is refused before any fetch
    wanted = (params or {}).get("authorities") or []
    if wanted:
        known = {a.id for a in authorities}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ConfigError(f"tham số 'authorities' có cơ quan không tồn tại: {', '.join(unknown)}")
        authorities = [a for a in authorities if a.id in wanted]
    jobs = [{"authority": a.id, "period": str(period)} for a in authorities]
    log.info("Kỳ báo cáo %s: %d cơ quan ban hành (%s)", period, len(jobs), ", ".join(j["authority"] for j in jobs))
    return jobs


def plan_loads(targets: list[dict[str, str]], backfill: bool = True, url: str | None = None) -> list[dict]:
    """The targets plus every earlier month their rates need that the warehouse does not hold yet.

    A first run, or a new authority, so fills its year instead of printing a year-to-date rate over
    one month. With ``backfill`` off the rates task refuses to compute over missing months instead.
    """
    loads: list[dict] = []
    stored = _stored_periods(sorted({t["authority"] for t in targets}), url) if backfill else {}
    for target in targets:
        if backfill:
            period = Period.parse(target["period"])
            for p in needed_periods(period):
                if str(p) not in stored.get(target["authority"], set()):
                    log.info("Kho chưa có %s kỳ %s: nạp bổ sung để tính lũy kế", target["authority"], p)
                    loads.append({"authority": target["authority"], "period": str(p), "backfill": True})
        loads.append(dict(target))
    return loads


def needed_periods(period: Period) -> list[Period]:
    """The earlier months a period's year-to-date and campaign rates read: January to the month before.

    The month before January (for the change against the previous month) is not fetched: where the
    warehouse lacks it, the change is shown as not comparable rather than failing the run.
    """
    return period.previous().months_since(Period(period.year, 1)) if period.month > 1 else []


def _stored_periods(authority_ids: list[str], url: str | None) -> dict[str, set[str]]:
    from cchc.warehouse import engine_for, list_loads

    engine = engine_for(url or warehouse_url())
    try:
        return {aid: {row["period"] for row in list_loads(engine, aid)} for aid in authority_ids}
    finally:
        engine.dispose()


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


def warehouse_url() -> str:
    """The ``cchc_warehouse`` connection's SQLAlchemy URL; without one, the embedded SQLite file."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from cchc.warehouse import url_from_env, warehouse_url_from_connection

    try:
        return warehouse_url_from_connection(BaseHook.get_connection(WAREHOUSE_CONN_ID))
    except AirflowNotFoundException:
        return url_from_env(output_dir_from_env())


def upgrade_warehouse(url: str | None = None) -> dict[str, Any]:
    """Applies the warehouse migrations (idempotent), so no schema change is ever done by hand."""
    from cchc.warehouse import engine_for, mask_url, upgrade

    url = url or warehouse_url()  # looked up in each task: the URL may carry a password, never an XCom
    engine = engine_for(url)
    try:
        revision = upgrade(engine)
    finally:
        engine.dispose()
    log.info("Kho dữ liệu %s ở phiên bản lược đồ %s", mask_url(url), revision)
    return {"warehouse": mask_url(url), "revision": revision}


def validate(extracted: dict[str, Any], run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Great Expectations over the extracted table; a critical failure stops the run before any load.

    The previous month's stored facts feed the warning checks (tenfold jumps); the failure names
    every unit and field, in the task log and in the exception the failure alert carries.
    """
    import pandas as pd

    from cchc.quality import validate_extract
    from cchc.warehouse import engine_for, read_facts

    authority = _authority(extracted)
    period = Period.parse(extracted["period"])
    url = url or warehouse_url()  # looked up in each task: the URL may carry a password, never an XCom
    engine = engine_for(url)
    try:
        previous_rows = read_facts(engine, authority.id, period.previous())
    finally:
        engine.dispose()
    previous = pd.DataFrame(previous_rows) if previous_rows else None
    report = validate_extract(
        authority, period, extracted["path"], output_dir_from_env(), previous=previous, run_id=run_id
    )
    report.raise_for_critical()
    return {**_job(extracted), **report.summary()}


def load(validated: dict[str, Any], run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Loads the validated table: registry first, then one transactional, versioned upsert of the period."""
    from cchc.quality import validated_frame
    from cchc.warehouse import engine_for, load_facts, sync_units

    authority = _authority(validated)
    period = Period.parse(validated["period"])
    frame = validated_frame(validated["result"])
    url = url or warehouse_url()  # looked up in each task: the URL may carry a password, never an XCom
    engine = engine_for(url)
    try:
        synced = sync_units(engine, authority, period)
        loaded = load_facts(engine, authority.id, period, frame, run_id or "manual", validated["source"])
    finally:
        engine.dispose()
    log.info("Danh mục đơn vị: %s; nạp số liệu: %s", synced.summary(), loaded.summary())
    return {**_job(validated), "units": synced.summary(), **loaded.summary()}


def rates(job: dict[str, Any], url: str | None = None) -> dict[str, Any]:
    """Month, year-to-date and campaign-to-date rates, computed in SQL over the stored facts.

    Refuses (after logging) when a month of the windows is missing from the warehouse: a
    year-to-date rate over part of the year would be wrong in the letter.
    """
    from cchc.rules import campaign_starts_for
    from cchc.warehouse import (
        WarehouseError,
        authority_totals,
        compute_rates,
        display_lines,
        engine_for,
        rates_summary,
    )

    period = Period.parse(job["period"])
    url = url or warehouse_url()  # looked up in each task: the URL may carry a password, never an XCom
    engine = engine_for(url)
    try:
        starts = campaign_starts_for(_authority(job), period)  # the rulebook in force for the period
        computed = compute_rates(engine, job["authority"], period, starts)
        summary = rates_summary(engine, job["authority"], period)
        lines = display_lines(authority_totals(engine, job["authority"], period))
    finally:
        engine.dispose()
    log.info("Tỷ lệ %s kỳ %s (%d dòng):\n%s", job["authority"], period, computed.rows, "\n".join(lines))
    if computed.missing_periods:
        raise WarehouseError(
            f"{job['authority']}, kỳ {period}: kho thiếu số liệu các tháng {', '.join(computed.missing_periods)} "
            "nên tỷ lệ lũy kế sẽ sai; chạy lại với tham số backfill = true để nạp bổ sung"
        )
    return {**_job(job), "totals": lines, "summary": summary}


def decide(job: dict[str, Any], run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Commend / remind / criticise for the period; stores the decisions and writes decisions.json."""
    from cchc.rules import decide_period
    from cchc.warehouse import engine_for

    authority = _authority(job)
    url = url or warehouse_url()
    engine = engine_for(url)
    try:
        result = decide_period(engine, authority, Period.parse(job["period"]), run_id=run_id,
                               output_dir=output_dir_from_env())
    finally:
        engine.dispose()
    log.info("Quyết định %s kỳ %s:\n%s", authority.id, job["period"], result.text())
    return {**_job(job), **result.summary()}


def _job(values: dict[str, Any]) -> dict[str, str]:
    return {"authority": values["authority"], "period": values["period"]}
