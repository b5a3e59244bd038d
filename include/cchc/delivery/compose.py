"""The email each recipient gets: subject, greeting, their own figures and decisions, the attachments.

Built as ``email.message.EmailMessage`` and written out with the SMTP policy, so the Vietnamese
subject and display names are RFC 2047 encoded words and the attachment names RFC 2231 parameters
(``filename*=utf-8''C%C3%B4ng%20v%C4%83n…``); bodies are quoted-printable, so the message is 7-bit
clean and needs nothing of the server (no 8BITMIME, no SMTPUTF8).

The text follows the letter, it does not replace it: the PDF attached is the document; the body
tells the head of each unit what the letter says about their unit, with the figures it quotes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from cchc.core.authorities import Authority
from cchc.core.percent import format_decimal, percent_text
from cchc.core.periods import Period
from cchc.core.wording import count, head_of, join, summary_line, window_label, ytd_label
from cchc.delivery.ledger import message_id
from cchc.delivery.recipients import DistributionConfig, Recipient, sender_name
from cchc.delivery.wire import WIRE_POLICY, attachment_part
from cchc.letter.records import LetterRef

TEST_PREFIX = "[THỬ NGHIỆM]"
PDF_TYPE = ("application", "pdf")
DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")

# The metrics as the letter names them in a sentence.
METRIC_PHRASES = {
    "receipt": "tỷ lệ số hoá đầy đủ thành phần hồ sơ khi tiếp nhận",
    "result": "tỷ lệ số hoá kết quả giải quyết TTHC",
    "payment": "tỷ lệ hồ sơ thanh toán trực tuyến trên Cổng dịch vụ công",
}
METRIC_TITLES = {
    "receipt": "Số hoá đầy đủ thành phần hồ sơ khi tiếp nhận",
    "result": "Số hoá kết quả giải quyết TTHC",
    "payment": "Thanh toán trực tuyến trên Cổng dịch vụ công",
    "posts": "Đăng tải tin bài, văn bản trên Trang thông tin điện tử",
}
METRIC_SHORT = {
    "receipt": "số hoá hồ sơ khi tiếp nhận",
    "result": "số hoá kết quả giải quyết TTHC",
    "payment": "thanh toán trực tuyến",
    "posts": "đăng tải tin bài trên Trang thông tin điện tử",
}


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str


@dataclass(frozen=True)
class MailContext:
    """Everything every message of one letter shares."""

    authority: Authority
    config: DistributionConfig
    letter: LetterRef
    decisions: Mapping[str, Any] | None
    from_email: str
    pdf: bytes
    docx: bytes | None = None
    # The attachments' MIME parts, encoded once for all the messages of the letter.
    _parts: dict[str, EmailMessage] = field(default_factory=dict, compare=False, repr=False)

    def part(self, item: Attachment) -> EmailMessage:
        """The MIME part of one of the letter's files (its encoded body shared by every message)."""
        part = self._parts.get(item.filename)
        if part is None:
            part = attachment_part(item.data, item.maintype, item.subtype, item.filename)
            self._parts[item.filename] = part
        return part

    @property
    def period(self) -> Period:
        return self.letter.period_obj

    @property
    def period_label(self) -> str:
        if self.decisions and self.decisions.get("period_label"):
            return str(self.decisions["period_label"])
        return f"{self.period.month}/{self.period.year}"

    @property
    def number_text(self) -> str | None:
        return self.letter.number_text(self.authority.document_symbol)

    @property
    def sender(self) -> str:
        return sender_name(self.authority, self.config)


# ------------------------------------------------------------------------------ small wording


def _int(value: Any) -> str:
    """Counts as Vietnamese write them: 12.345."""
    return f"{int(value):,}".replace(",", ".")


