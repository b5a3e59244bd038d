"""SMTP with ``smtplib``: settings from the ``smtp_default`` connection, one session for many messages.

A session sends one message per call and says what happened, in the ledger's terms:

- ``sent``: the server answered 250 to the end of DATA;
- ``failed`` + permanent: a 5xx answer (no such mailbox, message refused) — retrying will not help;
- ``retry``: a 4xx answer, or the connection dropped before the message was handed over — the
  caller waits and tries again on a new connection;
- ``unknown``: the connection died after the message's final dot and before the answer — the server
  may hold the message, so it is not retried automatically.

The session talks MAIL / RCPT / DATA itself (rather than ``sendmail``) so that it knows in which of
those steps a failure happened, and keeps the server's answer text for the ledger.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cchc.core.errors import ConfigError
from cchc.delivery.errors import SmtpUnavailable
from cchc.delivery.wire import wire_bytes

log = logging.getLogger(__name__)

TRUE = {"true", "1", "yes", "on", "có"}
FALSE = {"false", "0", "no", "off", "không", ""}
# Network failures that mean "the message was not taken, try again on a new connection".
TRANSIENT_ERRORS = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, socket.timeout, OSError)


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server. The password is kept out of ``repr`` and every log line."""

    host: str
    port: int
    from_email: str
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    use_ssl: bool = False
    starttls: bool = True
    timeout: float = 30.0
    verify_tls: bool = True
    retry_limit: int | None = None
    local_hostname: str | None = None

    def describe(self) -> str:
        mode = "SSL" if self.use_ssl else ("STARTTLS" if self.starttls else "không mã hoá")
        who = f"{self.login}@" if self.login else ""
        return f"smtp://{who}{self.host}:{self.port} ({mode})"


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConfigError(f"kết nối SMTP: extra '{name}' phải là true/false (đang là '{value}')")


def _extra(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    if extra is None:
        raw = getattr(conn, "extra", None)
        if isinstance(raw, str) and raw.strip():
            try:
                extra = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"kết nối SMTP: trường extra không phải JSON: {exc.msg}") from exc
        else:
            extra = raw or {}
    if not isinstance(extra, dict):
        raise ConfigError("kết nối SMTP: trường extra phải là JSON dạng đối tượng")
    return extra


def smtp_settings_from_connection(conn: Any, *, from_email: str | None = None) -> SmtpSettings:
    """Settings from an Airflow Connection (or anything with host, port, login, password, extra).

    The extras are the SMTP provider's: ``disable_ssl`` (default false: SMTP over SSL, as the provider
    does), ``disable_tls`` (default false: STARTTLS on a plain connection), ``from_email``, ``timeout``
    (seconds, default 30), ``retry_limit``, ``ssl_context`` ("default" or "none" to skip certificate
    checks on a lab server). Airflow is not imported here: the caller hands the connection in.
    """
    extra = _extra(conn)
    host = (getattr(conn, "host", None) or "").strip()
    if not host:
        raise ConfigError("kết nối SMTP (smtp_default): chưa có host")
    use_ssl = not _flag(extra.get("disable_ssl", False), "disable_ssl")
    starttls = not use_ssl and not _flag(extra.get("disable_tls", False), "disable_tls")
    port = getattr(conn, "port", None)
    try:
        port = int(port) if port not in (None, "") else (465 if use_ssl else 587 if starttls else 25)
        timeout = float(extra.get("timeout", 30))
        retry_limit = int(extra["retry_limit"]) if extra.get("retry_limit") not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"kết nối SMTP: port/timeout/retry_limit phải là số ({exc})") from exc
    sender = from_email or extra.get("from_email")
    if not sender:
        raise ConfigError("kết nối SMTP (smtp_default): chưa có địa chỉ gửi (extra 'from_email')")
    context = str(extra.get("ssl_context") or "default").lower()
    if context not in ("default", "none"):
        raise ConfigError(
            f"kết nối SMTP: extra 'ssl_context' chỉ nhận 'default' hoặc 'none' (đang là '{context}')"
        )
    return SmtpSettings(
        host=host,
        port=port,
        from_email=str(sender),
        login=getattr(conn, "login", None) or None,
        password=getattr(conn, "password", None) or None,
        use_ssl=use_ssl,
        starttls=starttls,
        timeout=timeout,
        verify_tls=context == "default",
        retry_limit=retry_limit,
    )


