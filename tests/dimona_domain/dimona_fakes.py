"""An in-memory Context for the Dimona rules, and builders of declarations and periods.

Reference data are the shared synthetic ones (domain README §5): employers A and B,
adult workers, two students, a flexi worker. The business day is Monday 15 June 2026.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from socsec.contracts.identifiers import dimona_id
from socsec.dimona.domain.model import (
    Declaration,
    Employer,
    Features,
    Kind,
    Outcome,
    Period,
    Worker,
)
from socsec.kit.calendar import WorkingDays

BRUSSELS = ZoneInfo("Europe/Brussels")
TODAY = date(2026, 6, 15)  # a Monday

NSSO_A, KBO_A = "123456749", "0123456749"
NSSO_B, KBO_B = "187654356", "0876543270"
NSSO_UNKNOWN = "155555504"  # valid check digits, not in this register
KBO_UNKNOWN = "0555555523"

ADULT = "85073003328"  # Jan Janssens, 1985-07-30, male
OTHER_ADULT = "88041212434"
STUDENT = "05031512367"
STUDENT_2 = "05021408828"
FLEXI = "90061204572"
UNREGISTERED = "92073021590"  # valid INSZ the worker register does not know


def pid(n: int) -> int:
    """The n-th valid 12-digit Dimona id of the test sequence (700000000145, ...)."""
    return dimona_id(7_000_000_000 + n)


DECLARATION_ID = pid(100)


def at(day: date, hour: int = 8, minute: int = 0) -> datetime:
    """A Brussels receipt time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BRUSSELS)


def employers() -> list[Employer]:
    return [
        Employer(NSSO_A, KBO_A, registered_from=date(2000, 1, 1)),
        Employer(NSSO_B, KBO_B, registered_from=date(2010, 1, 1)),
    ]


def workers() -> list[Worker]:
    return [
        Worker(ADULT, "Janssens", "Jan", date(1985, 7, 30), gender=1, nationality=150),
        Worker(OTHER_ADULT, "Peeters", "Marie", date(1988, 4, 12), gender=2),
        Worker(STUDENT, "Maes", "Lucas", date(2005, 3, 15), gender=1),
        Worker(STUDENT_2, "Claes", "Emma", date(2005, 2, 14), gender=2),
        Worker(FLEXI, "Wouters", "Tom", date(1990, 6, 12), gender=1, flexi_eligible=False),
    ]


class FakeContext:
    """What the personnel file and the registry know, in memory."""

    def __init__(
        self,
        *,
        today: date = TODAY,
        employers_: Iterable[Employer] | None = None,
        workers_: Iterable[Worker] | None = None,
        periods: Iterable[Period] = (),
    ) -> None:
        self.today = today
        self.employers = {e.nsso_number: e for e in (employers_ or employers())}
        self.workers = {w.ssin: w for w in (workers_ if workers_ is not None else workers())}
        self.periods = {p.id: p for p in periods}
        self.calendar = WorkingDays()

    def employer(self, nsso_number: str) -> Employer | None:
        return self.employers.get(nsso_number)

    def employer_by_enterprise(self, enterprise_number: str) -> Employer | None:
        return next(
            (e for e in self.employers.values() if e.enterprise_number == enterprise_number),
            None,
        )

    def worker(self, ssin: str) -> Worker | None:
        return self.workers.get(ssin)

    def period(self, period_id: int) -> Period | None:
        return self.periods.get(period_id)

    def periods_of(self, employer_nsso: str, ssin: str) -> list[Period]:
        return [
            p for p in self.periods.values() if p.employer_nsso == employer_nsso and p.ssin == ssin
        ]

    def _sum(
        self,
        ssin: str,
        year: int,
        excluding: int | None,
        types: tuple[str, ...],
        measure: Callable[[Period], int],
    ) -> int:
        return sum(
            measure(p)
            for p in self.periods.values()
            if p.ssin == ssin
            and p.features.worker_type in types
            and not p.is_cancelled
            and p.start_date.year == year
            and p.id != excluding
        )

    def student_hours(self, ssin: str, year: int, excluding_period: int | None) -> int:
        return self._sum(ssin, year, excluding_period, ("STU",), lambda p: p.planned_hours or 0)

    def student_days(self, ssin: str, year: int, excluding_period: int | None) -> int:
        def days(p: Period) -> int:
            return p.planned_days or ((p.end_date or p.start_date) - p.start_date).days + 1

        return self._sum(ssin, year, excluding_period, ("STU",), days)

    def art17_hours(self, ssin: str, year: int, excluding_period: int | None) -> int:
        return self._sum(
            ssin, year, excluding_period, ("O17", "S17", "T17"), lambda p: p.planned_hours or 0
        )

    def is_working_day(self, day: date) -> bool:
        return self.calendar.is_working_day(day)

    def next_working_day(self, day: date) -> date:
        return self.calendar.next_working_day(day)

    # -- test helpers --

    def add(self, *periods: Period) -> FakeContext:
        for p in periods:
            self.periods[p.id] = p
        return self

    def apply(self, outcome: Outcome) -> Period:
        """Apply an accepted outcome as the handler would; returns the period after."""
        assert outcome.change is not None, outcome
        self.periods[outcome.change.after.id] = outcome.change.after
        return outcome.change.after


def features(worker_type: str = "OTH", jc: str | None = "XXX", **kw: object) -> Features:
    return Features(worker_type=worker_type, joint_commission=jc, **kw)  # type: ignore[arg-type]


def dimona_in(**kw: object) -> Declaration:
    """An IN of employer A for the adult worker, OTH/XXX, starting tomorrow, received now."""
    values: dict[str, object] = {
        "declaration_id": DECLARATION_ID,
        "kind": Kind.IN,
        "received_at": at(TODAY),
        "declarant": "PayPro",
        "employer_nsso": NSSO_A,
        "ssin": ADULT,
        "features": features(),
        "start_date": date(2026, 6, 16),
    }
    values.update(kw)
    return Declaration(**values)  # type: ignore[arg-type]


def on_period(kind: Kind, period_id: int, **kw: object) -> Declaration:
    """An OUT, UPDATE or CANCEL of ``period_id``, received now."""
    values: dict[str, object] = {
        "declaration_id": pid(200),
        "kind": kind,
        "received_at": at(TODAY),
        "declarant": "PayPro",
        "period_id": period_id,
    }
    values.update(kw)
    return Declaration(**values)  # type: ignore[arg-type]


def period(n: int = 1, **kw: object) -> Period:
    """A period of employer A and the adult worker, OTH/XXX, open since 1 June 2026."""
    values: dict[str, object] = {
        "id": pid(n),
        "employer_nsso": NSSO_A,
        "ssin": ADULT,
        "features": features(),
        "start_date": date(2026, 6, 1),
    }
    values.update(kw)
    return Period(**values)  # type: ignore[arg-type]


def with_features(p: Period, **kw: object) -> Period:
    return replace(p, features=replace(p.features, **kw))  # type: ignore[arg-type]
