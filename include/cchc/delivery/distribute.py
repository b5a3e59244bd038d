"""Send an issued letter to every recipient, exactly once, through the delivery ledger.

    distribute(engine, authority, "2023-08", smtp)                          # the letter's distribution
    distribute(..., Request(dry_run=True))                                   # everything to the test address
    distribute(..., Request(resend=["X-HK", "btv@…"], batch=run_id))         # again, to the chosen only

Order of work: everything that can be refused is refused before the first message leaves (letter not
issued, files missing, an address outside the allowed domains, a bad resend selection); then the ledger
rows are created; then each row not yet sent goes out on one shared SMTP connection, with a commit
before (``sending``) and after (the answer) each message. Each message is composed when its turn comes
and dropped once the server has answered: the letter's files are read once per distribution, and a
distribution holds one message at a time, whatever the number of recipients. A rerun finds the rows and sends only what is
not sent; a row a crashed run left in ``sending`` is reported as ``unknown`` instead of being resent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from cchc.core import settings
from cchc.core.authorities import Authority
from cchc.core.db import mask_text
from cchc.core.files import sha256_bytes
from cchc.core.paths import PeriodFolder
from cchc.core.periods import Period
from cchc.delivery import ledger
from cchc.delivery.compose import MailContext, compose_message, message_subject, recipient_message_id
from cchc.delivery.errors import DeliveryError, SmtpUnavailable
from cchc.delivery.recipients import (
    DistributionConfig,
    Recipient,
    check_allowed,
    distribution_config,
    plan_recipients,
    select,
)
from cchc.delivery.send import SmtpSession, SmtpSettings, message_bytes
from cchc.delivery.status import mark_sending, sync_letter_state
from cchc.letter.decisions import read_decisions_file
from cchc.letter.errors import DecisionsError
from cchc.letter.records import LetterKey, LetterRef, default_paths, find_letter
from cchc.warehouse.migrate import require_head

log = logging.getLogger(__name__)


@dataclass
class DistributionResult:
    """What one run did; ``as_dict()`` is small enough for an XCom."""

    letter_id: int
    authority_id: str
    period: str
    kind: str
    batch: str
    document_number: str | None
    sent: list[str] = field(default_factory=list)  # sent by this run
    already_sent: list[str] = field(default_factory=list)  # sent by an earlier run: skipped
    in_progress: list[str] = field(default_factory=list)  # held by another run sending at the same time
    failed: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # left for the next run (server unreachable)
    missing_email: list[str] = field(default_factory=list)
    envelope_to: str | None = None  # the test address of a dry run
    aborted: str | None = None

    @property
    def complete(self) -> bool:
        """Every recipient of this run's kind and batch has the message (sent now or before)."""
        return not (self.failed or self.unknown or self.pending)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["authority"] = out.pop("authority_id")
        lists = ("sent", "already_sent", "in_progress", "failed", "unknown", "pending")
        return {**out, "complete": self.complete, "counts": {name: len(out[name]) for name in lists}}


def load_decisions(
    source: Mapping[str, Any] | str | os.PathLike | None,
    authority_id: str,
    period: str,
    output_dir: Path | None,
) -> dict[str, Any]:
    """decisions.json as a dict: given, or read (and checked against its contract) from the period folder."""
    if isinstance(source, Mapping):
        return dict(source)
    path = (
        Path(source)
        if source is not None
        else PeriodFolder(output_dir or settings.current().output_dir, authority_id, period).decisions_json
    )
    try:
        data, _ = read_decisions_file(path)
    except DecisionsError as exc:
        raise DeliveryError(f"{exc}; chạy bước quyết định (decisions) cho kỳ {period} trước") from exc
    if data.get("period") not in (None, period):
        raise DeliveryError(f"{path}: là quyết định của kỳ {data.get('period')}, không phải {period}")
    return data


