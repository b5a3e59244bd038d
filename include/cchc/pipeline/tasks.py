"""The bodies of the DAGs' tasks: each reads its payload, calls its stage, returns its payload.

Importable and testable without a running scheduler. What each task receives and returns is declared
in ``cchc.pipeline.payloads``; the rules of each stage live in the stage. Heavy modules (pandas,
Great Expectations, docxtpl) and Airflow itself are imported inside the functions that need them,
so this module stays cheap to import.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cchc.core import settings
from cchc.core.authorities import Authority, load_authorities, load_authority
from cchc.core.errors import ConfigError
from cchc.core.periods import Period, resolve_period
from cchc.pipeline import connections
from cchc.pipeline.payloads import (
    Decided,
    Distributed,
    Extracted,
    Issued,
    Job,
    LettersRequest,
    Loaded,
    Rated,
    Rendered,
    Reported,
    Validated,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

XCom = Mapping[str, Any]


def _authority(payload: Job | Rendered | Any) -> Authority:
    return load_authority(settings.current().config_dir / payload.authority)


@contextmanager
def warehouse(url: str | None = None) -> Iterator[Engine]:
    """An Engine on the warehouse, disposed afterwards.

    Each task looks the URL up itself (``cchc_warehouse``) unless given one: it may carry a password,
    so it never travels through XCom.
    """
    from cchc.core.db import engine_for

    engine = engine_for(url or connections.warehouse_url())
    try:
        yield engine
    finally:
        engine.dispose()


def label(payload: XCom) -> None:
    """Names a mapped task instance after its authority in the Airflow UI (``map_index_template``)."""
    from airflow.sdk import get_current_context

    context: dict[str, Any] = get_current_context()  # type: ignore[assignment]  # a key of our own
    context["authority_id"] = payload["authority"]


# ---------------------------------------------------------------------------------------------------
# cchc_monthly: plan → plan_loads → wait → extract → validate → load; compute_rates → decide → trigger.


def plan(params: Mapping[str, Any] | None, logical_date: datetime | date | None) -> list[dict[str, Any]]:
    """One job per issuing authority for the run's period.

    The whole configuration is loaded here, so a broken authority folder stops the run at its first
    task with the file and line, before anything is fetched.
    """
    from cchc.rules.rulebook import load_rulebook

    period = resolve_period(dict(params or {}), logical_date)
    authorities = load_authorities(settings.current().config_dir)
    for authority in authorities:
        load_rulebook(authority).rules_for(period)  # an invalid rulebook is refused before any fetch
    wanted = (params or {}).get("authorities") or []
    if wanted:
        known = {a.id for a in authorities}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ConfigError(f"tham số 'authorities' có cơ quan không tồn tại: {', '.join(unknown)}")
        authorities = [a for a in authorities if a.id in wanted]
    jobs = [Job(authority=a.id, period=str(period)) for a in authorities]
    log.info(
        "Kỳ báo cáo %s: %d cơ quan ban hành (%s)", period, len(jobs), ", ".join(j.authority for j in jobs)
    )
    return [j.to_xcom() for j in jobs]


def plan_loads(targets: list[XCom], backfill: bool = True, url: str | None = None) -> list[dict[str, Any]]:
    """The targets plus every earlier month their rates need that the warehouse does not hold yet.

    A first run, or a new authority, so fills its year instead of printing a year-to-date rate over
    one month. With ``backfill`` off the rates task refuses to compute over missing months instead.
    """
    jobs = [Job.from_xcom(t) for t in targets]
    loads: list[Job] = []
    stored = _stored_periods(sorted({j.authority for j in jobs}), url) if backfill else {}
    for job in jobs:
        if backfill:
            for p in needed_periods(Period.parse(job.period)):
                if str(p) not in stored.get(job.authority, set()):
                    log.info("Kho chưa có %s kỳ %s: nạp bổ sung để tính lũy kế", job.authority, p)
                    loads.append(Job(authority=job.authority, period=str(p), backfill=True))
        loads.append(job)
    return [j.to_xcom() for j in loads]


def needed_periods(period: Period) -> list[Period]:
    """The earlier months a period's year-to-date and campaign rates read: January to the month before.

    The month before January (for the change against the previous month) is not fetched: where the
    warehouse lacks it, the change is shown as not comparable rather than failing the run.
    """
    return period.previous().months_since(Period(period.year, 1)) if period.month > 1 else []


def _stored_periods(authority_ids: list[str], url: str | None) -> dict[str, set[str]]:
    from cchc.warehouse.load import list_loads

    with warehouse(url) as engine:
        return {aid: {row["period"] for row in list_loads(engine, aid)} for aid in authority_ids}


def upgrade_warehouse(url: str | None = None) -> dict[str, Any]:
    """Applies the warehouse migrations (idempotent), so no schema change is ever done by hand."""
    from cchc.core.db import mask_url
    from cchc.warehouse.migrate import upgrade

    url = url or connections.warehouse_url()  # looked up in each task: it may carry a password
    with warehouse(url) as engine:
        revision = upgrade(engine)
    log.info("Kho dữ liệu %s ở phiên bản lược đồ %s", mask_url(url), revision)
    return {"warehouse": mask_url(url), "revision": revision}


def period_ready(payload: XCom) -> bool:
    """True when the period's figures can be extracted: the portal closed it, or the export is in the inbox."""
    from cchc.portal.extract import excel_path, period_is_closed, source_settings

    job = Job.from_xcom(payload)
    authority = _authority(job)
    period = Period.parse(job.period)
    source = source_settings(authority)
    if source.source == "excel":
        if source.inbox is None:
            raise ConfigError(f"{authority.id}: nguồn Excel nhưng chưa đặt portal.inbox hay CCHC_INBOX_DIR")
        path = excel_path(source.inbox, authority, period)
        log.info("Nguồn Excel: chờ tệp %s (%s)", path, "đã có" if path.exists() else "chưa có")
        return path.exists()
    with connections.portal_client() as client:
        closed = period_is_closed(authority, period, client)
    log.info(
        "Cổng DVC: kỳ %s của %s %s",
        period,
        authority.id,
        "đã khóa số liệu" if closed else "chưa khóa số liệu",
    )
    return closed


def extract(payload: XCom, run_id: str | None = None) -> dict[str, Any]:
    """Extract one authority's period; returns where the tidy table is."""
    from cchc.portal.extract import extract_period, source_settings

    job = Job.from_xcom(payload)
    authority = _authority(job)
    output_dir = settings.current().output_dir
    if source_settings(authority).source == "excel":
        result = extract_period(authority, job.period, output_dir, run_id=run_id)
    else:
        with connections.portal_client() as client:
            result = extract_period(authority, job.period, output_dir, client=client, run_id=run_id)
    summary = result.summary()
    log.info("Đã trích xuất %s kỳ %s: %s", authority.id, job.period, summary)
    return Extracted(**job.to_xcom(), **summary).to_xcom()


def validate(payload: XCom, run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Great Expectations over the extracted table; a critical failure stops the run before any load.

    The previous month's stored facts feed the warning checks (tenfold jumps); the failure names
    every unit and field, in the task log and in the exception the failure alert carries.
    """
    import pandas as pd

    from cchc.quality.validate import validate_extract
    from cchc.warehouse.load import read_facts

    extracted = Extracted.from_xcom(payload)
    authority = _authority(extracted)
    period = Period.parse(extracted.period)
    with warehouse(url) as engine:
        previous_rows = read_facts(engine, authority.id, period.previous())
    previous = pd.DataFrame(previous_rows) if previous_rows else None
    report = validate_extract(
        authority, period, extracted.path, settings.current().output_dir, previous=previous, run_id=run_id
    )
    report.raise_for_critical()
    return Validated(**report.summary()).to_xcom()


def load(payload: XCom, run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Loads the validated table: registry first, then one transactional, versioned upsert of the period."""
    from cchc.quality.validate import validated_frame
    from cchc.warehouse.load import load_facts, sync_units

    validated = Validated.from_xcom(payload)
    authority = _authority(validated)
    period = Period.parse(validated.period)
    frame = validated_frame(validated.result)
    with warehouse(url) as engine:
        synced = sync_units(engine, authority, period)
        loaded = load_facts(engine, authority.id, period, frame, run_id or "manual", validated.source)
    log.info("Danh mục đơn vị: %s; nạp số liệu: %s", synced.summary(), loaded.summary())
    return Loaded(
        **validated.key,
        units=synced.summary(),
        load_id=loaded.load_id,
        version=loaded.version,
        rows=loaded.rows,
        changed=loaded.changed,
        content_hash=loaded.content_hash,
    ).to_xcom()


def rates(payload: XCom, url: str | None = None) -> dict[str, Any]:
    """Month, year-to-date and campaign-to-date rates, computed in SQL over the stored facts.

    Refuses (after logging) when a month of the windows is missing from the warehouse: a
    year-to-date rate over part of the year would be wrong in the letter.
    """
    from cchc.core.errors import WarehouseError
    from cchc.rules.rulebook import campaign_starts_for
    from cchc.warehouse.rates import authority_totals, compute_rates, display_lines, rates_summary

    job = Job.from_xcom(payload)
    period = Period.parse(job.period)
    with warehouse(url) as engine:
        starts = campaign_starts_for(_authority(job), period)  # the rulebook in force for the period
        computed = compute_rates(engine, job.authority, period, starts)
        summary = rates_summary(engine, job.authority, period)
        lines = display_lines(authority_totals(engine, job.authority, period))
    log.info("Tỷ lệ %s kỳ %s (%d dòng):\n%s", job.authority, period, computed.rows, "\n".join(lines))
    if computed.missing_periods:
        raise WarehouseError(
            f"{job.authority}, kỳ {period}: kho thiếu số liệu các tháng {', '.join(computed.missing_periods)} "
            "nên tỷ lệ lũy kế sẽ sai; chạy lại với tham số backfill = true để nạp bổ sung"
        )
    return Rated(**job.key, totals=lines, summary=summary).to_xcom()


def decide(payload: XCom, run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Commend / remind / criticise for the period; stores the decisions and writes decisions.json."""
    from cchc.rules.service import decide_period

    rated = Rated.from_xcom(payload)
    authority = _authority(rated)
    with warehouse(url) as engine:
        result = decide_period(
            engine,
            authority,
            Period.parse(rated.period),
            run_id=run_id,
            output_dir=settings.current().output_dir,
        )
    log.info("Quyết định %s kỳ %s:\n%s", authority.id, rated.period, result.text())
    return Decided(**result.summary()).to_xcom()


def letters_conf(decided: list[XCom]) -> dict[str, Any]:
    """The conf of the ``cchc_letters`` run the monthly DAG triggers: the period and its authorities."""
    runs = [Decided.from_xcom(d) for d in decided]
    return LettersRequest(period=runs[0].period, authorities=[d.authority for d in runs]).to_xcom()


# ---------------------------------------------------------------------------------------------------
# cchc_letters: render → (approve) → issue → distribute → report.


def render(payload: XCom, run_id: str | None = None) -> dict[str, Any]:
    """The draft letter (DOCX, PDF, annex) from the period's decisions.json, recorded in the warehouse."""
    from cchc.letter.drafting import draft_letter

    job = Job.from_xcom(payload)
    with warehouse() as engine:
        draft = draft_letter(
            engine, _authority(job), job.period, settings.current().output_dir, run_id=run_id
        )
    return Rendered(**job.key, letter_id=draft.letter_id, docx=str(draft.docx), pdf=str(draft.pdf)).to_xcom()


def needs_approval(rendered: list[XCom]) -> bool:
    """True when any authority of the run requires a human approval before issuing."""
    from cchc.delivery.recipients import distribution_config

    return any(distribution_config(_authority(Rendered.from_xcom(r))).require_approval for r in rendered)


def approval_body(rendered: list[XCom]) -> str:
    """What the approver reads in the Airflow UI: per letter, its recipients and the file to open."""
    from cchc.delivery.preview import approval_summary, distribution_preview

    letters = [Rendered.from_xcom(r) for r in rendered]
    with warehouse() as engine:
        parts = [
            approval_summary(
                distribution_preview(
                    engine, _authority(letter), letter.letter_id, output_dir=settings.current().output_dir
                ),
                letter_url=letter.pdf,
            )
            for letter in letters
        ]
    return "\n\n---\n\n".join(parts)


def issue(payload: XCom, logical_date: datetime | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Takes the document number (the same one on a retry) and writes it into the issued DOCX and PDF."""
    from cchc.delivery.issue import issue_with_files

    rendered = Rendered.from_xcom(payload)
    with warehouse() as engine:
        # The register's year is the run's (its logical date), not the wall clock's.
        issued = issue_with_files(
            engine,
            _authority(rendered),
            rendered.letter_id,
            settings.current().output_dir,
            issued_at=logical_date,
            run_id=run_id,
        )
    docx = str(issued.docx) if issued.docx else rendered.docx
    pdf = str(issued.pdf) if issued.pdf else rendered.pdf
    return Issued(
        **rendered.key, letter_id=rendered.letter_id, docx=docx, pdf=pdf, document_number=issued.number
    ).to_xcom()


def distribute(
    payload: XCom, params: Mapping[str, Any] | None = None, run_id: str | None = None
) -> dict[str, Any]:
    """Emails the issued letter to every recipient exactly once (or a dry run / a resend, by param)."""
    from cchc.delivery.distribute import Request
    from cchc.delivery.distribute import distribute as send_all

    issued = Issued.from_xcom(payload)
    params = params or {}
    dry_run = bool(params.get("dry_run"))
    resend = list(params.get("resend") or [])
    request = Request(
        dry_run=dry_run,
        test_address=params.get("test_address") or None,
        resend=resend or None,
        # A dry run or resend is one batch per Airflow run: a task retry sends nothing twice.
        batch=run_id if (dry_run or resend) else None,
    )
    authority = _authority(issued)
    with warehouse() as engine:
        result = send_all(
            engine,
            authority,
            issued.letter_id,
            connections.smtp_settings(),
            request,
            output_dir=settings.current().output_dir,
        )
    summary = result.as_dict()
    log.info("Gửi công văn %s kỳ %s: %s", authority.id, issued.period, summary["counts"])
    return Distributed(**issued.to_xcom(), distribution=summary).to_xcom()


def report(payload: XCom) -> dict[str, Any]:
    """Sends the operators' summary; fails (so the run shows red and alerts) when anyone was not served."""
    from cchc.delivery.errors import DeliveryError
    from cchc.delivery.notices import send_summary
    from cchc.delivery.status import distribution_report

    distributed = Distributed.from_xcom(payload)
    authority = _authority(distributed)
    with warehouse() as engine:
        send_summary(
            engine,
            authority,
            distributed.letter_id,
            connections.smtp_settings(),
            missing_email=distributed.distribution.get("missing_email") or (),
        )
        outcome = distribution_report(engine, distributed.letter_id)
    counts = outcome["counts"]
    log.info("Tổng hợp gửi công văn %s kỳ %s: %s", authority.id, distributed.period, counts)
    if counts.get("failed") or counts.get("unknown") or counts.get("pending"):
        raise DeliveryError(
            f"{authority.id}, kỳ {distributed.period}: {counts.get('failed', 0)} thư lỗi, "
            f"{counts.get('unknown', 0)} thư không rõ kết quả, {counts.get('pending', 0)} thư chưa gửi; "
            "xem thư tổng hợp gửi cán bộ vận hành"
        )
    return Reported(**distributed.key, counts=counts).to_xcom()


def alert_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback of every task: an email to the operators through ``smtp_default``.

    A callback must never raise (it would hide the task's own error), so every problem is logged.
    """
    try:
        from cchc.delivery.notices import failure_alert_message, send_notice
        from cchc.delivery.recipients import distribution_config

        operators: list[str] = []
        for authority in load_authorities(settings.current().config_dir):
            operators += [c.email for c in distribution_config(authority).operators if c.email]
        operators = sorted(set(operators))
        if not operators:
            log.warning("Không có cán bộ vận hành nào trong cấu hình để gửi cảnh báo lỗi")
            return
        smtp = connections.smtp_settings()
        send_notice(smtp, failure_alert_message(context, sender=smtp.from_email, to=operators))
        log.info("Đã gửi cảnh báo lỗi tới %s", ", ".join(operators))
    except Exception:  # noqa: BLE001 (see docstring)
        log.exception("Không gửi được cảnh báo lỗi qua smtp_default")
