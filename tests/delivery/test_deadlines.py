"""What holds a late letter, as the deadline alert names it, and the ``send_by_day`` setting."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from support.delivery import AUTHORITY_ID, PERIOD, delivery_authority, insert_letter

from cchc.core.errors import ConfigError
from cchc.core.periods import Period
from cchc.delivery.deadlines import deadline_of, due_period, what_holds
from cchc.delivery.recipients import distribution_config


def test_the_deadline_day_is_the_authoritys_and_only_last_month_is_checked():
    assert distribution_config(delivery_authority()).send_by_day == 5
    assert distribution_config(delivery_authority(send_by_day=10)).send_by_day == 10
    assert deadline_of(Period(2023, 12), 5) == date(2024, 1, 5)
    assert due_period(date(2023, 9, 5), 5) is None  # on the day itself the letter is on time
    assert due_period(date(2023, 9, 6), 5) == Period(2023, 8)
    assert due_period(date(2024, 1, 31), 5) == Period(2023, 12)
    for wrong in (0, 29, "năm", 2.5, True):
        with pytest.raises(ConfigError, match="send_by_day"):
            distribution_config(delivery_authority(send_by_day=wrong))


def test_what_holds_names_the_figures_the_decisions_and_the_deliveries(sqlite_engine, tmp_path):
    import sqlalchemy as sa

    from cchc.warehouse.schema import deliveries

    authority = delivery_authority()
    period = Period.parse(PERIOD)
    (nothing,) = what_holds(sqlite_engine, authority, period, tmp_path)
    assert nothing.startswith("Kho dữ liệu chưa có số liệu kỳ 8/2023")

    letter_id = insert_letter(sqlite_engine, tmp_path, number=3)
    stamp = datetime(2023, 9, 5, 9, 0, tzinfo=UTC)
    row = dict(
        letter_id=letter_id,
        authority_id=AUTHORITY_ID,
        period=PERIOD,
        kind="normal",
        batch="",
        recipient_name="Chủ tịch UBND xã Hà Kỳ",
        unit_codes="X-HK",
        roles="unit",
        subject="CCHC",
        attempts=1,
        created_at=stamp,
        updated_at=stamp,
        smtp_code=None,
        smtp_answer=None,
        sent_at=None,
    )
    with sqlite_engine.begin() as conn:
        conn.execute(
            deliveries.insert(),
            [
                {
                    **row,
                    "recipient": "haky@thu.gov.vn",
                    "envelope_to": "haky@thu.gov.vn",
                    "message_id": "<a@x>",
                    "state": "failed",
                    "smtp_code": 550,
                    "smtp_answer": "mailbox unavailable",
                },
                {
                    **row,
                    "recipient": "hungdao@thu.gov.vn",
                    "envelope_to": "hungdao@thu.gov.vn",
                    "message_id": "<b@x>",
                    "state": "sent",
                    "sent_at": stamp,
                },
            ],
        )
        conn.execute(
            sa.text("UPDATE letters SET status = 'partly_sent' WHERE letter_id = :i"), {"i": letter_id}
        )
    lines = what_holds(sqlite_engine, authority, period, tmp_path)
    assert lines[0].startswith("Công văn số 03/UBND-NV (gửi chưa đủ, cấp số lúc 16:00 ngày 05/09/2023)")
    assert "đã gửi 1/2 thư; lỗi 1" in lines[1]
    assert "lỗi: Chủ tịch UBND xã Hà Kỳ <haky@thu.gov.vn> — 550 mailbox unavailable" in lines[2]

    with sqlite_engine.begin() as conn:
        conn.execute(sa.text("UPDATE letters SET status = 'sent' WHERE letter_id = :i"), {"i": letter_id})
    assert what_holds(sqlite_engine, authority, period, tmp_path) is None