def _percent_of(data: Mapping[str, Any] | None) -> str:
    """'97,67%' from a figure's ``text``, else from its counts; 'không phát sinh hồ sơ' when undefined."""
    if not data:
        return "không phát sinh hồ sơ"
    if data.get("text"):
        return str(data["text"])
    if data.get("shown") is None and "denominator" in data and data.get("denominator"):
        return percent_text(int(data.get("numerator") or 0), int(data["denominator"]))
    if data.get("shown") is not None:
        return f"{format_decimal(Decimal(str(data['shown'])))}%"
    return "không phát sinh hồ sơ"


def _threshold(value: Any) -> str:
    try:
        return f"{format_decimal(Decimal(str(value)))}%"
    except (InvalidOperation, ValueError):
        return str(value)


def letter_summary(ctx: MailContext) -> str:
    """The letter's trích yếu ("V/v biểu dương, nhắc nhở … tháng 8/2023"), as the letter prints it."""
    if ctx.decisions:
        return summary_line(ctx.decisions, ctx.authority.letter_wording)
    # Without the decisions (never in a run): the registry's kinds and both actions.
    document = {
        "units": {u.code: {"kind": u.kind} for u in ctx.authority.units},
        "sections": [{"kind": "commend"}, {"kind": "remind"}],
        "period_label": ctx.period_label,
    }
    return summary_line(document, ctx.authority.letter_wording)


def summary_text(ctx: MailContext) -> str:
    """The subject's text without the number: ``distribution.subject``, by default the trích yếu itself."""
    return ctx.config.subject.format(
        summary=letter_summary(ctx),
        period_label=ctx.period_label,
        month=ctx.period.month,
        year=ctx.period.year,
        authority=ctx.authority.name,
    )


def subject_line(ctx: MailContext, *, test: bool = False) -> str:
    """'[THỬ NGHIỆM] Công văn số 15/UBND-NV V/v biểu dương, nhắc nhở … tháng 8/2023'."""
    summary = summary_text(ctx)
    if ctx.number_text:
        summary = f"Công văn số {ctx.number_text} {summary}"
    return f"{TEST_PREFIX} {summary}" if test else summary


def attachment_name(ctx: MailContext, extension: str) -> str:
    """'Công văn CCHC tháng 8-2023.pdf' (configurable; never a slash in a file name)."""
    stem = ctx.config.attachment_name.format(
        month=ctx.period.month,
        year=ctx.period.year,
        period_label=ctx.period_label.replace("/", "-"),
        number=(ctx.number_text or "").replace("/", "-"),
    )
    stem = " ".join(stem.replace("/", "-").replace("\\", "-").split())
    return f"{stem}.{extension}"


def _window_label(ctx: MailContext, window: str, metric: str | None = None) -> str:
    windows = (ctx.decisions or {}).get("windows") or {}
    if window == "month":
        return f"tháng {ctx.period_label}"
    if window == "ytd":
        return str((windows.get("ytd") or {}).get("label") or ytd_label(ctx.period))
    if window == "campaign":
        campaign = (windows.get("campaign") or {}).get(metric or "") or {}
        if campaign.get("label"):
            return str(campaign["label"])
        return window_label(Period(ctx.period.year, 1), ctx.period)
    return window


def _campaign_differs(ctx: MailContext, metric: str) -> bool:
    """Show the campaign window only where it is not simply the year to date."""
    windows = (ctx.decisions or {}).get("windows") or {}
    campaign = (windows.get("campaign") or {}).get(metric) or {}
    ytd = windows.get("ytd") or {}
    return bool(campaign) and campaign.get("start") != ytd.get("start")