@dataclass
class _UriConnection:
    host: str | None
    port: int | None
    login: str | None
    password: str | None
    extra_dejson: dict[str, Any]


def connection_from_uri(text: str) -> _UriConnection:
    """An Airflow connection given as ``AIRFLOW_CONN_SMTP_DEFAULT``: a URI
    (``smtp://user:pass@host:25?disable_ssl=true&from_email=…``) or Airflow's JSON form."""
    text = text.strip()
    if text.startswith("{"):
        data = json.loads(text)
        given = data.get("extra") or {}
        if isinstance(given, str):
            given = json.loads(given) if given.strip() else {}
        return _UriConnection(
            data.get("host"), data.get("port"), data.get("login"), data.get("password"), given
        )
    parts = urlsplit(text)
    extra: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return _UriConnection(
        unquote(parts.hostname or "") or None,
        parts.port,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        extra,
    )


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: ``sent``, ``failed`` (permanent), ``retry`` (temporary) or ``unknown``."""

    state: str
    code: int | None
    answer: str

    @property
    def text(self) -> str:
        return f"{self.code} {self.answer}" if self.code is not None else self.answer


def _answer(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())


_EOL = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def _data_payload(message: bytes) -> bytes:
    """RFC 5321 §4.5.2: CRLF line ends, leading dots doubled, ending with CRLF '.' CRLF."""
    payload = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", message))
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    return payload + b".\r\n"


def message_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire: SMTP policy (CRLF), headers RFC 2047-encoded, 7-bit body
    (the headers every message shares folded once, see ``wire``)."""
    return wire_bytes(message)


