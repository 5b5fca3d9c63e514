"""Payloads of the dmfa service's topics.

``dmfa.notifications.v1`` carries one :class:`DmfaDeclarationNotified` per handled
declaration (both channels): everything the batch service needs to write the declaration's
NOTI form (result, diagnosis, anomaly reports with ErrorID, TagName, Value, AnomalyClass,
label and Path, the declaration ticket as HandledReference, ConcernedQuarter,
DeclarationComplInformations) and its PID form, and, for an accepted declaration, the worker
lines the cross-check needs. Large declarations carry their lines in parts: the
notification holds the first part and :class:`DmfaWorkerLinesNotified` events (same key, so
in order) the others.

``dmfa.anomalies.v1`` tracks every anomaly instance from detection to resolution;
``dmfa.silent.v1`` the silent-employer findings (missing, incomplete, inaccurate) and late
declarations. Environment ``S`` (simulation) declarations are notified but never reach the
other two topics.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from socsec.contracts.events import register

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class DmfaPathElement(BaseModel):
    """One element of an anomaly's NOTI ``Path`` (``PathType`` order)."""

    model_config = _FROZEN
    tag: str = Field(description="XML label, e.g. NaturalPersonSequenceNbr.")
    value: str = Field(description="Its value as declared (codes zero-padded, e.g. 010).")


class DmfaNotificationAnomaly(BaseModel):
    """One ``AnomalyReport`` of the NOTI form."""

    model_config = _FROZEN
    error_id: str = Field(description="ErrorID as notified, ZZZZZ-EEE (update twins in a DMWA).")
    rule_code: str = Field(description="The same finding in the original's numbering.")
    tag_name: str | None = Field(default=None, description="TagName: the XML label concerned.")
    value: str | None = Field(default=None, description="Value: the offending value.")
    anomaly_class: str = Field(description="AnomalyClass (zone 00497): B, P, NP, D, W or I.")
    label_fr: str = Field(description="AnomalyLabel in French (annex 30).")
    label_nl: str = Field(description="AnomalyLabel in Dutch (annex 30).")
    path: tuple[DmfaPathElement, ...] = Field(
        default=(), description="Path: the identifying keys down to the faulty element."
    )
    priority: str = Field(description="AP, ANP or EXCLUDED (dmfa.md §7).")
    anomaly_id: UUID | None = Field(
        default=None, description="The tracked instance (absent for simulation declarations)."
    )


class DmfaFormEcho(BaseModel):
    """The handled form's header (NOTI ``HandledOriginalForm``)."""

    model_config = _FROZEN
    identification: str
    creation_date: str
    creation_hour: str
    attestation_status: int
    type_form: str


class DmfaReference(BaseModel):
    """A reference of the declarant's form, echoed in the NOTI."""

    model_config = _FROZEN
    reference_type: int
    reference_origin: int
    reference_nbr: str


class DmfaOccupation(BaseModel):
    """An occupation of a worker line, as the cross-check reads it."""

    model_config = _FROZEN
    sequence: int
    start_date: date | None = None
    end_date: date | None = None
    joint_commission: str
    working_days_system: int = Field(description="Days per week × 100 (500 = 5 days).")
    contract_type: int = Field(description="0 full time, 1 part time.")
    mean_working_hours: int | None = Field(default=None, description="Hours per week × 100.")
    ref_mean_working_hours: int | None = None
    days: int = Field(description="Σ ServiceNbrDays, hundredths of days.")
    hours: int = Field(description="Σ ServiceNbrHours, hundredths of hours.")
    wage: int = Field(description="Σ RemunAmount, cents.")
    flexi: bool = Field(description="A flexi-job pay code (022) is declared.")
    occasional: bool = Field(description="OccupationInformations/HorecaExtra = E.")
    version_nbr: int | None = Field(default=None, description="OccupationVersionNbr.")


