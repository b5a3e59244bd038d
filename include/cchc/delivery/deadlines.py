"""The deadline: the office sends each month's letter by a day of the next month, or is told why not.

Each authority sets the day (``distribution.send_by_day`` in ``authority.yaml``, 1–28, default 5: the
letter of August is sent by 5 September). The daily check (DAG ``cchc_deadlines``) looks, for each
authority, at the latest period whose deadline has passed on "today" — the run's logical date, read
in Asia/Ho_Chi_Minh, never the wall clock. When that period's letter is not sent (a stuck approval,
a late source, a failure), the authority's operators — only that authority's — get one email naming
what holds it, read from the warehouse:

- no figures of the period in the warehouse (the portal has not closed it, or the monthly run did not
  get that far), or figures but no decisions;
- decisions but no letter;
- a draft waiting for approval since …, an approved draft not issued, a rejected draft (by whom, when);
- an issued letter whose deliveries are not all sent (failed, unknown, pending, with the recipients);
- and the failed task of the authority's latest run, when the run outcomes (``runs/``) name one.

The alert is recorded in ``deadline_alerts`` (one row per authority and period) before the check
moves on, so a rerun or the next day's check sends nothing again. Airflow's Deadline Alerts (3.1+)
do not serve here: their deadline is one interval per DAG run, not a day per authority, and they
are cleared when the run succeeds, which a run whose letter was rejected or partly sent also does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from cchc.core.authorities import Authority
from cchc.core.periods import TIMEZONE, Period
from cchc.delivery.recipients import distribution_config, sender_name

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from cchc.delivery.send import SmtpSettings

log = logging.getLogger(__name__)

# What the check found for an authority.
SENT, NOT_DUE, ALERTED, ALREADY_ALERTED, NO_OPERATORS = (
    "sent",
    "not_due",
    "alerted",
    "already_alerted",
    "no_operators",
)


def deadline_of(period: Period, send_by_day: int) -> date:
    """The last day on which ``period``'s letter is on time: ``send_by_day`` of the next month."""
    following = period.next()
    return date(following.year, following.month, send_by_day)


def due_period(today: date, send_by_day: int) -> Period | None:
    """The period whose letter is late on ``today``: last month's once its deadline has passed (from
    the day after it to the end of this month); None before the deadline. An older period is not
    looked at again: it was checked in its own month, and a deployment that starts in the middle of
    the year is not told about the months before it."""
    return Period(today.year, today.month).previous() if today.day > send_by_day else None


