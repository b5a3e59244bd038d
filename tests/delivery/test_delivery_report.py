"""The operators' summary and the failure alert, sent through the real SMTP sink; the CLI."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest
from support.delivery import OPERATOR, delivery_authority

from cchc.delivery import cli
from cchc.delivery.distribute import SendPolicy, distribute
from cchc.delivery.notices import failure_alert_message, failure_alert_text, send_notice, send_summary


def test_summary_email_to_the_operators_lists_failures_and_unknowns(sqlite_engine, smtp_server, letter):
    smtp_server.handler.reject["haky@thu.gov.vn"] = "550 5.1.1 <haky@thu.gov.vn>: Recipient address rejected"
    authority = delivery_authority()
    result = distribute(
        sqlite_engine,
        authority,
        "2023-08",
        smtp_server.settings(),
        output_dir=letter.output_dir,
        policy=SendPolicy(sleep=lambda s: None),
    )
    before = len(smtp_server.handler.received)
    outcome = send_summary(
        sqlite_engine, authority, result.letter_id, smtp_server.settings(), missing_email=["X-ZZ"]
    )
    assert outcome == {OPERATOR["email"]: "sent"}
    [summary] = smtp_server.handler.received[before:]
    assert summary.rcpt_tos == [OPERATOR["email"]]
    message = summary.message
    assert message["Subject"] == (
        "[CCHC] Kết quả gửi Công văn số 15/UBND-NV tháng 8/2023: 4 đã gửi, 1 lỗi, 0 không rõ"
    )
    body = message.get_content()
    assert "Thư bị máy chủ từ chối" in body
    assert (
        "Chủ tịch UBND xã Hà Kỳ <haky@thu.gov.vn> [X-HK]: 550 5.1.1 <haky@thu.gov.vn>: Recipient address rejected"
        in body
    )
    assert "Đơn vị chưa có địa chỉ email (không gửi được): X-ZZ" in body


def test_failure_alert_from_an_airflow_like_context():
    ti = SimpleNamespace(
        dag_id="cchc_letters",
        task_id="distribute",
        run_id="manual__2023-09-05",
        try_number=2,
        log_url="http://localhost:8080/dags/cchc_letters/runs/x/tasks/distribute",
    )
    context = {
        "ti": ti,
        "params": {"period": "2023-08", "authority": "tu-ky"},
        "exception": RuntimeError("kết nối postgresql://cchc:s3cr3t@db/cchc thất bại"),
    }
    subject, body = failure_alert_text(context)
    assert subject == "[CCHC] Lỗi tác vụ cchc_letters.distribute kỳ 2023-08"
    assert "- Tác vụ: distribute" in body and "- Lần chạy: manual__2023-09-05" in body
    assert "- Kỳ báo cáo: 2023-08" in body and "- Cơ quan: tu-ky" in body and "- Lần thử: 2" in body
    assert "RuntimeError: kết nối postgresql://cchc:***@db/cchc thất bại" in body and "s3cr3t" not in body
    assert "Xem nhật ký: http://localhost:8080/dags/cchc_letters/runs/x/tasks/distribute" in body


def test_failure_alert_from_plain_keys_is_sent(smtp_server):
    message = failure_alert_message(
        {
            "dag_id": "cchc_monthly",
            "task_id": "extract",
            "run_id": "scheduled__1",
            "period": "2023-08",
            "exception": "Cổng dịch vụ công không trả lời",
        },
        sender="cchc@thu.gov.vn",
        to=[OPERATOR["email"]],
    )
    assert send_notice(smtp_server.settings(), message, sleep=lambda s: None) == {OPERATOR["email"]: "sent"}
    [received] = smtp_server.handler.received
    assert received.message["Subject"] == "[CCHC] Lỗi tác vụ cchc_monthly.extract kỳ 2023-08"
    assert "Cổng dịch vụ công không trả lời" in received.message.get_content()


def _args(letter, smtp_server, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(
        [
            "--authority",
            "demo",
            "--period",
            "2023-08",
            "--output-dir",
            str(letter.output_dir),
            "--url",
            str(letter.url),
            "--smtp",
            f"smtp://127.0.0.1:{smtp_server.port}?disable_ssl=true&disable_tls=true&from_email=cchc%40thu.gov.vn",
            *extra,
        ]
    )


@pytest.fixture
def cli_letter(letter, sqlite_engine, tmp_path, monkeypatch):
    """The letter fixture plus a config folder with the demo authority, for the CLI."""
    from support.authorities import authority_document, write_config
    from support.delivery import UNITS, distribution

    document = authority_document(
        "demo",
        "huyện Thử",
        "D",
        recipients=["Chủ tịch UBND các xã"],
        copies=["Như trên"],
        distribution=distribution(),
    )
    write_config(tmp_path / "config" / "demo", document, UNITS)
    monkeypatch.setenv("CCHC_CONFIG_DIR", str(tmp_path / "config"))
    letter.url = sqlite_engine.url.render_as_string(hide_password=False)
    return letter


def test_cli_dry_run_then_real_then_report(cli_letter, smtp_server, capsys):
    assert cli.run_from_args(_args(cli_letter, smtp_server, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "thử nghiệm → thunghiem@thu.gov.vn" in out and "gửi lần này 5" in out
    assert {a for r in smtp_server.handler.received for a in r.rcpt_tos} == {"thunghiem@thu.gov.vn"}

    assert cli.run_from_args(_args(cli_letter, smtp_server)) == 0
    out = capsys.readouterr().out
    assert "công văn 15/UBND-NV (gửi chính thức)" in out and "gửi lần này 5" in out
    assert "đã gửi thư tổng hợp" in out
    assert len(smtp_server.handler.received) == 5 + 5 + 1  # dry run, letters, summary

    assert cli.run_from_args(_args(cli_letter, smtp_server, "--resend", "X-HK", "--no-summary")) == 0
    assert smtp_server.handler.received[-1].rcpt_tos == ["haky@thu.gov.vn"]

    assert cli.run_from_args(_args(cli_letter, smtp_server, "--report")) == 0
    # Real deliveries only (issue 10): the five messages of the dry run are not the letter's deliveries.
    assert "đã gửi 6, lỗi 0, không rõ 0, chờ gửi 0 (tổng 6)" in capsys.readouterr().out


def test_preview_and_approval_summary_send_nothing(sqlite_engine, smtp_server, letter):
    from support.delivery import UNITS

    from cchc.core.authorities import Unit
    from cchc.delivery.preview import approval_summary, distribution_preview

    units = [*UNITS[:2], Unit("X-HD", "UBND xã Hưng Đạo", "commune", "Chủ tịch UBND xã", "hungdao@gmail.com")]
    preview = distribution_preview(
        sqlite_engine, delivery_authority(units), "2023-08", output_dir=letter.output_dir
    )
    assert preview["document_number"] == "15/UBND-NV" and preview["recipients"] == 5 and preview["units"] == 3
    assert preview["refused"] == ["hungdao@gmail.com của UBND xã Hưng Đạo (X-HD)"]
    text = approval_summary(preview, letter_url="http://files/letter.pdf")
    assert "**Công văn biểu dương, nhắc nhở CCHC tháng 8/2023 — UBND huyện Thử**" in text
    assert "- Tệp PDF: http://files/letter.pdf" in text
    assert "Mục 3 — phê bình lần thứ hai: UBND xã Hưng Đạo." in text
    assert "sẽ bị từ chối" in text
    assert smtp_server.handler.received == []
    import json

    json.dumps(preview)