def _read(path: Path | None, what: str, required: bool, sha256: str | None) -> bytes | None:
    """The file's bytes, checked against the hash the letter stage recorded for this letter.

    The files of a period live at fixed paths: a draft rendered again after the letter was issued
    overwrites them, and must not go out under the issued letter's number.
    """
    if path is None or not path.is_file():
        if required:
            raise DeliveryError(
                f"không tìm thấy {what} {path or '(chưa ghi đường dẫn)'}: chạy bước soạn công văn trước"
            )
        return None
    data = path.read_bytes()
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise DeliveryError(
            f"{what} {path} không còn là tệp đã ghi cho công văn này (mã băm khác; có thể đã soạn lại sau khi "
            "cấp số): soạn lại bản có số rồi mới gửi"
        )
    return data


def new_batch(prefix: str = "manual") -> str:
    """An id for a resend or a dry run asked for outside Airflow (each call is a new request)."""
    return f"{prefix}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Request:
    """What a run is asked to send: the letter's distribution, a dry run, or a resend.

    ``dry_run`` sends every message to the test address (kind ``test``); ``resend`` (unit codes or
    addresses) sends again to those only (kind ``resend``). ``batch`` identifies a resend or a dry run
    (give the Airflow run id, so that a retry of the task does not send twice); a normal distribution
    has none. ``require_issued`` False lets a draft out (only the dry run does).
    """

    dry_run: bool = False
    test_address: str | None = None
    resend: Sequence[str] | None = None
    batch: str | None = None
    require_issued: bool = True

    @property
    def kind(self) -> str:
        return "test" if self.dry_run else ("resend" if self.resend is not None else "normal")


@dataclass(frozen=True)
class SendPolicy:
    """How hard to try: attempts per message (else the connection's, else authority.yaml's) and backoff."""

    max_attempts: int | None = None
    backoff_seconds: float | None = None
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Prepared:
    """A distribution checked, nothing sent and nothing composed yet: the messages are composed one at
    a time by ``payload`` as they are sent (4,000 messages with their PDF would not fit in memory)."""

    engine: Engine
    authority: Authority
    smtp: SmtpSettings
    letter: LetterRef
    config: DistributionConfig
    kind: str
    batch: str
    recipients: list[Recipient]
    by_key: dict[str, Recipient]  # recipient key -> recipient
    context: MailContext  # what every message shares, the letter's files read once
    subject: str
    message_ids: dict[str, str]  # recipient key -> Message-ID
    envelope: dict[str, str]  # recipient key -> envelope address
    missing_email: list[str]
    test_address: str | None
    pdf: bytes = b""
    date: datetime | None = None

    def message(self, row: ledger.Delivery) -> EmailMessage:
        """The message of a ledger row, composed now, under the Message-ID the ledger holds for it."""
        message = compose_message(
            self.context,
            self.by_key[row.recipient],
            kind=self.kind,
            batch=self.batch,
            envelope_to=self.test_address,
            date=self.date,
        )
        if message["Message-ID"] != row.message_id:
            # The ledger is the record: the id on the wire is the one a resend or a receiver's
            # duplicate check will look for (the same recipe makes them equal; this keeps them so).
            message.replace_header("Message-ID", row.message_id)
        return message

    def payload(self, row: ledger.Delivery) -> bytes:
        """The row's message as it goes on the wire (the composed object is dropped here)."""
        return message_bytes(self.message(row))


def _letter_ref(
    engine: Engine,
    authority: Authority,
    letter: LetterKey | str | Period,
    request: Request,
    output_dir: Path | None,
) -> LetterRef:
    key: LetterKey = (authority.id, str(letter)) if isinstance(letter, str | Period) else letter
    ref = find_letter(engine, key, output_dir=output_dir)
    if ref.authority_id != authority.id:
        raise DeliveryError(f"công văn {ref.letter_id} thuộc {ref.authority_id}, không phải {authority.id}")
    if request.require_issued and not request.dry_run and not ref.issued:
        raise DeliveryError(
            f"công văn {authority.id} kỳ {ref.period} chưa được cấp số (chưa phát hành): "
            "chạy bước cấp số (issue) trước khi gửi; chỉ chế độ thử nghiệm gửi được bản chưa cấp số"
        )
    return ref


