"""The reports service on the test's real Kafka and PostgreSQL: domain scores published on
``scoring.scores.v1`` through a scoring outbox (as the scoring service does), the registry
reference data, the business clock moved on ``system.clock.v1``, and the API called as a
secretariat or as the NSSO."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from dimona.dimona_fixtures import publish_reference_data, read_topic, set_clock

from socsec.contracts.envelope import Envelope
from socsec.contracts.payloads.scoring import DomainScoreFinal, IndicatorValue, ScoreFinding
from socsec.kit import migrator
from socsec.kit.auth import (
    DMFA_CONSULT_SCOPE,
    DMFA_DECLARANT_SCOPE,
    INSPECTION_SCOPE,
    OPERATOR_SCOPE,
    Principal,
    authenticate,
)
from socsec.kit.clock import parse_instant
from socsec.kit.runtime import ServiceRuntime

BASE = "/reports/v1"
EXEMPLUM = ("M-EXEMPLUM", "APPROVED_SECRETARIAT", "S-EXEMPLUM-BXL")
PAYPRO = ("M-PAYPRO", "SERVICE_PROVIDER", "S-PAYPRO")


def domain_score(
    who: tuple[str, str, str], domain: str, period: str, score: float = 72.5
) -> DomainScoreFinal:
    """A final S-like score: two indicators, one finding."""
    provider, kind, seat = who
    seat_key = f"{seat}:{domain}:{period}"
    return DomainScoreFinal(
        score_id=uuid.uuid5(uuid.NAMESPACE_URL, seat_key),
        provider=provider,
        provider_kind=kind,
        seat=seat,
        domain=domain,
        period=period,
        period_kind="QUARTER" if len(period) == 5 else "YEAR",
        applicable=True,
        score=score,
        band="GOOD" if score >= 80 else "LESS_GOOD" if score >= 60 else "BAD",
        catalogue_version="2026.1",
        formula_id="wpu",
        indicators=(
            IndicatorValue(
                code=f"{domain}1",
                label_fr="Premier indicateur",
                label_nl="Eerste indicator",
                label_en="First indicator",
                numerator=11,
                denominator=40,
                rate=11 / 40,
                weight=1.0,
            ),
            IndicatorValue(
                code=f"{domain}2",
                label_fr="Second indicateur",
                label_nl="Tweede indicator",
                label_en="Second indicator",
                numerator=3,
                denominator=40,
                rate=3 / 40,
                weight=0.5,
            ),
        ),
        population=40,
        findings=(
            ScoreFinding(
                indicator=f"{domain}1",
                employer_nsso="187654356",
                subject="employer 187654356",
                detail="NO_DMFA",
                weight=1.0,
            ),
        ),
        findings_total=14,
        evaluation_date=date(int(period[:4]), 12, 31),
        computed_at=datetime(2026, 1, 1, tzinfo=UTC),
        input_snapshot_id="sha256:test",
    )


class ReportsStack:
    """The reports app started in-process, a scoring publisher and an HTTP client whose
    caller is chosen with :meth:`act_as`."""

    def __init__(self, env, app, scoring: ServiceRuntime) -> None:
        self.env = env
        self.app = app
        self.runtime: ServiceRuntime = app.state.runtime
        self.scoring = scoring
        self.principal = [Principal("nsso", "NSSO", frozenset({INSPECTION_SCOPE}))]
        app.dependency_overrides[authenticate] = lambda: self.principal[0]
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://reports.test"
        )

    def act_as(self, organisation: str, *scopes: str) -> None:
        self.principal[:] = [Principal(f"client-{organisation}", organisation, frozenset(scopes))]

    def as_secretariat(self, organisation: str = "M-EXEMPLUM") -> None:
        self.act_as(organisation, DMFA_CONSULT_SCOPE, DMFA_DECLARANT_SCOPE)

    def as_inspection(self) -> None:
        self.act_as("NSSO", INSPECTION_SCOPE)

    def as_operator(self) -> None:
        self.act_as("NSSO", OPERATOR_SCOPE)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(f"{BASE}{path}", params=params)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(f"{BASE}{path}", json=body or {})

    async def publish_score(self, score: DomainScoreFinal) -> Envelope:
        async with self.scoring.db.transaction() as conn:
            return await self.scoring.outbox.publish(
                conn,
                "scoring.scores.v1",
                event_type="DomainScoreFinal",
                key=score.seat,
                payload=score,
            )

    async def set_clock(self, when: str) -> None:
        await move_clock(self.env, self.runtime, when)

    async def report(self, seat: str, domain: str | None, period: str, state: str) -> dict:
        """The report's id once it is in ``state`` (NSSO view)."""
        kind = "DOMAIN" if domain else "ANNUAL"
        where = "seat = $1 AND domain = $2" if domain else "seat = $1 AND $2::text IS NULL"

        async def check() -> Any:
            return await self.runtime.db.fetchval(
                f"""SELECT id FROM reports WHERE kind = '{kind}' AND {where}
                      AND period = $3 AND state = $4""",
                seat,
                domain,
                period,
                state,
            )

        found = await eventually(check, what=f"{kind} {seat} {domain} {period} {state}")
        return str(found)

    async def detail(self, report_id: str) -> dict[str, Any]:
        saved = self.principal[0]
        self.as_operator()
        try:
            response = await self.get(f"/reports/{report_id}")
        finally:
            self.principal[:] = [saved]
        assert response.status_code == 200, response.text
        return response.json()

    async def close(self) -> None:
        await self.http.aclose()
        for runtime in (self.scoring, self.runtime):
            await runtime.stop()


async def move_clock(env, runtime: ServiceRuntime, when: str) -> None:
    """Set the business clock on system.clock.v1 and wait until ``runtime`` follows."""
    await set_clock(env, when)
    target = parse_instant(when)
    deadline = time.monotonic() + 20
    while runtime.clock.now() != target:
        assert time.monotonic() < deadline, "the business clock did not move"
        await asyncio.sleep(0.05)


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


async def start_stack(env, **settings: Any) -> ReportsStack:
    from socsec.reports.main import create_app

    await publish_reference_data(env)
    await set_clock(env, "2026-03-02T09:00:00")
    app = create_app(env.settings("reports", reports_timer_poll_seconds=0.2, **settings))
    await app.state.runtime.start()
    scoring = await publisher(env, "scoring")
    stack = ReportsStack(env, app, scoring)
    await eventually(
        lambda: _known(stack), what="the registry's secretariats in the reports service"
    )
    return stack


async def _known(stack: ReportsStack) -> bool:
    count = await stack.runtime.db.fetchval("SELECT count(*) FROM secretariats")
    return count == 2 and stack.runtime.authorizer.mandatary_of("S-PAYPRO") == "M-PAYPRO"


async def eventually(check, timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: last={last!r}")


async def report_events(
    env, report_id: str, count: int, timeout: float = 30
) -> list[dict[str, Any]]:
    """The payloads of one report on reports.events.v1 (its key keeps them in order), once
    at least ``count`` arrived."""

    async def check() -> Any:
        events = await read_topic(env.bootstrap, env.topic("reports.events.v1"))
        mine = [e for e in events if e.payload["report_id"] == report_id]
        return mine if len(mine) >= count else None

    events = await eventually(check, timeout, f"{count} events of report {report_id}")
    assert {e.event_type for e in events} == {"ReportTransitioned"}
    assert {e.producer for e in events} == {"reports"}
    return [e.payload for e in events]


def transitions(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["event"], e["from_state"], e["to_state"]) for e in events]
