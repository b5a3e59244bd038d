"""Delivery fixtures: a real SMTP server (aiosmtpd on 127.0.0.1), a warehouse, a small letter.

The SMTP sink stores every message it accepts and can misbehave on demand: answer 550 or 451 for
chosen recipients, or drop the connection once after N messages. The warehouse is SQLite for the
distribution tests and SQLite + PostgreSQL (127.0.0.1:5432, a database per module, dropped after)
for the ledger and issue tests.
"""

from __future__ import annotations

import email
import threading
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from delivery_helpers import (
    AUTHORITY_ID,
    PERIOD,
    free_tcp_port,
    insert_letter,
    make_authority,
    make_decisions,
)

from cchc.core.db import engine_for
from cchc.delivery.send import SmtpSettings
from cchc.warehouse.migrate import upgrade

# ------------------------------------------------------------------------------ SMTP sink


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

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
        self.dropped = 0
        self.sessions = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.drop_after is not None and len(self.received) >= self.drop_after and not self.dropped:
            # The server goes away mid-session, without a word (then it "comes back" for new connections).
            self.dropped += 1
            server.transport.close()
            return "421 4.3.2 closing"
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
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
            n = len(self.received)
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


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Sleeps(list):
    """An injectable sleep that records the waits instead of waiting; ``hook`` runs on each call."""

    hook = None

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook is not None:
            self.hook(len(self))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


# ------------------------------------------------------------------------------ warehouse


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


def _engine(url: str):
    upgrade(url)
    return engine_for(url)


@pytest.fixture
def engine(backend, request, tmp_path):
    """A warehouse at head on the module's backend (SQLite file, or the module's PostgreSQL database)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        _reset_postgres(url)
    eng = _engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    eng = _engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    yield eng
    eng.dispose()


# ------------------------------------------------------------------------------ the letter


@pytest.fixture
def output_dir(tmp_path) -> Path:
    folder = tmp_path / "output"
    folder.mkdir()
    return folder


@pytest.fixture
def authority():
    return make_authority()


@pytest.fixture
def decisions() -> dict:
    return make_decisions()


@dataclass
class LetterSetup:
    letter_id: int
    output_dir: Path
    pdf: bytes
    docx: bytes


@pytest.fixture
def letter(sqlite_engine, output_dir, decisions) -> LetterSetup:
    """A rendered letter for demo/2023-08 with its files and decisions.json, issued number 15."""
    folder = output_dir / AUTHORITY_ID / PERIOD
    folder.mkdir(parents=True)
    pdf = b"%PDF-1.4\n% test letter\n" + bytes(range(256)) + b"\n.\n..leading dots\n%%EOF\n"
    docx = b"PK\x03\x04 fake docx " + bytes(range(256))
    (folder / "letter.pdf").write_bytes(pdf)
    (folder / "letter.docx").write_bytes(docx)
    import json

    (folder / "decisions.json").write_text(json.dumps(decisions, ensure_ascii=False), encoding="utf-8")
    letter_id = insert_letter(sqlite_engine, folder, number=15)
    return LetterSetup(letter_id, output_dir, pdf, docx)
