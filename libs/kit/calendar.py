"""Belgian working days: the unit of every legal deadline (Dimona lateness, contest window,
report reaction and answer windows).

A working day is Monday to Friday that is not one of the ten legal public holidays, from
the ``holidays`` package; Saturday counts too when ``saturday_is_working_day`` is set. A
holiday on a weekend is not moved. Regional and community days are working days. Extra
closing days and corrections come from configuration (``extra_closed``, ``extra_open``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _legal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("BE", years=year))


class WorkingDays:
    def __init__(
        self,
        *,
        saturday_is_working_day: bool = False,
        extra_closed: Iterable[date] = (),
        extra_open: Iterable[date] = (),
    ) -> None:
        self.saturday_is_working_day = saturday_is_working_day
        self.extra_closed = frozenset(extra_closed)
        self.extra_open = frozenset(extra_open)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day in Belgium under this configuration."""
        if day in self.extra_open:
            return True
        if day in self.extra_closed or day in _legal_holidays(day.year):
            return False
        weekday = day.weekday()
        return weekday < 5 or (weekday == 5 and self.saturday_is_working_day)

    def add(self, start: date, n: int) -> date:
        """The n-th working day strictly after ``start`` (``add(d, 0)`` is ``d``)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        while n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add(day, 1)

    def between(self, start: date, end: date) -> int:
        """How many working days lie strictly after ``start`` up to and including ``end``."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count
