"""Use cases of the dmfa service. Each takes the transaction's connection and its
dependencies as parameters; the entry point (HTTP route, Kafka consumer, periodic job,
command line) opens the transaction and commits once.

:func:`handle` is the one path of a declaration, whatever brought it (a batch form or a REST
body): read the form, load the facts, apply the rules, keep the result (the accepted store
only for an accepted declaration of environment R), track anomaly instances and publish the
notification, the anomaly events and a late finding through the outbox.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from socsec.contracts.payloads.dmfa import (
    DmfaAnomalyDetected,
    DmfaAnomalyResolved,
    DmfaDeclarationLate,
    DmfaDeclarationNotified,
    DmfaEmployerSilent,
    DmfaLineKey,
    DmfaPathElement,
)
from socsec.contracts.payloads.registry import (
    EmployerChanged,
    MandataryKind,
    MandateChanged,
    NotificationRouting,
    Scope,
)
from socsec.dmfa import repository as repo
from socsec.dmfa.codec import (
    anomaly_json,
    form_echo,
    notification_anomaly,
    record_json,
    references,
    worker_line,
)
from socsec.dmfa.domain.catalogue import structural
from socsec.dmfa.domain.checks import Facts, Rules, evaluate
from socsec.dmfa.domain.lifetime import (
    LifetimeChanges,
    lifetime_changes,
    lifetime_days,
    plan_modification,
    resulting_lines,
    scope_of,
)
from socsec.dmfa.domain.model import (
    Anomaly,
    Declaration,
    Diagnosis,
    Employer,
    FormRefused,
    Kind,
    Origin,
    Outcome,
    StoredDeclaration,
    WorkerRecord,
)
from socsec.dmfa.domain.quarters import (
    bounds,
    deadline,
    is_quarter,
    legal_due_date,
    previous,
    quarter_of,
)
from socsec.dmfa.domain.reading import read_form
from socsec.dmfa.domain.schema import SCHEMA_VERSION
from socsec.dmfa.domain.silent import (
    Completeness,
    active_employers,
    is_inaccurate,
    is_incomplete,
    list_date,
    review_date,
)
from socsec.dmfa.settings import DmfASettings
from socsec.kit.authz import Authorizer
from socsec.kit.calendar import WorkingDays
from socsec.kit.clock import BRUSSELS, Clock
from socsec.kit.outbox import Outbox, PendingEvent

NOTIFICATIONS = "dmfa.notifications.v1"
ANOMALIES = "dmfa.anomalies.v1"
SILENT = "dmfa.silent.v1"


@dataclass
class Deps:
    """What the use cases need besides the connection."""

    outbox: Outbox
    clock: Clock
    calendar: WorkingDays
    authorizer: Authorizer
    rules: Rules
    settings: DmfASettings


def rules_from(settings: DmfASettings, tables: Any) -> Rules:
    return Rules(
        tables=tables,
        contribution_tolerance_cents=settings.contribution_tolerance_cents,
        days_tolerance=settings.days_tolerance,
        hours_tolerance=settings.hours_tolerance,
        line_max_daily_hours=settings.line_max_daily_hours,
        prescription_years=settings.prescription_years,
        prescription_margin_days=settings.prescription_margin_days,
        noss_check_enabled=settings.noss_check_enabled,
        unknown_inss_policy=settings.unknown_inss_policy,
        max_p_line_share=settings.max_p_line_share,
        max_missing_dimona_share=settings.max_missing_dimona_share,
        crosscheck=settings.crosscheck_at_processing,
        crosscheck_grace_days=settings.crosscheck_grace_days,
        excluded_worker_types=frozenset(settings.excluded_worker_types),
    )


@dataclass(frozen=True)
class Submission:
    """One declaration to handle: the ``Form`` element (``None`` when the form could not
    even be parsed) and where it came from."""

    file_type: str  # DMFA or DMWA
    form: Any | None
    channel: str  # REST or BATCH
    declarant: str
    received_at: datetime
    environment: str = "R"
    origin: Origin = Origin.DECLARANT
    form_text: str | None = None
    batch_ticket: str | None = None
    batch_position: int | None = None
    go_file_name: str | None = None


@dataclass(frozen=True)
class Handled:
    declaration_id: int
    ticket: str
    outcome: Outcome
    notification: dict[str, Any]  # the DmfaDeclarationNotified payload


# -- registry facts ----------------------------------------------------------------------------


def to_employer(e: EmployerChanged | None) -> Employer | None:
    if e is None:
        return None
    return Employer(
        nsso_number=e.nsso_number,
        enterprise_number=e.enterprise_number,
        registered_from=e.registered_from,
        registered_to=e.registered_to,
        classes=tuple((c.employer_class, c.from_quarter, c.to_quarter) for c in e.employer_classes),
    )


def may_declare(
    authorizer: Authorizer, organisation: str, employer: str, quarter: int, on: date
) -> bool:
    """registry.md §5 for DmfA: the employer itself, or a usable DMFA mandate on the
    reception date whose validity overlaps the declared quarter (default)."""
    decision = authorizer.may_act(organisation, employer, Scope.DMFA, on)
    if not decision:
        return False
    if decision.mandate_id is None:
        return True
    mandate = authorizer.mandate_for(employer, Scope.DMFA, on)
    if mandate is None:
        return True
    start, end = bounds(quarter)
    return mandate.valid_from <= end and (mandate.valid_to is None or mandate.valid_to >= start)


def affiliation(
    authorizer: Authorizer, employer: str | None, on: date
) -> tuple[str | None, str | None]:
    """The mandatary holding the employer's DmfA mandate on a date, and its seat."""
    mandate = authorizer.mandate_for(employer, Scope.DMFA, on) if employer else None
    return (mandate.mandatary_id, mandate.seat_id) if mandate else (None, None)


