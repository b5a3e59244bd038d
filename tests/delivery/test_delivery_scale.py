"""A distribution of hundreds of recipients against the real SMTP server: one message in memory at a
time, and one connection for the run (issue 14: ~4,000 emails a month for a national deployment)."""

from __future__ import annotations

import gc
import json
import os
from collections import Counter
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from support.delivery import (
    AUTHORITY_ID,
    COPY,
    DOMAIN,
    OPERATOR,
    PERIOD,
    UNITS,
    delivery_authority,
    insert_letter,
    make_decisions,
)

from cchc.core.authorities import Unit
from cchc.delivery.distribute import Request, SendPolicy, distribute
from cchc.warehouse.schema import deliveries

MIB = 1024 * 1024


def _communes(n: int) -> list[Unit]:
    return [
        Unit(f"X-{i:04d}", f"UBND xã Thử {i}", "commune", "Chủ tịch UBND xã", f"xa{i:04d}@{DOMAIN}")
        for i in range(n)
    ]


def _setup(engine, output_dir, n_extra: int, pdf: bytes):
    """The demo letter with ``n_extra`` more communes, each with its own address; its files on disk."""
    extra = _communes(n_extra)
    authority = delivery_authority(units=UNITS + extra)
    decisions = make_decisions()
    for unit in extra:
        decisions["units"][unit.code] = {
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "head_title": unit.head_title,
            "email": unit.email,
            "decisions": [],
        }
    folder = output_dir / AUTHORITY_ID / PERIOD
    folder.mkdir(parents=True)
    (folder / "letter.pdf").write_bytes(pdf)
    (folder / "letter.docx").write_bytes(b"PK\x03\x04 docx")
    (folder / "decisions.json").write_text(json.dumps(decisions, ensure_ascii=False), encoding="utf-8")
    insert_letter(engine, folder, number=15)
    everyone = [u.email for u in UNITS + extra] + [COPY["email"], OPERATOR["email"]]
    return authority, everyone


def _distribute(engine, authority, server, output_dir, sleeps):
    return distribute(
        engine,
        authority,
        PERIOD,
        server.settings(),
        Request(),
        output_dir=output_dir,
        policy=SendPolicy(sleep=sleeps),
    )


def _delivered(handler) -> Counter:
    return Counter(a.casefold() for r in handler.received for a in r.rcpt_tos)


def test_two_hundred_messages_are_composed_one_at_a_time(sqlite_engine, smtp_server, output_dir, sleeps):
    pdf = b"%PDF-1.4\n" + os.urandom(256 * 1024) + b"\n%%EOF\n"
    authority, everyone = _setup(sqlite_engine, output_dir, 197, pdf)
    assert len(everyone) == 202
    handler = smtp_server.handler
    handler.keep_data = False  # the sink runs in this process: it must not hold them either
    live: dict[int, int] = {}

    def count_live(n: int) -> None:
        # While the server takes message n the client waits for its answer: every message object
        # alive in the process then is one the distribution holds (the sink keeps bytes, not objects).
        # The letter's attachment parts, made once and shared by every message, carry no Message-ID.
        if n % 50 == 0:
            live[n] = sum(isinstance(o, EmailMessage) and "Message-ID" in o for o in gc.get_objects())

    handler.on_message = count_live
    result = _distribute(sqlite_engine, authority, smtp_server, output_dir, sleeps)

    assert result.complete and len(result.sent) == len(everyone)
    assert _delivered(handler) == Counter(a.casefold() for a in everyone)
    assert all(r.size > len(pdf) for r in handler.received)  # every message carried the PDF
    # Composing every message before the first is sent held 202 of them (202 PDFs, base64) to the end.
    assert live == {50: 0, 100: 0, 150: 0, 200: 0}


@pytest.mark.parametrize("drop_after", [None, 20])
def test_fifty_recipients_go_out_on_one_connection_each_delivered_once(
    sqlite_engine, smtp_server, output_dir, sleeps, drop_after
):
    authority, everyone = _setup(sqlite_engine, output_dir, 47, b"%PDF-1.4\n small letter\n%%EOF\n")
    handler = smtp_server.handler
    handler.drop_after = drop_after

    result = _distribute(sqlite_engine, authority, smtp_server, output_dir, sleeps)

    assert result.complete and sorted(result.sent) == sorted(a.casefold() for a in everyone)
    # Nothing the server accepted was sent again, after a dropped connection too.
    assert _delivered(handler) == Counter(a.casefold() for a in everyone)
    if drop_after is None:
        assert len(handler.peers) == 1 and handler.sessions == 1
    else:
        # The server went away once, at the 21st message: one more connection, for the rest.
        assert handler.dropped == 1 and len(handler.peers) == 2 and handler.sessions == 2
    with sqlite_engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries.c.state, deliveries.c.attempts)).all()
    assert {state for state, _ in rows} == {"sent"} and len(rows) == len(everyone)
    assert sum(attempts for _, attempts in rows) == len(everyone) + (0 if drop_after is None else 1)
