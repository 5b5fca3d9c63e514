"""Quarters as the DmfA numbers them (``YYYYQ``, zone 00013) and their calendar bounds."""

from __future__ import annotations

from datetime import date, timedelta


def is_quarter(value: int) -> bool:
    """Whether ``value`` reads as a quarter ``YYYYQ`` with Q in 1..4."""
    return 10_000 <= value <= 99_994 and value % 10 in (1, 2, 3, 4)


def bounds(quarter: int) -> tuple[date, date]:
    """First and last day of a quarter: the window a triple is judged over."""
    if not is_quarter(quarter):
        raise ValueError(f"{quarter!r} is not a quarter (YYYYQ)")
    year, q = divmod(quarter, 10)
    start = date(year, 3 * q - 2, 1)
    following = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, following - timedelta(days=1)


def quarter_of(day: date) -> int:
    """The quarter a day falls in."""
    return day.year * 10 + (day.month - 1) // 3 + 1


def quarters_of_year(year: int) -> tuple[int, int, int, int]:
    """The four quarters of a calendar year: domain C is computed over them (§4)."""
    return (year * 10 + 1, year * 10 + 2, year * 10 + 3, year * 10 + 4)


def parse_quarter(text: str) -> int:
    """``2025-1``, ``2025/1``, ``2025Q1`` or ``20251`` -> 20251 (ValueError otherwise)."""
    raw = text.strip().upper().replace("Q", "-").replace("/", "-")
    if "-" in raw:
        year, _, q = raw.partition("-")
        value = int(year) * 10 + int(q) if year.isdigit() and q in ("1", "2", "3", "4") else -1
    else:
        value = int(raw) if raw.isdigit() else -1
    if not is_quarter(value):
        raise ValueError(f"{text!r} is not a quarter (2025-1 or 20251)")
    return value
