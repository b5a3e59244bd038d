"""What the operators receive by email: the distribution summary and the task-failure alert.

Both go to ``distribution.operators`` through the same SMTP settings as the letters. They are
notices, not letters: no ledger, a few retries, and a failure to send them is logged rather than
raised over the task's own outcome by the caller's choice (``send_notice``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy.engine import Engine

from cchc.core.authorities import Authority
from cchc.core.db import mask_text
from cchc.core.wording import document_number_text
from cchc.delivery.errors import DeliveryError
from cchc.delivery.recipients import distribution_config, sender_name
from cchc.delivery.send import SmtpSession, SmtpSettings
from cchc.delivery.status import KIND_LABELS, STATE_LABELS, distribution_report
from cchc.letter.records import LetterKey

log = logging.getLogger(__name__)


def _line(row: Mapping[str, Any]) -> str:
    who = f"{row.get('recipient_name')} <{row.get('envelope_to') or row.get('recipient')}>"
    units = f" [{', '.join(row.get('unit_codes') or [])}]" if row.get("unit_codes") else ""
    kind_name = str(row.get("kind"))
    kind = f" ({KIND_LABELS.get(kind_name, kind_name)})" if kind_name != "normal" else ""
    answer = ""
    if row.get("smtp_code") or row.get("smtp_answer"):
        answer = f": {row.get('smtp_code') or ''} {row.get('smtp_answer') or ''}".rstrip()
    return f"- {who}{units}{kind}{answer}"


def summary_text(
    report: Mapping[str, Any], *, authority_name: str, number_text: str | None
) -> tuple[str, str]:
    """Subject and body of the operators' summary, in Vietnamese."""
    counts = report["counts"]
    period = str(report["period"])
    year, month = period.split("-")
    label = f"{int(month)}/{year}"
    number = f" số {number_text}" if number_text else ""
    subject = (
        f"[CCHC] Kết quả gửi Công văn{number} tháng {label}: {counts['sent']} đã gửi, "
        f"{counts['failed']} lỗi, {counts['unknown']} không rõ"
    )
    if counts.get("pending") or counts.get("sending"):
        subject += f", {counts['pending'] + counts['sending']} chờ gửi"
    lines = [
        f"Kết quả gửi Công văn{number} về cải cách hành chính tháng {label} của {authority_name} "
        f"(mã công văn {report['letter_id']}):",
        "",
    ]
    for state in ("sent", "failed", "unknown", "pending", "sending"):
        if counts.get(state):
            lines.append(f"- {STATE_LABELS[state].capitalize()}: {counts[state]}")
    lines.append("")
    if report.get("failed"):
        lines += [
            "Thư bị máy chủ từ chối (kiểm tra địa chỉ trong danh mục đơn vị rồi chạy lại để gửi lại):",
            *(_line(r) for r in report["failed"]),
            "",
        ]
    if report.get("unknown"):
        lines += [
            "Thư không rõ đã đến hay chưa (lần gửi bị gián đoạn sau khi đã truyền nội dung) — KHÔNG tự gửi "
            "lại; xin hỏi người nhận, rồi gửi lại bằng chức năng gửi lại (resend) nếu họ chưa nhận được:",
            *(_line(r) for r in report["unknown"]),
            "",
        ]
    pending = list(report.get("pending") or []) + list(report.get("sending") or [])
    if pending:
        lines += ["Thư còn chờ gửi (sẽ được gửi ở lần chạy sau):", *(_line(r) for r in pending), ""]
    if report.get("sent"):
        lines += ["Đã gửi:", *(_line(r) for r in report["sent"]), ""]
    if report.get("missing_email"):
        lines += [f"Đơn vị chưa có địa chỉ email (không gửi được): {', '.join(report['missing_email'])}", ""]
    lines.append("Thư này được gửi tự động từ hệ thống theo dõi cải cách hành chính.")
    return subject, "\n".join(lines) + "\n"


def _notice(
    subject: str,
    body: str,
    *,
    sender: Address | None,
    to: Iterable[Address | str],
    authority_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=SMTP_POLICY)
    message["Subject"] = subject
    if sender is not None:
        message["From"] = sender
    recipients = [a if isinstance(a, Address) else Address(addr_spec=str(a)) for a in to]
    if recipients:
        message["To"] = recipients
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = f"cchc.{authority_id}" if authority_id else "cchc"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "vi"
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    return message


