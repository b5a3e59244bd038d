"""The distribution against a real SMTP server (aiosmtpd on 127.0.0.1) and a SQLite warehouse."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from support.delivery import COPY, OPERATOR, TEST_ADDRESS, UNITS, delivery_authority, insert_letter

from cchc.core.authorities import Unit
from cchc.core.errors import CchcError
from cchc.delivery import ledger
from cchc.delivery.distribute import Request, SendPolicy, distribute
from cchc.delivery.errors import DeliveryError, RecipientRefused, SmtpUnavailable
from cchc.warehouse.schema import deliveries

# The letter's own trích yếu (issue 11: one trích yếu in the letter, its title and the emails).
SUBJECT = (
    "Công văn số 15/UBND-NV V/v biểu dương, nhắc nhở các cơ quan chuyên môn, UBND các xã trong thực hiện "
    "nhiệm vụ Cải cách hành chính tháng 8/2023"
)
PDF_NAME = "Công văn CCHC tháng 8-2023.pdf"
DOCX_NAME = "Công văn CCHC tháng 8-2023.docx"
EVERYONE = [u.email for u in UNITS] + [COPY["email"], OPERATOR["email"]]


def _run(engine, server, letter, sleeps, authority=None, **request):
    return distribute(
        engine,
        authority or delivery_authority(),
        "2023-08",
        server.settings(),
        Request(**request),
        output_dir=letter.output_dir,
        policy=SendPolicy(sleep=sleeps),
    )


def _rows(engine):
    with engine.connect() as conn:
        return {
            r.recipient: r for r in conn.execute(sa.select(deliveries).order_by(deliveries.c.delivery_id))
        }


def _body(received) -> str:
    return received.message.get_body(preferencelist=("plain",)).get_content()


def _attachments(received) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in received.message.iter_attachments()}


def test_every_recipient_gets_one_message_with_the_pdf_and_their_own_figures(
    sqlite_engine, smtp_server, letter, sleeps
):
    result = _run(sqlite_engine, smtp_server, letter, sleeps)

    handler = smtp_server.handler
    assert sorted(result.sent) == sorted(EVERYONE)
    assert result.complete and not result.failed and not result.unknown
    assert len(handler.received) == len(EVERYONE)
    for address in EVERYONE:
        [received] = handler.to(address)
        assert received.rcpt_tos == [address]
        assert received.mail_from == "cchc@thu.gov.vn"
        message = received.message
        assert message["Subject"] == SUBJECT
        files = _attachments(received)
        assert files[PDF_NAME] == letter.pdf  # bytes intact, dots and all
        # The editable DOCX goes to the operators only.
        assert (DOCX_NAME in files) == (address == OPERATOR["email"])
        if address == OPERATOR["email"]:
            assert files[DOCX_NAME] == letter.docx
    # One SMTP session served every message.
    assert handler.sessions == 1

    haky = handler.to("haky@thu.gov.vn")[0]
    body = _body(haky)
    assert "Kính gửi: Chủ tịch UBND xã Hà Kỳ." in body
    assert "tháng 8/2023 đạt 99,68% (309/310 hồ sơ)" in body
    assert "8 tháng đầu năm 2023 đạt 98,81% (2.401/2.430 hồ sơ)" in body
    assert "từ ngày 01/4/2023-31/8/2023 đạt 22,58% (70/310 hồ sơ)" in body
    assert "Được biểu dương (mục 1)" in body
    assert "Bị nhắc nhở (mục 2.1) về thanh toán trực tuyến" in body
    assert "24,27%" not in body  # nobody else's figures
    assert str(haky.message["To"]) == "Chủ tịch UBND xã Hà Kỳ <haky@thu.gov.vn>"
    assert str(haky.message["From"]) == "UBND huyện Thử <cchc@thu.gov.vn>"

    hungdao = _body(handler.to("hungdao@thu.gov.vn")[0])
    assert "Kính gửi: Chủ tịch UBND xã Hưng Đạo." in hungdao
    assert "Bị phê bình lần thứ hai trong năm 2023 (mục 3)" in hungdao
    assert "24,27%" in hungdao and "99,68%" not in hungdao

    taichinh = _body(handler.to("taichinh@thu.gov.vn")[0])
    assert "Kính gửi: Trưởng phòng Tài chính - Kế hoạch huyện." in taichinh
    assert "chỉ đạt 12,5%, thấp hơn chỉ tiêu 30%" in taichinh

    copy = _body(handler.to(COPY["email"])[0])
    assert "Kính gửi: Ban Thường vụ Huyện uỷ." in copy
    assert "Mục 3 — phê bình lần thứ hai: UBND xã Hưng Đạo." in copy

    rows = _rows(sqlite_engine)
    assert {r.state for r in rows.values()} == {"sent"}
    assert all(
        r.attempts == 1 and r.smtp_code == 250 and r.smtp_answer.startswith("2.0.0 Ok: queued as")
        for r in rows.values()
    )
    # The Message-ID in the ledger is the one on the wire.
    assert rows["haky@thu.gov.vn"].message_id == haky.message["Message-ID"]


def test_the_raw_message_is_7bit_and_its_headers_are_encoded(sqlite_engine, smtp_server, letter, sleeps):
    _run(sqlite_engine, smtp_server, letter, sleeps)
    raw = smtp_server.handler.to("haky@thu.gov.vn")[0].data
    assert raw.isascii()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"Subject: =?utf-8?" in head
    assert b"filename*=utf-8''C%C3%B4ng%20v%C4%83n%20CCHC%20th%C3%A1ng%208-2023.pdf" in raw


def test_rerun_sends_nothing_new(sqlite_engine, smtp_server, letter, sleeps):
    _run(sqlite_engine, smtp_server, letter, sleeps)
    first = len(smtp_server.handler.received)
    again = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert len(smtp_server.handler.received) == first
    assert again.sent == [] and sorted(again.already_sent) == sorted(EVERYONE)
    assert len(_rows(sqlite_engine)) == len(EVERYONE)


def test_server_dropping_the_connection_then_coming_back_serves_everyone_once(
    sqlite_engine, smtp_server, letter, sleeps
):
    smtp_server.handler.drop_after = 2
    result = _run(sqlite_engine, smtp_server, letter, sleeps)
    handler = smtp_server.handler
    assert handler.dropped == 1
    assert result.complete
    assert sorted(a for r in handler.received for a in r.rcpt_tos) == sorted(EVERYONE)
    assert handler.sessions == 2  # reconnected once
    assert sleeps == [1]  # one backoff before the retry
    rows = _rows(sqlite_engine)
    assert sorted(r.attempts for r in rows.values()) == [1] * (len(EVERYONE) - 1) + [2]


def test_server_down_for_a_while_is_waited_for_with_backoff(sqlite_engine, smtp_server, letter, sleeps):
    handler = smtp_server.handler
    handler.drop_after = 3

    def outage(calls: int) -> None:
        # The first wait happens right after the drop: the server is then down (connection refused)
        # for two more waits, and back for the third connection attempt.
        if calls == 1:
            smtp_server.stop()
        elif calls == 3:
            smtp_server.start()

    sleeps.hook = outage
    result = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert result.complete
    assert sorted(a for r in handler.received for a in r.rcpt_tos) == sorted(EVERYONE)
    assert sleeps == [1, 1, 2]  # message retry, then connection retries: 1 s, 2 s


def test_server_that_stays_down_leaves_the_rest_pending_and_a_rerun_finishes(
    sqlite_engine, smtp_server, letter, sleeps
):
    smtp_server.handler.drop_after = 2
    sleeps.hook = lambda calls: smtp_server.stop() if calls == 1 else None
    with pytest.raises(SmtpUnavailable, match="không kết nối được máy chủ thư") as info:
        _run(sqlite_engine, smtp_server, letter, sleeps)
    result = info.value.result
    assert len(result.sent) == 2 and len(result.pending) == len(EVERYONE) - 2
    states = [r.state for r in _rows(sqlite_engine).values()]
    assert states.count("sent") == 2 and states.count("pending") == len(EVERYONE) - 2

    smtp_server.start()
    sleeps.hook = None
    again = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert again.complete and len(again.sent) == len(EVERYONE) - 2
    assert sorted(a for r in smtp_server.handler.received for a in r.rcpt_tos) == sorted(EVERYONE)


def test_a_5xx_for_one_recipient_leaves_the_others_sent_and_is_reported(
    sqlite_engine, smtp_server, letter, sleeps
):
    smtp_server.handler.reject["haky@thu.gov.vn"] = "550 5.1.1 <haky@thu.gov.vn>: Recipient address rejected"
    result = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert [f["recipient"] for f in result.failed] == ["haky@thu.gov.vn"]
    assert result.failed[0]["smtp_code"] == 550
    assert "Recipient address rejected" in result.failed[0]["smtp_answer"]
    assert sorted(result.sent) == sorted(a for a in EVERYONE if a != "haky@thu.gov.vn")
    assert sleeps == []  # a permanent failure is not retried
    rows = _rows(sqlite_engine)
    assert rows["haky@thu.gov.vn"].state == "failed" and rows["haky@thu.gov.vn"].smtp_code == 550
    assert not result.complete

    # Once the mailbox is fixed, a rerun sends that one only.
    smtp_server.handler.reject.clear()
    before = len(smtp_server.handler.received)
    again = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert again.sent == ["haky@thu.gov.vn"] and again.complete
    assert len(smtp_server.handler.received) == before + 1


def test_a_4xx_is_retried_with_backoff(sqlite_engine, smtp_server, letter, sleeps):
    smtp_server.handler.tempfail["haky@thu.gov.vn"] = 2
    result = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert result.complete
    assert sleeps == [1, 2]
    row = _rows(sqlite_engine)["haky@thu.gov.vn"]
    assert row.state == "sent" and row.attempts == 3
    assert len(smtp_server.handler.to("haky@thu.gov.vn")) == 1


def test_a_4xx_that_never_clears_ends_failed_after_the_attempts(sqlite_engine, smtp_server, letter, sleeps):
    smtp_server.handler.tempfail["haky@thu.gov.vn"] = 100
    result = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert [f["recipient"] for f in result.failed] == ["haky@thu.gov.vn"]
    assert "đã thử 4 lần" in result.failed[0]["smtp_answer"] and result.failed[0]["smtp_code"] == 451
    assert sleeps == [1, 2, 4]
    assert len(result.sent) == len(EVERYONE) - 1


def test_a_recipient_outside_the_allowed_domains_is_refused_before_anything_is_sent(
    sqlite_engine, smtp_server, letter, sleeps
):
    # The registry has a private address for Hưng Đạo's chairman; decisions.json carries none of its own.
    units = [*UNITS[:2], Unit("X-HD", "UBND xã Hưng Đạo", "commune", "Chủ tịch UBND xã", "hungdao@gmail.com")]
    authority = delivery_authority(units)
    path = letter.output_dir / "demo" / "2023-08" / "decisions.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["units"]["X-HD"]["email"] = None
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    with pytest.raises(RecipientRefused) as info:
        _run(sqlite_engine, smtp_server, letter, sleeps, authority=authority)
    message = str(info.value)
    assert "hungdao@gmail.com" in message and "UBND xã Hưng Đạo (X-HD)" in message and "thu.gov.vn" in message
    assert isinstance(info.value, CchcError)
    assert smtp_server.handler.received == [] and smtp_server.handler.sessions == 0
    assert _rows(sqlite_engine) == {}


def test_a_row_left_sending_becomes_unknown_and_is_not_resent(sqlite_engine, smtp_server, letter, sleeps):
    smtp_server.handler.reject["haky@thu.gov.vn"] = "550 5.1.1 rejected"
    _run(sqlite_engine, smtp_server, letter, sleeps)
    # A crash after the server took the message, before the ledger heard of it.
    with sqlite_engine.begin() as conn:
        conn.execute(
            deliveries.update().where(deliveries.c.recipient == "haky@thu.gov.vn").values(state="sending")
        )
    smtp_server.handler.reject.clear()
    before = len(smtp_server.handler.received)

    result = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert len(smtp_server.handler.received) == before
    assert [u["recipient"] for u in result.unknown] == ["haky@thu.gov.vn"]
    assert _rows(sqlite_engine)["haky@thu.gov.vn"].state == "unknown"
    # Still not resent on the next run: the operator decides.
    again = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert len(smtp_server.handler.received) == before and again.unknown

    # The operator checked: the head never got it.
    assert ledger.settle_unknown(sqlite_engine, letter.letter_id, ["haky@thu.gov.vn"], "pending") == 1
    final = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert final.sent == ["haky@thu.gov.vn"] and final.complete


def test_dry_run_sends_everything_to_the_test_address_only(sqlite_engine, smtp_server, letter, sleeps):
    result = _run(sqlite_engine, smtp_server, letter, sleeps, dry_run=True, batch="manual__1")
    handler = smtp_server.handler
    assert len(handler.received) == len(EVERYONE)
    assert all(r.rcpt_tos == [TEST_ADDRESS] for r in handler.received)
    subjects = {r.message["Subject"] for r in handler.received}
    assert subjects == {f"[THỬ NGHIỆM] {SUBJECT}"}
    intended = sorted(r.message["X-CCHC-Intended-Recipient"] for r in handler.received)
    assert intended == sorted(EVERYONE)
    haky = next(r for r in handler.received if r.message["X-CCHC-Intended-Recipient"] == "haky@thu.gov.vn")
    assert "Thư thử nghiệm" in _body(haky) and "99,68%" in _body(haky)
    assert result.kind == "test" and result.envelope_to == TEST_ADDRESS
    rows = _rows(sqlite_engine)
    assert {r.kind for r in rows.values()} == {"test"} and {r.envelope_to for r in rows.values()} == {
        TEST_ADDRESS
    }

    # Retrying the same dry run sends nothing; the real distribution is untouched by it.
    _run(sqlite_engine, smtp_server, letter, sleeps, dry_run=True, batch="manual__1")
    assert len(handler.received) == len(EVERYONE)
    real = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert sorted(real.sent) == sorted(EVERYONE)


def test_dry_run_refuses_a_test_address_outside_the_allowed_domains(
    sqlite_engine, smtp_server, letter, sleeps
):
    with pytest.raises(RecipientRefused, match="tester@example.com"):
        _run(sqlite_engine, smtp_server, letter, sleeps, dry_run=True, test_address="tester@example.com")
    assert smtp_server.handler.received == []


def test_resend_sends_again_only_to_the_chosen(sqlite_engine, smtp_server, letter, sleeps):
    _run(sqlite_engine, smtp_server, letter, sleeps)
    handler = smtp_server.handler
    before = len(handler.received)
    result = _run(
        sqlite_engine, smtp_server, letter, sleeps, resend=["X-HK", "btv@thu.gov.vn"], batch="run-7"
    )
    assert sorted(result.sent) == ["btv@thu.gov.vn", "haky@thu.gov.vn"] and result.kind == "resend"
    new = handler.received[before:]
    assert sorted(a for r in new for a in r.rcpt_tos) == ["btv@thu.gov.vn", "haky@thu.gov.vn"]
    # A new Message-ID: it is a new message, recorded as a resend.
    first = handler.to("haky@thu.gov.vn")
    assert first[0].message["Message-ID"] != first[1].message["Message-ID"]
    assert "Thư gửi lại" in _body(first[1])
    with sqlite_engine.connect() as conn:
        kinds = conn.execute(sa.select(deliveries.c.kind, sa.func.count()).group_by(deliveries.c.kind)).all()
    assert dict(kinds) == {"normal": len(EVERYONE), "resend": 2}

    # The same resend request retried sends nothing; a new request sends again.
    _run(sqlite_engine, smtp_server, letter, sleeps, resend=["X-HK", "btv@thu.gov.vn"], batch="run-7")
    assert len(handler.received) == before + 2
    _run(sqlite_engine, smtp_server, letter, sleeps, resend=["X-HK"], batch="run-8")
    assert len(handler.received) == before + 3


def test_resend_of_an_unknown_recipient_is_refused(sqlite_engine, smtp_server, letter, sleeps):
    with pytest.raises(DeliveryError, match="X-ZZ"):
        _run(sqlite_engine, smtp_server, letter, sleeps, resend=["X-ZZ"])
    assert smtp_server.handler.received == []


def test_a_letter_without_a_number_is_not_sent_but_can_be_rehearsed(
    sqlite_engine, smtp_server, output_dir, sleeps, decisions
):
    folder = output_dir / "demo" / "2023-09"
    folder.mkdir(parents=True)
    (folder / "letter.pdf").write_bytes(b"%PDF-1.4 draft")
    data = {**decisions, "period": "2023-09", "period_label": "9/2023"}
    (folder / "decisions.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    insert_letter(sqlite_engine, folder, period="2023-09")
    with pytest.raises(DeliveryError, match="chưa được cấp số"):
        distribute(
            sqlite_engine,
            delivery_authority(),
            "2023-09",
            smtp_server.settings(),
            output_dir=output_dir,
            policy=SendPolicy(sleep=sleeps),
        )
    assert smtp_server.handler.received == []
    result = distribute(
        sqlite_engine,
        delivery_authority(),
        "2023-09",
        smtp_server.settings(),
        Request(dry_run=True),
        output_dir=output_dir,
        policy=SendPolicy(sleep=sleeps),
    )
    assert result.complete
    # A draft's subject carries no number.
    assert smtp_server.handler.received[0].message["Subject"].startswith("[THỬ NGHIỆM] V/v biểu dương")


def test_a_pdf_overwritten_after_issuing_is_not_sent(sqlite_engine, smtp_server, letter, sleeps):
    (letter.output_dir / "demo" / "2023-08" / "letter.pdf").write_bytes(b"%PDF-1.4 a later draft")
    with pytest.raises(DeliveryError, match="mã băm khác"):
        _run(sqlite_engine, smtp_server, letter, sleeps)
    assert smtp_server.handler.received == []


def test_paths_relative_to_the_output_folder(sqlite_engine, smtp_server, letter, sleeps):
    from cchc.warehouse.schema import letters

    with sqlite_engine.begin() as conn:
        conn.execute(
            letters.update().values(pdf_path="demo/2023-08/letter.pdf", docx_path="demo/2023-08/letter.docx")
        )
    result = _run(sqlite_engine, smtp_server, letter, sleeps)
    assert result.complete and len(result.sent) == len(EVERYONE)