class SmtpSession:
    """One SMTP connection reused for many messages, reopened when the server drops it.

    ``connect()`` retries with exponential backoff (``sleep`` is injectable for tests) and gives up
    with ``SmtpUnavailable``; a refused login is not retried (a wrong password does not heal).
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 60.0,
        factory: Callable[..., smtplib.SMTP] | None = None,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._factory = factory
        self._smtp: smtplib.SMTP | None = None
        self.connections = 0  # how many times a connection was opened (for the log and the tests)

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def delay(self, attempt: int) -> float:
        """Wait before attempt ``attempt + 1``: backoff, doubled each time, capped."""
        return min(self.max_backoff_seconds, self.backoff_seconds * (2 ** max(0, attempt - 1)))

    # ------------------------------------------------------------------ connection

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        if self._factory is not None:
            smtp = self._factory(s)
        elif s.use_ssl:
            smtp = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=_tls_context(s), local_hostname=s.local_hostname
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout, local_hostname=s.local_hostname)
        try:
            smtp.ehlo_or_helo_if_needed()
            if s.starttls and not s.use_ssl:
                smtp.starttls(context=_tls_context(s))
                smtp.ehlo()
            if s.login:
                smtp.login(s.login, s.password or "")
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def connect(self) -> None:
        """Make sure a connection is open; retried with backoff, ``SmtpUnavailable`` when it cannot be."""
        if self._smtp is not None:
            return
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                self._smtp = self._open()
                self.connections += 1
                log.info("đã kết nối máy chủ thư %s", self.settings.describe())
                return
            except smtplib.SMTPAuthenticationError as exc:
                raise SmtpUnavailable(
                    f"máy chủ thư {self.settings.describe()} từ chối đăng nhập với tài khoản "
                    f"'{self.settings.login}': {exc.smtp_code} {_answer(exc.smtp_error)}"
                ) from exc
            except smtplib.SMTPNotSupportedError as exc:
                raise SmtpUnavailable(f"máy chủ thư {self.settings.describe()}: {exc}") from exc
            except smtplib.SMTPResponseException as exc:
                last = f"{exc.smtp_code} {_answer(exc.smtp_error)}"
                if 500 <= exc.smtp_code < 600:
                    raise SmtpUnavailable(
                        f"máy chủ thư {self.settings.describe()} từ chối phiên làm việc: {last}"
                    ) from exc
            except (ssl.SSLError, *TRANSIENT_ERRORS, smtplib.SMTPException) as exc:
                last = f"{type(exc).__name__}: {exc}"
            log.warning(
                "kết nối máy chủ thư %s thất bại (lần %d/%d): %s",
                self.settings.describe(),
                attempt,
                self.max_attempts,
                last,
            )
            if attempt < self.max_attempts:
                self.sleep(self.delay(attempt))
        raise SmtpUnavailable(
            f"không kết nối được máy chủ thư {self.settings.describe()} sau {self.max_attempts} lần thử: {last}"
        )

    def drop(self) -> None:
        """Forget the connection without a polite QUIT (it is broken or the server closed it)."""
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                _quietly_close(self._smtp)
                self._smtp = None

    def _reset(self) -> None:
        """After a refused transaction the connection can serve the next one once reset."""
        if self._smtp is None:
            return
        try:
            code, _ = self._smtp.rset()
            if code != 250:
                self.drop()
        except (smtplib.SMTPException, OSError):
            self.drop()

    # ------------------------------------------------------------------ one message

    def _refused(self, code: int, raw: bytes | str, step: str) -> Outcome:
        answer = _answer(raw)
        if code == 421:
            # "Service not available, closing transmission channel": reconnect for the next attempt.
            self.drop()
        else:
            self._reset()
        if 400 <= code < 500:
            return Outcome("retry", code, answer)
        log.info("máy chủ thư từ chối ở bước %s: %s %s", step, code, answer)
        return Outcome("failed", code, answer)

    def attempt(
        self, message: EmailMessage | bytes, envelope_to: str, envelope_from: str | None = None
    ) -> Outcome:
        """Send one message to one address, once. ``connect()`` must have succeeded."""
        payload = message if isinstance(message, bytes) else message_bytes(message)
        sender = envelope_from or self.settings.from_email
        smtp = self._smtp
        if smtp is None:
            return Outcome("retry", None, "chưa có kết nối tới máy chủ thư")
        step = "MAIL"
        try:
            code, raw = smtp.mail(sender)
            if code != 250:
                return self._refused(code, raw, step)
            step = "RCPT"
            code, raw = smtp.rcpt(envelope_to)
            if code not in (250, 251):
                return self._refused(code, raw, step)
            step = "DATA"
            smtp.putcmd("data")
            code, raw = smtp.getreply()
            if code != 354:
                return self._refused(code, raw, step)
            # From here on the server may take the message as soon as it sees the final dot.
            step = "nội dung"
            smtp.send(_data_payload(payload))
            code, raw = smtp.getreply()
        except TRANSIENT_ERRORS as exc:
            self.drop()
            reason = f"{type(exc).__name__}: {exc}".strip()
            if step == "nội dung":
                return Outcome(
                    "unknown",
                    None,
                    f"mất kết nối sau khi đã truyền nội dung thư, trước khi máy chủ trả lời ({reason})",
                )
            return Outcome("retry", None, f"mất kết nối ở bước {step} ({reason})")
        if code == 250:
            return Outcome("sent", code, _answer(raw))
        return self._refused(code, raw, "kết thúc DATA")


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not settings.verify_tls:
        # ssl_context "none": a lab server with a self-signed certificate, by the operator's explicit choice.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass
