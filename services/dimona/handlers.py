"""Use cases of the dimona service. Each takes the transaction's connection and its
dependencies as parameters; the entry point (HTTP route, Kafka consumer) opens the
transaction and commits once."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from socsec.contracts.payloads.dimona import (
    DimonaDeclarationReceived,
    DimonaNotified,
    DimonaPeriodChanged,
    IdentificationRequested,
)
from socsec.contracts.payloads.registry import (
    EmployerChanged,
    IdentificationOutcome,
    IdentificationResolved,
    NotificationRouting,
    Scope,
)
from socsec.dimona import repository as repo
from socsec.dimona.codec import declaration_from_text, notification_anomaly, period_state
from socsec.dimona.domain.model import (
    Declaration,
    Employer,
    Kind,
    Outcome,
    Period,
    Result,
    Worker,
)
from socsec.dimona.domain.rules import RuleSettings, evaluate
from socsec.kit.authz import Authorizer
from socsec.kit.calendar import WorkingDays
from socsec.kit.clock import BRUSSELS, Clock
from socsec.kit.outbox import Outbox, PreparedEvent

REQUESTED_BY = "dimona"


@dataclass
class Deps:
    """What the use cases need besides the connection."""

    outbox: Outbox
    clock: Clock
    calendar: WorkingDays
    authorizer: Authorizer
    rules: RuleSettings
    contest_window_days: int = 5
    numbers: repo.DimonaNumbers = dataclasses.field(default_factory=repo.DimonaNumbers)
    period_employers: repo.PeriodEmployers = dataclasses.field(default_factory=repo.PeriodEmployers)


# -- context of the rules -----------------------------------------------------------------


def to_employer(e: EmployerChanged) -> Employer:
    return Employer(
        nsso_number=e.nsso_number,
        enterprise_number=e.enterprise_number,
        registered_from=e.registered_from,
        registered_to=e.registered_to,
        public_sector=e.public_sector,
    )


@dataclass
class LoadedContext:
    """The :class:`~socsec.dimona.domain.model.Context` of one declaration, loaded up front
    from PostgreSQL (same transaction: earlier declarations of the batch are visible) and
    from the registry's read model."""

    today: date
    authorizer: Authorizer
    calendar: WorkingDays
    workers: dict[str, Worker]
    periods: dict[int, Period]
    periods_by_pair: dict[tuple[str, str], list[Period]]
    quota: dict[tuple[str, int], dict[int, tuple[str, int, int]]]

    def employer(self, nsso_number: str) -> Employer | None:
        e = self.authorizer.employers.get(nsso_number)
        return to_employer(e) if e else None

    def employer_by_enterprise(self, enterprise_number: str) -> Employer | None:
        nsso = self.authorizer.by_enterprise.get(enterprise_number)
        return self.employer(nsso) if nsso else None

    def worker(self, ssin: str) -> Worker | None:
        return self.workers.get(ssin)

    def period(self, period_id: int) -> Period | None:
        return self.periods.get(period_id)

    def periods_of(self, employer_nsso: str, ssin: str) -> list[Period]:
        return self.periods_by_pair.get((employer_nsso, ssin), [])

    def _sum(self, ssin: str, year: int, excluding: int | None, types: set[str], i: int) -> int:
        rows = self.quota.get((ssin, year), {})
        return sum(row[i] for pid, row in rows.items() if pid != excluding and row[0] in types)

    def student_hours(self, ssin: str, year: int, excluding_period: int | None) -> int:
        return self._sum(ssin, year, excluding_period, {"STU"}, 1)

    def student_days(self, ssin: str, year: int, excluding_period: int | None) -> int:
        return self._sum(ssin, year, excluding_period, {"STU"}, 2)

    def art17_hours(self, ssin: str, year: int, excluding_period: int | None) -> int:
        return self._sum(ssin, year, excluding_period, {"O17", "S17", "T17"}, 1)

    def is_working_day(self, day: date) -> bool:
        return self.calendar.is_working_day(day)

    def next_working_day(self, day: date) -> date:
        return self.calendar.next_working_day(day)


def context_query(deps: Deps, declaration: Declaration) -> repo.ContextQuery:
    employer = declaration.employer_nsso
    if employer is None and declaration.employer_enterprise:
        employer = deps.authorizer.by_enterprise.get(declaration.employer_enterprise)
    return repo.ContextQuery(
        period_id=declaration.period_id or None,
        employer_nsso=employer,
        insz=declaration.ssin or None,
        year=declaration.start_date.year if declaration.start_date else None,
        # An OUT, UPDATE or CANCEL counts when its period does (an UPDATE keeps the type).
        quota=(
            declaration.features.worker_type in repo.QUOTA_TYPES
            if declaration.kind == Kind.IN
            else None
        ),
    )