def _test_target(request: Request, config: DistributionConfig) -> str:
    target = request.test_address or config.test_address
    if not target:
        raise DeliveryError(
            "chế độ thử nghiệm cần một địa chỉ nhận thử: distribution.test_address trong authority.yaml "
            "hoặc tham số test_address"
        )
    return target


def prepare(
    engine: Engine,
    authority: Authority,
    letter: LetterKey | str | Period,
    smtp: SmtpSettings,
    request: Request | None = None,
    *,
    decisions: Mapping[str, Any] | str | os.PathLike | None = None,
    output_dir: str | os.PathLike | None = None,
    date: datetime | None = None,
) -> Prepared:
    """Everything that can refuse, refused here: no message has left when this raises."""
    request = request or Request()
    out = Path(output_dir) if output_dir is not None else None
    config = distribution_config(authority)
    ref = _letter_ref(engine, authority, letter, request, out)
    data = load_decisions(decisions, authority.id, ref.period, out)
    pdf_default, docx_default = default_paths(authority.id, ref.period, out)
    pdf = _read(ref.pdf_path or pdf_default, "tệp PDF của công văn", True, ref.pdf_sha256)
    docx = _read(ref.docx_path or docx_default, "tệp DOCX của công văn", False, ref.docx_sha256)

    plan = plan_recipients(authority, data, config)
    recipients = plan.recipients if request.resend is None else select(plan.recipients, request.resend)
    if not recipients:
        raise DeliveryError(f"{authority.id} kỳ {ref.period}: không có người nhận nào có địa chỉ email")
    kind = request.kind
    batch = (
        "" if kind == "normal" else (request.batch or new_batch("dry-run" if request.dry_run else "resend"))
    )
    target = _test_target(request, config) if kind == "test" else None
    extra = [("địa chỉ nhận thử nghiệm", target)] if target else []
    units = data.get("units") or {}
    check_allowed(recipients, config, unit_names={c: u.get("name", c) for c, u in units.items()}, extra=extra)

    ctx = MailContext(
        authority=authority,
        config=config,
        letter=ref,
        decisions=data,
        from_email=smtp.from_email,
        pdf=pdf or b"",
        docx=docx,
    )
    if docx is None and any(r.is_operator for r in recipients):
        log.warning(
            "%s kỳ %s: không có tệp DOCX, bộ phận theo dõi chỉ nhận bản PDF", authority.id, ref.period
        )
    envelope = {r.key: target or r.address for r in recipients}
    message_ids = {r.key: recipient_message_id(ctx, r, kind, batch) for r in recipients}
    if plan.missing_email:
        log.warning(
            "%s kỳ %s: các đơn vị chưa có địa chỉ email, không gửi được: %s",
            authority.id,
            ref.period,
            ", ".join(plan.missing_email),
        )
    return Prepared(
        engine=engine,
        authority=authority,
        smtp=smtp,
        letter=ref,
        config=config,
        kind=kind,
        batch=batch,
        recipients=recipients,
        by_key={r.key: r for r in recipients},
        context=ctx,
        subject=message_subject(ctx, kind),
        message_ids=message_ids,
        envelope=envelope,
        missing_email=plan.missing_email,
        test_address=target,
        pdf=pdf or b"",
        date=date,
    )


