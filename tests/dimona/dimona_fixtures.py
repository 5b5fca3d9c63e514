"""Reference data and a running dimona service for the Dimona API tests.

The registry's events are published the way the registry publishes them (outbox of the
registry schema, relayed to the test's prefixed topics), so the dimona service builds its
read models from Kafka exactly as in production.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from reference_data import EMPLOYERS, publish_registry_events

from socsec.kit.auth import (
    DIMONA_CONSULT_SCOPE,
    DIMONA_DECLARANT_SCOPE,
    Principal,
    authenticate,
)

KNOWN_WORKERS = [
    "85073003328",
    "88041212434",
    "92073021590",
    "05031512367",
    "05021408828",
    "90061204572",
]


async def publish_reference_data(env) -> None:
    """Publish the shared reference data set through a registry outbox and relay."""
    await publish_registry_events(env, EMPLOYERS, KNOWN_WORKERS)


@dataclass
class DimonaClient:
    """An HTTP client of the dimona app whose caller can be switched between requests."""

    app: Any
    http: httpx.AsyncClient
    principal: list[Principal] = field(default_factory=list)

    def act_as(self, organisation: str, *scopes: str, gender_encoding: str = "glossary"):
        scopes = scopes or (DIMONA_DECLARANT_SCOPE, DIMONA_CONSULT_SCOPE)
        self.principal[:] = [
            Principal(f"client-{organisation}", organisation, frozenset(scopes), gender_encoding)
        ]
        return self

    async def declare(self, body: dict) -> int:
        response = await self.http.post("/REST/dimona/v2/declarations", json=body)
        assert response.status_code == 201, response.text
        return int(response.headers["Location"].rsplit("/", 1)[-1])

    async def result(self, declaration_id: int, *, final: bool = True, timeout: float = 30):
        """Poll GET /declarations/{id} like a client does until it is processed."""
        deadline = time.monotonic() + timeout
        while True:
            response = await self.http.get(f"/REST/dimona/v2/declarations/{declaration_id}")
            if response.status_code == 200:
                body = response.json()
                if not final or body["declarationStatus"]["result"] != "S":
                    return body
            else:
                assert response.status_code == 404, response.text
            assert time.monotonic() < deadline, f"declaration {declaration_id} not processed"
            await asyncio.sleep(0.1)


async def start_dimona(env, **settings: Any) -> DimonaClient:
    from socsec.dimona.main import create_app

    app = create_app(env.settings("dimona", **settings))
    await app.state.runtime.start()
    client = DimonaClient(
        app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://dimona.test"),
    )
    app.dependency_overrides[authenticate] = lambda: client.principal[0]
    # The worker register arrives through a consumer: wait until it is loaded, as it is
    # long before any declaration in production.
    deadline = time.monotonic() + 30
    while await app.state.runtime.db.fetchval("SELECT count(*) FROM workers") < len(KNOWN_WORKERS):
        assert time.monotonic() < deadline, "the worker register did not arrive"
        await asyncio.sleep(0.1)
    return client.act_as("M-PAYPRO")


async def stop_dimona(client: DimonaClient) -> None:
    await client.http.aclose()
    await client.app.state.runtime.stop()


async def read_topic(bootstrap: str, topic: str) -> list:
    """Every envelope on a topic (all partitions), oldest first per partition."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from socsec.contracts.envelope import Envelope

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out = []
        for tp in tps:
            while await consumer.position(tp) < end[tp]:
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    out.append(Envelope.from_bytes(record.value))
        return out
    finally:
        await consumer.stop()


async def set_clock(env, when: str) -> None:
    from socsec.kit.clock import CLOCK_TOPIC, ClockState, parse_instant, write_clock_state

    state = ClockState(frozen_at=parse_instant(when))
    await write_clock_state(env.bootstrap, state, env.topic(CLOCK_TOPIC))
