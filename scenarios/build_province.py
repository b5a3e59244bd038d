"""Builds the province scenario: thành phố Hải Phòng after the 2025 merger, January–March 2026.

Writes ``province/hai-phong/units.csv``, ``monthly.csv`` and ``history.csv`` (``authority.yaml`` is kept
by hand). 33 units, as a provincial committee's letter of 2026 addresses them: 10 departments (Sở),
3 vertical agencies (Công an, Bảo hiểm xã hội, Thuế thành phố), 9 wards, 9 communes and the two special
zones (Cát Hải, Bạch Long Vĩ). The authority's rulebook sets a 60% online-payment target from
2026-01-01, so the payment campaign of 2026 is the year to date.

Each unit has a role in March 2026 (the ``ROLES`` table) and counts built for it, so that the letter
of March has a unit in every section: commendations (departments, a vertical agency, wards with
official email, communes); reminders on results, on receipt and on payment, with a vertical agency
and a commune in one group and two communes whose registry titles are written in full; criticisms
of two departments, a commune and a special zone the first time and of a commune the second time;
a vertical agency requested; the others in no section. Criticisms issued before the system existed
(history.csv) are exactly the months in which a unit's month and campaign-to-date payment rates were
both under the target, which ``check`` verifies against the counts.

The shown-rate arithmetic, ``roles_of`` (the decisions a unit's counts lead to) and the CSV writers are
``cchc.scenario.roles``, shared with ``cchc scenario generate`` (the national scenario). The output is
deterministic (one random stream per unit code). Run: ``.venv/bin/python scenarios/build_province.py``.
tests/test_province_scenario.py reads the letter this scenario gives.
"""

from __future__ import annotations

import random
from pathlib import Path

from cchc.scenario.roles import (
    LOCAL_KINDS,
    Bars,
    check_counts,
    counts_for,
    roles_of,
    write_history,
    write_monthly,
    write_units,
)

HERE = Path(__file__).resolve().parent / "province" / "hai-phong"
YEAR = 2026
MONTHS = (1, 2, 3)
DOMAIN = "haiphong.example.gov.vn"  # not a real mail domain: the scenario never mails anyone real
BARS = Bars(target=6000)  # the default rulebook's bars with the city's 60% online-payment target
POSTS_REQUIRED = 4

# code, name, kind, head_title (three forms on purpose: the title with the kind, the title in full,
# the title alone; the letter groups the heads whatever the form), mailbox.
UNITS = [
    ("S-NV", "Sở Nội vụ", "department", "Giám đốc Sở", "sonoivu"),
    ("S-TC", "Sở Tài chính", "department", "Giám đốc Sở", "sotaichinh"),
    ("S-TP", "Sở Tư pháp", "department", "Giám đốc Sở", "sotuphap"),
    ("S-XD", "Sở Xây dựng", "department", "Giám đốc Sở", "soxaydung"),
    ("S-NNMT", "Sở Nông nghiệp và Môi trường", "department", "Giám đốc Sở", "sonnmt"),
    ("S-CT", "Sở Công Thương", "department", "Giám đốc Sở", "socongthuong"),
    ("S-KHCN", "Sở Khoa học và Công nghệ", "department", "Giám đốc Sở", "sokhcn"),
    ("S-GDDT", "Sở Giáo dục và Đào tạo", "department", "Giám đốc Sở", "sogddt"),
    ("S-YT", "Sở Y tế", "department", "Giám đốc Sở", "soyte"),
    ("S-VHTTDL", "Sở Văn hóa, Thể thao và Du lịch", "department", "Giám đốc Sở", "sovhttdl"),
    ("CA", "Công an thành phố Hải Phòng", "vertical_agency", "Giám đốc Công an thành phố", "congan"),
    (
        "BHXH",
        "Bảo hiểm xã hội thành phố Hải Phòng",
        "vertical_agency",
        "Giám đốc Bảo hiểm xã hội thành phố",
        "bhxh",
    ),
    ("THUE", "Thuế thành phố Hải Phòng", "vertical_agency", "Trưởng Thuế thành phố", "thue"),
    ("P-HB", "UBND phường Hồng Bàng", "ward", "Chủ tịch UBND phường", "hongbang"),
    ("P-NQ", "UBND phường Ngô Quyền", "ward", "Chủ tịch UBND phường", "ngoquyen"),
    ("P-LC", "UBND phường Lê Chân", "ward", "Chủ tịch UBND phường", "lechan"),
    ("P-HA", "UBND phường Hải An", "ward", "Chủ tịch UBND phường", "haian"),
    ("P-KA", "UBND phường Kiến An", "ward", "Chủ tịch UBND phường", "kienan"),
    ("P-DS", "UBND phường Đồ Sơn", "ward", "Chủ tịch UBND phường", "doson"),
    ("P-TN", "UBND phường Thủy Nguyên", "ward", "Chủ tịch UBND phường", "thuynguyen"),
    ("P-HD", "UBND phường Hải Dương", "ward", "Chủ tịch UBND phường", "haiduong"),
    ("P-CL", "UBND phường Chí Linh", "ward", "Chủ tịch UBND phường", "chilinh"),
    ("X-KT", "UBND xã Kiến Thụy", "commune", "Chủ tịch UBND xã Kiến Thụy", "kienthuy"),
    ("X-AL", "UBND xã An Lão", "commune", "Chủ tịch UBND xã An Lão", "anlao"),
    ("X-TL", "UBND xã Tiên Lãng", "commune", "Chủ tịch UBND xã Tiên Lãng", "tienlang"),
    ("X-VB", "UBND xã Vĩnh Bảo", "commune", "Chủ tịch UBND xã Vĩnh Bảo", "vinhbao"),
    ("X-NS", "UBND xã Nam Sách", "commune", "Chủ tịch UBND xã Nam Sách", "namsach"),
    ("X-TH", "UBND xã Thanh Hà", "commune", "Chủ tịch UBND xã Thanh Hà", "thanhha"),
    ("X-TK", "UBND xã Tứ Kỳ", "commune", "Chủ tịch UBND xã Tứ Kỳ", "tuky"),
    ("X-GL", "UBND xã Gia Lộc", "commune", "Chủ tịch UBND xã Gia Lộc", "gialoc"),
    ("X-NG", "UBND xã Ninh Giang", "commune", "Chủ tịch UBND xã Ninh Giang", "ninhgiang"),
    ("DK-CH", "UBND đặc khu Cát Hải", "special_zone", "Chủ tịch", "cathai"),
    ("DK-BLV", "UBND đặc khu Bạch Long Vĩ", "special_zone", "Chủ tịch", "bachlongvi"),
]
OFFICIAL_EMAIL = {"P-HB", "P-NQ"}  # wards that use official email regularly (their own commend group)