def figure_lines(ctx: MailContext, unit: Mapping[str, Any]) -> list[str]:
    """The unit's own figures: each rate for the month, the year to date and the campaign window."""
    figures = unit.get("figures") or {}
    lines = []
    for metric in ("receipt", "result", "payment"):
        data = figures.get(metric) or {}
        parts = []
        windows = ["month", "ytd"] + (["campaign"] if _campaign_differs(ctx, metric) else [])
        for window in windows:
            value = data.get(window)
            if value is None:
                continue
            text = _percent_of(value)
            counts = ""
            if value.get("denominator"):
                counts = f" ({_int(value.get('numerator') or 0)}/{_int(value['denominator'])} hồ sơ)"
            verb = "đạt " if value.get("denominator") or value.get("text") else ""
            parts.append(f"{_window_label(ctx, window, metric)} {verb}{text}{counts}")
        if parts:
            lines.append(f"{METRIC_TITLES[metric]}: {'; '.join(parts)}.")
    posts = figures.get("posts") or {}
    if posts.get("month") is not None:
        required = posts.get("required")
        need = f" (yêu cầu tối thiểu {count(int(required))} tin bài/tháng)" if required is not None else ""
        lines.append(
            f"{METRIC_TITLES['posts']}: tháng {ctx.period_label} có {count(int(posts['month']))} tin bài{need}."
        )
    return lines


def reason_phrase(ctx: MailContext, reason: Mapping[str, Any], *, with_metric: bool = True) -> str:
    """One reason as the letter words it: 'tỷ lệ … tháng 8/2023 chỉ đạt 24,27%, thấp hơn chỉ tiêu 30%'."""
    metric = str(reason.get("metric"))
    below = reason.get("comparison") == "below"
    if metric == "posts":
        text = (
            f"đăng tải {count(int(reason.get('value') or 0))} tin bài, văn bản trên Trang thông tin điện tử "
            f"trong tháng {ctx.period_label}"
        )
        if below and reason.get("threshold") is not None:
            text += f", chưa đạt mức tối thiểu {count(int(reason['threshold']))} tin bài/tháng"
        return text
    window = _window_label(ctx, str(reason.get("window")), metric)
    text = f"{window} {'chỉ ' if below else ''}đạt {_percent_of(reason)}"
    if with_metric:
        text = f"{METRIC_PHRASES.get(metric, metric)} {text}"
    if below and reason.get("threshold") is not None:
        bar = "chỉ tiêu" if metric == "payment" else "mức"
        text += f", thấp hơn {bar} {_threshold(reason['threshold'])}"
    return text


def reasons_text(ctx: MailContext, reasons: list[Mapping[str, Any]]) -> str:
    """The reasons of one unit in one sentence, the metric named once per run of the same metric; a fine
    month before a low year/campaign reads as the letter has it: 'mặc dù … đạt 45%, tuy nhiên … chỉ đạt …'."""
    parts: list[str] = []
    previous = None
    for i, reason in enumerate(reasons):
        metric = reason.get("metric")
        part = reason_phrase(ctx, reason, with_metric=metric != previous)
        if (
            reason.get("comparison") == "at_or_above"
            and i + 1 < len(reasons)
            and reasons[i + 1].get("metric") == metric
            and reasons[i + 1].get("comparison") == "below"
        ):
            parts.append(f"mặc dù {part}, tuy nhiên")
        elif parts and parts[-1].endswith("tuy nhiên"):
            parts[-1] = f"{parts[-1]} {part}"
        else:
            parts.append(part)
        previous = metric
    return "; ".join(parts)


def _sections(ctx: MailContext) -> dict[str, dict[str, Any]]:
    """Every section and sub-section of decisions.json by number ('1', '2.3', '3', …)."""
    out: dict[str, dict[str, Any]] = {}
    for section in (ctx.decisions or {}).get("sections") or []:
        out[str(section.get("number"))] = section
        for sub in section.get("subsections") or []:
            out[str(sub.get("number"))] = sub
    return out


def _entry_reasons(section: Mapping[str, Any] | None, code: str, reason: str | None = None) -> list[Mapping]:
    if not section:
        return []
    entries = list(section.get("entries") or [])
    for group in section.get("groups") or []:
        if reason is None or group.get("reason") == reason:
            entries.extend(group.get("entries") or [])
    for entry in entries:
        if entry.get("unit") == code:
            return list(entry.get("reasons") or [])
    return []


