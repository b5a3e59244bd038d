"""The bodies of the DAGs' tasks, importable and testable without a running scheduler.

Each function takes plain values (a job dict, a run id) and returns small JSON-able summaries: the data
itself travels by reference (a path under CCHC_OUTPUT_DIR), never through XCom. Airflow is imported
only inside the functions that look up connections, so this module stays cheap to import.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
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
    from cchc.warehouse import list_loads

    with warehouse(url) as engine:
        return {aid: {row["period"] for row in list_loads(engine, aid)} for aid in authority_ids}


def label(job: dict[str, Any]) -> None:
    """Names a mapped task instance after its authority in the Airflow UI (``map_index_template``)."""
    from airflow.sdk import get_current_context

    get_current_context()["authority_id"] = job["authority"]


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


@contextmanager
def warehouse(url: str | None = None):
    """An Engine on the warehouse, disposed afterwards.

    Each task looks the URL up itself (``cchc_warehouse``) unless given one: it may carry a password,
    so it never travels through XCom.
    """
    from cchc.warehouse import engine_for

    engine = engine_for(url or warehouse_url())
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade_warehouse(url: str | None = None) -> dict[str, Any]:
    """Applies the warehouse migrations (idempotent), so no schema change is ever done by hand."""
    from cchc.warehouse import mask_url, upgrade

    url = url or warehouse_url()  # looked up in each task: the URL may carry a password, never an XCom
    with warehouse(url) as engine:
        revision = upgrade(engine)
    log.info("Kho dữ liệu %s ở phiên bản lược đồ %s", mask_url(url), revision)
    return {"warehouse": mask_url(url), "revision": revision}


def validate(extracted: dict[str, Any], run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Great Expectations over the extracted table; a critical failure stops the run before any load.

    The previous month's stored facts feed the warning checks (tenfold jumps); the failure names
    every unit and field, in the task log and in the exception the failure alert carries.
    """
    import pandas as pd

    from cchc.quality import validate_extract
    from cchc.warehouse import read_facts

    authority = _authority(extracted)
    period = Period.parse(extracted["period"])
    with warehouse(url) as engine:
        previous_rows = read_facts(engine, authority.id, period.previous())
    previous = pd.DataFrame(previous_rows) if previous_rows else None
    report = validate_extract(
        authority, period, extracted["path"], output_dir_from_env(), previous=previous, run_id=run_id
    )
    report.raise_for_critical()
    return {**_job(extracted), **report.summary()}


