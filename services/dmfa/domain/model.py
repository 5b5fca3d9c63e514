"""Values of the DmfA domain: declarations, worker lines, anomalies, outcomes.

Plain frozen dataclasses; no I/O. A declaration arrives from either channel (a batch ``Form``
of ``DmfAOriginal_20223.xsd`` / ``DmfAUpdate_20223.xsd``, or the same content as JSON over
REST) and is read by :mod:`socsec.dmfa.domain.reading` into one :class:`Declaration`; the
rules of :mod:`socsec.dmfa.domain.checks` turn it, with a context of what the registry, the
DmfA store and the personnel file know, into anomalies and an :class:`Outcome`.

Units are the glossary's (dmfa.md §1): amounts in euro cents, days and hours in hundredths,
working-time regime in hundredths of days per week, quarters as ``YYYYQ`` integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum, StrEnum


class Kind(StrEnum):
    """Original declaration (batch type DMFA) or modification (DMWA)."""

    ORIGINAL = "ORIGINAL"
    UPDATE = "UPDATE"

    @property
    def file_type(self) -> str:
        return "DMFA" if self is Kind.ORIGINAL else "DMWA"


class Origin(StrEnum):
    """Who drew the declaration up: the employer or its mandatary, or the NSSO ex officio
    (dmfa.md §9: no mandate or deadline check, resolves anomalies like a DMWA)."""

    DECLARANT = "DECLARANT"
    EX_OFFICIO = "EX_OFFICIO"


class Severity(StrEnum):
    """Anomaly class (zone 00497): only B refuses the declaration."""

    B = "B"
    P = "P"
    NP = "NP"
    D = "D"
    W = "W"
    I = "I"  # noqa: E741 - the official class letter


class Priority(StrEnum):
    """Barometer classification of a non-blocking anomaly (dmfa.md §7)."""

    AP = "AP"
    ANP = "ANP"
    EXCLUDED = "EXCLUDED"


class Subject(StrEnum):
    """What an anomaly is about: the deepest level its path reaches."""

    EMPLOYER = "EMPLOYER"
    INSZ = "INSZ"
    WORKER_LINE = "WORKER_LINE"
    OCCUPATION = "OCCUPATION"


class UpdateAction(IntEnum):
    """Zone 00618 of a modification's worker line."""

    DELETED = 0
    MODIFIED = 1
    CREATED = 3
    UNCHANGED = 9


class Diagnosis(IntEnum):
    """Zone 00232: why a declaration was refused (dmfa.md §5)."""

    INCOMPLETE = 0
    MISSING_DIMONA = 1
    BLOCKING = 3
    TOO_MANY_ANOMALIES = 4


#: One element of an anomaly's NOTI ``Path``: (XML tag, value), in ``PathType`` order.
PathItem = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One finding. ``code`` is the ErrorID ``ZZZZZ-EEE`` as notified (a modification
    reports update-block twins such as ``90211-095``); ``rule`` is the same finding in the
    numbering of the original declaration, which keys its lifetime."""

    code: str
    severity: Severity
    tag: str | None = None
    value: str | None = None
    path: tuple[PathItem, ...] = ()
    rule: str | None = None

    @property
    def blocking(self) -> bool:
        return self.severity == Severity.B

    @property
    def rule_code(self) -> str:
        return self.rule or self.code

    def path_value(self, tag: str) -> str | None:
        """The value of one element of the path (None when the path does not reach it)."""
        for name, value in self.path:
            if name == tag:
                return value
        return None

    @property
    def subject(self) -> Subject:
        tags = {name for name, _ in self.path}
        if "OccupationSequenceNbr" in tags:
            return Subject.OCCUPATION
        if "WorkerCode" in tags:
            return Subject.WORKER_LINE
        if "INSS" in tags:
            return Subject.INSZ
        return Subject.EMPLOYER

    @property
    def key(self) -> str:
        """Identity of the finding inside one employer declaration (dmfa.md §6): the rule
        and the path, with the person named by INSZ (its sequence number may change)."""
        parts = [self.rule_code]
        parts += [f"{t}={v}" for t, v in self.path if t not in _UNSTABLE_PATH]
        return "|".join(parts)


#: Path elements that do not identify a finding across versions of a declaration.
_UNSTABLE_PATH = frozenset(
    {"Quarter", "NOSSRegistrationNbr", "CompanyID", "NaturalPersonSequenceNbr"}
)


@dataclass(frozen=True, slots=True)
class Reference:
    """A declarant's reference of the form (ReferenceOrigin 1), echoed in the NOTI."""

    type: int
    origin: int
    number: str


