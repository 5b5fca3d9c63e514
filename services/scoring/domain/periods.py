"""Quarters (``YYYYQ``), years, evaluation dates and the contribution due dates (dmfa.md §8)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from socsec.kit.calendar import WorkingDays

PROVISIONS = ("P1", "P2", "P3")
LEDGER_ITEMS = (*PROVISIONS, "BALANCE")


def is_quarter(value: int) -> bool:
    return 10_000 <= value <= 99_994 and value % 10 in (1, 2, 3, 4)


def parse_period(text: str) -> str:
    """``2026-1``, ``2026Q1``, ``20261`` -> ``20261``; ``2026`` -> ``2026`` (ValueError)."""
    raw = text.strip().upper().replace("Q", "-").replace("/", "-")
    if re.fullmatch(r"\d{4}", raw):
        return raw
    if "-" in raw:
        year, _, q = raw.partition("-")
        raw = f"{year}{q}" if year.isdigit() and len(year) == 4 else ""
    if re.fullmatch(r"\d{4}[1-4]", raw):
        return raw
    raise ValueError(f"{text!r} is not a period (2026-1 or 20261 for a quarter, 2026 for a year)")


def bounds(quarter: int) -> tuple[date, date]:
    if not is_quarter(quarter):
        raise ValueError(f"{quarter!r} is not a quarter (YYYYQ)")
    year, q = divmod(quarter, 10)
    start = date(year, 3 * q - 2, 1)
    return start, _month_end(year, 3 * q)


def previous(quarter: int) -> int:
    year, q = divmod(quarter, 10)
    return quarter - 1 if q > 1 else (year - 1) * 10 + 4


def quarters_of_year(year: int) -> tuple[int, ...]:
    return tuple(year * 10 + q for q in (1, 2, 3, 4))


def _month_end(year: int, month: int) -> date:
    """Last day of ``month`` of ``year`` (months past 12 roll into later years)."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _month_end(year, month + 1).day
    return date(year, month + 1, min(day.day, last))


def evaluation_date(offset: str, period: str) -> date | None:
    """When a period becomes evaluable under ``offset`` (None for ``CAMPAIGN``)."""
    if offset == "CAMPAIGN":
        return None
    if offset.startswith("N+"):
        year = int(period[:4])
        return _month_end(year, 12 + int(offset[2:-1]))
    if len(period) != 5:
        raise ValueError(f"offset {offset} needs a quarter, not {period}")
    year, q = divmod(int(period), 10)
    n, unit = int(offset[2:-1]), offset[-1]
    months = n * 3 if unit == "Q" else n
    return _month_end(year, 3 * q + months)


def due_dates(quarter: int, *, balance_extra_working_days: int = 0) -> dict[str, date]:
    """NSSO due dates of a quarter's items: provisions the 5th of months 2 and 3 of the
    quarter and of month 1 after it; the balance the last day of the month after the
    quarter, plus the extra working days of approved secretariats (dmfa.md §8; a date on a
    weekend or holiday is not shifted)."""
    year, q = divmod(quarter, 10)
    first = 3 * q - 2
    provisions = [add_months(date(year, first, 5), k) for k in (1, 2, 3)]
    balance = _month_end(year, 3 * q + 1)
    if balance_extra_working_days:
        balance = WorkingDays().add(balance, balance_extra_working_days)
    return {"P1": provisions[0], "P2": provisions[1], "P3": provisions[2], "BALANCE": balance}
