"""Builders of Dimona period changes and DmfA notifications, and a harness that drives the
crosscheck handlers in transactions of a real PostgreSQL (the test's database)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from socsec.contracts.envelope import Envelope
from socsec.contracts.payloads.dimona import DimonaPeriodChanged, PeriodState
from socsec.contracts.payloads.dmfa import (
    DmfaDeclarationNotified,
    DmfaLineKey,
    DmfaOccupation,
    DmfaWorkerLine,
    DmfaWorkerLinesNotified,
)
from socsec.contracts.payloads.registry import MandateChanged, Scope
from socsec.crosscheck import handlers
from socsec.crosscheck.evaluator import Evaluator, EvaluatorStats
from socsec.crosscheck.settings import CrosscheckSettings
from socsec.kit import migrator
from socsec.kit.authz import Authorizer
from socsec.kit.clock import FixedClock
from socsec.kit.db import Database
from socsec.kit.outbox import Outbox

#: Employers of the registry reference data (tests/dimona/dimona_fixtures.py): B counts for
#: the seat S-PAYPRO, C for S-EXEMPLUM-BXL.
EMPLOYER_B = "187654356"
EMPLOYER_C = "155555504"
SEATS = {EMPLOYER_B: ("M-PAYPRO", "S-PAYPRO"), EMPLOYER_C: ("M-EXEMPLUM", "S-EXEMPLUM-BXL")}
Q = 20252
NOW = datetime(2025, 8, 1, 9, 0, tzinfo=UTC)

_declaration_ids = itertools.count(7_000_000_000_01)
_tickets = itertools.count(1)


def next_declaration_id() -> int:
    return next(_declaration_ids)


def state(
    period_id: int,
    insz: str,
    worker_type: str = "OTH",
    start: date = date(2025, 4, 1),
    end: date | None = None,
    *,
    jc: str | None = "XXX",
    hours: int | None = None,
    cancelled: bool = False,
    employer: str = EMPLOYER_B,
) -> PeriodState:
    return PeriodState(
        id=period_id,
        employer_nsso=employer,
        insz=insz,
        worker_type=worker_type,
        joint_commission=jc,
        start_date=start,
        end_date=end,
        planned_hours=hours,
        is_cancelled=cancelled,
    )


def changed(
    kind: str, after: PeriodState, before: PeriodState | None = None
) -> DimonaPeriodChanged:
    return DimonaPeriodChanged(
        declaration_id=next_declaration_id(),
        kind=kind,
        before=before,
        after=after,
        changed_at=NOW,
    )


def occ(
    jc: str = "200",
    start: date | None = None,
    end: date | None = None,
    *,
    days: int = 6400,
    flexi: bool = False,
    occasional: bool = False,
    seq: int = 1,
) -> DmfaOccupation:
    return DmfaOccupation(
        sequence=seq,
        start_date=start,
        end_date=end,
        joint_commission=jc,
        working_days_system=500,
        contract_type=0,
        days=days,
        hours=0,
        wage=100_000,
        flexi=flexi,
        occasional=occasional,
    )


def wline(
    insz: str,
    code: str = "495",
    *occupations: DmfaOccupation,
    hours: int | None = None,
    needs_dimona: bool | None = None,
    employer_class: str = "010",
) -> DmfaWorkerLine:
    student = code in ("840", "841")
    return DmfaWorkerLine(
        inss=insz,
        natural_person_sequence=1,
        employer_class=employer_class,
        worker_code=code,
        worker_kind="STUDENT" if student else "OTHER",
        needs_dimona=bool(occupations or hours) if needs_dimona is None else needs_dimona,
        occupations=occupations,
        student_hours=hours,
        wage_mass=100_000,
    )


def declaration(
    lines: tuple[DmfaWorkerLine, ...] | list[DmfaWorkerLine] = (),
    *,
    kind: str = "ORIGINAL",
    employer: str = EMPLOYER_B,
    quarter: int = Q,
    deleted: tuple[tuple[str, str, str], ...] = (),
    origin: str = "DECLARANT",
    result: str = "ACCEPTED",
    environment: str = "R",
    parts: int = 1,
    ticket: str | None = None,
) -> DmfaDeclarationNotified:
    return DmfaDeclarationNotified(
        ticket=ticket or f"T{next(_tickets):012d}",
        kind=kind,
        file_type="DMFA" if kind == "ORIGINAL" else "DMWA",
        origin=origin,
        channel="REST",
        environment=environment,
        declarant="M-PAYPRO",
        recipients=("M-PAYPRO",),
        result=result,
        result_code=1 if result == "ACCEPTED" else 0,
        employer_nsso=employer,
        quarter=quarter,
        employer_declaration_pid=10_000_000_017,
        received_at=NOW,
        notified_at=NOW,
        worker_lines_count=len(lines),
        worker_line_parts=parts,
        worker_lines=tuple(lines),
        deleted_lines=tuple(
            DmfaLineKey(inss=i, employer_class=c, worker_code=w) for i, c, w in deleted
        ),
    )


def lines_part(
    of: DmfaDeclarationNotified, part: int, lines: list[DmfaWorkerLine]
) -> DmfaWorkerLinesNotified:
    assert of.employer_nsso is not None and of.quarter is not None
    return DmfaWorkerLinesNotified(
        ticket=of.ticket,
        employer_nsso=of.employer_nsso,
        quarter=of.quarter,
        employer_declaration_pid=of.employer_declaration_pid or 0,
        part=part,
        parts=of.worker_line_parts,
        worker_lines=tuple(lines),
    )


def authorizer() -> Authorizer:
    """The registry's mandates, in memory: B and C hold a DmfA mandate since 2015."""
    authz = Authorizer()
    for i, (employer, (mandatary, seat)) in enumerate(SEATS.items()):
        authz.apply_mandate(
            MandateChanged(
                id=f"MD-{i}",
                employer_nsso=employer,
                mandatary_id=mandatary,
                affiliation_point=seat,
                seat_id=seat,
                scopes=(Scope.DIMONA, Scope.DMFA),
                proxy_registered_on=date(2015, 1, 1),
                valid_from=date(2015, 1, 1),
            )
        )
    return authz


