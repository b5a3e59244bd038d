"""The bodies of the DAGs' tasks: each reads its payload, calls its stage, returns its payload.

Importable and testable without a running scheduler. What each task receives and returns is declared
in ``cchc.pipeline.payloads``; the rules of each stage live in the stage. Heavy modules (pandas,
Great Expectations, docxtpl) and Airflow itself are imported inside the functions that need them,
so this module stays cheap to import.

Both DAGs run one task group per authority: each authority's chain depends only on its own tasks,
so one authority's failure, late source or rejection stops that authority alone; the ``summary``
task lists every authority's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from cchc.core import settings
from cchc.core.authorities import Authority, load_authorities, load_authority
from cchc.core.errors import CchcError, ConfigError, PortalError
from cchc.core.files import atomic_write_json
from cchc.core.paths import run_outcomes_file
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
    Loads,
    MonthExtract,
    MonthLoad,
    MonthValidation,
    Rated,
    Rendered,
    Reported,
    Validated,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

XCom = Mapping[str, Any]
MONTHLY, LETTERS = "cchc_monthly", "cchc_letters"


def _skip(message: str) -> NoReturn:
    """Nothing for this task to do for this authority (a revision reported, a dry run): the task shows
    skipped, not failed, and so do the ones that need it."""
    from airflow.sdk.exceptions import AirflowSkipException

    log.info("%s", message)
    raise AirflowSkipException(message)


def _authority(payload: Any) -> Authority:
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


def plan(params: Mapping[str, Any] | None, logical_date: datetime | date | None) -> list[dict[str, Any]]:
    """One job per issuing authority for the run's period.

    The whole configuration is loaded here, so a broken authority folder stops the run at its first
    task with the file and line, before anything is fetched.
    """
    from cchc.rules.rulebook import load_rulebook

    period = resolve_period(dict(params or {}), logical_date)
    issued_at(params)  # a wrong date is refused here, before anything is drafted or approved
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


# ---------------------------------------------------------------------------------------------------
# One run at a time per DAG, authority and period.


def _holder_alive(holder: str) -> bool:
    """Is the DAG run that holds a lock still going? (Asked of Airflow; a CLI holder always is.)"""
    dag_id, _, run_id = holder.partition("/")
    if dag_id not in (MONTHLY, LETTERS) or not run_id:
        return True
    try:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        state = RuntimeTaskInstance.get_dagrun_state(dag_id=dag_id, run_id=run_id)
    except Exception:  # noqa: BLE001 - not knowing means waiting, never stealing the lock
        return True
    return str(state) in ("running", "queued", "DagRunState.RUNNING", "DagRunState.QUEUED")


def hold(payload: XCom, scope: str, run_id: str) -> bool:
    """For a sensor: True once this run holds the authority's period (another run of it waits)."""
    from cchc.warehouse.locks import acquire

    job = Job.from_xcom(payload)
    with warehouse() as engine:
        holder = acquire(
            engine, scope, job.authority, job.period, f"{scope}/{run_id}", holder_alive=_holder_alive
        )
    if holder is not None:
        log.info("%s kỳ %s đang được lần chạy %s xử lý: chờ", job.authority, job.period, holder)
        return False
    return True


def release(payload: XCom, scope: str, run_id: str) -> None:
    from cchc.warehouse.locks import release as give_back

    job = Job.from_xcom(payload)
    with warehouse() as engine:
        give_back(engine, scope, job.authority, job.period, f"{scope}/{run_id}")


# ---------------------------------------------------------------------------------------------------
# cchc_monthly, per authority: plan_loads → wait → extract → validate → load → compute_rates → decide.