# What March 2026 says about each unit (the roles ``check`` verifies). Units not listed: no section.
ROLES = {
    "S-NV": {"commend"},  # no fee-bearing procedures: commended on digitisation alone
    "S-TP": {"commend"},
    "CA": {"commend", "remind:receipt:low_ytd"},  # a vertical agency commended "theo chỉ tiêu đề ra"
    "P-HB": {"commend"},
    "P-NQ": {"commend"},
    "X-TK": {"commend"},
    "DK-CH": {"commend"},
    "S-XD": {"remind:result:low_month"},
    "X-AL": {"remind:result:low_ytd"},
    "X-KT": {"remind:receipt:low_month"},  # with Vĩnh Bảo: "Chủ tịch UBND các xã Kiến Thụy và Vĩnh Bảo"
    "X-VB": {"remind:receipt:low_month"},
    "P-LC": {"remind:receipt:low_ytd"},  # with Công an: a vertical agency asked, a ward required
    "BHXH": {"remind:payment:low_month"},  # with Nam Sách: the same in a payment group
    "X-NS": {"remind:payment:low_month"},
    "S-CT": {"remind:payment:low_campaign"},
    "P-KA": {"remind:payment:low_campaign"},
    "S-GDDT": {"criticise"},
    "S-YT": {"criticise"},
    "X-TL": {"criticise"},
    "DK-BLV": {"criticise"},
    "X-TH": {"criticise"},  # criticised in February too (history.csv): "lần thứ hai"
    "THUE": {"request"},  # a vertical agency that would be criticised is requested
}
# Criticisms before March 2026 (history.csv): unit → months.
CRITICISED_BEFORE = {"S-CT": [1], "P-KA": [1], "X-TH": [2]}