def load(validated: dict[str, Any], run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Loads the validated table: registry first, then one transactional, versioned upsert of the period."""
    from cchc.quality import validated_frame
    from cchc.warehouse import load_facts, sync_units

    authority = _authority(validated)
    period = Period.parse(validated["period"])
    frame = validated_frame(validated["result"])
    with warehouse(url) as engine:
        synced = sync_units(engine, authority, period)
        loaded = load_facts(engine, authority.id, period, frame, run_id or "manual", validated["source"])
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
        rates_summary,
    )

    period = Period.parse(job["period"])
    with warehouse(url) as engine:
        starts = campaign_starts_for(_authority(job), period)  # the rulebook in force for the period
        computed = compute_rates(engine, job["authority"], period, starts)
        summary = rates_summary(engine, job["authority"], period)
        lines = display_lines(authority_totals(engine, job["authority"], period))
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

    authority = _authority(job)
    with warehouse(url) as engine:
        result = decide_period(engine, authority, Period.parse(job["period"]), run_id=run_id,
                               output_dir=output_dir_from_env())
    log.info("Quyết định %s kỳ %s:\n%s", authority.id, job["period"], result.text())
    return {**_job(job), **result.summary()}


def _job(values: dict[str, Any]) -> dict[str, str]:
    return {"authority": values["authority"], "period": values["period"]}


# ---------------------------------------------------------------------------------------------------
# The letters DAG: render → (approve) → issue → distribute → report.

SMTP_CONN_ID = "smtp_default"


def smtp_settings():
    """SMTP settings from the ``smtp_default`` connection (looked up at run time only)."""
    from airflow.sdk import BaseHook

    from cchc.delivery import smtp_settings_from_connection

    return smtp_settings_from_connection(BaseHook.get_connection(SMTP_CONN_ID))


def render(job: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
    """The draft letter (DOCX, PDF, annex) from the period's decisions.json, recorded in the warehouse."""
    from cchc.letter import record_letter, render_letter
    from cchc.rules import decisions_path

    authority = _authority(job)
    output_dir = output_dir_from_env()
    decisions = decisions_path(output_dir, authority.id, job["period"])
    if not decisions.exists():
        raise ConfigError(
            f"{authority.id}, kỳ {job['period']}: chưa có {decisions}; chạy DAG cchc_monthly cho kỳ này trước"
        )
    from cchc.letter.record import output_path, read_letters

    digest = hashlib.sha256(decisions.read_bytes()).hexdigest()
    with warehouse() as engine:
        # A rerun with the same decisions keeps the period's current letter (draft or issued, with its
        # number and ledger), so nothing is issued or sent twice; revised decisions make a new letter.
        current = next((row for row in read_letters(engine, authority.id, job["period"]) if row["is_current"]), None)
        if current and current["decisions_hash"] == digest:
            log.info("Công văn %s kỳ %s đã có (mã %s, %s), quyết định không đổi: dùng lại",
                     authority.id, job["period"], current["letter_id"], current["status"])
            return {**_job(job), "letter_id": current["letter_id"],
                    "docx": str(output_path(current["docx_path"], output_dir)),
                    "pdf": str(output_path(current["pdf_path"], output_dir))}
        result = render_letter(decisions, authority, output_dir, run_id=run_id)
        letter_id = record_letter(engine, result)
    log.info("Bản thảo công văn %s kỳ %s: %s, %s", authority.id, job["period"], result.docx_path, result.pdf_path)
    return {**_job(job), "letter_id": letter_id, "docx": str(result.docx_path), "pdf": str(result.pdf_path)}


def needs_approval(rendered: list[dict[str, Any]]) -> bool:
    """True when any authority of the run requires a human approval before issuing."""
    from cchc.delivery import distribution_config

    return any(distribution_config(_authority(job)).require_approval for job in rendered)


def approval_body(rendered: list[dict[str, Any]]) -> str:
    """What the approver reads in the Airflow UI: per letter, its recipients and the file to open."""
    from cchc.delivery import approval_summary, distribution_preview

    with warehouse() as engine:
        parts = [
            approval_summary(
                distribution_preview(engine, _authority(job), job["letter_id"], output_dir=output_dir_from_env()),
                letter_url=job["pdf"],
            )
            for job in rendered
        ]
    return "\n\n---\n\n".join(parts)


def issue(job: dict[str, Any], logical_date: datetime | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Takes the document number (the same one on a retry) and writes it into the issued DOCX and PDF."""
    from cchc.delivery import distribution_report, issue_letter
    from cchc.letter import record_letter, render_letter
    from cchc.rules import decisions_path

    authority = _authority(job)
    output_dir = output_dir_from_env()
    with warehouse() as engine:
        # The register's year is the run's (its logical date), not the wall clock's.
        number = issue_letter(engine, job["letter_id"], issued_at=logical_date)
        if distribution_report(engine, job["letter_id"])["counts"].get("total"):
            # Already being sent: the files recipients got must stay exactly as they are.
            log.info("Công văn %s kỳ %s (số %s) đã bắt đầu gửi: giữ nguyên tệp", authority.id, job["period"], number)
            return {**job, "document_number": number}
        result = render_letter(
            decisions_path(output_dir, authority.id, job["period"]), authority, output_dir,
            document_number=number, run_id=run_id,
        )
        record_letter(engine, result, letter_id=job["letter_id"])
    log.info("Đã cấp số %s/%s cho công văn %s kỳ %s", number, authority.document_symbol, authority.id, job["period"])
    return {**job, "document_number": number, "docx": str(result.docx_path), "pdf": str(result.pdf_path)}


def distribute(job: dict[str, Any], params: dict | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Emails the issued letter to every recipient exactly once (or a dry run / a resend, by param)."""
    from cchc.delivery.distribute import distribute as send_all

    params = params or {}
    dry_run = bool(params.get("dry_run"))
    resend = list(params.get("resend") or [])
    authority = _authority(job)
    with warehouse() as engine:
        result = send_all(
            engine, authority, job["letter_id"], smtp_settings(),
            output_dir=output_dir_from_env(), dry_run=dry_run, test_address=params.get("test_address") or None,
            resend=resend or None,
            # A dry run or resend is one batch per Airflow run: a task retry sends nothing twice.
            batch=run_id if (dry_run or resend) else None,
        )
    summary = result.as_dict()
    log.info("Gửi công văn %s kỳ %s: %s", authority.id, job["period"], summary["counts"])
    return {**job, "distribution": summary}


def report(job: dict[str, Any]) -> dict[str, Any]:
    """Sends the operators' summary; fails (so the run shows red and alerts) when anyone was not served."""
    from cchc.delivery import DeliveryError, distribution_report, send_summary

    authority = _authority(job)
    distribution = job["distribution"]
    with warehouse() as engine:
        send_summary(engine, authority, job["letter_id"], smtp_settings(),
                     missing_email=distribution.get("missing_email") or ())
        outcome = distribution_report(engine, job["letter_id"])
    counts = outcome["counts"]
    log.info("Tổng hợp gửi công văn %s kỳ %s: %s", authority.id, job["period"], counts)
    if counts.get("failed") or counts.get("unknown") or counts.get("pending"):
        raise DeliveryError(
            f"{authority.id}, kỳ {job['period']}: {counts.get('failed', 0)} thư lỗi, "
            f"{counts.get('unknown', 0)} thư không rõ kết quả, {counts.get('pending', 0)} thư chưa gửi; "
            "xem thư tổng hợp gửi cán bộ vận hành"
        )
    return {**_job(job), "counts": counts}


def alert_failure(context: dict[str, Any]) -> None:
    """on_failure_callback of every task: an email to the operators through ``smtp_default``.

    A callback must never raise (it would hide the task's own error), so every problem is logged.
    """
    try:
        from cchc.delivery import distribution_config, failure_alert_message, send_notice

        operators: list[str] = []
        for authority in load_authorities(config_dir_from_env()):
            operators += [c.email for c in distribution_config(authority).operators if c.email]
        operators = sorted(set(operators))
        if not operators:
            log.warning("Không có cán bộ vận hành nào trong cấu hình để gửi cảnh báo lỗi")
            return
        smtp = smtp_settings()
        send_notice(smtp, failure_alert_message(context, sender=smtp.from_email, to=operators))
        log.info("Đã gửi cảnh báo lỗi tới %s", ", ".join(operators))
    except Exception:  # noqa: BLE001 (see docstring)
        log.exception("Không gửi được cảnh báo lỗi qua smtp_default")
