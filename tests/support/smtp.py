"""SMTP for tests: a real aiosmtpd server on 127.0.0.1 that stores every message it accepts and can
misbehave on demand (550 or 451 for chosen recipients, a dropped connection after N messages, a slow
answer), the ``smtp_default`` connection pointing at a server, and a sleep that records instead of
waiting. ``keep_data = False`` keeps only each message's size and hash (for runs of hundreds of large
messages, whose memory is what a test measures)."""

from __future__ import annotations

import asyncio
import email
import hashlib
import json
import threading
from dataclasses import dataclass
from email import policy
from typing import Any

from aiosmtpd.controller import Controller

from cchc.delivery.send import SmtpSettings

from .net import free_tcp_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    size: int = 0
    sha256: str = ""

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


class SinkHandler:
    """aiosmtpd handler: stores messages; ``reject``/``tempfail``/``drop_after`` make it misbehave."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.reject: dict[str, str] = {}  # address -> "550 …" answer to RCPT
        self.tempfail: dict[str, int] = {}  # address -> how many RCPTs get "451 …" first
        self.drop_after: int | None = None  # close the connection once, at the MAIL after N messages
        self.delay = 0.0  # seconds each DATA waits before its answer: a slow server, sends that overlap
        self.dropped = 0
        self.sessions = 0
        self.peers: set[tuple] = set()  # the client end of every connection that said EHLO or MAIL
        self.keep_data = True
        self.on_message = None  # called with the count after each message is stored (the client waits)
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
            self.peers.add(tuple(session.peer))
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.drop_after is not None and len(self.received) >= self.drop_after and not self.dropped:
            # The server goes away mid-session, without a word (then it "comes back" for new connections).
            self.dropped += 1
            server.transport.close()
            return "421 4.3.2 closing"
        with self.lock:
            self.peers.add(tuple(session.peer))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        if key in self.reject:
            return self.reject[key]
        if self.tempfail.get(key):
            self.tempfail[key] -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            data = envelope.original_content
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    data if self.keep_data else b"",
                    len(data),
                    hashlib.sha256(data).hexdigest(),
                )
            )
            n = len(self.received)
        if self.on_message is not None:
            self.on_message(n)
        return f"250 2.0.0 Ok: queued as Q{n:04d}"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address.lower() in (a.lower() for a in r.rcpt_tos)]


class SmtpServer:
    """A running aiosmtpd Controller that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.handler = SinkHandler()
        self.port = free_tcp_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=5)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def running(self) -> bool:
        return self.controller is not None

    def settings(self, **overrides: Any) -> SmtpSettings:
        values = dict(
            host="127.0.0.1",
            port=self.port,
            from_email="cchc@thu.gov.vn",
            use_ssl=False,
            starttls=False,
            timeout=5,
        )
        values.update(overrides)
        return SmtpSettings(**values)


class Sleeps(list):
    """An injectable sleep that records the waits instead of waiting; ``hook`` runs on each call."""

    hook = None

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook is not None:
            self.hook(len(self))


def smtp_default_connection(port: int) -> str:
    """The ``smtp_default`` Airflow connection (as AIRFLOW_CONN_SMTP_DEFAULT) for a server on ``port``."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "cchc@localhost"},
        }
    )