# Rates per month (hundredths of a percent) where a unit's role needs them; the others get the
# "no section" profile (receipt 95–98%, results ≥ 99,2%, payment 65–92%).
RECEIPT = {
    "S-NV": (9800, 9900, 10000),
    "S-TP": (9900, 9850, 10000),
    "CA": (8000, 8100, 9950),
    "P-HB": (9900, 9920, 9925),
    "P-NQ": (9880, 9900, 9960),
    "X-TK": (9870, 9890, 9930),
    "DK-CH": (9900, 9900, 10000),
    "X-KT": (9600, 9500, 8500),
    "X-VB": (9650, 9550, 8200),
    "P-LC": (8000, 8100, 9600),
}
RESULT = {
    "S-NV": (10000, 10000, 10000),
    "S-TP": (10000, 10000, 10000),
    "CA": (9950, 9960, 10000),
    "P-HB": (10000, 10000, 10000),
    "P-NQ": (9950, 10000, 10000),
    "X-TK": (10000, 9960, 10000),
    "DK-CH": (10000, 10000, 10000),
    "S-XD": (9950, 9800, 8500),
    "X-AL": (8000, 8200, 9600),
}
PAYMENT = {
    "S-TP": (7000, 7200, 7500),
    "CA": (8200, 8400, 8500),
    "P-HB": (8800, 9000, 9200),
    "P-NQ": (8500, 8700, 8900),
    "X-TK": (8000, 8200, 8600),
    "DK-CH": (7500, 8000, 8500),
    "BHXH": (8000, 8000, 4500),
    "X-NS": (8000, 7800, 5000),
    "S-CT": (3000, 6500, 6500),
    "P-KA": (3500, 7000, 6600),
    "S-GDDT": (6500, 6300, 2000),
    "S-YT": (6600, 6400, 2500),
    "X-TL": (6500, 6400, 2200),
    "DK-BLV": (6000, 6000, 2000),  # 3 of 5 dossiers, 3 of 5, 1 of 5
    "X-TH": (6500, 2000, 3000),
    "THUE": (6800, 6500, 2500),
}
# Dossiers per month: (received from, to), (fee-bearing from, to); the month's fee dossiers are larger
# where a low month must weigh on the campaign-to-date rate.
VOLUME = {
    "department": ((60, 420), (20, 140)),
    "vertical_agency": ((900, 2400), (150, 600)),
    "ward": ((220, 700), (60, 220)),
    "commune": ((150, 520), (40, 180)),
    "special_zone": ((20, 160), (8, 60)),
}
HEAVY_MARCH = {"S-GDDT", "S-YT", "X-TL", "X-TH"}
# Volumes fixed where a year-to-date or campaign rate depends on how the months weigh against each other.
RECEIVED = {"CA": (1820, 1750, 1640), "P-LC": (510, 480, 465), "X-AL": (310, 295, 300)}
FEES = {"S-CT": (120, 85, 80), "P-KA": (150, 110, 100), "BHXH": (60, 55, 50), "X-NS": (90, 85, 80)}
NO_FEES = {"S-NV", "S-KHCN"}  # departments without fee-bearing procedures
POSTS = {("DK-BLV", 3): 2, ("X-TH", 3): 3}  # under the required 4 in March
SMALL = {"DK-BLV": (15, 5)}  # Bạch Long Vĩ, an island of a few hundred people: (received, fee dossiers)


def build() -> dict[str, dict[int, dict[str, int]]]:
    data: dict[str, dict[int, dict[str, int]]] = {}
    for code, _name, kind, _title, _mail in UNITS:
        rng = random.Random(f"hai-phong-{YEAR}-{code}")
        (r_lo, r_hi), (f_lo, f_hi) = VOLUME[kind]
        data[code] = {}
        for m in MONTHS:
            received = rng.randint(r_lo, r_hi)
            received = SMALL[code][0] if code in SMALL else RECEIVED.get(code, (received,) * 3)[m - 1]
            resolved = max(1, received - rng.randint(0, max(1, received // 12)))
            fee = rng.randint(f_lo, f_hi)
            fee = SMALL[code][1] if code in SMALL else FEES.get(code, (fee,) * 3)[m - 1]
            if code in NO_FEES:
                fee = 0
            elif m == 3 and code in HEAVY_MARCH:
                fee *= 2  # a heavy month, whose low rate pulls the campaign under the target
            receipt = RECEIPT.get(code, (None,) * 3)[m - 1] or rng.randint(9520, 9790)
            result = RESULT.get(code, (None,) * 3)[m - 1] or rng.randint(9930, 10000)
            payment = PAYMENT.get(code, (None,) * 3)[m - 1] or rng.randint(6600, 9200)
            data[code][m] = {
                "received": received,
                "received_digitized": counts_for(receipt, received),
                "resolved": resolved,
                "resolved_digitized": counts_for(result, resolved),
                "fee_dossiers": fee,
                "paid_online": counts_for(payment, fee),
                "web_posts": POSTS.get((code, m), rng.randint(POSTS_REQUIRED, 9)),
            }
    return data


def roles_in(data: dict, code: str, kind: str, m: int) -> set[str]:
    """The decisions of the default rulebook (with the 60% target) about a unit in month ``m``."""
    return roles_of(kind, [data[code][k] for k in range(1, m + 1)], BARS)


def check(data: dict) -> None:
    """The construction's own guard: March's roles are ROLES; earlier criticisms are the history's."""
    for code, _name, kind, _title, _mail in UNITS:
        assert roles_in(data, code, kind, 3) == ROLES.get(code, set()), (code, roles_in(data, code, kind, 3))
        for m in (1, 2):
            criticised = "criticise" in roles_in(data, code, kind, m)
            assert criticised == (m in CRITICISED_BEFORE.get(code, [])), (code, m)
        for m in MONTHS:
            check_counts(code, f"{YEAR}-{m:02d}", data[code][m])


def write(data: dict) -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    write_units(HERE / "units.csv", [(c, n, k, t, f"{mail}@{DOMAIN}") for c, n, k, t, mail in UNITS])
    write_monthly(
        HERE / "monthly.csv",
        [
            (
                f"{YEAR}-{m:02d}",
                code,
                data[code][m],
                (code in OFFICIAL_EMAIL) if kind in LOCAL_KINDS else None,
            )
            for m in MONTHS
            for code, _name, kind, _title, _mail in UNITS
        ],
    )
    write_history(
        HERE / "history.csv",
        [(f"{YEAR}-{m:02d}", code, 1) for code, months in CRITICISED_BEFORE.items() for m in months],
    )


def main() -> None:
    data = build()
    check(data)
    write(data)


if __name__ == "__main__":
    main()