def plan_loads(payload: XCom, backfill: bool = True, url: str | None = None) -> dict[str, Any]:
    """The period plus every earlier month of the year its rates need that the warehouse lacks.

    A first run, or a new authority, so fills its year instead of printing a year-to-date rate over
    one month. With ``backfill`` off the rates task refuses to compute over missing months instead.
    """
    from cchc.warehouse.load import list_loads

    job = Job.from_xcom(payload)
    period = Period.parse(job.period)
    backfilled: list[str] = []
    if backfill:
        with warehouse(url) as engine:
            stored = {row["period"] for row in list_loads(engine, job.authority)}
        backfilled = [str(p) for p in needed_periods(period) if str(p) not in stored]
        for month in backfilled:
            log.info("Kho chưa có %s kỳ %s: nạp bổ sung để tính lũy kế", job.authority, month)
    return Loads(**job.key, months=[*backfilled, job.period], backfilled=backfilled).to_xcom()


def needed_periods(period: Period) -> list[Period]:
    """The earlier months a period's year-to-date and campaign rates read: January to the month before.

    The month before January (for the change against the previous month) is not fetched: where the
    warehouse lacks it, the change is shown as not comparable rather than failing the run.
    """
    return period.previous().months_since(Period(period.year, 1)) if period.month > 1 else []


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
    """True when every month can be extracted: the portal closed it, or its export is in the inbox."""
    from cchc.portal.extract import excel_path, period_is_closed, source_settings

    loads = Loads.from_xcom(payload)
    authority = _authority(loads)
    source = source_settings(authority)
    months = [Period.parse(m) for m in loads.months]
    if source.source == "excel":
        if source.inbox is None:
            raise ConfigError(f"{authority.id}: nguồn Excel nhưng chưa đặt portal.inbox hay CCHC_INBOX_DIR")
        waiting = [p for p in months if not excel_path(source.inbox, authority, p).exists()]
        log.info(
            "Nguồn Excel %s: %s",
            source.inbox,
            f"chờ tệp của {', '.join(map(str, waiting))}" if waiting else "đã có đủ tệp",
        )
        return not waiting
    with connections.portal_client() as client:
        open_months = [p for p in months if not period_is_closed(authority, p, client)]
    log.info(
        "Cổng DVC, %s: %s",
        authority.id,
        f"kỳ {', '.join(map(str, open_months))} chưa khóa số liệu"
        if open_months
        else "mọi kỳ cần lấy đã khóa số liệu",
    )
    return not open_months


def extract(payload: XCom, run_id: str | None = None) -> dict[str, Any]:
    """Extract every month of the authority (oldest first); returns where each tidy table is.

    A month whose data fail does not stop the others: every month's raw answers are landed, and the
    task then fails naming each month that did not come through. A portal that keeps failing after
    the client's retries (``PortalError``) stops the loop: the months after it would only wait
    through the same retries; they are named as not tried.
    """
    from cchc.portal.extract import extract_period, source_settings

    loads = Loads.from_xcom(payload)
    authority = _authority(loads)
    output_dir = settings.current().output_dir
    months: list[MonthExtract] = []
    failures: list[tuple[str, Exception]] = []
    excel = source_settings(authority).source == "excel"
    with connections.portal_client() if not excel else _no_client() as client:
        for index, month in enumerate(loads.months):
            try:
                result = extract_period(authority, month, output_dir, client=client, run_id=run_id)
            except CchcError as exc:
                log.error("%s kỳ %s: trích xuất không được: %s", authority.id, month, exc)
                failures.append((month, exc))
                if isinstance(exc, PortalError):
                    rest = loads.months[index + 1 :]
                    if rest:
                        failures.append(
                            (", ".join(rest), CchcError("chưa thử (cổng vẫn lỗi sau khi đã thử lại)"))
                        )
                    break
                continue
            summary = result.summary()
            log.info("Đã trích xuất %s kỳ %s: %s", authority.id, month, summary)
            months.append(
                MonthExtract(
                    period=month,
                    path=summary["path"],
                    rows=summary["rows"],
                    units=summary["units"],
                    source=summary["source"],
                    landing=summary["landing"],
                )
            )
    _raise_all(failures)
    return Extracted(**loads.key, months=months).to_xcom()


def _raise_all(failures: list[tuple[str, Exception]]) -> None:
    """One failure as it is; several as one error naming every month."""
    if len(failures) == 1:
        raise failures[0][1]
    if failures:
        raise CchcError("\n".join(f"kỳ {month}: {exc}" for month, exc in failures))


@contextmanager
def _no_client() -> Iterator[None]:
    yield None


def validate(payload: XCom, run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Great Expectations over every month's table; a critical failure stops the authority before any load.

    The previous month's figures (stored, or extracted in this same run) feed the warning checks
    (tenfold jumps); the failure names every month, unit and field, in the task log and the alert.
    """
    import pandas as pd

    from cchc.quality.result import ValidationFailed
    from cchc.quality.validate import validate_extract, validated_frame
    from cchc.warehouse.load import read_facts

    extracted = Extracted.from_xcom(payload)
    authority = _authority(extracted)
    months: list[MonthValidation] = []
    failed = []
    previous_frame = None
    for month in extracted.months:
        period = Period.parse(month["period"])
        if previous_frame is None:
            with warehouse(url) as engine:
                rows = read_facts(engine, authority.id, period.previous())
            previous_frame = pd.DataFrame(rows) if rows else None
        report = validate_extract(
            authority,
            period,
            month["path"],
            settings.current().output_dir,
            previous=previous_frame,
            run_id=run_id,
        )
        summary = report.summary()
        months.append(
            MonthValidation(
                period=month["period"],
                source=summary["source"],
                run_id=summary["run_id"],
                success=summary["success"],
                rows=summary["rows"],
                units=summary["units"],
                critical=summary["critical"],
                warnings=summary["warnings"],
                data_docs=summary["data_docs"],
                result=summary["result"],
                extracted=summary["extracted"],
            )
        )
        if not report.success:
            failed.append(report)
            previous_frame = None
        else:
            previous_frame = validated_frame(report)
    if failed:
        if len(failed) == 1:
            raise ValidationFailed(failed[0])
        raise CchcError("\n\n".join(r.message() for r in failed))
    return Validated(**extracted.key, months=months).to_xcom()


def load(payload: XCom, run_id: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Loads every validated month, oldest first: registry first, then one transactional, versioned upsert."""
    from cchc.quality.validate import validated_frame
    from cchc.warehouse.load import load_facts, sync_units

    validated = Validated.from_xcom(payload)
    authority = _authority(validated)
    months: list[MonthLoad] = []
    with warehouse(url) as engine:
        for month in validated.months:
            period = Period.parse(month["period"])
            frame = validated_frame(month["result"])
            synced = sync_units(engine, authority, period)
            loaded = load_facts(engine, authority.id, period, frame, run_id or "manual", month["source"])
            log.info(
                "%s kỳ %s — danh mục đơn vị: %s; nạp số liệu: %s",
                authority.id,
                period,
                synced.summary(),
                loaded.summary(),
            )
            months.append(
                MonthLoad(
                    period=str(period),
                    units=synced.summary(),
                    load_id=loaded.load_id,
                    version=loaded.version,
                    rows=loaded.rows,
                    changed=loaded.changed,
                    content_hash=loaded.content_hash,
                )
            )
    return Loaded(**validated.key, months=months).to_xcom()


def rates(payload: XCom, url: str | None = None) -> dict[str, Any]:
    """Month, year-to-date and campaign-to-date rates, computed in SQL over the stored facts.

    Refuses, writing nothing, when a month of the windows is missing from the warehouse: a
    year-to-date rate over part of the year would be wrong in the letter.
    """
    from cchc.rules.rulebook import campaign_starts_for
    from cchc.warehouse.rates import authority_totals, compute_rates, display_lines, rates_summary

    loaded = Loaded.from_xcom(payload)
    period = Period.parse(loaded.period)
    with warehouse(url) as engine:
        starts = campaign_starts_for(_authority(loaded), period)  # the rulebook in force for the period
        computed = compute_rates(engine, loaded.authority, period, starts)
        summary = rates_summary(engine, loaded.authority, period)
        lines = display_lines(authority_totals(engine, loaded.authority, period))
    log.info("Tỷ lệ %s kỳ %s (%d dòng):\n%s", loaded.authority, period, computed.rows, "\n".join(lines))
    return Rated(**loaded.key, totals=lines, summary=summary).to_xcom()


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


def letters_conf(payload: XCom, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The conf of the ``cchc_letters`` run this authority's chain triggers: the period, this authority,
    and the run's ``issued_at`` when it has one (a past month run again keeps its letter's date)."""
    decided = Decided.from_xcom(payload)
    stamp = issued_at(params)
    return LettersRequest(
        period=decided.period,
        authorities=[decided.authority],
        issued_at=str((params or {}).get("issued_at")) if stamp else None,
    ).to_xcom()


# ---------------------------------------------------------------------------------------------------
# cchc_letters, per authority: render → approve → issue → distribute → report.


def render(
    payload: XCom, params: Mapping[str, Any] | None = None, run_id: str | None = None
) -> dict[str, Any]:
    """The letter the run works on (see ``cchc.letter.drafting``): the one that went out, the pending
    draft, a new draft, or a revision report (operators told, nothing else done)."""
    from cchc.letter.drafting import Reissue, draft_letter, pdf_sha

    job = Job.from_xcom(payload)
    params = params or {}
    authority = _authority(job)
    reissue = None
    if params.get("reissue") and _concerns(params, job.authority):
        reissue = Reissue(reason=str(params.get("reissue_reason") or ""))
    with warehouse() as engine:
        draft = draft_letter(
            engine, authority, job.period, settings.current().output_dir, run_id=run_id, reissue=reissue
        )
    rendered = Rendered(
        **job.key,
        outcome=draft.outcome,
        letter_id=int(draft.letter_id or 0),
        content_hash=draft.content_hash,
        status=draft.status,
        docx=str(draft.docx) if draft.docx else None,
        pdf=str(draft.pdf) if draft.pdf else None,
        pdf_sha256=pdf_sha(draft),
        document_number=draft.document_number,
        replaces=draft.replaces,
        revision=str(draft.revision) if draft.revision else None,
        changes=draft.changes,
    )
    if draft.outcome == "revision":
        _tell_operators_of_revision(authority, rendered)
    return rendered.to_xcom()


def _concerns(params: Mapping[str, Any], authority_id: str) -> bool:
    """A re-issue asked for some authorities (``authorities``) concerns those only."""
    wanted = params.get("authorities") or []
    return not wanted or authority_id in wanted


def _tell_operators_of_revision(authority: Authority, rendered: Rendered) -> None:
    try:
        from cchc.delivery.notices import revision_message, send_notice

        smtp = connections.smtp_settings()
        send_notice(
            smtp,
            revision_message(
                authority,
                rendered.period,
                rendered.document_number,
                rendered.changes,
                rendered.revision,
                sender=smtp.from_email,
            ),
        )
    except Exception:  # noqa: BLE001 - the report is on disk and in the log; the email is a courtesy
        log.exception("Không gửi được thư báo thay đổi số liệu cho cán bộ vận hành")


def approval_request(payload: XCom, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """What the approval task asks, or None when this letter needs no approval (not a draft, a dry run
    — which takes no number and sends only to the test address — or an authority that does not require
    one). Sends the request to the authority's approvers, with the draft."""
    from cchc.delivery.preview import approval_summary, distribution_preview
    from cchc.delivery.recipients import distribution_config

    rendered = Rendered.from_xcom(payload)
    if rendered.outcome != "draft" or (params or {}).get("dry_run"):
        return None
    authority = _authority(rendered)
    config = distribution_config(authority)
    if not config.require_approval:
        return None
    with warehouse() as engine:
        preview = distribution_preview(
            engine, authority, rendered.letter_id, output_dir=settings.current().output_dir
        )
    body = approval_summary(preview, letter_url=rendered.pdf, content_hash=rendered.content_hash)
    subject = f"Duyệt phát hành công văn CCHC kỳ {rendered.period} (tháng {preview['period_label']}) — UBND {authority.name}"
    _send_approval_request(authority, config, subject, body, rendered)
    return {
        "subject": subject,
        "body": body,
        "timeout_hours": config.approval_timeout_hours or DEFAULT_APPROVAL_HOURS,
        "assigned_users": [{"id": c.user, "name": c.name} for c in config.approvers if c.user],
    }


DEFAULT_APPROVAL_HOURS = 72.0


def _send_approval_request(
    authority: Authority, config: Any, subject: str, body: str, rendered: Rendered
) -> None:
    if not config.approvers:
        return
    try:
        from pathlib import Path

        from cchc.delivery.notices import approval_request_message, send_notice

        smtp = connections.smtp_settings()
        pdf = Path(rendered.pdf).read_bytes() if rendered.pdf and Path(rendered.pdf).exists() else None
        send_notice(
            smtp, approval_request_message(authority, config, subject, body, pdf, sender=smtp.from_email)
        )
    except Exception:  # noqa: BLE001 - the approval waits in Airflow's Required Actions anyway
        log.exception("Không gửi được thư đề nghị duyệt cho người duyệt của %s", authority.id)


def record_approval(payload: XCom, chosen: str, user: Mapping[str, Any] | None, run_id: str | None) -> None:
    """The approver's answer, recorded with what was approved: the content hash and the draft PDF's hash
    (Airflow's own approval screen is not the record: a cleared task may show an older text)."""
    from cchc.letter.lifecycle import move

    rendered = Rendered.from_xcom(payload)
    actor = (user or {}).get("name") or (user or {}).get("id") or "hết thời hạn duyệt"
    with warehouse() as engine:
        if chosen == "Approve":
            move(
                engine,
                rendered.letter_id,
                "approved",
                actor=str(actor),
                run_id=run_id,
                values={
                    "approved_content_hash": rendered.content_hash,
                    "approved_pdf_sha256": rendered.pdf_sha256,
                },
                details={"content_hash": rendered.content_hash, "pdf_sha256": rendered.pdf_sha256},
            )
        else:
            move(
                engine,
                rendered.letter_id,
                "rejected",
                actor=str(actor),
                run_id=run_id,
                reason="người duyệt từ chối" if user else "không được duyệt trong thời hạn",
            )
    log.info(
        "Công văn %s kỳ %s (bản ghi %s): %s bởi %s",
        rendered.authority,
        rendered.period,
        rendered.letter_id,
        "đã duyệt" if chosen == "Approve" else "bị từ chối",
        actor,
    )


def issued_at(params: Mapping[str, Any] | None) -> datetime | None:
    """The ``issued_at`` param: when a month gone by is run again (``make run``), its letter keeps the
    date of that month instead of the run's, so the run's own logical date can be the real time."""
    from cchc.core.periods import TIMEZONE

    value = (params or {}).get("issued_at")
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(
            f"tham số 'issued_at' = {value!r} không phải ngày hợp lệ (ví dụ 2023-09-01T07:00:00+07:00)"
        ) from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=TIMEZONE)


def issue(
    payload: XCom,
    params: Mapping[str, Any] | None = None,
    logical_date: datetime | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Takes the document number (the same one on a retry) and writes the numbered DOCX and PDF.

    Nothing to issue after a revision report; a dry run never takes a number.
    """
    from cchc.delivery.issue import issue_with_files
    from cchc.rules.service import recount_after_issue

    rendered = Rendered.from_xcom(payload)
    if rendered.outcome == "revision":
        _skip(
            f"{rendered.authority} kỳ {rendered.period}: số liệu đã thay đổi sau khi phát hành, không cấp số"
        )
    if (params or {}).get("dry_run"):
        _skip("gửi thử: không cấp số")
    authority = _authority(rendered)
    output_dir = settings.current().output_dir
    with warehouse() as engine:
        from cchc.letter.lifecycle import STATE_LABELS, state_of

        state = state_of(engine, rendered.letter_id)
        if state in ("rejected", "discarded"):  # the approver said no, or a newer draft took its place
            _skip(f"{rendered.authority} kỳ {rendered.period}: công văn {STATE_LABELS[state]}, không cấp số")
        # The register's year is the run's (param issued_at, else its logical date), not the wall clock's.
        issued = issue_with_files(
            engine,
            authority,
            rendered.letter_id,
            output_dir,
            issued_at=issued_at(params) or logical_date,
            run_id=run_id,
        )
        if issued.rendered:  # newly issued: its criticisms now count for the later months
            recount_after_issue(engine, authority, output_dir, run_id=run_id)
    return Issued(
        **rendered.key,
        letter_id=rendered.letter_id,
        document_number=issued.number,
        docx=str(issued.docx),
        pdf=str(issued.pdf),
    ).to_xcom()


def distribute(
    payload: XCom, params: Mapping[str, Any] | None = None, run_id: str | None = None
) -> dict[str, Any]:
    """Emails the letter to every recipient not yet served (or a dry run / a resend, by param)."""
    from cchc.delivery.distribute import Request
    from cchc.delivery.distribute import distribute as send_all

    rendered = Rendered.from_xcom(payload)
    if rendered.outcome == "revision":
        _skip(f"{rendered.authority} kỳ {rendered.period}: số liệu đã thay đổi sau khi phát hành, không gửi")
    params = params or {}
    dry_run = bool(params.get("dry_run"))
    resend = list(params.get("resend") or [])
    if not dry_run:
        from cchc.letter.lifecycle import STATE_LABELS, is_numbered, state_of

        with warehouse() as engine:
            state = state_of(engine, rendered.letter_id)
        if not is_numbered(state):  # rejected, or waiting: only an issued letter goes out
            _skip(
                f"{rendered.authority} kỳ {rendered.period}: công văn {STATE_LABELS.get(state, state)}, không gửi"
            )
    request = Request(
        dry_run=dry_run,
        test_address=params.get("test_address") or None,
        resend=resend or None,
        # A dry run or resend is one batch per Airflow run: a task retry sends nothing twice.
        batch=run_id if (dry_run or resend) else None,
        require_issued=not dry_run,
    )
    authority = _authority(rendered)
    with warehouse() as engine:
        result = send_all(
            engine,
            authority,
            rendered.letter_id,
            connections.smtp_settings(),
            request,
            output_dir=settings.current().output_dir,
        )
    summary = result.as_dict()
    log.info("Gửi công văn %s kỳ %s: %s", authority.id, rendered.period, summary["counts"])
    return Distributed(**rendered.key, letter_id=rendered.letter_id, distribution=summary).to_xcom()


def report(payload: XCom) -> dict[str, Any]:
    """Sends the operators' summary; fails (so the run shows red and alerts) when anyone was not served."""
    from cchc.delivery.errors import DeliveryError
    from cchc.delivery.notices import send_summary
    from cchc.delivery.status import distribution_report

    distributed = Distributed.from_xcom(payload)
    if distributed.distribution.get("kind") == "test":
        _skip("gửi thử: không có thư tổng hợp")
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


# ---------------------------------------------------------------------------------------------------
# cchc_deadlines: a letter not sent by its authority's day of the next month.


def deadlines(
    logical_date: datetime | date | None, run_id: str | None = None, run_after: datetime | None = None
) -> dict[str, Any]:
    """Alerts each authority whose letter of last month is late (once per authority and period).

    "Today" is the run's logical date (Asia/Ho_Chi_Minh), or for a run triggered without one the
    time Airflow set it to run after: never the wall clock.
    """
    from cchc.delivery.deadlines import check_deadlines, describe

    logical_date = logical_date or run_after
    if logical_date is None:
        raise ConfigError("kiểm tra hạn gửi cần ngày logic của lần chạy (hôm nay là ngày nào)")
    with warehouse() as engine:
        findings = check_deadlines(
            engine,
            load_authorities(settings.current().config_dir),
            logical_date,
            connections.smtp_settings(),
            settings.current().output_dir,
            run_id=run_id,
        )
    log.info("Hạn gửi công văn:\n%s", describe(findings))
    return {"authorities": findings}


# ---------------------------------------------------------------------------------------------------
# Every authority's outcome, and the alert.


def summary(jobs: list[XCom], dag_id: str, run_id: str, group: str) -> dict[str, Any]:
    """Every authority's outcome in this run (from Airflow's task states and the warehouse); fails
    when any authority failed, so the run shows it, after listing all of them."""
    from cchc.pipeline.outcomes import authority_outcomes

    planned = [Job.from_xcom(j) for j in jobs]
    states = _task_states(dag_id, run_id)
    with warehouse() as engine:
        outcomes = authority_outcomes(
            engine,
            planned,
            states,
            group,
            letters=dag_id == LETTERS,
            output_dir=settings.current().output_dir,
        )
    lines = [f"- {o['authority']}: {o['text']}" for o in outcomes]
    log.info("Kết quả lần chạy %s:\n%s", run_id, "\n".join(lines))
    # On disk too: what the operators' page and the tests read, whatever Airflow keeps of the logs.
    atomic_write_json(
        run_outcomes_file(settings.current().output_dir, dag_id, run_id),
        {"dag_id": dag_id, "run_id": run_id, "authorities": outcomes},
    )
    failed = [o["authority"] for o in outcomes if o["failed"]]
    if failed:
        raise CchcError(
            f"lần chạy {run_id}: {len(failed)}/{len(outcomes)} cơ quan không hoàn thành "
            f"({', '.join(failed)}):\n" + "\n".join(lines)
        )
    return {"authorities": outcomes}


def _task_states(dag_id: str, run_id: str) -> dict[str, str]:
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
    return {str(k): str(v) for k, v in (states.get(run_id) or {}).items()}


def _failed_authority(context: Mapping[str, Any]) -> str | None:
    """The authority of the failed task, when it belongs to one (a mapped task of a per-authority group).

    ``label`` puts it in the context, but a task may fail before it runs (an import, a template, its
    first line): then the map index label, then the task's own input (every task of the group takes
    one authority's job or stage payload, which names it). A task of the whole run (plan, summary,
    upgrade_warehouse) is not mapped and has none: everyone is alerted.
    """
    if context.get("authority_id"):
        return str(context["authority_id"])
    ti = context.get("task_instance") or context.get("ti")
    rendered = getattr(ti, "rendered_map_index", None)
    if rendered and not str(rendered).isdigit():
        return str(rendered)
    map_index = getattr(ti, "map_index", None)
    if not isinstance(map_index, int) or map_index < 0:
        return None
    task = context.get("task") or getattr(ti, "task", None)
    for name in getattr(task, "template_fields", ()):
        value = getattr(task, name, None)
        candidates = list(value) if isinstance(value, (list, tuple)) else [value]
        if isinstance(value, Mapping):
            candidates = [value, *value.values()]  # op_kwargs: the payload is one of its values
        for candidate in candidates:
            if isinstance(candidate, Mapping) and isinstance(candidate.get("authority"), str):
                return candidate["authority"]
    return None


def alert_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback of every task: an email to the operators through ``smtp_default``: those of
    the task's authority, or of every authority for a task of the whole run.

    A callback must never raise (it would hide the task's own error), so every problem is logged.
    """
    try:
        from cchc.delivery.notices import failure_alert_message, send_notice
        from cchc.delivery.recipients import distribution_config

        only = _failed_authority(context)
        operators: list[str] = []
        for authority in load_authorities(settings.current().config_dir):
            if only is None or authority.id == only:
                operators += [c.email for c in distribution_config(authority).operators if c.email]
        operators = sorted(set(operators))
        if not operators:
            log.warning(
                "Không có cán bộ vận hành nào trong cấu hình để gửi cảnh báo lỗi%s",
                f" của {only}" if only else "",
            )
            return
        smtp = connections.smtp_settings()
        send_notice(
            smtp,
            failure_alert_message(
                {**context, "authority": only} if only else context, sender=smtp.from_email, to=operators
            ),
        )
        log.info("Đã gửi cảnh báo lỗi tới %s", ", ".join(operators))
    except Exception:  # noqa: BLE001 (see docstring)
        log.exception("Không gửi được cảnh báo lỗi qua smtp_default")