@dataclass(frozen=True, slots=True)
class FormHeader:
    """The form's own header, echoed in the NOTI (HandledOriginalForm)."""

    identification: str
    creation_date: str
    creation_hour: str
    attestation_status: int
    type_form: str


@dataclass(frozen=True, slots=True)
class Service:
    """Block 90018: days (and hours) of one kind of service in an occupation."""

    sequence: int
    code: str
    days: int  # hundredths of days
    hours: int | None = None  # hundredths of hours


@dataclass(frozen=True, slots=True)
class Remun:
    """Block 90019: one kind of pay in an occupation."""

    sequence: int
    code: str
    amount: int  # cents
    frequency: int | None = None
    percentage: int | None = None


@dataclass(frozen=True, slots=True)
class Deduction:
    """Blocks 90109/90110: a reduction of contributions."""

    code: str
    basis: int | None = None
    amount: int | None = None


@dataclass(frozen=True, slots=True)
class Occupation:
    """Block 90015 (90211 in a modification)."""

    sequence: int
    joint_commission: str
    working_days_system: int
    contract_type: int
    retired: int
    start: date | None = None
    end: date | None = None
    ref_mean_hours: int | None = None
    mean_hours: int | None = None
    local_unit: str | None = None
    horeca_extra: bool = False
    services: tuple[Service, ...] = ()
    remuns: tuple[Remun, ...] = ()
    deductions: tuple[Deduction, ...] = ()
    version: int | None = None  # OccupationVersionNbr quoted by a modification

    @property
    def days(self) -> int:
        return sum(s.days for s in self.services)

    @property
    def hours(self) -> int:
        return sum(s.hours or 0 for s in self.services)

    @property
    def wage(self) -> int:
        return sum(r.amount for r in self.remuns)

    def is_flexi(self, flexi_remun_codes: frozenset[str]) -> bool:
        """A flexi-job occupation: one of its pay codes is a flexi code (022)."""
        return any(r.code in flexi_remun_codes for r in self.remuns)


@dataclass(frozen=True, slots=True)
class Contribution:
    """Block 90001: a contribution due for the worker line."""

    worker_code: str
    type: int
    amount: int
    basis: int | None = None


@dataclass(frozen=True, slots=True)
class StudentContribution:
    """Block 90003: the solidarity contribution of a student line."""

    remun_amount: int
    contribution_amount: int
    hours: int | None = None
    days: int | None = None


@dataclass(frozen=True, slots=True)
class LastSituation:
    """LastSituationWR (90221): the worker line a modification changes, as the declarant
    last knew it (optimistic locking on its version)."""

    employer_class: str
    worker_code: str
    version: int


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """Block 90012 (90225 in a modification): one worker line."""

    employer_class: str
    worker_code: str
    quarter_start: date | None = None
    quarter_end: date | None = None
    border: int | None = None
    local_unit: str | None = None
    occupations: tuple[Occupation, ...] = ()
    contributions: tuple[Contribution, ...] = ()
    deductions: tuple[Deduction, ...] = ()
    student: StudentContribution | None = None
    #: Other special blocks (dismissed statutory staff, early retirement, complementary
    #: indemnities, WAPM): their name and the contribution amounts they declare.
    special: str | None = None
    special_amount: int = 0
    action: UpdateAction | None = None
    last: LastSituation | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.employer_class, self.worker_code)

    @property
    def wage_mass(self) -> int:
        mass = sum(o.wage for o in self.occupations)
        if self.student is not None:
            mass += self.student.remun_amount
        return mass

    @property
    def contribution_total(self) -> int:
        total = sum(c.amount for c in self.contributions) + self.special_amount
        if self.student is not None:
            total += self.student.contribution_amount
        return total

    @property
    def deduction_total(self) -> int:
        total = sum(d.amount or 0 for d in self.deductions)
        for occupation in self.occupations:
            total += sum(d.amount or 0 for d in occupation.deductions)
        return total

    @property
    def needs_dimona(self) -> bool:
        """Lines with occupations or a student contribution need a Dimona (crosscheck.md §1)."""
        return bool(self.occupations) or self.student is not None


