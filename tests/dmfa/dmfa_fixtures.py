"""Reference data, a running dmfa service and the batch channel's side for the DmfA tests.

Registry events are published the way the registry publishes them (through an outbox of the
registry schema, relayed to the test's prefixed topics), batch forms and Dimona periods as
the batch and dimona services publish them, so the dmfa service builds its read models from
Kafka exactly as in production.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from reference_data import EMPLOYERS, publish_registry_events

from socsec.contracts.envelope import Envelope
from socsec.contracts.payloads.batch import BatchFormSubmitted
from socsec.contracts.payloads.dimona import DimonaPeriodChanged, PeriodState
from socsec.contracts.payloads.registry import (
    EmployerClass,
)
from socsec.kit.auth import DMFA_CONSULT_SCOPE, DMFA_DECLARANT_SCOPE, Principal, authenticate
from socsec.kit.clock import BRUSSELS
from socsec.kit.runtime import ServiceRuntime

KNOWN_WORKERS = ["85073003328", "88041212434", "92073021590", "95050530028", "05031512367"]


async def publish_reference_data(env, employers: dict | None = None) -> None:
    """Publish the secretariats, employers (with employer class 010), DmfA mandates and
    known workers through a registry outbox and relay."""
    await publish_registry_events(
        env,
        employers or EMPLOYERS,
        KNOWN_WORKERS,
        language=lambda nsso: "nl" if nsso == "155555504" else "fr",
        employer_classes=(EmployerClass(employer_class="010", from_quarter=20031),),
    )


@dataclass
class DmfaClient:
    """An HTTP client of the dmfa app whose caller can be switched between requests."""

    app: Any
    http: httpx.AsyncClient
    principal: list[Principal] = field(default_factory=list)

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime

    def act_as(self, organisation: str, *scopes: str) -> DmfaClient:
        scopes = scopes or (DMFA_DECLARANT_SCOPE, DMFA_CONSULT_SCOPE)
        self.principal[:] = [Principal(f"client-{organisation}", organisation, frozenset(scopes))]
        return self

    async def declare(self, body: dict, *, status: int = 201, **params: Any) -> dict:
        response = await self.http.post("/dmfa/v1/declarations", json=body, params=params)
        assert response.status_code == status, response.text
        return response.json()

    async def fetch(self, sql: str, *args: Any) -> list:
        async with self.runtime.db.connection() as conn:
            return await conn.fetch(sql, *args)


async def start_dmfa(env, **settings: Any) -> DmfaClient:
    from socsec.dmfa.main import create_app

    values = {"silent_check_seconds": 0.5, **settings}
    app = create_app(env.settings("dmfa", **values))
    await app.state.runtime.start()
    client = DmfaClient(
        app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://dmfa.test"),
    )
    app.dependency_overrides[authenticate] = lambda: client.principal[0]
    deadline = time.monotonic() + 30
    while await app.state.runtime.db.fetchval("SELECT count(*) FROM workers") < len(KNOWN_WORKERS):
        assert time.monotonic() < deadline, "the worker register did not arrive"
        await asyncio.sleep(0.1)
    return client.act_as("M-EXEMPLUM")


async def stop_dmfa(client: DmfaClient) -> None:
    await client.http.aclose()
    await client.app.state.runtime.stop()


class Producer:
    """Publishes contract events onto the test's topics, as another service would."""

    def __init__(self, env) -> None:
        self.env = env
        self.producer = AIOKafkaProducer(bootstrap_servers=env.bootstrap, enable_idempotence=True)

    async def __aenter__(self) -> Producer:
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()

    async def send(self, topic: str, event_type: str, key: str, payload: Any) -> Envelope:
        envelope = Envelope(
            event_type=event_type, producer="tests", payload=payload.model_dump(mode="json")
        )
        await self.send_envelope(topic, key, envelope)
        return envelope

    async def send_envelope(self, topic: str, key: str, envelope: Envelope) -> None:
        await self.producer.send_and_wait(
            self.env.topic(topic),
            envelope.to_bytes(),
            key=key.encode(),
            headers=[("event_type", envelope.event_type.encode())],
        )


def batch_form(
    form_xml: str,
    *,
    file_type: str = "DMFA",
    position: int = 1,
    ticket: str | None = None,
    declarant: str = "B-EXEMPLUM-GENT",
    environment: str = "R",
    received_at: datetime | None = None,
) -> BatchFormSubmitted:
    ticket = ticket or "38" + uuid.uuid4().hex[:11].upper()
    return BatchFormSubmitted(
        ticket=ticket,
        position=position,
        file_type=file_type,
        environment=environment,
        sender="054321",
        declarant=declarant,
        go_file_name=f"GO.{file_type}.054321.20250526.00001.{environment}.1",
        received_at=received_at or datetime(2025, 5, 26, 10, 5, tzinfo=BRUSSELS),
        form_xml=form_xml,
    )


def period_changed(
    period_id: int,
    employer: str,
    insz: str,
    start: date,
    end: date | None = None,
    worker_type: str = "OTH",
    planned_hours: int | None = None,
) -> DimonaPeriodChanged:
    state = PeriodState(
        id=period_id,
        employer_nsso=employer,
        insz=insz,
        worker_type=worker_type,
        joint_commission="XXX",
        start_date=start,
        end_date=end,
        planned_hours=planned_hours,
    )
    return DimonaPeriodChanged(
        declaration_id=period_id,
        kind="IN",
        after=state,
        changed_at=datetime(2025, 1, 2, 9, 0, tzinfo=BRUSSELS),
    )


async def eventually(check, timeout: float = 30, what: str = "") -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}: last={last!r}")


async def events(env, topic: str, event_type: str | None = None) -> list[Envelope]:
    from dimona.dimona_fixtures import read_topic

    found = await read_topic(env.bootstrap, env.topic(topic))
    return [e for e in found if event_type is None or e.event_type == event_type]


async def wait_events(
    env, topic: str, count: int, event_type: str | None = None, timeout: float = 30, where=None
) -> list[Envelope]:
    async def enough():
        found = [
            e for e in await events(env, topic, event_type) if where is None or where(e.payload)
        ]
        return found if len(found) >= count else None

    return await eventually(enough, timeout, f"{count} {event_type or 'event'}(s) on {topic}")


async def set_clock(env, when: str) -> None:
    from dimona.dimona_fixtures import set_clock as set_business_clock

    await set_business_clock(env, when)


async def clock_reaches(client: DmfaClient, day: date) -> None:
    async def seen():
        return client.runtime.clock.today() >= day

    await eventually(seen, 15, f"the business clock at {day}")
