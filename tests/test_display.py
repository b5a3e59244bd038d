"""The Vietnamese display of rates (BRIEF §2): exact half-up, decimal comma, trailing zeros dropped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cchc.core.percent import change, format_change, format_percent, percent_text, shown_percent


@pytest.mark.parametrize(
    ("numerator", "denominator", "text"),
    [
        (229, 800, "28,63%"),  # 28,625: a half, rounded up on the exact fraction
        (283, 1000, "28,3%"),  # trailing zero dropped
        (1, 8, "12,5%"),
        (5, 5, "100%"),
        (0, 7, "0%"),
        (2, 3, "66,67%"),
        (1, 3, "33,33%"),
        (1, 20_000, "0,01%"),  # 0,005 → half up
        (1, 20_001, "0%"),
    ],
)
def test_shown_rates(numerator, denominator, text):
    assert percent_text(numerator, denominator) == text


def test_no_dossiers_is_undefined_not_zero_or_hundred():
    assert shown_percent(0, 0) is None
    assert format_percent(None) == "không phát sinh hồ sơ"
    assert change(None, Decimal("50")) is None


def test_changes_are_differences_of_the_shown_rates():
    assert format_change(change(Decimal("97.13"), Decimal("97.67"))) == "tăng 0,54%"
    assert format_change(change(Decimal("50.34"), Decimal("80.2"))) == "tăng 29,86%"
    assert format_change(change(Decimal("81.4"), Decimal("80.2"))) == "giảm 1,2%"
    assert format_change(change(Decimal("80.2"), Decimal("80.2"))) == "không đổi"


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        shown_percent(-1, 5)