class DmfaWorkerLine(BaseModel):
    """A worker line of an accepted declaration (its current version)."""

    model_config = _FROZEN
    inss: str
    natural_person_sequence: int
    natural_person_pid: int | None = Field(default=None, description="NaturalPersonPID.")
    decl_natural_person_pid: int | None = Field(default=None, description="DeclNaturalPersonPID.")
    decl_natural_person_version_nbr: int | None = Field(
        default=None, description="DeclNaturalPersonVersionNbr."
    )
    employer_class: str
    worker_code: str
    worker_kind: str = Field(
        description="STUDENT, BLUE_COLLAR, WHITE_COLLAR, APPRENTICE, TRAINEE, BRIDGE_PENSION, "
        "NOT_LINKED_TO_A_PERSON or OTHER (from the worker code)."
    )
    needs_dimona: bool = Field(description="The line has occupations or a student block.")
    quarter_start: date | None = None
    quarter_end: date | None = None
    occupations: tuple[DmfaOccupation, ...] = ()
    student_hours: int | None = Field(default=None, description="StudentHoursNbr.")
    student_days: int | None = Field(default=None, description="StudentNbrDays (until 2016).")
    wage_mass: int = Field(description="Pay of the line in cents (occupations and student).")
    worker_record_version_nbr: int | None = None
    update_action: int | None = Field(
        default=None,
        description="For a modification: 1 modified, 3 created (0 deleted lines "
        "are listed in deleted_lines of the notification).",
    )


class DmfaLineKey(BaseModel):
    """A worker line identified by person and codes."""

    model_config = _FROZEN
    inss: str
    employer_class: str
    worker_code: str


class DmfaPidOccupation(BaseModel):
    model_config = _FROZEN
    occupation_sequence_nbr: int
    occupation_version_nbr: int


class DmfaPidWorkerRecord(BaseModel):
    model_config = _FROZEN
    employer_class: str
    worker_code: str
    worker_record_version_nbr: int
    occupations: tuple[DmfaPidOccupation, ...] = ()


class DmfaPidPerson(BaseModel):
    model_config = _FROZEN
    inss: str
    natural_person_pid: int
    decl_natural_person_pid: int
    decl_natural_person_version_nbr: int
    worker_records: tuple[DmfaPidWorkerRecord, ...] = ()


class DmfaPids(BaseModel):
    """The persistent identifiers a later modification quotes (DmfAPID_20224.xsd,
    IDEmployerDeclaration)."""

    model_config = _FROZEN
    quarter: int
    nsso_registration_nbr: str
    trusteeship: int
    company_id: str
    employer_declaration_pid: int
    persons: tuple[DmfaPidPerson, ...] = ()


