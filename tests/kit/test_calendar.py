"""Belgian working days across the holidays of reports.md §5."""

from __future__ import annotations

from datetime import date

import pytest

from socsec.kit.calendar import WorkingDays

CAL = WorkingDays()


@pytest.mark.parametrize(
    "holiday",
    [
        date(2025, 1, 1), date(2025, 4, 21), date(2025, 5, 1), date(2025, 5, 29),
        date(2025, 6, 9), date(2025, 7, 21), date(2025, 8, 15), date(2025, 11, 11),
        date(2025, 12, 25), date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25),
    ],
)  # fmt: skip
def test_legal_holidays_are_not_working_days(holiday: date) -> None:
    assert not CAL.is_working_day(holiday)


def test_regional_days_are_working_days() -> None:
    for day in (date(2025, 5, 8), date(2025, 7, 11), date(2025, 9, 26)):
        assert CAL.is_working_day(day), day


def test_add_skips_easter_monday_labour_day_ascension_and_weekends() -> None:
    # Thu 17 Apr 2025 + 15 working days: skips Easter Monday 21/4, 1/5 and two weekends...
    assert CAL.add(date(2025, 4, 17), 15) == date(2025, 5, 12)
    # ...and across Ascension Thursday 29/5.
    assert CAL.add(date(2025, 5, 27), 3) == date(2025, 6, 2)
    assert CAL.next_working_day(date(2025, 4, 18)) == date(2025, 4, 22)  # Fri -> Tue
    assert CAL.between(date(2025, 4, 17), date(2025, 5, 12)) == 15


def test_saturday_can_count_and_overrides_apply() -> None:
    saturdays = WorkingDays(saturday_is_working_day=True)
    assert saturdays.next_working_day(date(2025, 4, 18)) == date(2025, 4, 19)
    closed = WorkingDays(extra_closed=[date(2025, 4, 22)])
    assert closed.next_working_day(date(2025, 4, 18)) == date(2025, 4, 23)
    assert WorkingDays(extra_open=[date(2025, 5, 1)]).is_working_day(date(2025, 5, 1))
