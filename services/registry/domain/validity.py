"""Valid time: closed date intervals with an open end, and plain values for the audit."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any


def within(day: date, start: date, end: date | None) -> bool:
    """Whether ``day`` lies in ``[start, end]`` (``end`` ``None``: open)."""
    return start <= day and (end is None or day <= end)


def intersects(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Whether two closed intervals with optional open ends share at least one day."""
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)


def plain(value: Any) -> Any:
    """A dataclass (or any nesting of them) as JSON values: dates ISO, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset | set):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
