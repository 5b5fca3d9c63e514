"""Deadlines of the report procedure in Belgian working days (reports.md §3, §5)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from socsec.kit.calendar import WorkingDays
from socsec.kit.clock import BRUSSELS
from socsec.reports.domain.deadlines import ProcedureRules, expires_at, on_time

RULES = ProcedureRules()


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        # reports.md §3 examples.
        (date(2026, 3, 2), date(2026, 3, 23)),
        (date(2026, 3, 20), date(2026, 4, 13)),  # Easter Monday 6 April skipped
        (date(2025, 12, 19), date(2026, 1, 13)),  # 25 December and 1 January skipped
        # 1 May (Fri), the weekends, Ascension (14 May) and Whit Monday (25 May) skipped.
        (date(2026, 4, 30), date(2026, 5, 26)),
        # Received on a Saturday: counting starts on Monday.
        (date(2026, 3, 7), date(2026, 3, 27)),
    ],
)
def test_fifteen_working_days_from_receipt(received: date, deadline: date) -> None:
    assert RULES.reaction_deadline(received) == deadline
    assert RULES.answer_deadline(received) == deadline


def test_saturday_counts_when_configured() -> None:
    rules = ProcedureRules(working_days=WorkingDays(saturday_is_working_day=True))
    # Saturdays 2, 9 and 16 May count; 1 May, Ascension and Sundays still do not.
    assert rules.reaction_deadline(date(2026, 4, 30)) == date(2026, 5, 20)


def test_extra_closing_day_moves_the_deadline() -> None:
    rules = ProcedureRules(working_days=WorkingDays(extra_closed=[date(2026, 3, 10)]))
    assert rules.reaction_deadline(date(2026, 3, 2)) == date(2026, 3, 24)


def test_other_day_counts() -> None:
    assert ProcedureRules(reaction_days=10).reaction_deadline(date(2026, 3, 2)) == date(2026, 3, 16)


def test_on_time_until_23_59_59_brussels_on_the_deadline_day() -> None:
    deadline = date(2026, 3, 23)  # CET, UTC+1
    last_second = datetime(2026, 3, 23, 23, 59, 59, tzinfo=BRUSSELS)
    assert on_time(last_second, deadline)
    assert on_time(datetime(2026, 3, 23, 22, 59, 59, tzinfo=UTC), deadline)
    assert not on_time(datetime(2026, 3, 23, 23, 0, 0, tzinfo=UTC), deadline)
    assert expires_at(deadline) == datetime(2026, 3, 23, 23, 0, tzinfo=UTC)


def test_expiry_in_summer_time() -> None:
    # 13 April 2026 is in CEST (UTC+2): the deadline ends at 22:00 UTC.
    assert expires_at(date(2026, 4, 13)) == datetime(2026, 4, 13, 22, 0, tzinfo=UTC)
    assert on_time(datetime(2026, 4, 13, 21, 59, 59, tzinfo=UTC), date(2026, 4, 13))
    assert not on_time(datetime(2026, 4, 13, 22, 0, 0, tzinfo=UTC), date(2026, 4, 13))