@dataclass(frozen=True, slots=True)
class NaturalPerson:
    """Block 90017 (90220 in a modification)."""

    sequence: int
    inss: str
    records: tuple[WorkerRecord, ...] = ()
    user_reference: str | None = None
    natural_person_pid: int | None = None
    decl_person_pid: int | None = None
    decl_person_version: int | None = None


@dataclass(frozen=True, slots=True)
class UnrelatedContribution:
    """Block 90002 (90224 in a modification): a contribution not linked to a person."""

    employer_class: str
    worker_code: str
    amount: int
    basis: int | None = None
    action: UpdateAction | None = None


@dataclass(frozen=True, slots=True)
class Declaration:
    """One DmfA form, from either channel, as the rules judge it."""

    kind: Kind
    quarter: int
    nsso: str  # "000000000" when zone 00011 is 0
    company_id: str  # "0000000000" when zone 00014 is 0
    trusteeship: int = 0
    net_owed: int | None = None  # originals only
    holiday_start: date | None = None
    persons: tuple[NaturalPerson, ...] = ()
    unrelated: tuple[UnrelatedContribution, ...] = ()
    vehicles: int = 0
    header: FormHeader | None = None
    references: tuple[Reference, ...] = ()
    employer_declaration_pid: int | None = None  # modifications
    justification: str | None = None

    @property
    def nsso_given(self) -> bool:
        return self.nsso.strip("0") != ""

    @property
    def company_given(self) -> bool:
        return self.company_id.strip("0") != ""

    @property
    def lines(self) -> list[tuple[NaturalPerson, WorkerRecord]]:
        return [(p, r) for p in self.persons for r in p.records]


@dataclass(frozen=True, slots=True)
class FormRefused:
    """A form that cannot be judged by the content rules: its structural anomalies and
    whatever could be read of its identification."""

    anomalies: tuple[Anomaly, ...]
    kind: Kind | None = None
    quarter: int | None = None
    nsso: str | None = None
    company_id: str | None = None
    header: FormHeader | None = None
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the rules decided: accepted (result code 1) or refused (0, with a diagnosis)."""

    accepted: bool
    anomalies: tuple[Anomaly, ...]
    diagnosis: Diagnosis | None = None
    employer_nsso: str | None = None

    @property
    def result_code(self) -> int:
        return 1 if self.accepted else 0


@dataclass(frozen=True, slots=True)
class Employer:
    """What the registry says of an employer, as the rules need it."""

    nsso_number: str
    enterprise_number: str
    registered_from: date
    registered_to: date | None = None
    #: (employer class, from quarter, to quarter or None)
    classes: tuple[tuple[str, int, int | None], ...] = ()

    def registered_during(self, start: date, end: date) -> bool:
        """Registered on at least one day of [start, end] (00011-051 otherwise)."""
        return self.registered_from <= end and (
            self.registered_to is None or self.registered_to >= start
        )

    def has_class(self, employer_class: str, quarter: int) -> bool:
        """The class is registered for the employer in that quarter (00036-051 otherwise)."""
        return any(
            c == employer_class and lo <= quarter and (hi is None or quarter <= hi)
            for c, lo, hi in self.classes
        )


@dataclass(frozen=True, slots=True)
class DimonaPeriod:
    """A period of the personnel file, as the dmfa service's read model keeps it."""

    worker_type: str
    start: date
    end: date | None = None
    planned_hours: int | None = None


@dataclass(frozen=True, slots=True)
class StoredLine:
    """The current version of a worker line of an accepted declaration."""

    natural_person_pid: int
    inss: str
    employer_class: str
    worker_code: str
    version: int
    record: WorkerRecord


@dataclass(frozen=True, slots=True)
class StoredPerson:
    """A person of an accepted declaration with the PIDs a modification must quote."""

    natural_person_pid: int
    inss: str
    sequence: int
    decl_person_pid: int
    decl_person_version: int


@dataclass
class StoredDeclaration:
    """The accepted state of one employer declaration (employer, quarter) that a
    modification is checked against."""

    pid: int
    employer_nsso: str
    quarter: int
    persons: dict[str, StoredPerson] = field(default_factory=dict)  # by INSZ
    lines: dict[tuple[str, str, str], StoredLine] = field(default_factory=dict)