def _ledger_rows(engine: Engine, prepared: Prepared) -> list[ledger.Delivery]:
    """The ledger rows of this run (created pending where missing), after sweeping a crashed run's."""
    ref = prepared.letter
    planned = [
        ledger.Planned(
            recipient=r.key,
            recipient_name=r.name,
            unit_codes=r.units,
            roles=r.roles,
            envelope_to=prepared.envelope[r.key],
            subject=prepared.subject,
            message_id=prepared.message_ids[r.key],
        )
        for r in prepared.recipients
    ]
    with engine.begin() as conn:
        require_head(conn)
        swept = ledger.sweep_sending(conn, ref.letter_id)
        replaced = ledger.replace_corrected(conn, ref.letter_id, planned) if prepared.kind == "normal" else []
        rows = ledger.ensure_rows(
            conn,
            letter_id=ref.letter_id,
            authority_id=ref.authority_id,
            period=ref.period,
            kind=prepared.kind,
            batch=prepared.batch,
            planned=planned,
        )
    for row in swept:
        log.error(
            "thư %s tới %s (%s) ở trạng thái 'không rõ': lần chạy trước dừng khi đang gửi; không tự gửi lại, "
            "cần kiểm tra với người nhận rồi gửi lại (resend) hoặc ghi nhận kết quả (cchc distribute --settle)",
            row.message_id,
            row.recipient,
            row.kind,
        )
    for row in replaced:
        log.info(
            "địa chỉ của %s đã đổi (%s → địa chỉ mới): thư cũ không còn được tính, địa chỉ mới sẽ nhận thư",
            ", ".join(row.unit_codes),
            row.recipient,
        )
    return rows


def distribute(*args: Any, policy: SendPolicy | None = None, **kwargs: Any) -> DistributionResult:
    """Send the letter of ``authority`` for a period (``"2023-08"``), or a given letter id, as ``request`` asks.

    Takes the arguments of ``prepare`` (``engine, authority, letter, smtp, request`` and the keywords
    ``decisions``, ``output_dir``, ``date``) and how hard to try (``policy``). Raises ``RecipientRefused``/``DeliveryError`` before sending anything when the letter or the
    recipients are not right, and ``SmtpUnavailable`` when the server stays unreachable (the rest
    stays pending for the next try; the exception's ``result`` says what was sent).
    """
    policy = policy or SendPolicy()
    prepared = prepare(*args, **kwargs)
    engine, authority, smtp = prepared.engine, prepared.authority, prepared.smtp
    ref = prepared.letter
    attempts_limit = policy.max_attempts or smtp.retry_limit or prepared.config.max_attempts
    backoff = prepared.config.backoff_seconds if policy.backoff_seconds is None else policy.backoff_seconds
    result = DistributionResult(
        letter_id=ref.letter_id,
        authority_id=authority.id,
        period=ref.period,
        kind=prepared.kind,
        batch=prepared.batch,
        document_number=ref.number_text(authority.document_symbol),
        missing_email=list(prepared.missing_email),
        envelope_to=prepared.test_address,
    )
    todo = []
    stamp = ledger.now()
    for row in _ledger_rows(engine, prepared):
        if row.state == "sent":
            result.already_sent.append(row.recipient)
        elif (
            row.state == "sending"
            and row.lease_expires_at is not None
            and _aware(row.lease_expires_at) > stamp
        ):
            result.in_progress.append(row.recipient)  # another run holds it under a live lease
        elif row.state in ("unknown", "sending"):
            result.unknown.append(
                _problem(row.recipient, row.smtp_code, row.smtp_answer or ledger.STUCK_NOTE)
            )
        else:
            todo.append(row)
    log.info(
        "%s kỳ %s (%s%s): %d thư cần gửi, %d đã gửi trước đó, %d không rõ, %d do lần chạy khác đang gửi",
        authority.id,
        ref.period,
        prepared.kind,
        f" {prepared.batch}" if prepared.batch else "",
        len(todo),
        len(result.already_sent),
        len(result.unknown),
        len(result.in_progress),
    )
    if not todo:
        return result

    real = prepared.kind != "test"  # a dry run never counts as the letter being sent
    if real:
        mark_sending(engine, ref.letter_id)
    sender = _Sender(
        engine,
        SmtpSession(smtp, sleep=policy.sleep, max_attempts=attempts_limit, backoff_seconds=backoff),
        attempts_limit,
        result,
        pdf_sha256=sha256_bytes(prepared.pdf) if prepared.pdf else None,
    )
    try:
        for index, row in enumerate(todo):
            try:
                # Composed here, passed on and dropped when the server has answered: one message
                # lives at a time.
                sender.deliver(row, prepared.payload(row))
            except SmtpUnavailable as exc:
                result.pending.extend(r.recipient for r in todo[index:])
                result.aborted = str(exc)
                exc.result = result
                log.error("dừng gửi: %s; %d thư còn chờ gửi ở lần chạy sau", exc, len(todo) - index)
                raise
    finally:
        sender.close()
        if real:
            sync_letter_state(engine, ref.letter_id)
    log.info(
        "%s kỳ %s: đã gửi %d, lỗi %d, không rõ %d (máy chủ thư %s, %d kết nối)",
        authority.id,
        ref.period,
        len(result.sent),
        len(result.failed),
        len(result.unknown),
        smtp.describe(),
        sender.session.connections,
    )
    return result