def build_context(
    deps: Deps,
    declaration: Declaration,
    rows: repo.ContextRows,
    known_worker: Worker | None = None,
) -> LoadedContext:
    employer = context_query(deps, declaration).employer_nsso
    period = rows.period
    if period is not None:
        employer = period.employer_nsso
    ssin = declaration.ssin or (period.ssin if period else None)
    ctx = LoadedContext(
        today=deps.clock.today(),
        authorizer=deps.authorizer,
        calendar=deps.calendar,
        workers={},
        periods={period.id: period} if period else {},
        periods_by_pair={},
        quota={},
    )
    if ssin:
        worker = known_worker or rows.worker
        if worker is not None:
            ctx.workers[ssin] = worker
        years = {d.year for d in (declaration.start_date, period and period.start_date) if d}
        for year in years:
            ctx.quota[(ssin, year)] = rows.quota.get(year, {})
        if employer:
            ctx.periods_by_pair[(employer, ssin)] = rows.pair
            ctx.periods.update({p.id: p for p in rows.pair})
    return ctx


def _keys(declaration: Declaration, rows: repo.ContextRows) -> set[tuple[str, object]]:
    """What a declaration's processing reads and writes besides reference data: itself,
    the period it concerns or creates, and its worker (whose pair and quota it reads)."""
    keys: set[tuple[str, object]] = {
        ("declaration", declaration.declaration_id),
        ("period", declaration.declaration_id),
    }
    if declaration.period_id:
        keys.add(("period", declaration.period_id))
    if declaration.ssin:
        keys.add(("worker", declaration.ssin))
    if rows.period is not None:
        keys.add(("period", rows.period.id))
        keys.add(("worker", rows.period.ssin))
    return keys


# -- use cases ----------------------------------------------------------------------------


async def receive(
    conn: asyncpg.Connection, deps: Deps, declaration: Declaration, employer: str | None = None
) -> None:
    """Record a REST declaration and hand it to the processor (asynchronous processing).

    One statement writes the declaration and its event: atomic without a transaction of
    its own, and one round trip. The event's key is the employer concerned (``employer``:
    for an OUT, UPDATE or CANCEL the period's), so that an employer's declarations reach
    the processor in the order they were received."""
    received = deps.outbox.prepare(
        "dimona.declarations.v1",
        event_type="DimonaDeclarationReceived",
        key=employer
        or declaration.employer_nsso
        or str(declaration.period_id or declaration.declaration_id),
        payload=DimonaDeclarationReceived(
            declaration_id=declaration.declaration_id,
            kind=str(declaration.kind),
            channel=declaration.channel,
            declarant=declaration.declarant,
        ),
    )
    writes = repo.Writes([repo.declaration_insert(declaration), repo.outbox_rows([received])])
    await writes.execute(conn)