@dataclass
class Harness:
    """The crosscheck use cases on the test's database, each call one transaction, the way
    the consumers and the evaluator run them."""

    db: Database
    deps: handlers.Deps
    clock: FixedClock
    evaluator: Evaluator

    async def period(self, change: DimonaPeriodChanged) -> bool:
        async with self.db.transaction() as conn:
            return await handlers.on_period_changed(conn, self.deps, change)

    async def dmfa(self, notified: DmfaDeclarationNotified | DmfaWorkerLinesNotified) -> bool:
        async with self.db.transaction() as conn:
            if isinstance(notified, DmfaWorkerLinesNotified):
                return await handlers.on_worker_lines_notified(conn, self.deps, notified)
            return await handlers.on_declaration_notified(conn, self.deps, notified)

    async def evaluate(self) -> EvaluatorStats:
        return await self.evaluator.drain()

    async def events(self) -> list[Envelope]:
        """Every event the crosscheck service published so far (its outbox), in order."""
        async with self.db.connection() as conn:
            rows = await conn.fetch("SELECT value FROM outbox ORDER BY id")
        return [Envelope.from_bytes(r["value"]) for r in rows]

    async def open_mismatches(self) -> dict[tuple[str, int, str], dict[str, Any]]:
        async with self.db.connection() as conn:
            rows = await conn.fetch("SELECT * FROM mismatches WHERE resolved_at IS NULL")
        return {(r["employer_nsso"], r["quarter"], r["insz"]): dict(r) for r in rows}

    async def close(self) -> None:
        await self.db.close()


async def start_harness(env, **settings: Any) -> Harness:
    config: CrosscheckSettings = env.settings("crosscheck", **settings)
    await migrator.migrate(config.database_url, "crosscheck", "socsec.crosscheck.migrations")
    db = await Database(config.database_url, "crosscheck").connect()
    clock = FixedClock(NOW)
    deps = handlers.Deps(
        outbox=Outbox("crosscheck", env.prefix),
        clock=clock,
        authorizer=authorizer(),
        rules=config.rules(),
    )
    return Harness(db, deps, clock, Evaluator(db, deps, batch=50))


def types(events: list[Envelope]) -> list[str]:
    return [e.event_type for e in events]