def _aware(stamp: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones.
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _problem(recipient: str, code: int | None, answer: str | None) -> dict[str, Any]:
    return {"recipient": recipient, "smtp_code": code, "smtp_answer": answer or ""}


class _Sender:
    """Ledger rows through one SMTP session, each under this run's lease: temporary failures retried
    with backoff, every outcome committed by the run that holds the row (with the next row's claim,
    see ``ledger.LeaseWriter``)."""

    def __init__(
        self,
        engine: Engine,
        session: SmtpSession,
        limit: int,
        result: DistributionResult,
        pdf_sha256: str | None,
    ) -> None:
        self.session, self.limit, self.result = session, limit, result
        self.recipients: dict[int, str] = {}
        self.writer = ledger.LeaseWriter(engine, uuid.uuid4().hex, pdf_sha256=pdf_sha256, on_lost=self._lost)

    def _lost(self, delivery_id: int, state: str) -> None:
        log.error(
            "thư tới %s: lần chạy này không còn giữ dòng sổ gửi (đã quá hạn giữ chỗ); kết quả '%s' "
            "không được ghi, xem trạng thái trong sổ",
            self.recipients.get(delivery_id, delivery_id),
            state,
        )

    def _finish(self, row: ledger.Delivery, state: str, code: int | None, answer: str) -> None:
        self.recipients[row.delivery_id] = row.recipient
        self.writer.record(row.delivery_id, state, code, answer)

    def close(self) -> None:
        try:
            self.writer.close()  # the last outcome
        finally:
            self.session.close()

    def deliver(self, row: ledger.Delivery, payload: bytes) -> None:
        result = self.result
        for attempt in range(1, self.limit + 1):
            if not self.session.connected:
                self.writer.flush()  # a reconnection may take long: the last outcome does not wait for it
            self.session.connect()  # before the claim: a server that cannot be reached leaves the row pending
            if not self.writer.claim(row.delivery_id):
                log.warning("thư tới %s đang được một lần chạy khác xử lý: bỏ qua", row.recipient)
                result.in_progress.append(row.recipient)
                return
            outcome = self.session.attempt(payload, row.envelope_to)
            answer = mask_text(outcome.answer)
            if outcome.state == "sent":
                self._finish(row, "sent", outcome.code, answer)
                result.sent.append(row.recipient)
                log.info("đã gửi %s tới %s: %s", row.message_id, row.envelope_to, outcome.text)
                return
            if outcome.state in ("unknown", "failed") or attempt == self.limit:
                note = (
                    answer
                    if outcome.state in ("unknown", "failed")
                    else f"{answer} (lỗi tạm thời, đã thử {self.limit} lần)"
                )
                state = "unknown" if outcome.state == "unknown" else "failed"
                self._finish(row, state, outcome.code, note)
                (result.unknown if state == "unknown" else result.failed).append(
                    _problem(row.recipient, outcome.code, note)
                )
                log.error("gửi tới %s không thành (%s): %s", row.envelope_to, state, note)
                return
            # Back to pending before waiting: a crash while waiting must not turn this row into "unknown".
            self._finish(row, "pending", outcome.code, answer)
            self.writer.flush()
            wait = self.session.delay(attempt)
            log.warning(
                "lỗi tạm thời khi gửi tới %s (lần %d/%d): %s; thử lại sau %.1f giây",
                row.envelope_to,
                attempt,
                self.limit,
                outcome.text,
                wait,
            )
            self.session.sleep(wait)