class Batch:
    """Declarations processed together in the caller's transaction (a consumer batch):
    their rows locked and their contexts read in one round trip each (:meth:`load`), their
    writes sent in one statement (:meth:`flush`, which the caller awaits last). Workers
    whose student or art. 17 quota they count towards are locked first
    (:func:`~socsec.dimona.repository.lock_quota_workers`).

    A declaration whose context an earlier one of the batch may have changed (the same
    worker or period, or the same declaration delivered again) first sends the writes
    gathered so far and reads its row and context again: the outcome is the one it would
    have had processed alone, after the declarations before it."""

    def __init__(self, conn: asyncpg.Connection, deps: Deps) -> None:
        self.conn = conn
        self.deps = deps
        self.writes = repo.ProcessingWrites()
        self._rows: dict[int, asyncpg.Record] = {}
        self._loaded: dict[int, tuple[Declaration, repo.ContextRows]] = {}
        self._touched: set[tuple[str, object]] = set()
        #: What the writes gathered and not yet sent touch.
        self._pending: set[tuple[str, object]] = set()

    async def load(self, declaration_ids: list[int]) -> None:
        """Lock the declarations and read the contexts of those still to process."""
        self._rows = await repo.lock_declarations(self.conn, declaration_ids)
        pending = {
            declaration_id: declaration_from_text(row["request_text"])
            for declaration_id, row in self._rows.items()
            if row["status"] == "RECEIVED"
        }
        queries = [context_query(self.deps, d) for d in pending.values()]
        await repo.lock_quota_workers(self.conn, queries)
        rows = await repo.contexts(self.conn, queries)
        self._loaded = dict(zip(pending, zip(pending.values(), rows, strict=True), strict=True))

    async def flush(self) -> None:
        """Send the writes gathered so far. (What the batch touched stays marked: the
        contexts read by :meth:`load` predate all of it.)"""
        await self.writes.execute(self.conn)
        self._pending.clear()

    async def settle(self, keys: set[tuple[str, object]]) -> None:
        """Send the gathered writes if any of them touches ``keys`` (before reading what
        they change outside :meth:`process`)."""
        if keys & self._pending:
            await self.flush()

    async def process(
        self,
        declaration_id: int,
        *,
        identified: Worker | None = None,
        identification_failed: str | None = None,
    ) -> Outcome | None:
        """Apply the rules to a recorded declaration, update the personnel file and notify.

        Returns ``None`` when the declaration was already processed (a redelivery)."""
        row = self._rows.pop(declaration_id, None)
        loaded = self._loaded.pop(declaration_id, None)
        if ("declaration", declaration_id) in self._touched:
            await self.flush()  # the same declaration again: it reads its new status
            row = loaded = None
        if row is None:
            row = await repo.lock_declaration(self.conn, declaration_id)
        if row is None:
            raise LookupError(f"declaration {declaration_id} was never recorded")
        answering_identification = identified is not None or identification_failed is not None
        if row["status"] != ("WAITING" if answering_identification else "RECEIVED"):
            return None  # already handled: a redelivered message changes nothing
        if loaded is not None and not answering_identification:
            declaration, rows = loaded
            if _keys(declaration, rows) & self._touched:
                await self.flush()
                rows = (await repo.contexts(self.conn, [context_query(self.deps, declaration)]))[0]
        else:
            declaration = declaration_from_text(row["request_text"])
            if identified is not None:
                declaration = dataclasses.replace(
                    declaration, ssin=identified.ssin, identified=True
                )
            elif identification_failed is not None:
                declaration = dataclasses.replace(declaration, identified=False)
            query = context_query(self.deps, declaration)
            await repo.lock_quota_workers(self.conn, [query])
            rows = (await repo.contexts(self.conn, [query]))[0]
            if _keys(declaration, rows) & self._pending:  # read before earlier writes went
                await self.flush()
                rows = (await repo.contexts(self.conn, [query]))[0]
        outcome = self._evaluate(declaration, rows, row, identified, answering_identification)
        keys = _keys(declaration, rows)
        if outcome.ssin:
            keys.add(("worker", outcome.ssin))
        self._touched |= keys
        self._pending |= keys
        return outcome

    def _evaluate(
        self,
        declaration: Declaration,
        rows: repo.ContextRows,
        row: asyncpg.Record,
        identified: Worker | None,
        answering_identification: bool,
    ) -> Outcome:
        deps = self.deps
        simulation = row["environment"] == "S"
        ctx = build_context(deps, declaration, rows, identified)
        outcome = evaluate(declaration, ctx, deps.rules)

        now = deps.clock.now()
        writes = self.writes
        events: list[PreparedEvent] = []
        request_id = None
        if outcome.result == Result.WAITING:
            request_id = f"dimona-{declaration.declaration_id}-{uuid.uuid4().hex[:8]}"
            identity = declaration.identity
            events.append(
                deps.outbox.prepare(
                    "dimona.identification-requests.v1",
                    event_type="IdentificationRequested",
                    key=request_id,
                    payload=IdentificationRequested(
                        request_id=request_id,
                        requested_by=REQUESTED_BY,
                        insz=declaration.ssin,
                        family_name=identity.family_name if identity else None,
                        given_name=identity.given_name if identity else None,
                        birth_date=identity.birth_date if identity else None,
                        sex=identity.gender if identity else None,
                        nationality=identity.nationality if identity else None,
                    ),
                )
            )

        change = outcome.change if outcome.result in (Result.ACCEPTED, Result.WARNING) else None
        if change is not None and not simulation:
            writes.period(change.after, now)
            events.append(
                deps.outbox.prepare(
                    "dimona.periods.v1",
                    event_type="DimonaPeriodChanged",
                    key=change.after.employer_nsso,
                    payload=DimonaPeriodChanged(
                        declaration_id=declaration.declaration_id,
                        kind=str(change.kind),
                        before=period_state(change.before) if change.before else None,
                        after=period_state(change.after),
                        changed_at=now,
                    ),
                )
            )
            for key in (("period", change.after.id), ("worker", change.after.ssin)):
                self._touched.add(key)
                self._pending.add(key)
        period_id = change.after.id if change else outcome.period_id
        # The period exists when this declaration created it or the rules found it.
        if period_id is not None and not simulation and (change or ctx.period(period_id)):
            writes.link(
                period_id, declaration.declaration_id, str(declaration.kind), str(outcome.result)
            )

        final = outcome.result != Result.WAITING
        deadline = deps.calendar.add(now.astimezone(BRUSSELS).date(), deps.contest_window_days)
        writes.outcome(
            declaration.declaration_id,
            status="PROCESSED" if final else "WAITING",
            result=str(outcome.result),
            anomalies=outcome.anomalies,
            employer_nsso=outcome.employer_nsso,
            insz=outcome.ssin or declaration.ssin,
            period_id=period_id,
            processed_at=now,
            contest_deadline=deadline if final else None,
            identification_request=request_id,
            request=declaration if answering_identification else None,
        )
        events.append(
            notification(deps, declaration, outcome, row, now, deadline if final else None)
        )
        for event in events:
            writes.event(event)
        return outcome