def approved_secretariat(authorizer: Authorizer, employer: str, on: date) -> bool:
    """Whether an approved social secretariat (approval in force) holds the employer's DmfA
    mandate on that date: its declarations get the extra working days."""
    mandate = authorizer.mandate_for(employer, Scope.DMFA, on)
    if mandate is None:
        return False
    mandatary = authorizer.mandataries.get(mandate.mandatary_id)
    if mandatary is None or mandatary.kind != MandataryKind.APPROVED_SECRETARIAT:
        return False
    approval = mandatary.approval
    return (
        approval is not None
        and approval.approved_from <= on
        and (approval.withdrawn_on is None or on < approval.withdrawn_on)
    )


def recipients(
    authorizer: Authorizer, declarant: str, employer: str | None, today: date
) -> tuple[str, ...]:
    """The declarant, and the employer's mandated secretariat when its mandate routes
    notifications to the mandatary (registry.md §6)."""
    out = [declarant]
    if employer:
        mandate: MandateChanged | None = authorizer.mandate_for(employer, Scope.DMFA, today)
        if (
            mandate is not None
            and mandate.notification_routing
            in (NotificationRouting.MANDATARY, NotificationRouting.BOTH)
            and authorizer.mandatary_of(declarant) != mandate.mandatary_id
        ):
            out.append(mandate.mandatary_id)
    return tuple(dict.fromkeys(out))


# -- the facts of one declaration --------------------------------------------------------------


@dataclass
class Loaded:
    facts: Facts
    employer: str | None
    changes: list[Any] = field(default_factory=list)
    #: Identifiers drawn with the facts of an original, enough for it if it is accepted.
    allocated: repo.Allocated | None = None


async def load_facts(
    conn: asyncpg.Connection, deps: Deps, d: Declaration, sub: Submission
) -> Loaded:
    """Everything the rules ask about, loaded up front (same transaction: a declaration
    handled earlier in the same batch is visible)."""
    authz = deps.authorizer
    by_nsso = authz.employers.get(d.nsso) if d.nsso_given else None
    kbo_nsso = authz.by_enterprise.get(d.company_id) if d.company_given else None
    by_enterprise = authz.employers.get(kbo_nsso) if kbo_nsso else None
    facts = Facts(
        today=deps.clock.today(),
        by_nsso=to_employer(by_nsso),
        by_enterprise=to_employer(by_enterprise),
        nsso_in_registry=by_nsso is not None,
    )
    employer = (by_nsso if d.nsso_given else by_enterprise) or None
    nsso = employer.nsso_number if employer else None
    loaded = Loaded(facts, nsso)
    if nsso and is_quarter(d.quarter):
        if sub.origin == Origin.DECLARANT:
            on = sub.received_at.astimezone(BRUSSELS).date()
            facts.mandate_ok = may_declare(authz, sub.declarant, nsso, d.quarter, on)
        start, end = bounds(d.quarter)
        # A modification's needs are known once the stored declaration is loaded.
        numbers, persons = (
            _numbers_needed(d, Kind.ORIGINAL, [], None) if d.kind == Kind.ORIGINAL else (0, 0)
        )
        exists, periods, loaded.allocated = await repo.employer_facts(
            conn,
            nsso,
            d.quarter,
            start,
            end,
            periods=deps.rules.crosscheck,
            numbers=numbers,
            persons=persons,
            batch_ticket=sub.batch_ticket,
            batch_position=sub.batch_position,
        )
        facts.original_exists = d.kind == Kind.ORIGINAL and exists
        facts.dimona = periods if deps.rules.crosscheck else None
    if d.kind == Kind.UPDATE and d.employer_declaration_pid:
        facts.stored = await repo.load_stored(conn, d.employer_declaration_pid)
        if facts.stored is not None:
            loaded.changes = plan_modification(facts.stored, d)
            facts.resulting_lines = resulting_lines(facts.stored, loaded.changes)
    if deps.rules.unknown_inss_policy == "refuse" and d.persons:
        inss = [p.inss for p in d.persons]
        facts.unknown_workers = frozenset(set(inss) - await repo.known_workers(conn, inss))
    return loaded


# -- handling ----------------------------------------------------------------------------------