class DmfaDeclarationNotified(BaseModel):
    """A DmfA declaration was handled: accepted (result code 1) or refused (0)."""

    model_config = _FROZEN
    ticket: str = Field(description="The declaration ticket: NOTI HandledReference (origin 2).")
    kind: str = Field(pattern="^(ORIGINAL|UPDATE)$")
    file_type: str = Field(pattern="^(DMFA|DMWA)$")
    origin: str = Field(default="DECLARANT", pattern="^(DECLARANT|EX_OFFICIO)$")
    channel: str = Field(pattern="^(REST|BATCH)$")
    environment: str = Field(
        default="R", pattern="^(R|S)$", description="S: simulation, nothing was kept."
    )
    schema_version: str = Field(default="20223", description="Schema quarter of the message.")
    declarant: str = Field(description="Organisation that sent the declaration.")
    recipients: tuple[str, ...] = Field(description="Organisations the notification goes to.")
    batch_ticket: str | None = Field(default=None, description="Ticket of the batch file.")
    batch_position: int | None = Field(default=None, description="Index of the form in it.")
    final: bool = Field(default=True, description="DmfA notifications are always final.")
    result: str = Field(pattern="^(ACCEPTED|REFUSED)$")
    result_code: int = Field(ge=0, le=1, description="ResultCode (zone 00107).")
    diagnosis: int | None = Field(
        default=None,
        description="Diagnosis (zone 00232) of a refusal: 0 incomplete, 1 "
        "missing Dimonas, 3 blocking anomalies, 4 too many anomalies.",
    )
    employer_nsso: str | None = Field(default=None, description="The employer (NSSO number).")
    company_id: str | None = Field(default=None, description="CompanyID as declared.")
    quarter: int | None = Field(default=None, description="ConcernedQuarter.")
    form: DmfaFormEcho | None = Field(default=None, description="HandledOriginalForm echo.")
    references: tuple[DmfaReference, ...] = ()
    dmfa_workers_nbr: int = Field(
        default=0, description="DMFAWorkersNbr: persons with a line needing a Dimona."
    )
    dimona_workers_nbr: int = Field(
        default=0, description="DIMONAWorkersNbr: persons with a qualifying Dimona period."
    )
    anomalies: tuple[DmfaNotificationAnomaly, ...] = ()
    employer_declaration_pid: int | None = None
    pids: DmfaPids | None = Field(
        default=None,
        description="Identifiers for later modifications (the PID file of an "
        "accepted original; the new versions after an accepted modification). Its persons are "
        "listed when the lines fit in this one event (worker_line_parts = 1); otherwise every "
        "worker line carries its own PIDs and versions, over all parts.",
    )
    pid_file: bool = Field(
        default=False, description="A PID form answers this declaration (accepted originals)."
    )
    received_at: datetime
    notified_at: datetime
    due_date: date | None = Field(default=None, description="Legal due date of the quarter.")
    deadline: date | None = Field(default=None, description="Applicable deadline.")
    late: bool = False
    wage_mass: int = Field(default=0, description="Pay of the current lines, cents.")
    worker_lines_count: int = Field(default=0, description="Lines over every part.")
    worker_line_parts: int = Field(
        default=1, description="How many parts carry the lines (this event is part 1)."
    )
    worker_lines: tuple[DmfaWorkerLine, ...] = Field(
        default=(),
        description="Accepted: the current version of the lines (part 1). For a "
        "modification, the lines it created or modified.",
    )
    deleted_lines: tuple[DmfaLineKey, ...] = Field(
        default=(),
        description="Lines no longer in the declaration after a modification: deleted "
        "(action 0), or replaced by a line under another employer class or worker code (the "
        "key of the old line; the new one is in worker_lines).",
    )


class DmfaWorkerLinesNotified(BaseModel):
    """Further worker lines of an accepted declaration whose lines did not fit one event."""

    model_config = _FROZEN
    ticket: str
    employer_nsso: str
    quarter: int
    employer_declaration_pid: int
    part: int = Field(ge=2)
    parts: int = Field(ge=2)
    worker_lines: tuple[DmfaWorkerLine, ...]


class DmfaAnomalyDetected(BaseModel):
    """An anomaly instance was found in a handled declaration."""

    model_config = _FROZEN
    anomaly_id: UUID = Field(description="Stable id of the instance.")
    error_id: str = Field(description="ErrorID as notified.")
    rule_code: str = Field(description="ErrorID in the original's numbering (lifetime key).")
    anomaly_class: str = Field(description="B, P, NP, D, W or I.")
    priority: str = Field(description="AP, ANP or EXCLUDED (dmfa.md §7).")
    priority_table_version: str
    state: str = Field(
        pattern="^(OPEN|REFUSED)$",
        description="OPEN: in an accepted declaration, until a correction resolves it. "
        "REFUSED: found in a refused declaration (nothing of it was kept).",
    )
    subject: str = Field(description="EMPLOYER, INSZ, WORKER_LINE or OCCUPATION.")
    employer_nsso: str | None = None
    quarter: int | None = None
    employer_declaration_pid: int | None = None
    ticket: str = Field(description="The declaration that found it.")
    inss: str | None = None
    employer_class: str | None = None
    worker_code: str | None = None
    occupation_sequence: int | None = None
    path: tuple[DmfaPathElement, ...] = ()
    tag_name: str | None = None
    value: str | None = None
    detected_at: datetime
    secretariat: str | None = Field(
        default=None, description="Mandatary holding the employer's DmfA mandate then."
    )
    seat: str | None = Field(default=None, description="The seat the employer counts for.")


