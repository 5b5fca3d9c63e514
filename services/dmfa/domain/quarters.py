"""Quarters and the DmfA deadlines (dmfa.md §8): pure date arithmetic.

Working days are not computed here: the caller passes ``add_working_days(day, n)`` (the
kit's Belgian calendar), so the domain stays free of any calendar source.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta

AddWorkingDays = Callable[[date, int], date]

_QUARTER_TEXT = re.compile(r"^\s*(\d{4})\s*[-/Qq ]?\s*([1-4])\s*$")


def is_quarter(quarter: int) -> bool:
    """A ``YYYYQ`` value from 20031 with Q in 1..4."""
    return quarter >= 20031 and 1 <= quarter % 10 <= 4 and quarter < 100000


def parse_quarter(text: str) -> int:
    """``2025-1``, ``2025/1``, ``2025Q1`` or ``20251`` -> 20251."""
    match = _QUARTER_TEXT.match(text)
    if not match:
        raise ValueError(f"not a quarter: {text!r} (use e.g. 2025-1)")
    quarter = int(match.group(1)) * 10 + int(match.group(2))
    if not is_quarter(quarter):
        raise ValueError(f"not a DmfA quarter: {text!r} (from 2003-1)")
    return quarter


def bounds(quarter: int) -> tuple[date, date]:
    """First and last day of a quarter."""
    year, q = divmod(quarter, 10)
    start = date(year, 3 * q - 2, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, end - timedelta(days=1)


def quarter_of(day: date) -> int:
    """The quarter a day falls in."""
    return day.year * 10 + (day.month - 1) // 3 + 1


def previous(quarter: int) -> int:
    """The quarter before (activity in Q-1 makes an employer active in Q)."""
    year, q = divmod(quarter, 10)
    return (year - 1) * 10 + 4 if q == 1 else year * 10 + q - 1


def following(quarter: int) -> int:
    """The quarter after."""
    year, q = divmod(quarter, 10)
    return (year + 1) * 10 + 1 if q == 4 else year * 10 + q + 1


def legal_due_date(quarter: int) -> date:
    """The last day of the month after the quarter: 30 Apr, 31 Jul, 31 Oct, 31 Jan. A due
    date on a weekend or a holiday is not moved (default)."""
    _, end = bounds(quarter)
    month_after = add_months(end.replace(day=1), 1)
    return month_after.replace(day=calendar.monthrange(month_after.year, month_after.month)[1])


def deadline(
    quarter: int, *, approved_secretariat: bool, extra_days: int, add_working_days: AddWorkingDays
) -> date:
    """The applicable deadline: the legal due date, plus ``extra_days`` working days when an
    approved social secretariat declares for the employer (Q1 2025: 30 Apr -> 22 May)."""
    due = legal_due_date(quarter)
    return add_working_days(due, extra_days) if approved_secretariat else due


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def prescription_date(quarter: int, *, years: int, margin_days: int) -> date:
    """From the day after this date a quarter is at risk of prescription or prescribed
    (00013-313): due date + ``years`` years − ``margin_days``."""
    due = legal_due_date(quarter)
    return add_months(due, 12 * years) - timedelta(days=margin_days)


def mon_sat_days(start: date, end: date) -> int:
    """Monday-to-Saturday days from ``start`` to ``end`` inclusive."""
    if end < start:
        return 0
    total = (end - start).days + 1
    weeks, rest = divmod(total, 7)
    count = weeks * 6
    weekday = start.weekday()
    for i in range(rest):
        if (weekday + i) % 7 != 6:
            count += 1
    return count
