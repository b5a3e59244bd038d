"""Reporting periods (calendar months).

Logic never reads the wall clock: a run's period comes from its logical date or from the
``period`` param of a manual run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cchc.core.errors import ConfigError

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ConfigError(f"tháng không hợp lệ: {self.month} (phải từ 1 đến 12)")
        if not 1900 <= self.year <= 9999:
            raise ConfigError(f"năm không hợp lệ: {self.year}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``YYYY-MM``; anything else is refused with the offending text."""
        match = _PERIOD_RE.match(str(text).strip())
        if not match:
            raise ConfigError(f"kỳ báo cáo '{text}' không đúng dạng YYYY-MM (ví dụ 2023-08)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def before(cls, logical_date: datetime | date) -> Period:
        """The calendar month before ``logical_date``, read in Asia/Ho_Chi_Minh.

        A run scheduled on 2023-09-01 00:00 (Vietnam) reports on August 2023. A naive datetime is
        taken as UTC, which is what Airflow hands out.
        """
        if isinstance(logical_date, datetime):
            if logical_date.tzinfo is None:
                logical_date = logical_date.replace(tzinfo=ZoneInfo("UTC"))
            local = logical_date.astimezone(TIMEZONE).date()
        else:
            local = logical_date
        return cls(local.year, local.month).previous()

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day.fromordinal(self.next().first_day.toordinal() - 1)

    def months_since(self, start: Period) -> list[Period]:
        """Every month from ``start`` to this one, both included (empty if start is later)."""
        out: list[Period] = []
        current = start
        while current <= self:
            out.append(current)
            current = current.next()
        return out

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """As the letter writes it: ``8/2023``."""
        return f"{self.month}/{self.year}"


def resolve_period(params: dict | None, logical_date: datetime | date | None) -> Period:
    """The period of a DAG run: the ``period`` param when given, else the month before the logical date."""
    explicit = (params or {}).get("period")
    if explicit:
        return Period.parse(explicit)
    if logical_date is None:
        raise ConfigError(
            "không xác định được kỳ báo cáo: lần chạy không có logical date và không có tham số 'period'"
        )
    return Period.before(logical_date)
