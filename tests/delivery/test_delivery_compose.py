"""Composing the messages: Vietnamese headers and file names survive the wire, each unit sees its own part."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy

import pytest
from support.delivery import delivery_authority, make_decisions

from cchc.delivery.compose import MailContext, attachment_name, compose_message, decision_lines, subject_line
from cchc.delivery.ledger import message_id
from cchc.delivery.recipients import distribution_config, plan_recipients
from cchc.delivery.send import message_bytes
from cchc.letter.records import LetterRef


def _ctx(number: int | None = 15, **dist) -> MailContext:
    authority = delivery_authority(**dist)
    return MailContext(
        authority=authority,
        config=distribution_config(authority),
        letter=LetterRef(7, "demo", "2023-08", document_number=number),
        decisions=make_decisions(),
        from_email="cchc@thu.gov.vn",
        pdf=b"%PDF-1.4 x",
        docx=b"PK docx",
    )


def _recipients(ctx):
    return {r.key: r for r in plan_recipients(ctx.authority, ctx.decisions, ctx.config).recipients}


def _wire(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message_bytes(message), policy=policy.default)


def test_subject_and_attachment_names_decode_intact():
    ctx = _ctx()
    recipient = _recipients(ctx)["haky@thu.gov.vn"]
    parsed = _wire(compose_message(ctx, recipient))
    # The letter's own trích yếu (issue 11).
    assert parsed["Subject"] == (
        "Công văn số 15/UBND-NV V/v biểu dương, nhắc nhở các cơ quan chuyên môn, UBND các xã trong thực hiện "
        "nhiệm vụ Cải cách hành chính tháng 8/2023"
    )
    assert parsed["To"].addresses[0].display_name == "Chủ tịch UBND xã Hà Kỳ"
    assert parsed["From"].addresses[0].display_name == "UBND huyện Thử"
    [pdf] = list(parsed.iter_attachments())
    assert pdf.get_filename() == "Công văn CCHC tháng 8-2023.pdf"
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content() == b"%PDF-1.4 x"
    assert parsed.get_body(("html",)) is not None
    assert "Kính gửi: Chủ tịch UBND xã Hà Kỳ." in parsed.get_body(("plain",)).get_content()


def test_a_draft_has_no_number_in_the_subject_and_names_are_configurable():
    ctx = _ctx(
        number=None, subject="V/v CCHC tháng {period_label}", attachment_name="CV {number} {month}/{year}"
    )
    assert subject_line(ctx) == "V/v CCHC tháng 8/2023"
    assert subject_line(ctx, test=True) == "[THỬ NGHIỆM] V/v CCHC tháng 8/2023"
    assert attachment_name(ctx, "pdf") == "CV 8-2023.pdf"  # never a slash in a file name


def test_message_id_is_deterministic_per_letter_recipient_kind_and_batch():
    ctx = _ctx()
    recipient = _recipients(ctx)["haky@thu.gov.vn"]
    first = compose_message(ctx, recipient, date=datetime(2023, 9, 5, tzinfo=UTC))
    again = compose_message(ctx, recipient)
    assert (
        first["Message-ID"] == again["Message-ID"] == message_id(7, "haky@thu.gov.vn", "normal", "", "demo")
    )
    assert first["Message-ID"].endswith("@cchc.demo>")
    resend = compose_message(ctx, recipient, kind="resend", batch="run-1")
    other = compose_message(ctx, _recipients(ctx)["hungdao@thu.gov.vn"])
    assert len({first["Message-ID"], resend["Message-ID"], other["Message-ID"]}) == 3


def test_docx_only_for_operators():
    ctx = _ctx()
    recipients = _recipients(ctx)
    names = {
        key: [p.get_filename() for p in _wire(compose_message(ctx, r)).iter_attachments()]
        for key, r in recipients.items()
    }
    assert names["cchc-office@thu.gov.vn"] == [
        "Công văn CCHC tháng 8-2023.pdf",
        "Công văn CCHC tháng 8-2023.docx",
    ]
    assert all(
        v == ["Công văn CCHC tháng 8-2023.pdf"] for k, v in names.items() if k != "cchc-office@thu.gov.vn"
    )


def test_test_message_goes_to_the_test_address_and_says_so():
    ctx = _ctx()
    recipient = _recipients(ctx)["haky@thu.gov.vn"]
    parsed = _wire(
        compose_message(ctx, recipient, kind="test", batch="b", envelope_to="thunghiem@thu.gov.vn")
    )
    assert parsed["Subject"].startswith("[THỬ NGHIỆM] Công văn số 15/UBND-NV")
    assert parsed["To"].addresses[0].addr_spec == "thunghiem@thu.gov.vn"
    assert parsed["X-CCHC-Intended-Recipient"] == "haky@thu.gov.vn"
    with pytest.raises(ValueError):
        compose_message(ctx, recipient, kind="test")


def test_decision_lines_say_what_the_letter_says_about_the_unit():
    ctx = _ctx()
    assert decision_lines(ctx, "X-HK") == [
        "Được biểu dương (mục 1) về kết quả thực hiện cải cách hành chính tháng 8/2023.",
        "Bị nhắc nhở (mục 2.1) về thanh toán trực tuyến: mặc dù tỷ lệ hồ sơ thanh toán trực tuyến trên Cổng dịch "
        "vụ công tháng 8/2023 đạt 45%, tuy nhiên từ ngày 01/4/2023-31/8/2023 chỉ đạt 22,58%, thấp hơn chỉ tiêu 30%.",
    ]
    [criticism] = decision_lines(ctx, "X-HD")
    assert criticism.startswith(
        "Bị phê bình lần thứ hai trong năm 2023 (mục 3): tỷ lệ hồ sơ thanh toán trực tuyến"
    )
    assert "; từ ngày 01/4/2023-31/8/2023 chỉ đạt 16,04%" in criticism
    assert (
        "đăng tải 02 tin bài, văn bản trên Trang thông tin điện tử trong tháng 8/2023, chưa đạt mức tối thiểu 04"
        in criticism
    )


def test_first_criticism_request_and_no_decision():
    ctx = _ctx()
    ctx.decisions["sections"][2].update(count=1, ordinal=None)
    assert decision_lines(ctx, "X-HD")[0].startswith("Bị phê bình lần đầu trong năm 2023 (mục 3):")
    ctx.decisions["units"]["X-HD"]["decisions"] = [{"kind": "request", "section": "3"}]
    assert decision_lines(ctx, "X-HD")[0].startswith("Được đề nghị khắc phục (mục 3): tỷ lệ hồ sơ")
    ctx.decisions["units"]["X-HD"]["decisions"] = []
    assert decision_lines(ctx, "X-HD") == [
        "Đơn vị không thuộc diện biểu dương, nhắc nhở hay phê bình trong tháng 8/2023."
    ]


def test_undefined_rates_read_no_dossiers():
    ctx = _ctx()
    payment = ctx.decisions["units"]["P-TC"]["figures"]["payment"]
    payment["month"] = {"numerator": 0, "denominator": 0, "shown": None, "text": None}
    body = compose_message(ctx, _recipients(ctx)["taichinh@thu.gov.vn"]).get_body(("plain",)).get_content()
    assert "Thanh toán trực tuyến trên Cổng dịch vụ công: tháng 8/2023 không phát sinh hồ sơ;" in body


def test_names_with_markup_are_escaped_in_html():
    ctx = _ctx()
    ctx.decisions["units"]["X-HK"]["name"] = "UBND xã <Hà> & Kỳ"
    html = compose_message(ctx, _recipients(ctx)["haky@thu.gov.vn"]).get_body(("html",)).get_content()
    assert "UBND xã &lt;Hà&gt; &amp; Kỳ" in html and "<Hà>" not in html


# --- issue 11: one trích yếu, the wording of the lines ----------------------------------------------


def test_the_subject_is_the_letters_trich_yeu_and_a_configured_one_may_quote_it():
    from cchc.core.wording import summary_line
    from cchc.delivery.compose import letter_summary

    ctx = _ctx()
    summary = summary_line(ctx.decisions, ctx.authority.letter_wording)
    assert letter_summary(ctx) == summary
    assert subject_line(ctx) == f"Công văn số 15/UBND-NV {summary}"
    body = compose_message(ctx, _recipients(ctx)["haky@thu.gov.vn"]).get_body(("plain",)).get_content()
    assert f"gửi Công văn số 15/UBND-NV {summary} (tệp PDF đính kèm)" in body
    ctx = _ctx(subject="[CCHC {period_label}] {summary}")
    assert subject_line(ctx) == f"Công văn số 15/UBND-NV [CCHC 8/2023] {summary}"


def test_a_first_criticism_reads_without_a_parenthesis_after_a_parenthesis():
    ctx = _ctx()
    ctx.decisions["sections"][2].update(count=1, ordinal=None)
    [line] = [x for x in decision_lines(ctx, "X-HD") if x.startswith("Bị phê bình")]
    assert line.startswith("Bị phê bình lần đầu trong năm 2023 (mục 3): ")
    assert ") (" not in line and "((" not in line


def test_a_vertical_agency_reminded_is_asked_in_its_email():
    ctx = _ctx()
    ctx.decisions["units"]["X-HK"]["kind"] = "vertical_agency"
    lines = decision_lines(ctx, "X-HK")
    assert any(x.startswith("Được đề nghị quan tâm (mục 2.") for x in lines), lines
    assert not [x for x in lines if x.startswith("Bị nhắc nhở")]


_TO_HEADER = re.compile(rb"^To: .*?\r\n(?! )", re.MULTILINE | re.DOTALL)


def _without_to(wire: bytes) -> bytes:
    return _TO_HEADER.sub(b"", wire, count=1)


def _to(wire: bytes) -> tuple[str, str]:
    [address] = email.message_from_bytes(wire, policy=policy.default)["To"].addresses
    return address.display_name.replace(" ", ""), address.addr_spec


def test_the_wire_bytes_are_those_of_the_smtp_policy_with_the_headers_remembered():
    from cchc.delivery import wire

    wire._cache.clear()
    wire._headers.clear()  # the first round parses and folds every header afresh
    ctx = _ctx()
    date = datetime(2023, 9, 5, tzinfo=UTC)
    first: dict[tuple[str, str], bytes] = {}
    for round_ in range(2):  # the second time every shared header is a remembered one
        for key, recipient in _recipients(ctx).items():
            for kind, batch, to in (("normal", "", None), ("test", "b", "thunghiem@thu.gov.vn")):
                message = compose_message(ctx, recipient, kind=kind, batch=batch, envelope_to=to, date=date)
                wire_bytes = message_bytes(message)
                standard = message.as_bytes(policy=policy.SMTP)
                # The recipient's header is folded directly (test_delivery_wire.py: it reads the same).
                assert _without_to(wire_bytes) == _without_to(standard)
                assert _to(wire_bytes) == _to(standard)
                wire_bytes = re.sub(rb"={15}\d+==", b"BOUNDARY", wire_bytes)  # random per message
                if round_ == 0:
                    first[key, kind] = wire_bytes
                else:
                    assert wire_bytes == first[key, kind]
    assert len({first[k, "normal"] for k in _recipients(ctx)}) == len(_recipients(ctx))
