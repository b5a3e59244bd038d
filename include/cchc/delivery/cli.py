"""``cchc distribute …``: email an issued letter without Airflow (and rehearse it, resend it, report it).

Registered in ``cchc.cli`` through ``add_arguments(parser)`` and ``run_from_args(args)``. The SMTP
server is ``--smtp`` (an Airflow connection URI such as
``smtp://127.0.0.1:8025?disable_ssl=true&disable_tls=true&from_email=cchc%40tuky.haiduong.gov.vn``),
else ``AIRFLOW_CONN_SMTP_DEFAULT`` (URI or JSON), exactly as Airflow reads ``smtp_default``. The
password is never printed.
"""

from __future__ import annotations

import argparse
import json

from cchc.core import options, settings
from cchc.core.db import engine_for, mask_url
from cchc.core.errors import ConfigError
from cchc.delivery.distribute import Request, distribute
from cchc.delivery.errors import DeliveryError, SmtpUnavailable
from cchc.delivery.notices import send_summary
from cchc.delivery.recipients import distribution_config
from cchc.delivery.send import connection_from_uri, smtp_settings_from_connection
from cchc.delivery.status import distribution_report

SMTP_ENV = settings.connection_variable(settings.SMTP_CONN_ID)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_scope(parser, authority_required=True)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="gửi mọi thư tới địa chỉ thử nghiệm (distribution.test_address), tiêu đề có [THỬ NGHIỆM]",
    )
    parser.add_argument(
        "--test-address", default=None, help="địa chỉ nhận thử nghiệm thay cho distribution.test_address"
    )
    parser.add_argument(
        "--resend",
        default=None,
        metavar="MÃ,…",
        help="gửi lại cho các người nhận đã chọn: mã đơn vị hoặc địa chỉ email, cách nhau bởi dấu phẩy",
    )
    parser.add_argument(
        "--batch",
        default=None,
        help="mã yêu cầu của lần gửi lại/thử nghiệm (chạy lại cùng mã không gửi trùng; mặc định: mã mới)",
    )
    parser.add_argument(
        "--report", action="store_true", help="chỉ in kết quả gửi đã ghi trong sổ, không gửi gì"
    )
    parser.add_argument(
        "--settle",
        default=None,
        metavar="ĐỊA_CHỈ,…",
        help="ghi nhận kết quả của thư 'không rõ' sau khi kiểm tra nhật ký máy chủ thư hoặc hỏi người nhận "
        "(cùng --outcome); không gửi gì",
    )
    parser.add_argument(
        "--outcome",
        choices=("sent", "pending"),
        default=None,
        help="với --settle: sent = người nhận đã có thư; pending = chưa có, lần gửi sau sẽ gửi",
    )
    parser.add_argument(
        "--no-summary", action="store_true", help="không gửi thư tổng hợp cho bộ phận theo dõi"
    )
    parser.add_argument(
        "--smtp",
        default=None,
        help=f"kết nối SMTP dạng URI của Airflow (mặc định: biến môi trường {SMTP_ENV})",
    )
    options.add_output_dir(parser)
    options.add_warehouse_url(parser)


def smtp_settings_from_env(uri: str | None = None):
    text = uri or settings.current().connection_uri(settings.SMTP_CONN_ID)
    if not text:
        raise ConfigError(f"chưa có kết nối SMTP: dùng --smtp hoặc đặt biến môi trường {SMTP_ENV}")
    try:
        conn = connection_from_uri(text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"kết nối SMTP không hợp lệ ({type(exc).__name__})") from exc
    return smtp_settings_from_connection(conn)


def _letter_of(engine, authority_id: str, period: str) -> int | tuple[str, str]:
    """The letter that went out (and stands) for the period; else the period's current one."""
    from cchc.letter.records import standing_letter

    standing = standing_letter(engine, authority_id, period)
    return int(standing["letter_id"]) if standing else (authority_id, period)