class DmfaAnomalyResolved(BaseModel):
    """An open anomaly instance was resolved by a modification or ex-officio correction."""

    model_config = _FROZEN
    anomaly_id: UUID
    error_id: str
    rule_code: str
    anomaly_class: str
    priority: str
    subject: str
    employer_nsso: str
    quarter: int
    employer_declaration_pid: int
    inss: str | None = None
    employer_class: str | None = None
    worker_code: str | None = None
    opened_at: datetime
    resolved_at: datetime
    resolved_by: str = Field(pattern="^(UPDATE|EX_OFFICIO)$")
    resolving_ticket: str
    lifetime_days: int = Field(description="Calendar days from opening to resolution.")
    lifetime_seconds: int


class DmfaEmployerSilent(BaseModel):
    """A silent-employer finding (dmfa.md §9): no DmfA, an incomplete or inaccurate one."""

    model_config = _FROZEN
    employer_nsso: str
    quarter: int
    reason: str = Field(pattern="^(NO_DMFA|INCOMPLETE|INACCURATE)$")
    evaluated_on: date
    due_date: date
    persons_in_dimona: int | None = Field(default=None, description="INCOMPLETE.")
    persons_missing: int | None = Field(default=None, description="INCOMPLETE.")
    missing_share: float | None = Field(default=None, description="INCOMPLETE, 0..1.")
    original_wage_mass: int | None = Field(default=None, description="INACCURATE, cents.")
    current_wage_mass: int | None = Field(default=None, description="INACCURATE, cents.")
    wage_mass_change: float | None = Field(default=None, description="INACCURATE, share.")
    secretariat: str | None = None
    seat: str | None = None


class DmfaDeclarationLate(BaseModel):
    """An original was accepted after its applicable deadline (reason LATE)."""

    model_config = _FROZEN
    employer_nsso: str
    quarter: int
    ticket: str
    employer_declaration_pid: int
    received_on: date
    due_date: date
    deadline: date
    days_late: int
    approved_secretariat: bool = Field(description="The +15 working days applied.")
    extended_to: date | None = Field(
        default=None,
        description="An ad-hoc extension granted to the employer for the quarter set the "
        "deadline (dmfa.md §8).",
    )
    secretariat: str | None = None
    seat: str | None = None


register(
    event_type="DmfaDeclarationNotified",
    topic="dmfa.notifications.v1",
    model=DmfaDeclarationNotified,
    description="A DmfA original or modification was handled: accepted with its worker lines "
    "and PIDs, or refused with its diagnosis; everything its NOTI form needs.",
)
register(
    event_type="DmfaWorkerLinesNotified",
    topic="dmfa.notifications.v1",
    model=DmfaWorkerLinesNotified,
    description="Further worker lines of an accepted declaration (parts 2..n).",
)
register(
    event_type="DmfaAnomalyDetected",
    topic="dmfa.anomalies.v1",
    model=DmfaAnomalyDetected,
    description="An anomaly instance was detected, with class, priority and subject.",
)
register(
    event_type="DmfaAnomalyResolved",
    topic="dmfa.anomalies.v1",
    model=DmfaAnomalyResolved,
    description="An anomaly instance was resolved by a modification, with its lifetime.",
)
register(
    event_type="DmfaEmployerSilent",
    topic="dmfa.silent.v1",
    model=DmfaEmployerSilent,
    description="An active employer sent no DmfA, or an incomplete or inaccurate one.",
)
register(
    event_type="DmfaDeclarationLate",
    topic="dmfa.silent.v1",
    model=DmfaDeclarationLate,
    description="An original DmfA was accepted after its applicable deadline.",
)