def decision_lines(ctx: MailContext, code: str) -> list[str]:
    """What the letter says about one unit, section by section."""
    decisions = ctx.decisions or {}
    unit = (decisions.get("units") or {}).get(code) or {}
    sections = _sections(ctx)
    year = ctx.period.year
    lines: list[str] = []
    for decision in unit.get("decisions") or []:
        kind = decision.get("kind")
        number = str(decision.get("section") or "")
        section = sections.get(number)
        where = f" (mục {number})" if number else ""
        if kind == "commend":
            lines.append(
                f"Được biểu dương{where} về kết quả thực hiện cải cách hành chính tháng {ctx.period_label}."
            )
        elif kind == "remind":
            metric = str(decision.get("metric") or (section or {}).get("metric") or "")
            reasons = _entry_reasons(section, code, decision.get("reason"))
            detail = reasons_text(ctx, reasons)
            # A vertical agency is asked (đề nghị), never reminded or required: the letter says so too.
            verb = "Được đề nghị quan tâm" if unit.get("kind") == "vertical_agency" else "Bị nhắc nhở"
            lines.append(
                f"{verb}{where} về {METRIC_SHORT.get(metric, metric)}" + (f": {detail}." if detail else ".")
            )
        elif kind == "criticise":
            n = int(decision.get("count") or (section or {}).get("count") or 1)
            ordinal = decision.get("ordinal") or (section or {}).get("ordinal")
            times = (
                f"phê bình {ordinal} trong năm {year}" if ordinal else f"phê bình lần đầu trong năm {year}"
            )
            if not ordinal and n > 1:
                times = f"phê bình lần thứ {n} trong năm {year}"
            reasons = _entry_reasons(section, code)
            detail = reasons_text(ctx, reasons)
            lines.append(f"Bị {times}{where}" + (f": {detail}." if detail else "."))
        elif kind == "request":
            reasons = _entry_reasons(section, code)
            detail = reasons_text(ctx, reasons)
            lines.append(f"Được đề nghị khắc phục{where}" + (f": {detail}." if detail else "."))
    if not lines:
        lines.append(
            f"Đơn vị không thuộc diện biểu dương, nhắc nhở hay phê bình trong tháng {ctx.period_label}."
        )
    return lines


def _unit_names(ctx: MailContext, codes: list[str]) -> str:
    units = (ctx.decisions or {}).get("units") or {}
    return join(str((units.get(c) or {}).get("name") or c) for c in codes)


def overview_lines(ctx: MailContext) -> list[str]:
    """The letter in one line per section, for the copies and the operators."""
    lines = []
    for section in (ctx.decisions or {}).get("sections") or []:
        kind = section.get("kind")
        number = section.get("number")
        if kind == "commend":
            codes = [c for g in section.get("groups") or [] for c in g.get("units") or []]
            lines.append(f"Mục {number} — biểu dương {count(len(codes))} đơn vị: {_unit_names(ctx, codes)}.")
        elif kind == "remind":
            for sub in section.get("subsections") or []:
                codes = list(
                    dict.fromkeys(e["unit"] for g in sub.get("groups") or [] for e in g.get("entries") or [])
                )
                lines.append(
                    f"Mục {sub.get('number')} — nhắc nhở về {METRIC_SHORT.get(sub.get('metric'), '')}: "
                    f"{_unit_names(ctx, codes)}."
                )
        elif kind in ("criticise", "request"):
            codes = [e["unit"] for e in section.get("entries") or []]
            label = (
                "đề nghị"
                if kind == "request"
                else (f"phê bình {section['ordinal']}" if section.get("ordinal") else "phê bình")
            )
            lines.append(f"Mục {number} — {label}: {_unit_names(ctx, codes)}.")
    return lines


def totals_lines(ctx: MailContext) -> list[str]:
    totals = (ctx.decisions or {}).get("totals") or {}
    previous = (ctx.decisions or {}).get("previous_period_label")
    lines = []
    for metric in ("receipt", "result", "payment"):
        data = totals.get(metric)
        if not data:
            continue
        change = (
            f" ({data['change_text']} so với tháng {previous})"
            if data.get("change_text") and previous
            else ""
        )
        lines.append(f"{METRIC_TITLES[metric]}: đạt {_percent_of(data)}{change}.")
    return lines


# ------------------------------------------------------------------------------ the message


def _greeting(ctx: MailContext, recipient: Recipient) -> str:
    units = (ctx.decisions or {}).get("units") or {}
    heads = []
    for code in recipient.units:
        unit = units.get(code)
        if unit is None:
            try:
                unit = ctx.authority.unit(code)
            except Exception:  # noqa: BLE001 - a unit only in decisions.json: its name is enough
                unit = None
        heads.append(head_of(unit) if unit is not None else code)
    return ", ".join(heads) if heads else recipient.name


def body_blocks(ctx: MailContext, recipient: Recipient, *, kind: str = "normal") -> list[tuple[str, Any]]:
    """The body as paragraphs ('p', text), headings ('h', text) and lists ('ul', [items])."""
    blocks: list[tuple[str, Any]] = []
    if kind == "test":
        blocks.append(
            (
                "p",
                f"{TEST_PREFIX} Thư thử nghiệm, không gửi tới người nhận thật. Người nhận dự kiến: "
                f"{recipient.name} <{recipient.address}>.",
            )
        )
    elif kind == "resend":
        blocks.append(("p", "Thư gửi lại: Công văn dưới đây đã được gửi trước đó; xin gửi lại theo đề nghị."))
    blocks.append(("p", f"Kính gửi: {_greeting(ctx, recipient)}."))
    number = f" số {ctx.number_text}" if ctx.number_text else ""
    summary = summary_text(ctx)
    blocks.append(
        ("p", f"Ủy ban nhân dân {ctx.authority.name} gửi Công văn{number} {summary} (tệp PDF đính kèm).")
    )
    units = (ctx.decisions or {}).get("units") or {}
    for code in recipient.units:
        unit = units.get(code)
        if unit is None:
            continue
        blocks.append(("h", f"Kết quả của {unit.get('name', code)}"))
        blocks.append(("ul", figure_lines(ctx, unit)))
        blocks.append(("h", f"Nội dung Công văn đối với {unit.get('name', code)}"))
        blocks.append(("ul", decision_lines(ctx, code)))
    if "copy" in recipient.roles or "operator" in recipient.roles or not recipient.units:
        totals = totals_lines(ctx)
        if totals:
            blocks.append(("h", f"Kết quả chung của {ctx.authority.name} tháng {ctx.period_label}"))
            blocks.append(("ul", totals))
        overview = overview_lines(ctx)
        if overview:
            blocks.append(("h", "Tóm tắt Công văn"))
            blocks.append(("ul", overview))
    if recipient.units:
        blocks.append(("p", "Đề nghị đồng chí nghiên cứu nội dung Công văn và chỉ đạo thực hiện nghiêm túc."))
    if recipient.is_operator and ctx.docx is not None:
        blocks.append(
            (
                "p",
                "Kèm theo bản DOCX để chỉnh sửa khi cần (chỉ gửi bộ phận theo dõi); "
                "bản gửi các cơ quan, đơn vị là tệp PDF.",
            )
        )
    contact = ctx.config.reply_to or (ctx.config.operators[0].email if ctx.config.operators else None)
    footer = (
        f"Thư được gửi tự động từ hệ thống theo dõi cải cách hành chính của {ctx.sender}; "
        "văn bản có giá trị là tệp PDF đính kèm."
    )
    if contact:
        footer += f" Mọi trao đổi xin gửi về {contact}."
    blocks.append(("p", footer))
    return blocks