async def handle(conn: asyncpg.Connection, deps: Deps, sub: Submission) -> Handled | None:
    """Handle one declaration from either channel; ``None`` for a batch form that was
    already handled (delivered again: nothing changes)."""
    kind = Kind.UPDATE if sub.file_type == "DMWA" else Kind.ORIGINAL
    reading: Declaration | FormRefused
    if sub.form is None:
        reading = FormRefused((structural("90059", "163", tag="Form"),), kind=kind)
    else:
        reading = read_form(sub.form, sub.file_type)
    loaded: Loaded | None = None
    if isinstance(reading, FormRefused):
        nsso = reading.nsso if reading.nsso and reading.nsso.strip("0") else None
        outcome = Outcome(False, reading.anomalies, Diagnosis.BLOCKING, nsso)
    else:
        loaded = await load_facts(conn, deps, reading, sub)
        if loaded.allocated is not None and loaded.allocated.duplicate:
            return None
        outcome = evaluate(reading, loaded.facts, deps.rules)
    return await _keep(conn, deps, sub, kind, reading, loaded, outcome)


@dataclass
class _Store:
    """What an accepted declaration (environment R) writes into the store, prepared in
    memory first so that it reaches PostgreSQL in a few bulk statements."""

    pid: int
    pids: dict[str, Any]  # DmfaPids as JSON data
    lines: list[dict[str, Any]]  # DmfaWorkerLine as JSON data
    deleted: list[DmfaLineKey]
    wage_mass: int
    line_count: int
    employer: dict[str, Any] | None = None  # the employer_declarations row of an original
    person_rows: list[tuple[Any, ...]] = field(default_factory=list)
    line_rows: list[tuple[Any, ...]] = field(default_factory=list)
    person_versions: list[tuple[int, int, int]] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)

    async def replace_versions(self, conn: asyncpg.Connection) -> None:
        """A modification's versions that its new ones replace stop being current first, so
        the new ones can be written next (one current version per line)."""
        await repo.supersede_lines(conn, self.superseded)
        await repo.set_person_versions(conn, self.person_versions)


def _numbers_needed(d: Declaration, kind: Kind, changes: list[Any], stored: Any) -> tuple[int, int]:
    """(PIDs and version numbers, NaturalPersonPIDs) an accepted declaration needs."""
    if kind == Kind.ORIGINAL:
        lines = d.lines
        occupations = sum(len(r.occupations) for _, r in lines)
        return 1 + len(d.persons) + len(lines) + occupations, len(d.persons)
    touched = {c.inss for c in changes}
    new_persons = [inss for inss in touched if inss not in stored.persons]
    new_lines = [c.new for c in changes if c.new is not None]
    occupations = sum(len(r.occupations) for r in new_lines)
    return len(touched) + len(new_persons) + len(new_lines) + occupations, len(new_persons)


