"""How the letter shows a rate: exact arithmetic, half-up to two decimals, decimal comma.

Rates are ratios of integer counts, so they are kept as exact fractions and rounded once, on the
exact value: 229/800 = 28,625% is shown 28,63%, which binary floats would get wrong. A rate is
``None`` when its denominator is 0 ("no dossiers"): it is neither 0% nor 100%.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

HUNDRED = Decimal(100)


def ratio(numerator: int, denominator: int) -> Fraction | None:
    """numerator/denominator as an exact fraction, or None when there is nothing to count."""
    if denominator == 0:
        return None
    return Fraction(numerator, denominator)


def shown_percent(numerator: int, denominator: int) -> Decimal | None:
    """The percentage as the letter prints it, e.g. Decimal('97.67'); None when undefined.

    Half-up on the exact fraction: floor(n·10000/d + 1/2) hundredths of a percent.
    """
    if denominator == 0:
        return None
    if numerator < 0 or denominator < 0:
        raise ValueError(f"số đếm âm: {numerator}/{denominator}")
    hundredths = (2 * numerator * 10000 + denominator) // (2 * denominator)
    return Decimal(hundredths) / HUNDRED


def format_decimal(value: Decimal) -> str:
    """Decimal comma, at most two decimals, trailing zeros dropped: 28.30 → '28,3', 100.00 → '100'."""
    quantized = value.quantize(Decimal("0.01"))
    text = f"{quantized:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def format_percent(value: Decimal | None) -> str:
    """'97,67%'; an undefined rate reads 'không phát sinh hồ sơ' (no dossiers)."""
    if value is None:
        return "không phát sinh hồ sơ"
    return f"{format_decimal(value)}%"


def percent_text(numerator: int, denominator: int) -> str:
    return format_percent(shown_percent(numerator, denominator))


def change(previous: Decimal | None, current: Decimal | None) -> Decimal | None:
    """Change in percentage points between two shown rates (so the letter's arithmetic checks out)."""
    if previous is None or current is None:
        return None
    return current - previous


def format_change(delta: Decimal | None) -> str:
    """'tăng 0,54%', 'giảm 1,2%', 'không đổi'."""
    if delta is None:
        return "không so sánh được"
    if delta > 0:
        return f"tăng {format_decimal(delta)}%"
    if delta < 0:
        return f"giảm {format_decimal(-delta)}%"
    return "không đổi"
