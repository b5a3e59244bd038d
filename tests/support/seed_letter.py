"""The seed letter's figures as printed (Tứ Kỳ, August 2023), copied from ../shared/seed/000_882e96cdb797c63c.txt.

tests/test_seed_scenario.py checks them against the scenario's counts with the project's arithmetic,
tests/warehouse/test_warehouse_seed.py against the rates the warehouse computes in SQL.
"""

from __future__ import annotations

# (unit name as printed, receipt, result, payment) in August 2023; None where the letter prints none.
COMMENDED = [
    ("Phòng Kinh tế và Hạ tầng huyện", "100%", "100%", "75%"),
    ("Phòng Nội vụ huyện", "100%", "100%", None),
    ("UBND xã Quảng Nghiệp", "99,03%", "100%", "100%"),
    ("UBND xã Quang Khải", "99,15%", "99,43%", "86,83%"),
    ("UBND xã Đại Hợp", "99,07%", "100%", "95,17%"),
    ("UBND xã Đại Sơn", "99,44%", "100%", "98,34%"),
    ("UBND xã Hà Kỳ", "99,68%", "100%", "96,77%"),
    ("UBND xã Quang Trung", "98,83%", "100%", "96,77%"),
]

# (unit, August payment rate, 01/4–31/8 payment rate, website shortfall named in the letter)
PAYMENT = [
    ("Phòng Tài chính - Kế hoạch huyện", "67,27%", "28,16%", False),
    ("UBND xã Cộng Lạc", "61,88%", "13,15%", False),
    ("UBND xã Hà Kỳ", "96,77%", "28,3%", False),
    ("UBND xã Tái Sơn", "44,33%", "12,32%", False),
    ("UBND xã Tân Kỳ", "78,18%", "19,52%", False),
    ("UBND xã Hưng Đạo", "24,27%", "16,05%", True),
    ("UBND xã Phượng Kỳ", "13,33%", "8,97%", False),
    ("UBND xã Dân Chủ", "19,51%", "12,5%", True),
    ("UBND xã Tiên Động", "4,11%", "1,45%", True),
]