def local_day(moment: datetime | date) -> date:
    """The day in Vietnam of a logical date (a naive datetime is UTC, as Airflow hands it out)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(TIMEZONE).date()
    return moment


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "?"
    if moment.tzinfo is None:  # SQLite keeps what it was given: the warehouse writes UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TIMEZONE).strftime("%H:%M ngày %d/%m/%Y")


@dataclass
class Finding:
    authority: str
    period: str
    deadline: str
    outcome: str
    holding: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ------------------------------------------------------------------------------ what holds the letter


def _has_rows(engine: Engine, table: sa.Table, authority_id: str, period: str) -> bool:
    query = (
        sa.select(sa.literal(1))
        .select_from(table)
        .where(table.c.authority_id == authority_id, table.c.period == period, table.c.is_current)
        .limit(1)
    )
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def _event(engine: Engine, letter_id: int, state: str) -> dict[str, Any] | None:
    from cchc.letter.lifecycle import events

    found = [e for e in events(engine, letter_id) if e["state"] == state]
    return found[-1] if found else None


def _deliveries(engine: Engine, letter_id: int) -> list[str]:
    from cchc.delivery.status import distribution_report

    report = distribution_report(engine, letter_id)
    counts = report["counts"]
    lines = [
        f"đã gửi {counts['sent']}/{counts['total']} thư; lỗi {counts['failed']}, không rõ kết quả "
        f"{counts['unknown']}, chưa gửi {counts['pending'] + counts['sending']}"
    ]
    for state, label in (
        ("failed", "lỗi"),
        ("unknown", "không rõ kết quả"),
        ("pending", "chưa gửi"),
        ("sending", "đang gửi"),
    ):
        for row in report[state]:
            answer = f" — {row['smtp_code'] or ''} {row['smtp_answer'] or ''}".rstrip(" —")
            lines.append(f"  {label}: {row['recipient_name']} <{row['recipient']}>{answer}")
    return lines


def _latest_failure(output_dir: Path, authority_id: str, period: str) -> str | None:
    """The failed step of the authority's latest run of the period, from the runs' outcome files."""
    from cchc.core.paths import RUNS_DIR

    latest: tuple[float, str] | None = None
    for path in (Path(output_dir) / RUNS_DIR).glob("*/*.json"):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for outcome in document.get("authorities") or ():
            if outcome.get("authority") == authority_id and outcome.get("period") == period:
                stamp = path.stat().st_mtime
                if latest is None or stamp > latest[0]:
                    text = (
                        f"{document.get('dag_id')} lần chạy {document.get('run_id')}: {outcome.get('text')}"
                    )
                    latest = (stamp, text if outcome.get("failed") else "")
    return latest[1] if latest and latest[1] else None


def what_holds(engine: Engine, authority: Authority, period: Period, output_dir: Path) -> list[str] | None:
    """What keeps the period's letter from being sent, as lines for the operators; None when it is sent."""
    from cchc.core.wording import document_number_text
    from cchc.letter.lifecycle import STATE_LABELS
    from cchc.letter.records import read_letters
    from cchc.warehouse.schema import decision_runs, monthly_facts

    key = str(period)
    current = next((r for r in read_letters(engine, authority.id, key) if r["is_current"]), None)
    if current is not None and current["status"] == "sent":
        return None
    lines: list[str] = []
    if current is None:
        if not _has_rows(engine, monthly_facts, authority.id, key):
            lines.append(
                f"Kho dữ liệu chưa có số liệu kỳ {period.label}: Cổng DVC chưa khóa số liệu, hoặc lần chạy "
                "hằng tháng (cchc_monthly) chưa chạy tới bước nạp kho."
            )
        elif not _has_rows(engine, decision_runs, authority.id, key):
            lines.append(f"Đã có số liệu kỳ {period.label} nhưng chưa có quyết định (bước Đánh giá).")
        else:
            lines.append("Đã có quyết định nhưng chưa soạn công văn (DAG cchc_letters chưa chạy cho kỳ này).")
    else:
        status = current["status"]
        number = (
            document_number_text(current["document_number"], authority.document_symbol)
            if current["document_number"]
            else None
        )
        if status == "draft":
            if distribution_config(authority).require_approval:
                lines.append(
                    f"Bản thảo công văn chờ duyệt từ {_when(current['created_at'])} (mục Required Actions, "
                    "tác vụ Duyệt của cchc_letters)."
                )
            else:
                lines.append(f"Bản thảo công văn từ {_when(current['created_at'])} chưa được cấp số.")
        elif status == "approved":
            approved = _event(engine, current["letter_id"], "approved")
            lines.append(
                f"Bản thảo đã được duyệt lúc {_when(approved['at'] if approved else None)} nhưng chưa cấp số "
                "(tác vụ Cấp số)."
            )
        elif status == "rejected":
            rejected = _event(engine, current["letter_id"], "rejected")
            who = f" bởi {rejected['actor']}" if rejected else ""
            why = f" ({rejected['reason']})" if rejected and rejected.get("reason") else ""
            lines.append(
                f"Bản thảo bị từ chối lúc {_when(rejected['at'] if rejected else None)}{who}{why}; "
                "cần soạn và duyệt bản thảo mới."
            )
        else:
            lines.append(
                f"Công văn số {number} ({STATE_LABELS.get(status, status)}, cấp số lúc "
                f"{_when(current['issued_at'])}) chưa gửi xong:"
            )
            lines += [f"  {line}" for line in _deliveries(engine, current["letter_id"])]
    failure = _latest_failure(output_dir, authority.id, key)
    if failure:
        lines.append(f"Lần chạy gần nhất báo lỗi — {failure}.")
    return lines


# ------------------------------------------------------------------------------------------- the alert


def alert_message(
    authority: Authority, period: Period, deadline: date, holding: Iterable[str], *, sender: str
) -> EmailMessage:
    from cchc.delivery.notices import _notice

    config = distribution_config(authority)
    lines = [
        f"Công văn cải cách hành chính tháng {period.label} của UBND {authority.name} chưa được gửi xong, "
        f"đã quá hạn gửi (ngày {deadline:%d/%m/%Y}; distribution.send_by_day = {config.send_by_day}).",
        "",
        "Điều đang giữ công văn:",
        *(line if line.startswith("  ") else f"- {line}" for line in holding),
        "",
        "Xin kiểm tra trên giao diện Airflow (DAG cchc_monthly, cchc_letters; nhóm Cơ quan, chọn "
        f"{authority.id}). Thư này chỉ gửi một lần cho kỳ {period.label}.",
    ]
    return _notice(
        f"[CCHC] Quá hạn gửi công văn tháng {period.label} của UBND {authority.name}",
        "\n".join(lines) + "\n",
        sender=Address(display_name=sender_name(authority, config), addr_spec=sender),
        to=[Address(display_name=c.name, addr_spec=c.email) for c in config.operators],
        authority_id=authority.id,
    )


