"""Values of the Dimona domain: declarations, periods, anomalies, outcomes.

Plain frozen dataclasses; no I/O. A declaration arrives from any channel (REST v2, batch
DIMN form) already normalised into :class:`Declaration`; :func:`socsec.dimona.domain.rules.evaluate`
turns it, with a :class:`Context` of what the personnel file and the registry know, into an
:class:`Outcome`: the result (A, W, B or S), the anomalies, and the change to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol


class Kind(StrEnum):
    IN = "IN"
    OUT = "OUT"
    UPDATE = "UPDATE"
    CANCEL = "CANCEL"


class Result(StrEnum):
    ACCEPTED = "A"
    WARNING = "W"
    REFUSED = "B"
    WAITING = "S"  # waiting for the worker's identification; a final result follows


class Severity(StrEnum):
    """Anomaly class (zone 00497): only B refuses."""

    B = "B"
    P = "P"
    NP = "NP"
    D = "D"
    W = "W"
    I = "I"  # noqa: E741 - the official class letter


@dataclass(frozen=True)
class Quota:
    type: str  # STUDENT, ART17
    year: int
    limit_hours: int
    exceeding_hours: int
    # "days" only for the student quota of years up to 2016 (50 days, PlannedDaysNbr);
    # ``limit_hours`` and ``exceeding_hours`` then count days.
    unit: str = "hours"


@dataclass(frozen=True)
class Anomaly:
    """One finding: ``code`` is ``ZZZZZ-EEE`` (zone or block, generic code of annex 30)."""

    code: str
    severity: Severity
    tag: str | None = None  # the XML tag / JSON field concerned
    value: str | None = None  # the offending value as received
    description_fr: str | None = None  # specific text; default: the annex-30 label
    description_nl: str | None = None
    quota: Quota | None = None
    path: str | None = None  # JSON path / XPath of the field

    @property
    def blocking(self) -> bool:
        return self.severity == Severity.B


@dataclass(frozen=True)
class Address:
    street: str | None = None
    house_number: str | None = None
    box_number: str | None = None
    post_code: str | None = None
    municipality_code: int | None = None
    municipality_name: str | None = None
    country: int | None = None


@dataclass(frozen=True)
class WorkerIdentity:
    """Identity given with a worker declared without INSZ (or alongside it)."""

    family_name: str | None = None
    given_name: str | None = None
    birth_date: date | None = None
    place_of_birth: str | None = None
    country_of_birth: int | None = None
    nationality: int | None = None
    gender: int | None = None  # 1 = male, 2 = female (normalised from the client's encoding)
    address: Address | None = None

    @property
    def complete(self) -> bool:
        """Enough to ask the national register for an identification."""
        return bool(self.family_name and self.given_name and self.birth_date)


@dataclass(frozen=True)
class UsingEmployer:
    """The user of a temporary agency worker (JC 322)."""

    enterprise_number: str | None = None
    name: str | None = None
    joint_commission: str | None = None
    address: Address | None = None


@dataclass(frozen=True)
class Features:
    """The characteristics of a period; an UPDATE cannot change them."""

    worker_type: str | None = None
    joint_commission: str | None = None
    sub_entity: int | None = None
    using_employer: UsingEmployer | None = None


@dataclass(frozen=True)
class Declaration:
    """One normalised Dimona declaration, whatever the channel.

    Values that could be read but are wrong in a way the rules report with a code (a
    planned-hours value of 7.5, an hour "25:00") stay here as received in ``raw`` so the
    rules can report them; only what cannot be read at all is refused at the edge (HTTP 400
    / form not processable). ``raw`` is keyed by the attribute the value was meant for
    (``start_date``, ``end_date``, ``start_hour``, ``end_hour``, ``planned_hours``,
    ``period_id``, ``identity.birth_date``), whatever the channel.
    """

    declaration_id: int
    kind: Kind
    received_at: datetime
    channel: str = "REST"  # REST or BATCH
    declarant: str = ""  # organisation that sent it (token org or sender holder)
    employer_nsso: str | None = None  # as given (normalised digits), not yet validated
    employer_enterprise: str | None = None
    ssin: str | None = None
    identity: WorkerIdentity | None = None
    period_id: int | None = None
    start_date: date | None = None
    start_hour: str | None = None  # HHMM
    end_date: date | None = None
    end_hour: str | None = None
    planned_hours: int | None = None
    features: Features = field(default_factory=Features)
    student_place_of_work: dict | None = None
    raw: dict[str, str] = field(default_factory=dict)  # field path -> unreadable value
    gender_encoding: str = "glossary"
    # Batch only (PlannedDaysNbr, zone 01017): the student quota of years up to 2016 counted days.
    planned_days: int | None = None
    # False when the sender holds no valid mandate for the employer (90256-155). REST answers
    # 403 before a declaration exists, so only the batch channel sets it.
    mandate_valid: bool = True
    # Outcome of the worker identification asked after a result S: None = not asked yet,
    # True = identified (``ssin`` now holds the assigned number), False = failed (90017-151).
    identified: bool | None = None


@dataclass(frozen=True)
class Employer:
    nsso_number: str
    enterprise_number: str
    registered_from: date
    registered_to: date | None = None
    public_sector: bool = False
    sub_entities: tuple[int, ...] = ()
    allowed_worker_types: tuple[str, ...] | None = None

    def active_on(self, day: date) -> bool:
        return self.registered_from <= day and (
            self.registered_to is None or day <= self.registered_to
        )


@dataclass(frozen=True)
class Worker:
    """What the worker identification register knows."""

    ssin: str
    family_name: str | None = None
    given_name: str | None = None
    birth_date: date | None = None
    gender: int | None = None
    nationality: int | None = None
    flexi_eligible: bool = True


@dataclass(frozen=True)
class Period:
    """A Dimona period of the personnel file (level 2)."""

    id: int
    employer_nsso: str
    ssin: str
    features: Features
    start_date: date
    end_date: date | None = None
    start_hour: str | None = None
    end_hour: str | None = None
    planned_hours: int | None = None
    is_cancelled: bool = False
    is_locked: bool = False
    is_late: bool = False
    planned_days: int | None = None  # student periods up to 2016 (batch PlannedDaysNbr)


@dataclass(frozen=True)
class PeriodChange:
    """What an accepted declaration does to the personnel file.

    ``before`` is ``None`` for an IN; ``after`` is the period as it is once applied.
    """

    kind: Kind
    before: Period | None
    after: Period


@dataclass(frozen=True)
class Outcome:
    result: Result
    anomalies: tuple[Anomaly, ...]
    change: PeriodChange | None = None  # set when the result is A or W
    employer_nsso: str | None = None  # resolved employer (from the body or the period)
    ssin: str | None = None  # resolved worker
    period_id: int | None = None  # the period concerned (also on a refused OUT/UPDATE/CANCEL)
    needs_identification: bool = False  # result S: ask the worker register
    is_late: bool = False  # this declaration was late (§8), with or without an anomaly code


class Context(Protocol):
    """What the rules may ask about the world; the handler answers from PostgreSQL and the
    registry read models. Everything is as of ``today`` (the business clock)."""

    today: date

    def employer(self, nsso_number: str) -> Employer | None: ...

    def employer_by_enterprise(self, enterprise_number: str) -> Employer | None: ...

    def worker(self, ssin: str) -> Worker | None: ...

    def period(self, period_id: int) -> Period | None: ...

    def periods_of(self, employer_nsso: str, ssin: str) -> list[Period]:
        """Every period (cancelled included) of this employer and worker."""
        ...

    def student_hours(self, ssin: str, year: int, excluding_period: int | None) -> int:
        """Planned hours of the worker's non-cancelled STU periods starting in ``year``,
        at every employer, without ``excluding_period``."""
        ...

    def student_days(self, ssin: str, year: int, excluding_period: int | None) -> int:
        """Days of the worker's non-cancelled STU periods starting in ``year`` (planned days
        when declared, else calendar days of the period), at every employer, without
        ``excluding_period``. Asked only for years whose quota counts days (up to 2016)."""
        ...

    def art17_hours(self, ssin: str, year: int, excluding_period: int | None) -> int:
        """Planned hours of the worker's non-cancelled O17/S17/T17 periods starting in
        ``year``, at every employer, without ``excluding_period``. Asked only when the
        art. 17 quota check is enabled (default off)."""
        ...

    def is_working_day(self, day: date) -> bool: ...

    def next_working_day(self, day: date) -> date: ...