async def _keep(
    conn: asyncpg.Connection,
    deps: Deps,
    sub: Submission,
    kind: Kind,
    reading: Declaration | FormRefused,
    loaded: Loaded | None,
    outcome: Outcome,
) -> Handled | None:
    now = deps.clock.now()
    today = deps.clock.today()
    authz = deps.authorizer
    tables = deps.rules.tables
    simulation = sub.environment == "S"
    declaration = reading if isinstance(reading, Declaration) else None
    quarter = declaration.quarter if declaration else reading.quarter  # type: ignore[union-attr]
    quarter_ok = quarter is not None and is_quarter(quarter)
    nsso = outcome.employer_nsso
    keeps = outcome.accepted and not simulation

    # Deadline (dmfa.md §8): reception date against the applicable deadline.
    received_on = sub.received_at.astimezone(BRUSSELS).date()
    due = legal_due_date(quarter) if quarter_ok else None
    approved = bool(due and nsso and approved_secretariat(authz, nsso, due))
    applicable = (
        deadline(
            quarter,
            approved_secretariat=approved,
            extra_days=deps.settings.secretariat_extra_working_days,
            add_working_days=deps.calendar.add,
        )
        if due
        else None
    )
    # An ad-hoc extension granted to the employer for the quarter (dmfa.md §8) moves the
    # deadline further, never earlier.
    extended_to = (
        await repo.extension(conn, nsso, quarter)
        if applicable and nsso and sub.origin == Origin.DECLARANT
        else None
    )
    if extended_to is not None and applicable is not None and extended_to > applicable:
        applicable = extended_to
    else:
        extended_to = None
    late = bool(
        outcome.accepted
        and kind == Kind.ORIGINAL
        and sub.origin == Origin.DECLARANT
        and applicable
        and received_on > applicable
    )

    # Every identifier this declaration needs, in one round trip.
    changes: list[Any] = loaded.changes if loaded else []
    stored_state = loaded.facts.stored if loaded else None
    numbers_needed, persons_needed = (
        _numbers_needed(declaration, kind, changes, stored_state)
        if keeps and declaration
        else (0, 0)
    )
    allocated = loaded.allocated if loaded else None
    if (
        allocated is None
        or len(allocated.numbers) < numbers_needed
        or len(allocated.person_pids) < persons_needed
    ):
        allocated = await repo.allocate(
            conn, numbers_needed, persons_needed, sub.batch_ticket, sub.batch_position
        )
        if allocated.duplicate:
            return None
    declaration_id, ticket = allocated.declaration_id, allocated.ticket

    store: _Store | None = None
    lifetime = LifetimeChanges((), (), ())
    ids: dict[str, str] = {}
    pid: int | None = None
    if keeps:
        assert declaration is not None and nsso is not None
        numbers = iter(allocated.numbers)
        if kind == Kind.ORIGINAL:
            pid = next(numbers)
            store = _prepare_original(
                deps, declaration, declaration_id, pid, nsso, sub, now, due, applicable, late,
                numbers, allocated.person_pids,
            )  # fmt: skip
            lifetime = lifetime_changes([], outcome.anomalies, None)
        else:
            assert stored_state is not None and loaded is not None
            pid = stored_state.pid
            store = _prepare_update(
                deps, declaration, declaration_id, stored_state, changes, loaded,
                numbers, allocated.person_pids,
            )  # fmt: skip
            open_now = await repo.open_instances(conn, pid)
            lifetime = lifetime_changes(open_now, outcome.anomalies, scope_of(changes))
            ids.update({i.key: i.id for i in open_now})
        ids.update({a.key: str(uuid.uuid4()) for a in lifetime.opened})
    elif not simulation:
        ids.update({a.key: str(uuid.uuid4()) for a in outcome.anomalies})

    def priority(a: Anomaly) -> str:
        return str(tables.priority.classify(a.rule_code, a.severity))

    notified = [
        (a, priority(a), ids.get(a.key) if not simulation else None) for a in outcome.anomalies
    ]
    dmfa_workers, dimona_workers = _workers_numbers(declaration, loaded, deps)
    summary = {
        "dmfa_workers_nbr": dmfa_workers,
        "dimona_workers_nbr": dimona_workers,
        "persons": len(declaration.persons) if declaration else 0,
        "lines": len(declaration.lines) if declaration else 0,
    }
    company_id = declaration.company_id if declaration else reading.company_id  # type: ignore[union-attr]
    row = {
        "id": declaration_id,
        "ticket": ticket,
        "kind": str(kind),
        "origin": str(sub.origin),
        "channel": sub.channel,
        "environment": sub.environment,
        "declarant": sub.declarant,
        "batch_ticket": sub.batch_ticket,
        "batch_position": sub.batch_position,
        "go_file_name": sub.go_file_name,
        "employer_nsso": nsso,
        "company_id": company_id,
        "quarter": quarter,
        "received_at": sub.received_at,
        "processed_at": now,
        "result_code": outcome.result_code,
        "diagnosis": int(outcome.diagnosis) if outcome.diagnosis is not None else None,
        "employer_declaration_pid": pid
        or (declaration.employer_declaration_pid if declaration else None),
        "late": late,
        "due_date": due,
        "deadline": applicable,
        "schema_version": SCHEMA_VERSION,
        "anomalies": [anomaly_json(a, p, i) for a, p, i in notified],
        "summary": summary,
        # The form itself is kept for refused declarations (audit); an accepted one
        # lives on in the store.
        "form": None if outcome.accepted else sub.form_text,
    }
    secretariat, seat = affiliation(authz, nsso, today)
    anomaly_rows: list[tuple[Any, ...]] = []
    events: list[PendingEvent] = []
    if not simulation:
        anomaly_rows, events = _new_instances(
            deps,
            outcome,
            lifetime,
            ids,
            declaration_id=declaration_id,
            ticket=ticket,
            pid=pid,
            nsso=nsso,
            quarter=quarter if quarter_ok else None,
            at=now,
            secretariat=secretariat,
            seat=seat,
        )
    if store is not None:
        await store.replace_versions(conn)
    await repo.write_declaration(
        conn,
        row,
        employer=store.employer if store else None,
        persons=store.person_rows if store else (),
        lines=store.line_rows if store else (),
        anomalies=anomaly_rows,
    )
    if lifetime.resolved:
        events += await _resolve(
            conn, lifetime, at=now, ticket=ticket, declaration_id=declaration_id, origin=sub.origin
        )
    if late and store is not None:
        assert nsso is not None and due is not None and applicable is not None
        if await repo.record_finding(
            conn,
            nsso,
            quarter,
            "LATE",
            now,
            received_on,
            {"ticket": ticket, "deadline": applicable, "received_on": received_on},
        ):
            events.append(
                PendingEvent(
                    SILENT,
                    "DmfaDeclarationLate",
                    nsso,
                    DmfaDeclarationLate(
                        employer_nsso=nsso,
                        quarter=quarter,
                        ticket=ticket,
                        employer_declaration_pid=store.pid,
                        received_on=received_on,
                        due_date=due,
                        deadline=applicable,
                        days_late=(received_on - applicable).days,
                        approved_secretariat=approved,
                        extended_to=extended_to,
                        secretariat=secretariat,
                        seat=seat,
                    ),
                )
            )

    lines = store.lines if store else []
    size = deps.settings.notification_lines_per_event
    parts = max(1, -(-len(lines) // size))
    head = DmfaDeclarationNotified(
        ticket=ticket,
        kind=str(kind),
        file_type=kind.file_type,
        origin=str(sub.origin),
        channel=sub.channel,
        environment=sub.environment,
        schema_version=SCHEMA_VERSION,
        declarant=sub.declarant,
        recipients=recipients(authz, sub.declarant, nsso, today),
        batch_ticket=sub.batch_ticket,
        batch_position=sub.batch_position,
        result="ACCEPTED" if outcome.accepted else "REFUSED",
        result_code=outcome.result_code,
        diagnosis=int(outcome.diagnosis) if outcome.diagnosis is not None else None,
        employer_nsso=nsso,
        company_id=company_id,
        quarter=quarter,
        form=form_echo(reading.header),
        references=references(reading.references),
        dmfa_workers_nbr=dmfa_workers,
        dimona_workers_nbr=dimona_workers,
        anomalies=tuple(notification_anomaly(a, p, i) for a, p, i in notified),
        employer_declaration_pid=pid,
        pid_file=bool(store and kind == Kind.ORIGINAL),
        received_at=sub.received_at,
        notified_at=now,
        due_date=due,
        deadline=applicable,
        late=late,
        wage_mass=store.wage_mass if store else 0,
        worker_lines_count=store.line_count if store else 0,
        worker_line_parts=parts,
        deleted_lines=tuple(store.deleted) if store else (),
    )
    # The bulk of the event (worker lines, PIDs) is built as JSON data directly: the same
    # shape as the contract's models (consumers validate it), without building thousands of
    # models only to dump them again.
    notification = head.model_dump(mode="json")
    notification["worker_lines"] = lines[:size]
    if store is not None:
        pids = store.pids
        notification["pids"] = {**pids, "persons": []} if parts > 1 else pids
    key = nsso or ticket
    events.append(PendingEvent(NOTIFICATIONS, "DmfaDeclarationNotified", key, notification))
    for part in range(2, parts + 1):
        assert store is not None and nsso is not None
        events.append(
            PendingEvent(
                NOTIFICATIONS,
                "DmfaWorkerLinesNotified",
                key,
                {
                    "ticket": ticket,
                    "employer_nsso": nsso,
                    "quarter": quarter,
                    "employer_declaration_pid": store.pid,
                    "part": part,
                    "parts": parts,
                    "worker_lines": lines[(part - 1) * size : part * size],
                },
            )
        )
    await deps.outbox.publish_many(conn, events)
    return Handled(declaration_id, ticket, outcome, notification)


def _workers_numbers(
    declaration: Declaration | None, loaded: Loaded | None, deps: Deps
) -> tuple[int, int]:
    """DeclarationComplInformations: persons with a line needing a Dimona, and persons with
    a qualifying Dimona period for the employer in the quarter."""
    if declaration is None:
        return 0, 0
    if loaded is not None and loaded.facts.resulting_lines is not None:
        in_dmfa = {inss for inss, r in loaded.facts.resulting_lines if r.needs_dimona}
    else:
        in_dmfa = {p.inss for p, r in declaration.lines if r.needs_dimona}
    in_dimona = 0
    if loaded is not None and loaded.facts.dimona is not None:
        excluded = deps.rules.excluded_worker_types
        in_dimona = sum(
            1
            for periods in loaded.facts.dimona.values()
            if any(p.worker_type not in excluded for p in periods)
        )
    return len(in_dmfa), in_dimona


def line_json(record: WorkerRecord, sequence: int, occupation_versions: dict[int, int]) -> str:
    """The stored form of a worker line version: the line, its person's sequence number and
    the versions of its occupations (JSON text)."""
    versions = ",".join(f'"{k}":{v}' for k, v in occupation_versions.items())
    return (
        f'{{"record":{record_json(record)},"sequence":{sequence},'
        f'"occupation_versions":{{{versions}}}}}'
    )


def _line_row(
    version: int,
    pid: int,
    person_pid: int,
    inss: str,
    record: WorkerRecord,
    declaration_id: int,
    sequence: int,
    occupation_versions: dict[int, int],
) -> tuple[Any, ...]:
    return (
        version,
        pid,
        person_pid,
        inss,
        record.employer_class,
        record.worker_code,
        declaration_id,
        True,
        record.needs_dimona,
        record.wage_mass,
        line_json(record, sequence, occupation_versions),
    )


def _prepare_original(
    deps: Deps,
    d: Declaration,
    declaration_id: int,
    pid: int,
    nsso: str,
    sub: Submission,
    now: datetime,
    due: date | None,
    applicable: date | None,
    late: bool,
    numbers: Iterator[int],
    person_pids: list[int],
) -> _Store:
    """An accepted original enters the store with fresh PIDs and versions."""
    tables = deps.rules.tables
    assert due is not None and applicable is not None
    line_count = 0
    wage_mass = 0
    person_rows, line_rows = [], []
    out_lines: list[dict[str, Any]] = []
    pid_persons: list[dict[str, Any]] = []
    for person, person_pid in zip(d.persons, person_pids, strict=True):
        decl_pid = next(numbers)
        person_rows.append((person_pid, pid, person.inss, person.sequence, decl_pid, decl_pid))
        pid_records = []
        for record in person.records:
            version = next(numbers)
            occupation_versions = {o.sequence: next(numbers) for o in record.occupations}
            line_count += 1
            wage_mass += record.wage_mass
            line_rows.append(
                _line_row(
                    version, pid, person_pid, person.inss, record, declaration_id,
                    person.sequence, occupation_versions,
                )
            )  # fmt: skip
            out_lines.append(
                worker_line(
                    tables,
                    person.inss,
                    person.sequence,
                    record,
                    natural_person_pid=person_pid,
                    decl_person_pid=decl_pid,
                    decl_person_version=decl_pid,
                    version=version,
                    occupation_versions=occupation_versions,
                )
            )
            pid_records.append(_pid_record(record, version, occupation_versions))
        pid_persons.append(
            {
                "inss": person.inss,
                "natural_person_pid": person_pid,
                "decl_natural_person_pid": decl_pid,
                "decl_natural_person_version_nbr": decl_pid,
                "worker_records": pid_records,
            }
        )
    employer = {
        "pid": pid,
        "employer_nsso": nsso,
        "quarter": d.quarter,
        "trusteeship": d.trusteeship,
        "company_id": d.company_id,
        "original_declaration_id": declaration_id,
        "received_at": sub.received_at,
        "accepted_at": now,
        "due_date": due,
        "deadline": applicable,
        "late": late,
        "net_owed": d.net_owed,
        "original_wage_mass": wage_mass,
        "original_persons": len(d.persons),
    }
    return _Store(
        pid=pid,
        pids=_pids(d, pid, pid_persons),
        lines=out_lines,
        deleted=[],
        wage_mass=wage_mass,
        line_count=line_count,
        employer=employer,
        person_rows=person_rows,
        line_rows=line_rows,
    )


def _pid_record(
    record: WorkerRecord, version: int, occupation_versions: dict[int, int]
) -> dict[str, Any]:
    """A DmfaPidWorkerRecord as JSON data."""
    return {
        "employer_class": record.employer_class,
        "worker_code": record.worker_code,
        "worker_record_version_nbr": version,
        "occupations": [
            {"occupation_sequence_nbr": seq, "occupation_version_nbr": number}
            for seq, number in occupation_versions.items()
        ],
    }


def _pids(d: Declaration, pid: int, persons: list[dict[str, Any]]) -> dict[str, Any]:
    """DmfaPids (the PID file's IDEmployerDeclaration) as JSON data."""
    return {
        "quarter": d.quarter,
        "nsso_registration_nbr": d.nsso,
        "trusteeship": d.trusteeship,
        "company_id": d.company_id,
        "employer_declaration_pid": pid,
        "persons": persons,
    }


def _prepare_update(
    deps: Deps,
    d: Declaration,
    declaration_id: int,
    stored: StoredDeclaration,
    changes: list[Any],
    loaded: Loaded,
    numbers: Iterator[int],
    new_person_pids: list[int],
) -> _Store:
    """An accepted modification: new versions of the lines it creates or changes, the
    replaced and deleted versions superseded, new persons registered."""
    tables = deps.rules.tables
    touched = list(dict.fromkeys(c.inss for c in changes))
    sequences = {p.inss: p.sequence for p in d.persons}
    new_persons = [inss for inss in touched if inss not in stored.persons]
    person_pids = dict(zip(new_persons, new_person_pids, strict=True))
    versions: dict[str, tuple[int, int, int]] = {}  # inss -> (person pid, decl pid, version)
    person_rows, existing = [], []
    for inss in touched:
        version = next(numbers)
        known = stored.persons.get(inss)
        if known is None:
            decl_pid = next(numbers)
            person_rows.append(
                (person_pids[inss], stored.pid, inss, sequences.get(inss, 0), decl_pid, version)
            )
            versions[inss] = (person_pids[inss], decl_pid, version)
        else:
            existing.append(
                (known.natural_person_pid, version, sequences.get(inss, known.sequence))
            )
            versions[inss] = (known.natural_person_pid, known.decl_person_pid, version)
    line_rows = []
    out_lines: list[dict[str, Any]] = []
    records_by_person: dict[str, list[dict[str, Any]]] = {}
    for c in changes:
        if c.new is None:
            continue
        person_pid, decl_pid, person_version = versions[c.inss]
        version = next(numbers)
        occupation_versions = {o.sequence: next(numbers) for o in c.new.occupations}
        sequence = sequences.get(c.inss, 0)
        line_rows.append(
            _line_row(
                version, stored.pid, person_pid, c.inss, c.new, declaration_id, sequence,
                occupation_versions,
            )
        )  # fmt: skip
        out_lines.append(
            worker_line(
                tables,
                c.inss,
                sequence,
                c.new,
                natural_person_pid=person_pid,
                decl_person_pid=decl_pid,
                decl_person_version=person_version,
                version=version,
                occupation_versions=occupation_versions,
            )
        )
        records_by_person.setdefault(c.inss, []).append(
            _pid_record(c.new, version, occupation_versions)
        )
    resulting = loaded.facts.resulting_lines or []
    pid_persons = [
        {
            "inss": inss,
            "natural_person_pid": versions[inss][0],
            "decl_natural_person_pid": versions[inss][1],
            "decl_natural_person_version_nbr": versions[inss][2],
            "worker_records": records_by_person.get(inss, []),
        }
        for inss in touched
    ]
    # Lines gone from the declaration: deleted (action 0) or replaced by a line under other
    # codes (employer class, worker code), unless another change of it recreates their key.
    current = {(c.inss, c.new.employer_class, c.new.worker_code) for c in changes if c.new}
    gone = dict.fromkeys(
        (c.old.inss, c.old.employer_class, c.old.worker_code) for c in changes if c.old is not None
    )
    deleted = [
        DmfaLineKey(inss=inss, employer_class=employer_class, worker_code=worker_code)
        for inss, employer_class, worker_code in gone
        if (inss, employer_class, worker_code) not in current
    ]
    return _Store(
        pid=stored.pid,
        pids=_pids(d, stored.pid, pid_persons),
        lines=out_lines,
        deleted=deleted,
        wage_mass=sum(r.wage_mass for _, r in resulting),
        line_count=len(resulting),
        person_rows=person_rows,
        line_rows=line_rows,
        person_versions=existing,
        superseded=[c.old.version for c in changes if c.old is not None],
    )


def _new_instances(
    deps: Deps,
    outcome: Outcome,
    changes: LifetimeChanges,
    ids: dict[str, str],
    *,
    declaration_id: int,
    ticket: str,
    pid: int | None,
    nsso: str | None,
    quarter: int | None,
    at: datetime,
    secretariat: str | None,
    seat: str | None,
) -> tuple[list[tuple[Any, ...]], list[PendingEvent]]:
    """The rows and detection events of the anomaly instances a declaration opens (OPEN,
    accepted) or records (REFUSED, refused)."""
    tables = deps.rules.tables
    version = tables.priority.version
    if outcome.accepted:
        new, state = changes.opened, "OPEN"
    else:
        seen: dict[str, Anomaly] = {}
        for a in outcome.anomalies:
            seen.setdefault(a.key, a)
        new, state = tuple(seen.values()), "REFUSED"
    rows: list[tuple[Any, ...]] = []
    events: list[PendingEvent] = []
    for a in new:
        anomaly_id = ids[a.key]
        priority = str(tables.priority.classify(a.rule_code, a.severity))
        occupation = a.path_value("OccupationSequenceNbr")
        rows.append(
            (
                uuid.UUID(anomaly_id),
                declaration_id,
                ticket,
                pid,
                nsso,
                quarter,
                a.code,
                a.rule_code,
                str(a.severity),
                priority,
                str(a.subject),
                state,
                a.key,
                a.path_value("INSS"),
                a.path_value("EmployerClass"),
                a.path_value("WorkerCode"),
                int(occupation) if occupation else None,
                json.dumps([{"tag": t, "value": v} for t, v in a.path]),
                a.tag,
                a.value,
                at,
                secretariat,
                seat,
            )
        )
        events.append(
            PendingEvent(
                ANOMALIES,
                "DmfaAnomalyDetected",
                nsso or ticket,
                DmfaAnomalyDetected(
                    anomaly_id=uuid.UUID(anomaly_id),
                    error_id=a.code,
                    rule_code=a.rule_code,
                    anomaly_class=str(a.severity),
                    priority=priority,
                    priority_table_version=version,
                    state=state,
                    subject=str(a.subject),
                    employer_nsso=nsso,
                    quarter=quarter,
                    employer_declaration_pid=pid,
                    ticket=ticket,
                    inss=a.path_value("INSS"),
                    employer_class=a.path_value("EmployerClass"),
                    worker_code=a.path_value("WorkerCode"),
                    occupation_sequence=int(occupation) if occupation else None,
                    path=tuple(DmfaPathElement(tag=t, value=v) for t, v in a.path),
                    tag_name=a.tag,
                    value=a.value,
                    detected_at=at,
                    secretariat=secretariat,
                    seat=seat,
                ),
            )
        )
    return rows, events


async def _resolve(
    conn: asyncpg.Connection,
    changes: LifetimeChanges,
    *,
    at: datetime,
    ticket: str,
    declaration_id: int,
    origin: Origin,
) -> list[PendingEvent]:
    """Resolve the instances a correction removed; their events carry the lifetime."""
    by = "EX_OFFICIO" if origin == Origin.EX_OFFICIO else "UPDATE"
    events: list[PendingEvent] = []
    for row in await repo.resolve_anomalies(
        conn, [i.id for i in changes.resolved], at, by, declaration_id
    ):
        opened_at: datetime = row["detected_at"]
        events.append(
            PendingEvent(
                ANOMALIES,
                "DmfaAnomalyResolved",
                row["employer_nsso"],
                DmfaAnomalyResolved(
                    anomaly_id=row["id"],
                    error_id=row["code"],
                    rule_code=row["rule_code"],
                    anomaly_class=row["class"],
                    priority=row["priority"],
                    subject=row["subject"],
                    employer_nsso=row["employer_nsso"],
                    quarter=row["quarter"],
                    employer_declaration_pid=row["employer_declaration_pid"],
                    inss=row["inss"],
                    employer_class=row["employer_class"],
                    worker_code=row["worker_code"],
                    opened_at=opened_at,
                    resolved_at=at,
                    resolved_by=by,
                    resolving_ticket=ticket,
                    lifetime_days=lifetime_days(
                        opened_at.astimezone(BRUSSELS), at.astimezone(BRUSSELS)
                    ),
                    lifetime_seconds=int((at - opened_at).total_seconds()),
                ),
            )
        )
    return events


# -- read models -------------------------------------------------------------------------------


async def apply_period(conn: asyncpg.Connection, change: Any) -> None:
    """A Dimona period changed: keep the personnel-file read model (simulation periods of
    the dimona service never reach it)."""
    if getattr(change, "simulation", False):
        return
    await repo.upsert_period(conn, change.after, change.changed_at)


# -- silent employers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    employer_nsso: str
    quarter: int
    reason: str
    new: bool


async def evaluate_silent(
    conn: asyncpg.Connection,
    deps: Deps,
    quarter: int,
    *,
    reasons: tuple[str, ...] = ("NO_DMFA", "INCOMPLETE", "INACCURATE"),
    force: bool = False,
) -> list[Finding]:
    """Find the silent employers of a quarter (dmfa.md §9) and publish each finding once.

    A reason is evaluated once its date has come on the business clock (missing: the list
    date; incomplete and inaccurate: end of quarter + 6 months), or at once with ``force``.
    Running it again publishes nothing new: findings are recorded in ``silent_findings``.
    """
    settings = deps.settings
    today = deps.clock.today()
    now = deps.clock.now()
    start, end = bounds(quarter)
    due = legal_due_date(quarter)
    excluded = list(settings.excluded_worker_types)
    out: list[Finding] = []
    events: list[PendingEvent] = []

    def publish(nsso: str, reason: str, **details: Any) -> None:
        secretariat, seat = affiliation(deps.authorizer, nsso, today)
        events.append(
            PendingEvent(
                SILENT,
                "DmfaEmployerSilent",
                nsso,
                DmfaEmployerSilent(
                    employer_nsso=nsso,
                    quarter=quarter,
                    reason=reason,
                    evaluated_on=today,
                    due_date=due,
                    secretariat=secretariat,
                    seat=seat,
                    **details,
                ),
            )
        )

    listed_on = list_date(
        quarter, working_days=settings.silent_list_working_days, add_working_days=deps.calendar.add
    )
    if "NO_DMFA" in reasons and (force or today >= listed_on):
        with_dimona = await repo.employers_with_periods(conn, start, end, excluded)
        with_persons = await repo.employers_with_persons(conn, previous(quarter))
        declared = await repo.employers_with_original(conn, quarter)
        employers = [e for e in map(to_employer, deps.authorizer.employers.values()) if e]
        active = active_employers(
            employers, quarter, with_dimona=with_dimona, with_persons_before=with_persons
        )
        extended = {
            r["employer_nsso"]: r["extended_to"] for r in await repo.extensions(conn, quarter)
        }
        for nsso in sorted(active - declared):
            if not force and nsso in extended and today <= extended[nsso]:
                continue  # its extended deadline has not passed yet
            new = await repo.record_finding(conn, nsso, quarter, "NO_DMFA", now, today, {})
            if new:
                publish(nsso, "NO_DMFA")
            out.append(Finding(nsso, quarter, "NO_DMFA", new))
    reviewed_on = review_date(quarter, months=settings.silent_review_months)
    if {"INCOMPLETE", "INACCURATE"} & set(reasons) and (force or today >= reviewed_on):
        for row in await repo.completeness(conn, quarter, start, end, excluded):
            c = Completeness(
                row["employer_nsso"],
                row["persons_in_dimona"],
                row["persons_missing"],
                row["original_wage_mass"],
                row["current_wage_mass"],
            )
            if "INCOMPLETE" in reasons and is_incomplete(c, settings.incomplete_threshold):
                details = {
                    "persons_in_dimona": c.persons_in_dimona,
                    "persons_missing": c.persons_missing,
                    "missing_share": round(c.missing_share, 4),
                }
                new = await repo.record_finding(
                    conn, c.employer_nsso, quarter, "INCOMPLETE", now, today, details
                )
                if new:
                    publish(c.employer_nsso, "INCOMPLETE", **details)
                out.append(Finding(c.employer_nsso, quarter, "INCOMPLETE", new))
            if "INACCURATE" in reasons and is_inaccurate(c, settings.inaccurate_threshold):
                details = {
                    "original_wage_mass": c.original_wage_mass,
                    "current_wage_mass": c.current_wage_mass,
                    "wage_mass_change": round(c.wage_mass_change, 4),
                }
                new = await repo.record_finding(
                    conn, c.employer_nsso, quarter, "INACCURATE", now, today, details
                )
                if new:
                    publish(c.employer_nsso, "INACCURATE", **details)
                out.append(Finding(c.employer_nsso, quarter, "INACCURATE", new))
    await deps.outbox.publish_many(conn, events)
    return out


def quarters_to_review(today: date, lookback: int) -> list[int]:
    """The ``lookback`` quarters that ended before ``today``, oldest first."""
    quarter = previous(quarter_of(today))
    out = []
    for _ in range(lookback):
        out.append(quarter)
        quarter = previous(quarter)
    return sorted(out)