def _alerted(engine: Engine, authority_id: str, period: str) -> bool:
    from cchc.warehouse.schema import deadline_alerts

    query = sa.select(deadline_alerts.c.period).where(
        deadline_alerts.c.authority_id == authority_id, deadline_alerts.c.period == period
    )
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def _record(engine: Engine, finding: Finding, deadline: date, run_id: str | None, at: datetime) -> bool:
    """Claims the alert of (authority, period); False when another check recorded it first."""
    from cchc.warehouse.schema import deadline_alerts

    try:
        with engine.begin() as conn:
            conn.execute(
                deadline_alerts.insert().values(
                    authority_id=finding.authority,
                    period=finding.period,
                    deadline=deadline,
                    recipients=finding.recipients,
                    holding=finding.holding,
                    run_id=run_id,
                    alerted_at=at,
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


def check_authority(
    engine: Engine,
    authority: Authority,
    today: date,
    smtp: SmtpSettings,
    output_dir: Path,
    *,
    run_id: str | None = None,
    at: datetime,
) -> Finding:
    """One authority: nothing when its latest due letter is sent or it was alerted already; else the alert.

    The alert is recorded before it is sent (the row is the claim): two checks at once send it once;
    a send that fails removes the claim, so the next check tries again.
    """
    from cchc.delivery.notices import send_notice
    from cchc.warehouse.schema import deadline_alerts

    config = distribution_config(authority)
    period = due_period(today, config.send_by_day)
    if period is None:
        last = Period(today.year, today.month).previous()
        return Finding(authority.id, str(last), deadline_of(last, config.send_by_day).isoformat(), NOT_DUE)
    deadline = deadline_of(period, config.send_by_day)
    finding = Finding(authority.id, str(period), deadline.isoformat(), NOT_DUE)
    holding = what_holds(engine, authority, period, output_dir)
    if holding is None:
        finding.outcome = SENT
        return finding
    finding.holding = holding
    if _alerted(engine, authority.id, str(period)):
        finding.outcome = ALREADY_ALERTED
        return finding
    finding.recipients = sorted({c.email for c in config.operators})
    if not finding.recipients:
        log.warning("%s: quá hạn gửi công văn kỳ %s nhưng không có cán bộ vận hành nào", authority.id, period)
        finding.outcome = NO_OPERATORS
        return finding
    if not _record(engine, finding, deadline, run_id, at):
        finding.outcome = ALREADY_ALERTED
        return finding
    try:
        send_notice(smtp, alert_message(authority, period, deadline, holding, sender=smtp.from_email))
    except Exception:
        with engine.begin() as conn:
            conn.execute(
                deadline_alerts.delete().where(
                    deadline_alerts.c.authority_id == authority.id, deadline_alerts.c.period == str(period)
                )
            )
        raise
    finding.outcome = ALERTED
    log.warning(
        "%s: công văn kỳ %s quá hạn (%s): đã báo %s\n%s",
        authority.id,
        period,
        deadline,
        ", ".join(finding.recipients),
        "\n".join(holding),
    )
    return finding


def check_deadlines(
    engine: Engine,
    authorities: Iterable[Authority],
    logical_date: datetime | date,
    smtp: SmtpSettings,
    output_dir: str | Path,
    *,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """Every authority's finding on the day of ``logical_date``; one authority's error stops no other
    (it is raised after all were checked)."""
    from cchc.core.errors import CchcError

    today = local_day(logical_date)
    stamp = (
        logical_date if isinstance(logical_date, datetime) else datetime(today.year, today.month, today.day)
    )
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    findings: list[dict[str, Any]] = []
    errors: list[str] = []
    for authority in authorities:
        try:
            found = check_authority(
                engine, authority, today, smtp, Path(output_dir), run_id=run_id, at=stamp.astimezone(UTC)
            )
        except Exception as exc:  # noqa: BLE001 - reported below, after the other authorities
            log.exception("%s: không kiểm tra được hạn gửi công văn", authority.id)
            errors.append(f"{authority.id}: {exc}")
            continue
        findings.append(found.as_dict())
    if errors:
        raise CchcError("kiểm tra hạn gửi công văn lỗi ở: " + "; ".join(errors))
    return findings


def describe(findings: Iterable[Mapping[str, Any]]) -> str:
    labels = {
        SENT: "đã gửi đúng hạn",
        NOT_DUE: "chưa tới hạn",
        ALERTED: "quá hạn — đã báo cán bộ vận hành",
        ALREADY_ALERTED: "quá hạn — đã báo trước đó",
        NO_OPERATORS: "quá hạn — không có cán bộ vận hành để báo",
    }
    return "\n".join(
        f"- {f['authority']} kỳ {f['period']} (hạn {f['deadline']}): {labels.get(f['outcome'], f['outcome'])}"
        for f in findings
    )