def summary_message(
    engine: Engine,
    authority: Authority,
    letter: LetterKey,
    smtp: SmtpSettings,
    *,
    missing_email: Iterable[str] = (),
    kinds: Iterable[str] | None = None,
) -> EmailMessage:
    """The operators' summary of a letter's distribution (From the authority, To the operators)."""
    config = distribution_config(authority)
    report = distribution_report(engine, letter, kinds=kinds)
    report["missing_email"] = list(missing_email)
    number = (
        document_number_text(report["document_number"], authority.document_symbol)
        if report["document_number"]
        else None
    )
    subject, body = summary_text(report, authority_name=f"UBND {authority.name}", number_text=number)
    return _notice(
        subject,
        body,
        sender=Address(display_name=sender_name(authority, config), addr_spec=smtp.from_email),
        to=[Address(display_name=c.name, addr_spec=c.email) for c in config.operators],
        authority_id=authority.id,
    )


def send_notice(
    smtp: SmtpSettings,
    message: EmailMessage,
    *,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = 3,
    backoff_seconds: float = 2.0,
) -> dict[str, str]:
    """Send a summary or an alert to every address of its To header, retrying temporary failures.

    Returns ``{address: "sent" | "failed: …"}``. Raises ``DeliveryError`` when nobody got it.
    """
    addresses = [a.addr_spec for a in message["To"].addresses] if message["To"] else []
    if not addresses:
        raise DeliveryError("chưa khai báo distribution.operators: không có ai nhận thông báo")
    if message["From"] is None:
        message["From"] = smtp.from_email
    results: dict[str, str] = {}
    with SmtpSession(
        smtp, sleep=sleep, max_attempts=max_attempts, backoff_seconds=backoff_seconds
    ) as session:
        for address in addresses:
            for attempt in range(1, max_attempts + 1):
                session.connect()
                outcome = session.attempt(message, address)
                if outcome.state == "retry" and attempt < max_attempts:
                    session.sleep(session.delay(attempt))
                    continue
                results[address] = "sent" if outcome.state == "sent" else f"{outcome.state}: {outcome.text}"
                break
    if not any(v == "sent" for v in results.values()):
        raise DeliveryError(f"không gửi được thông báo tới bộ phận theo dõi: {results}")
    return results