def render_text(blocks: list[tuple[str, Any]]) -> str:
    lines: list[str] = []
    for kind, value in blocks:
        if kind == "ul":
            lines.extend(f"- {item}" for item in value)
            lines.append("")
        elif kind == "h":
            lines.append(f"{value}:")
        else:
            lines.extend([value, ""])
    return "\n".join(lines).rstrip() + "\n"


def render_html(blocks: list[tuple[str, Any]]) -> str:
    parts = [
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"></head>'
        "<body style=\"font-family: 'Times New Roman', serif; font-size: 14px\">"
    ]
    for kind, value in blocks:
        if kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in value) + "</ul>")
        elif kind == "h":
            parts.append(f"<p><b>{html.escape(value)}</b></p>")
        else:
            parts.append(f"<p>{html.escape(value)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def attachments_for(ctx: MailContext, recipient: Recipient) -> list[Attachment]:
    """The PDF for everyone; the DOCX too for the operators only (it is the editable draft)."""
    out = [Attachment(attachment_name(ctx, "pdf"), ctx.pdf, *PDF_TYPE)]
    if recipient.is_operator and ctx.docx is not None:
        out.append(Attachment(attachment_name(ctx, "docx"), ctx.docx, *DOCX_TYPE))
    return out


def message_subject(ctx: MailContext, kind: str = "normal") -> str:
    """The Subject header of every message of one kind (the ledger records it before anything is composed)."""
    return subject_line(ctx, test=kind == "test")


def recipient_message_id(
    ctx: MailContext, recipient: Recipient, kind: str = "normal", batch: str = ""
) -> str:
    """The Message-ID of the recipient's message: the ledger's, before and after it is composed."""
    return message_id(ctx.letter.letter_id, recipient.key, kind, batch, ctx.authority.id)


def compose_message(
    ctx: MailContext,
    recipient: Recipient,
    *,
    kind: str = "normal",
    batch: str = "",
    envelope_to: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """The message for one recipient. ``kind='test'`` addresses it to ``envelope_to`` (the test
    address), prefixes the subject with [THỬ NGHIỆM] and names the intended recipient in the body."""
    if kind == "test" and not envelope_to:
        raise ValueError("a test message needs the test address as envelope_to")
    message = EmailMessage(policy=WIRE_POLICY)  # the SMTP policy, shared headers parsed once
    message["Subject"] = message_subject(ctx, kind)
    message["From"] = Address(display_name=ctx.sender, addr_spec=ctx.from_email)
    if kind == "test":
        message["To"] = Address(display_name=f"{TEST_PREFIX} {recipient.name}", addr_spec=envelope_to)
        message["X-CCHC-Intended-Recipient"] = recipient.address
    else:
        message["To"] = Address(display_name=recipient.name, addr_spec=recipient.address)
    if ctx.config.reply_to:
        message["Reply-To"] = ctx.config.reply_to
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["Message-ID"] = recipient_message_id(ctx, recipient, kind, batch)
    message["Content-Language"] = "vi"
    # RFC 3834: an automatic message; well-behaved autoresponders then stay quiet.
    message["Auto-Submitted"] = "auto-generated"
    message["X-CCHC-Letter"] = f"{ctx.letter.authority_id}/{ctx.letter.period}/{ctx.letter.letter_id}"
    message["X-CCHC-Kind"] = kind
    if recipient.units:
        message["X-CCHC-Units"] = ",".join(recipient.units)
    blocks = body_blocks(ctx, recipient, kind=kind)
    message.set_content(render_text(blocks), subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(render_html(blocks), subtype="html", charset="utf-8", cte="quoted-printable")
    for item in attachments_for(ctx, recipient):
        # What add_attachment does, with a part made once for the letter.
        if message.get_content_type() != "multipart/mixed":
            message.make_mixed()
        message.attach(ctx.part(item))
    return message
