"""Deadlines of the report procedure in Belgian working days (reports.md §3 and §5).

``deadline = add_working_days(day_of_receipt, n)``; an act is on time when it is received at
the latest at 23:59:59 Europe/Brussels on the deadline day, so a deadline *expires* at
00:00 Brussels on the next calendar day: the automatic final report is sent "on the first
day after the deadline".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from socsec.kit.calendar import WorkingDays
from socsec.kit.clock import BRUSSELS


@dataclass(frozen=True)
class ProcedureRules:
    """The configurable defaults of the procedure (reports.md, "Defaults to make
    configurable")."""

    working_days: WorkingDays = field(default_factory=WorkingDays)
    reaction_days: int = 15
    answer_days: int = 15
    #: The draft becomes final by itself when the reaction deadline expires.
    automatic_final: bool = True

    def reaction_deadline(self, received_on: date) -> date:
        """Last day to react to a draft available in the inbox on ``received_on``."""
        return self.working_days.add(received_on, self.reaction_days)

    def answer_deadline(self, received_on: date) -> date:
        """Last day of the NSSO's motivated answer to a reaction received on ``received_on``."""
        return self.working_days.add(received_on, self.answer_days)


def day_of(at: datetime) -> date:
    """The Belgian calendar day of an instant (the day of receipt of a document)."""
    return at.astimezone(BRUSSELS).date()


def on_time(at: datetime, deadline: date) -> bool:
    """Whether an act received at ``at`` meets ``deadline`` (until 23:59:59 Brussels)."""
    return day_of(at) <= deadline


def expires_at(deadline: date) -> datetime:
    """The first instant after ``deadline``: 00:00 Brussels on the next day, in UTC."""
    return datetime.combine(deadline + timedelta(days=1), time(0), tzinfo=BRUSSELS).astimezone(UTC)
