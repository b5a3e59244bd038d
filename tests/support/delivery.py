"""The delivery tests' authority: three units with their addresses, distribution lists, a decisions.json.

P-TC is reminded, X-HK commended and reminded, X-HD criticised for the second time (``make_decisions``);
the distribution block sends copies to the district's standing committee and a summary to the office;
``insert_letter`` writes the letter row that rendering and recording would have left.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from cchc.core.authorities import Authority, Unit
from cchc.warehouse.schema import document_numbers, letters

from .authorities import make_authority
from .decisions import rules_at

AUTHORITY_ID = "demo"
PERIOD = "2023-08"
DOMAIN = "thu.gov.vn"

UNITS = [
    Unit("P-TC", "Phòng Tài chính - Kế hoạch huyện", "department", "Trưởng phòng", "taichinh@thu.gov.vn"),
    Unit("X-HK", "UBND xã Hà Kỳ", "commune", "Chủ tịch UBND xã", "haky@thu.gov.vn"),
    Unit("X-HD", "UBND xã Hưng Đạo", "commune", "Chủ tịch UBND xã", "hungdao@thu.gov.vn"),
]
COPY = {"name": "Ban Thường vụ Huyện uỷ", "email": "btv@thu.gov.vn"}
OPERATOR = {"name": "Bộ phận CCHC", "email": "cchc-office@thu.gov.vn"}
TEST_ADDRESS = "thunghiem@thu.gov.vn"


def distribution(**overrides: Any) -> dict[str, Any]:
    data = {
        "sender_name": "UBND huyện Thử",
        "copies": [dict(COPY)],
        "operators": [dict(OPERATOR)],
        "allowed_domains": [DOMAIN],
        "require_approval": False,
        "test_address": TEST_ADDRESS,
        "max_attempts": 4,
        "backoff_seconds": 1,
    }
    data.update(overrides)
    return data


def delivery_authority(units: list[Unit] | None = None, **dist: Any) -> Authority:
    """huyện Thử with ``units`` (default ``UNITS``) and its distribution block (``dist`` overrides keys)."""
    return make_authority(
        units if units is not None else UNITS,
        authority_id=AUTHORITY_ID,
        recipients=["Thủ trưởng các cơ quan chuyên môn thuộc UBND huyện", "Chủ tịch UBND các xã, thị trấn"],
        copies=["Như trên", "Ban Thường vụ Huyện uỷ", "Lưu: VT, NV"],
        extra={"distribution": distribution(**dist)},
    )


def _window(numerator: int, denominator: int, shown: str | None, text: str | None) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "shown": shown, "text": text}


def _figures(receipt, result, payment, posts: int) -> dict[str, Any]:
    return {
        "receipt": {
            "month": _window(*receipt[0]),
            "ytd": _window(*receipt[1]),
            "campaign": _window(*receipt[1]),
        },
        "result": {"month": _window(*result[0]), "ytd": _window(*result[1]), "campaign": _window(*result[1])},
        "payment": {
            "month": _window(*payment[0]),
            "ytd": _window(*payment[1]),
            "campaign": _window(*payment[2]),
        },
        "posts": {"month": posts, "required": 4},
    }


def make_decisions() -> dict[str, Any]:
    """P-TC reminded on its month payment rate; X-HK commended and reminded on its campaign payment rate;
    X-HD criticised for the second time (payment month and campaign, and posts)."""
    units = {
        "P-TC": {
            **asdict(UNITS[0]),
            "official_email_regular": None,
            "figures": _figures(
                ((12, 12, "100", "100%"), (90, 90, "100", "100%")),
                ((10, 10, "100", "100%"), (80, 80, "100", "100%")),
                ((1, 8, "12.5", "12,5%"), (20, 60, "33.33", "33,33%"), (15, 40, "37.5", "37,5%")),
                6,
            ),
            "decisions": [{"kind": "remind", "section": "2.1", "metric": "payment", "reason": "low_month"}],
        },
        "X-HK": {
            **asdict(UNITS[1]),
            "official_email_regular": False,
            "figures": _figures(
                ((309, 310, "99.68", "99,68%"), (2401, 2430, "98.81", "98,81%")),
                ((300, 300, "100", "100%"), (2300, 2310, "99.57", "99,57%")),
                ((45, 100, "45", "45%"), (120, 480, "25", "25%"), (70, 310, "22.58", "22,58%")),
                9,
            ),
            "decisions": [
                {"kind": "commend", "section": "1"},
                {"kind": "remind", "section": "2.1", "metric": "payment", "reason": "low_campaign"},
            ],
        },
        "X-HD": {
            **asdict(UNITS[2]),
            "official_email_regular": False,
            "figures": _figures(
                ((200, 205, "97.56", "97,56%"), (1500, 1540, "97.4", "97,4%")),
                ((190, 191, "99.48", "99,48%"), (1400, 1420, "98.59", "98,59%")),
                ((25, 103, "24.27", "24,27%"), (100, 700, "14.29", "14,29%"), (60, 374, "16.04", "16,04%")),
                2,
            ),
            "decisions": [{"kind": "criticise", "section": "3"}],
        },
    }
    payment_reason = {"metric": "payment", "numerator": 0, "denominator": 0}
    return {
        "schema": "cchc.decisions/1",
        "authority": {"id": AUTHORITY_ID, "level": "district", "name": "huyện Thử"},
        "period": PERIOD,
        "period_label": "8/2023",
        "previous_period_label": "7/2023",
        "year": 2023,
        "windows": {
            "ytd": {"start": "2023-01", "end": "2023-08", "label": "8 tháng đầu năm 2023"},
            "campaign": {
                "receipt": {"start": "2023-01", "end": "2023-08", "label": "từ ngày 01/01/2023-31/8/2023"},
                "result": {"start": "2023-01", "end": "2023-08", "label": "từ ngày 01/01/2023-31/8/2023"},
                "payment": {"start": "2023-04", "end": "2023-08", "label": "từ ngày 01/4/2023-31/8/2023"},
            },
        },
        "targets": rules_at(PERIOD).targets_json(),
        "totals": {
            "receipt": {
                "numerator": 521,
                "denominator": 527,
                "shown": "98.86",
                "text": "98,86%",
                "change_text": "tăng 0,54%",
            },
            "result": {
                "numerator": 500,
                "denominator": 501,
                "shown": "99.8",
                "text": "99,8%",
                "change_text": "giảm 0,1%",
            },
            "payment": {
                "numerator": 71,
                "denominator": 211,
                "shown": "33.65",
                "text": "33,65%",
                "change_text": "tăng 2%",
            },
            "posts": {"numerator": 17},
        },
        "shortfalls": {"payment": ["P-TC", "X-HD"], "posts": ["X-HD"]},
        "operator_note": None,
        "units": units,
        "sections": [
            {"number": "1", "kind": "commend", "groups": [{"group": "communes", "units": ["X-HK"]}]},
            {
                "number": "2",
                "kind": "remind",
                "subsections": [
                    {
                        "number": "2.1",
                        "metric": "payment",
                        "groups": [
                            {
                                "reason": "low_month",
                                "entries": [
                                    {
                                        "unit": "P-TC",
                                        "reasons": [
                                            {
                                                **payment_reason,
                                                "window": "month",
                                                "shown": "12.5",
                                                "text": "12,5%",
                                                "threshold": "30",
                                                "comparison": "below",
                                            }
                                        ],
                                    }
                                ],
                                "request": {
                                    "units": ["P-TC"],
                                    "heads": "Trưởng phòng Tài chính - Kế hoạch huyện",
                                    "subjects": "Phòng Tài chính - Kế hoạch huyện",
                                },
                            },
                            {
                                "reason": "low_campaign",
                                "entries": [
                                    {
                                        "unit": "X-HK",
                                        "reasons": [
                                            {
                                                **payment_reason,
                                                "window": "month",
                                                "shown": "45",
                                                "text": "45%",
                                                "threshold": "30",
                                                "comparison": "at_or_above",
                                            },
                                            {
                                                **payment_reason,
                                                "window": "campaign",
                                                "shown": "22.58",
                                                "text": "22,58%",
                                                "threshold": "30",
                                                "comparison": "below",
                                            },
                                        ],
                                    }
                                ],
                                "request": {
                                    "units": ["X-HK"],
                                    "heads": "Chủ tịch UBND xã Hà Kỳ",
                                    "subjects": "UBND xã Hà Kỳ",
                                },
                            },
                        ],
                    }
                ],
            },
            {
                "number": "3",
                "kind": "criticise",
                "count": 2,
                "ordinal": "lần thứ hai",
                "subjects": "UBND xã Hưng Đạo",
                "entries": [
                    {
                        "unit": "X-HD",
                        "reasons": [
                            {
                                **payment_reason,
                                "window": "month",
                                "shown": "24.27",
                                "text": "24,27%",
                                "threshold": "30",
                                "comparison": "below",
                            },
                            {
                                **payment_reason,
                                "window": "campaign",
                                "shown": "16.04",
                                "text": "16,04%",
                                "threshold": "30",
                                "comparison": "below",
                            },
                            {
                                "metric": "posts",
                                "window": "month",
                                "value": 2,
                                "threshold": 4,
                                "comparison": "below",
                            },
                        ],
                    }
                ],
            },
            {"number": "4", "kind": "directives", "addressees": "Chủ tịch UBND các xã, thị trấn"},
        ],
    }


def insert_letter(
    engine: sa.Engine,
    folder: Path,
    *,
    number: int | None = None,
    period: str = PERIOD,
    authority_id: str = AUTHORITY_ID,
) -> int:
    """A rendered letter row, current for its period (and, with ``number``, issued with that number)."""
    stamp = datetime(2023, 9, 5, 9, 0, tzinfo=UTC)

    def sha(name: str) -> str:
        path = folder / name
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "0" * 64

    with engine.begin() as conn:
        conn.execute(
            letters.update()
            .where(letters.c.authority_id == authority_id, letters.c.period == period)
            .values(is_current=False)
        )
        letter_id = conn.execute(
            letters.insert().values(
                authority_id=authority_id,
                period=period,
                status="issued" if number else "draft",
                document_number=number,
                issued_at=stamp if number else None,
                decisions_hash="0" * 64,
                rulebook_version="test",
                docx_path=str(folder / "letter.docx"),
                docx_sha256=sha("letter.docx"),
                pdf_path=str(folder / "letter.pdf"),
                pdf_sha256=sha("letter.pdf"),
                signed=False,
                run_id="test",
                is_current=True,
                created_at=stamp,
            )
        ).inserted_primary_key[0]
        if number is not None:
            conn.execute(
                document_numbers.insert().values(
                    authority_id=authority_id, year=2023, number=number, letter_id=letter_id, issued_at=stamp
                )
            )
    return int(letter_id)