def _settle(engine, letter: int | tuple[str, str], args: argparse.Namespace) -> int:
    from cchc.delivery.ledger import settle_unknown
    from cchc.delivery.status import sync_letter_state
    from cchc.letter.records import find_letter

    if args.outcome is None:
        raise ConfigError("--settle cần --outcome sent (người nhận đã có thư) hoặc pending (chưa có)")
    ref = find_letter(engine, letter)
    recipients = [r.strip() for r in args.settle.split(",") if r.strip()]
    changed = settle_unknown(engine, ref.letter_id, recipients, args.outcome)
    if changed and args.outcome == "sent":
        from cchc.delivery.status import mark_sending

        mark_sending(engine, ref.letter_id)
        sync_letter_state(engine, ref.letter_id)
    print(
        f"Đã ghi nhận {changed} thư 'không rõ' là "
        f"{'đã gửi' if args.outcome == 'sent' else 'chờ gửi lại'} (công văn bản ghi {ref.letter_id})"
    )
    return 0 if changed == len(recipients) else 1


def _print_report(report: dict) -> None:
    counts = report["counts"]
    print(
        f"  đã gửi {counts['sent']}, lỗi {counts['failed']}, không rõ {counts['unknown']}, "
        f"chờ gửi {counts['pending'] + counts['sending']} (tổng {counts['total']})"
    )
    for state, label in (("failed", "lỗi"), ("unknown", "không rõ"), ("pending", "chờ gửi")):
        for row in report[state]:
            answer = f" — {row['smtp_code'] or ''} {row['smtp_answer'] or ''}".rstrip(" —")
            print(f"  [{label}] {row['recipient']} ({row['kind']}){answer}")


def run_from_args(args: argparse.Namespace) -> int:
    period = options.period(args)
    [authority] = options.authorities(args)
    url = options.warehouse_url(args)
    engine = engine_for(url)
    try:
        if args.report:
            print(f"{authority.id} kỳ {period.label} (kho {mask_url(url)})")
            _print_report(distribution_report(engine, _letter_of(engine, authority.id, str(period))))
            return 0
        letter = _letter_of(engine, authority.id, str(period))
        if args.settle:
            return _settle(engine, letter, args)
        smtp = smtp_settings_from_env(args.smtp)
        resend = [s for s in args.resend.split(",") if s.strip()] if args.resend else None
        try:
            request = Request(
                dry_run=args.dry_run, test_address=args.test_address, resend=resend, batch=args.batch
            )
            result = distribute(engine, authority, letter, smtp, request, output_dir=args.output_dir)
        except SmtpUnavailable as exc:
            if exc.result is None:
                raise
            result = exc.result
            print(f"Lỗi: {exc}")
        mode = {"normal": "gửi chính thức", "resend": "gửi lại", "test": f"thử nghiệm → {result.envelope_to}"}
        print(
            f"{authority.id} kỳ {period.label}, công văn {result.document_number or '(chưa cấp số)'} "
            f"({mode[result.kind]}{', lô ' + result.batch if result.batch else ''}):"
        )
        print(
            f"  gửi lần này {len(result.sent)}, đã gửi trước đó {len(result.already_sent)}, lỗi {len(result.failed)}, "
            f"không rõ {len(result.unknown)}, chờ gửi {len(result.pending)}"
            + (f", đang do lần chạy khác gửi {len(result.in_progress)}" if result.in_progress else "")
        )
        for item in result.failed:
            print(f"  [lỗi] {item['recipient']}: {item['smtp_code'] or ''} {item['smtp_answer']}")
        for item in result.unknown:
            print(f"  [không rõ] {item['recipient']}: {item['smtp_answer']}")
        if result.missing_email:
            print(f"  đơn vị chưa có email: {', '.join(result.missing_email)}")
        if not args.no_summary and result.kind != "test" and distribution_config(authority).operators:
            try:
                send_summary(engine, authority, result.letter_id, smtp, missing_email=result.missing_email)
                print("  đã gửi thư tổng hợp cho bộ phận theo dõi")
            except DeliveryError as exc:
                print(f"  không gửi được thư tổng hợp: {exc}")
        return 0 if result.complete else 1
    finally:
        engine.dispose()