async def process(
    conn: asyncpg.Connection,
    deps: Deps,
    declaration_id: int,
    *,
    identified: Worker | None = None,
    identification_failed: str | None = None,
) -> Outcome | None:
    """:meth:`Batch.process` of one declaration, written at once (three round trips: its
    row, its context, its writes)."""
    batch = Batch(conn, deps)
    outcome = await batch.process(
        declaration_id, identified=identified, identification_failed=identification_failed
    )
    await batch.flush()
    return outcome


def recipients(
    authorizer: Authorizer, declaration: Declaration, employer: str | None, today: date
) -> tuple[str, ...]:
    """The declarant, and the employer's mandated secretariat when its mandate routes
    notifications to the mandatary (registry.md §6)."""
    out = [declaration.declarant]
    if employer:
        mandate = authorizer.mandate_for(employer, Scope.DIMONA, today)
        if mandate is not None:
            declarant_mandatary = authorizer.mandatary_of(declaration.declarant)
            if mandate.notification_routing in (
                NotificationRouting.MANDATARY,
                NotificationRouting.BOTH,
            ) and (declarant_mandatary != mandate.mandatary_id):
                out.append(mandate.mandatary_id)
    return tuple(dict.fromkeys(out))


def notification(
    deps: Deps,
    declaration: Declaration,
    outcome: Outcome,
    row: asyncpg.Record,
    now: datetime,
    contest_deadline: date | None,
) -> PreparedEvent:
    """The notification of an outcome (positive, negative or provisional)."""
    change = outcome.change if outcome.result in (Result.ACCEPTED, Result.WARNING) else None
    return deps.outbox.prepare(
        "dimona.notifications.v1",
        event_type="DimonaNotified",
        key=outcome.employer_nsso or str(declaration.declaration_id),
        payload=DimonaNotified(
            declaration_id=declaration.declaration_id,
            kind=str(declaration.kind),
            result=str(outcome.result),
            final=outcome.result != Result.WAITING,
            employer_nsso=outcome.employer_nsso,
            insz=outcome.ssin or declaration.ssin,
            period_id=change.after.id if change else outcome.period_id,
            anomalies=tuple(notification_anomaly(a) for a in outcome.anomalies),
            channel=declaration.channel,
            declarant=declaration.declarant,
            recipients=recipients(
                deps.authorizer, declaration, outcome.employer_nsso, deps.clock.today()
            ),
            batch_ticket=row["batch_ticket"],
            batch_position=row["batch_position"],
            notified_at=now,
            contest_deadline=contest_deadline,
            before=period_state(change.before) if change and change.before else None,
            after=period_state(change.after) if change else None,
        ),
    )


async def on_identification(
    conn: asyncpg.Connection, deps: Deps, resolved: IdentificationResolved
) -> Outcome | None:
    """The registry answered an identification request: the final notification follows."""
    row = await repo.declaration_by_identification(conn, resolved.request_id)
    if row is None:
        return None
    if resolved.outcome in (IdentificationOutcome.FOUND, IdentificationOutcome.CREATED):
        assert resolved.insz is not None
        worker = await repo.worker(conn, resolved.insz) or Worker(ssin=resolved.insz)
        return await process(conn, deps, row["id"], identified=worker)
    return await process(
        conn,
        deps,
        row["id"],
        identification_failed=resolved.reason or "identification failed",
    )
