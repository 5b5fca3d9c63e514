"""Builders and a harness for the scoring service's tests: reference data published through a
registry outbox, input events published through the dmfa and crosscheck outboxes (as those
services do), the scoring app in-process with a switchable caller."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx

from socsec.contracts.identifiers import nsso_number_from
from socsec.contracts.payloads.crosscheck import (
    CrosscheckMismatchOpened,
    CrosscheckMismatchResolved,
    CrosscheckYearCounted,
    RuleCount,
)
from socsec.contracts.payloads.dmfa import (
    DmfaAnomalyDetected,
    DmfaAnomalyResolved,
    DmfaDeclarationLate,
    DmfaDeclarationNotified,
    DmfaEmployerSilent,
    DmfaWorkerLine,
)
from socsec.contracts.payloads.registry import (
    Approval,
    Branch,
    EmployerChanged,
    MandataryChanged,
    MandataryKind,
    MandateChanged,
    Scope,
    Seat,
)
from socsec.kit import migrator
from socsec.kit.auth import INSPECTION_SCOPE, OPERATOR_SCOPE, Principal, authenticate
from socsec.kit.runtime import ServiceRuntime

BASE = "/scoring/v1"


def enterprise(i: int) -> str:
    base = 2_000_000 + i
    return f"0{base:07d}{97 - base % 97:02d}"


SEAT_A, BRANCH_A, SEAT_B = "S-ALPHA-BXL", "B-ALPHA-GENT", "S-BETA"
ALPHA = MandataryChanged(
    id="M-ALPHA",
    kind=MandataryKind.APPROVED_SECRETARIAT,
    legal_name="ASBL - Secrétariat Social Alpha",
    enterprise_number="0412345614",
    approval=Approval(number="951", approved_from=date(2017, 1, 1)),
    seat=Seat(id=SEAT_A, address="Rue de la Loi 1, 1000 Bruxelles"),
    branches=(
        Branch(
            id=BRANCH_A,
            seat_id=SEAT_A,
            address="Veldstraat 1, 9000 Gent",
            communicated_on=date(2020, 3, 2),
            active_from=date(2020, 4, 1),
        ),
    ),
)
BETA = MandataryChanged(
    id="M-BETA",
    kind=MandataryKind.SERVICE_PROVIDER,
    legal_name="Beta Payroll Services",
    enterprise_number=enterprise(990),
    legal_form="SRL",
    seat=Seat(id=SEAT_B, address="Meir 1, 2000 Antwerpen"),
)

#: E[0..9] count for seat A (E[5..9] through the branch), E[10] for the provider's seat B,
#: E[11] is registered with a mandate of A but never active.
E = [nsso_number_from(1_500_000 + i) for i in range(12)]
POINT = {**dict.fromkeys(E[:5], SEAT_A), **dict.fromkeys(E[5:10], BRANCH_A), E[11]: SEAT_A}
POINT[E[10]] = SEAT_B
Q, PREV = 20261, 20254


def insz(employer_index: int, line: int) -> str:
    """A valid-looking INSZ per employer and line (the service does not check them)."""
    return f"{80_01_01_000 + employer_index * 100 + line:09d}{0:02d}"[-11:]


_tickets = itertools.count(1)


def line(employer_index: int, n: int, kind: str = "WHITE_COLLAR") -> DmfaWorkerLine:
    return DmfaWorkerLine(
        inss=insz(employer_index, n),
        natural_person_sequence=n,
        employer_class="010",
        worker_code="495",
        worker_kind=kind,
        needs_dimona=True,
        wage_mass=300_000,
    )


def declaration(
    employer_index: int,
    quarter: int,
    lines: int,
    *,
    environment: str = "R",
    result: str = "ACCEPTED",
) -> DmfaDeclarationNotified:
    at = datetime(quarter // 10 + (quarter % 10 == 4), (quarter % 10 % 4) * 3 + 1, 20, tzinfo=UTC)
    worker_lines = tuple(
        line(employer_index, n, "BLUE_COLLAR" if n % 3 == 0 else "WHITE_COLLAR")
        for n in range(1, lines + 1)
    )
    return DmfaDeclarationNotified(
        ticket=f"T{next(_tickets):012d}",
        kind="ORIGINAL",
        file_type="DMFA",
        channel="REST",
        environment=environment,
        declarant="M-ALPHA",
        recipients=("M-ALPHA",),
        result=result,
        result_code=1 if result == "ACCEPTED" else 0,
        employer_nsso=E[employer_index],
        quarter=quarter,
        employer_declaration_pid=10_000_000_000 + employer_index,
        received_at=at,
        notified_at=at,
        worker_lines_count=len(worker_lines),
        worker_lines=worker_lines if result == "ACCEPTED" else (),
    )


def anomaly(
    employer_index: int,
    quarter: int,
    priority: str,
    detected: datetime,
    *,
    line_no: int | None = 1,
    subject: str = "WORKER_LINE",
) -> DmfaAnomalyDetected:
    return DmfaAnomalyDetected(
        anomaly_id=uuid.uuid4(),
        error_id="00024-044" if priority == "AP" else "00084-044",
        rule_code="00024-044" if priority == "AP" else "00084-044",
        anomaly_class="NP",
        priority=priority,
        priority_table_version="2025.1",
        state="OPEN",
        subject=subject,
        employer_nsso=E[employer_index],
        quarter=quarter,
        employer_declaration_pid=10_000_000_000 + employer_index,
        ticket="T000000000001",
        inss=insz(employer_index, line_no) if line_no else None,
        employer_class="010" if subject != "INSZ" else None,
        worker_code="495" if subject != "INSZ" else None,
        detected_at=detected,
    )


def resolved(a: DmfaAnomalyDetected, at: datetime) -> DmfaAnomalyResolved:
    assert a.employer_nsso and a.quarter and a.employer_declaration_pid
    return DmfaAnomalyResolved(
        anomaly_id=a.anomaly_id,
        error_id=a.error_id,
        rule_code=a.rule_code,
        anomaly_class=a.anomaly_class,
        priority=a.priority,
        subject=a.subject,
        employer_nsso=a.employer_nsso,
        quarter=a.quarter,
        employer_declaration_pid=a.employer_declaration_pid,
        inss=a.inss,
        employer_class=a.employer_class,
        worker_code=a.worker_code,
        opened_at=a.detected_at,
        resolved_at=at,
        resolved_by="UPDATE",
        resolving_ticket="T000000000002",
        lifetime_days=(at - a.detected_at).days,
        lifetime_seconds=int((at - a.detected_at).total_seconds()),
    )


def silent(employer_index: int, quarter: int, reason: str, on: date) -> DmfaEmployerSilent:
    return DmfaEmployerSilent(
        employer_nsso=E[employer_index],
        quarter=quarter,
        reason=reason,
        evaluated_on=on,
        due_date=date(2026, 4, 30),
    )


def late(employer_index: int, quarter: int, on: date) -> DmfaDeclarationLate:
    return DmfaDeclarationLate(
        employer_nsso=E[employer_index],
        quarter=quarter,
        ticket=f"T{next(_tickets):012d}",
        employer_declaration_pid=10_000_000_000 + employer_index,
        received_on=on,
        due_date=date(2026, 4, 30),
        deadline=date(2026, 5, 22),
        days_late=(on - date(2026, 5, 22)).days,
        approved_secretariat=True,
    )


def mismatch(
    employer_index: int, quarter: int, opened: datetime, resolved_at: datetime | None = None
) -> list[Any]:
    mid = uuid.uuid4()
    opened_event = CrosscheckMismatchOpened(
        mismatch_id=mid,
        employer_nsso=E[employer_index],
        insz=insz(employer_index, 1),
        quarter=quarter,
        rules=(RuleCount(rule="C3", count=1),),
        opened_at=opened,
        opened_by="DMFA_ORIGINAL",
    )
    if resolved_at is None:
        return [opened_event]
    return [
        opened_event,
        CrosscheckMismatchResolved(
            mismatch_id=mid,
            employer_nsso=E[employer_index],
            insz=insz(employer_index, 1),
            quarter=quarter,
            rules=(RuleCount(rule="C3", count=1),),
            opened_at=opened,
            resolved_at=resolved_at,
            resolved_by="DIMONA",
            lifetime_days=(resolved_at - opened).days,
            lifetime_seconds=int((resolved_at - opened).total_seconds()),
        ),
    ]


def year_counted(year: int, seat: str, triples: int, mismatching: int) -> CrosscheckYearCounted:
    return CrosscheckYearCounted(
        year=year,
        seat=seat,
        secretariat="M-ALPHA",
        employers=10,
        triples=triples,
        mismatching=mismatching,
        computed_at=datetime(year + 1, 3, 1, tzinfo=UTC),
    )


async def publisher(env, service: str) -> ServiceRuntime:
    """A runtime of ``service`` that only publishes through its outbox, as the service does."""
    conn = await env.connect(service)
    try:
        await migrator.apply(conn, service, migrator.load("kit", migrator.KIT_MIGRATIONS))
    finally:
        await conn.close()
    runtime = ServiceRuntime(env.settings(service), follow_clock=False, configure_logging=False)
    await runtime.start()
    return runtime


async def publish(runtime: ServiceRuntime, topic: str, *payloads: Any, key: str | None = None):
    async with runtime.db.transaction() as conn:
        for payload in payloads:
            await runtime.outbox.publish(
                conn,
                topic,
                event_type=type(payload).__name__,
                key=key or _key(payload),
                payload=payload,
            )


def _key(payload: Any) -> str | None:
    for name in ("employer_nsso", "nsso_number", "id"):
        if getattr(payload, name, None):
            return getattr(payload, name)
    return getattr(payload, "seat", None)


async def drained(runtime: ServiceRuntime, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while await runtime.db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
        assert time.monotonic() < deadline, f"{runtime.name}: events were not relayed"
        await asyncio.sleep(0.05)


async def publish_registry(registry: ServiceRuntime) -> None:
    await publish(registry, "registry.secretariats.v1", ALPHA, BETA)
    employers = [
        EmployerChanged(
            nsso_number=nsso,
            enterprise_number=enterprise(i),
            name=f"Employer {i}",
            language="fr",
            registered_from=date(2010, 1, 1),
        )
        for i, nsso in enumerate(E)
    ]
    await publish(registry, "registry.employers.v1", *employers)
    mandates = [
        MandateChanged(
            id=f"MD-{i:06d}",
            employer_nsso=nsso,
            mandatary_id="M-BETA" if POINT[nsso] == SEAT_B else "M-ALPHA",
            affiliation_point=POINT[nsso],
            seat_id=SEAT_B if POINT[nsso] == SEAT_B else SEAT_A,
            scopes=(Scope.DIMONA, Scope.DMFA),
            proxy_registered_on=date(2015, 1, 1),
            valid_from=date(2015, 1, 1),
        )
        for i, nsso in enumerate(E)
    ]
    await publish(registry, "registry.mandates.v1", *mandates)


class Client:
    """An HTTP client of the scoring app whose caller can be switched."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.principal = [Principal("ops", "NSSO", frozenset({OPERATOR_SCOPE}))]
        app.dependency_overrides[authenticate] = lambda: self.principal[0]
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://scoring.test"
        )

    def act_as(self, organisation: str, *scopes: str) -> Client:
        self.principal[:] = [Principal(f"client-{organisation}", organisation, frozenset(scopes))]
        return self

    def as_nsso(self) -> Client:
        return self.act_as("NSSO", OPERATOR_SCOPE)

    def as_inspector(self) -> Client:
        return self.act_as("NSSO-INSPECTION", INSPECTION_SCOPE)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(f"{BASE}{path}", params=params)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.post(f"{BASE}{path}", **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.put(f"{BASE}{path}", **kwargs)


async def wait_for(check, what: str, timeout: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