def send_summary(
    engine: Engine,
    authority: Authority,
    letter: LetterKey,
    smtp: SmtpSettings,
    *,
    missing_email: Iterable[str] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Build and send the operators' summary; returns the per-address result."""
    return send_notice(
        smtp, summary_message(engine, authority, letter, smtp, missing_email=missing_email), sleep=sleep
    )


# ------------------------------------------------------------------------------ failure alert


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        if obj is None:
            return None
        if isinstance(obj, Mapping):
            value = obj.get(name)
        else:
            value = getattr(obj, name, None)
        if value not in (None, ""):
            return value
    return None


def failure_alert_text(context: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body of the alert for a failed Airflow task, from its context (or a dict like it).

    Reads ``dag_id``, ``task_id``, ``run_id``, the period (``params.period`` or ``period``), the
    exception and the log URL from the context keys Airflow passes to ``on_failure_callback``
    (``ti``/``task_instance``, ``dag``, ``dag_run``, ``params``, ``exception``), or from plain keys of
    the same names. Passwords in URLs of the exception text are hidden.
    """
    ti = context.get("task_instance") or context.get("ti")
    dag_id = _get(context, "dag_id") or _get(ti, "dag_id") or _get(context.get("dag"), "dag_id") or "?"
    task_id = _get(context, "task_id") or _get(ti, "task_id") or _get(context.get("task"), "task_id") or "?"
    run_id = _get(context, "run_id") or _get(ti, "run_id") or _get(context.get("dag_run"), "run_id") or "?"
    params = context.get("params") or {}
    period = _get(context, "period") or (params.get("period") if isinstance(params, Mapping) else None)
    authority = _get(context, "authority") or (
        params.get("authority") if isinstance(params, Mapping) else None
    )
    exception = context.get("exception") or context.get("reason")
    log_url = _get(context, "log_url") or _get(ti, "log_url")
    try_number = _get(context, "try_number") or _get(ti, "try_number")
    error = mask_text(
        f"{type(exception).__name__}: {exception}"
        if isinstance(exception, BaseException)
        else str(exception or "(không có thông tin lỗi)")
    )
    where = f" kỳ {period}" if period else ""
    subject = f"[CCHC] Lỗi tác vụ {dag_id}.{task_id}{where}"
    lines = [
        "Một tác vụ của quy trình lập và gửi công văn cải cách hành chính đã thất bại.",
        "",
        f"- Quy trình (DAG): {dag_id}",
        f"- Tác vụ: {task_id}",
        f"- Lần chạy: {run_id}",
    ]
    if period:
        lines.append(f"- Kỳ báo cáo: {period}")
    if authority:
        lines.append(f"- Cơ quan: {authority}")
    if try_number:
        lines.append(f"- Lần thử: {try_number}")
    lines += ["", "Lỗi:", error, ""]
    if log_url:
        lines += [f"Xem nhật ký: {log_url}", ""]
    lines.append(
        "Xin kiểm tra trên giao diện Airflow; khi đã khắc phục, chạy lại tác vụ (thư đã gửi sẽ không gửi lại)."
    )
    return subject, "\n".join(lines) + "\n"


def failure_alert_message(
    context: Mapping[str, Any], *, sender: str | Address | None = None, to: Iterable[str | Address] = ()
) -> EmailMessage:
    """The alert as an email (subject and body from ``failure_alert_text``); send it with ``send_notice``."""
    subject, body = failure_alert_text(context)
    if isinstance(sender, str):
        sender = Address(addr_spec=sender)
    return _notice(subject, body, sender=sender, to=list(to))


# ------------------------------------------------------------------------------ revision, approval


def _operators(authority: Authority) -> list[Address]:
    config = distribution_config(authority)
    return [Address(display_name=c.name, addr_spec=c.email) for c in config.operators]


def revision_message(
    authority: Authority,
    period: str,
    document_number: int | None,
    changes: Iterable[str],
    report_path: str | None,
    *,
    sender: str,
) -> EmailMessage:
    """To the operators: the letter that went out no longer matches the recomputed decisions."""
    config = distribution_config(authority)
    number = (
        document_number_text(document_number, authority.document_symbol) if document_number else "(chưa số)"
    )
    year, month = period.split("-")
    lines = [
        f"Công văn số {number} về cải cách hành chính tháng {int(month)}/{year} của UBND {authority.name} đã "
        "phát hành, nhưng quyết định tính lại từ số liệu hiện có đã khác nội dung công văn.",
        "",
        "Công văn đã gửi giữ nguyên (là văn bản đã phát hành); lần chạy này không cấp số, không gửi thư nào.",
        "",
        "Những gì thay đổi (cũ → mới):",
        *(f"- {line}" for line in changes),
        "",
    ]
    if report_path:
        lines += [f"Báo cáo chi tiết: {report_path}", ""]
    lines.append(
        "Nếu cần phát hành lại công văn thay thế, chạy DAG cchc_letters với tham số reissue = true và "
        "nêu lý do (reissue_reason); công văn mới sẽ được cấp số mới và ghi rõ thay thế công văn cũ."
    )
    return _notice(
        f"[CCHC] Số liệu tháng {int(month)}/{year} thay đổi sau khi phát hành công văn số {number}",
        "\n".join(lines) + "\n",
        sender=Address(display_name=sender_name(authority, config), addr_spec=sender),
        to=_operators(authority),
        authority_id=authority.id,
    )


def approval_request_message(
    authority: Authority, config: Any, subject: str, body: str, pdf: bytes | None, *, sender: str
) -> EmailMessage:
    """To the authority's approvers: the draft to read (attached) and where to approve it."""
    text = body + "\nDuyệt hoặc từ chối trong giao diện Airflow, mục Required Actions (Duyệt phát hành).\n"
    message = _notice(
        f"[CCHC] {subject}",
        text,
        sender=Address(display_name=sender_name(authority, config), addr_spec=sender),
        to=[Address(display_name=c.name, addr_spec=c.email) for c in config.approvers],
        authority_id=authority.id,
    )
    if pdf:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="Bản thảo công văn.pdf")
    return message
