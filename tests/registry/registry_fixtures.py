"""Helpers of the registry tests: the registry in-process on the test's infrastructure.

:func:`start_registry` gives an HTTP client authenticated as an operator (the bearer-token check is
replaced by a fixed principal), the app's :class:`FixedClock`, and ``published``: every
record of the registry's topics, read as they arrive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from socsec.contracts.envelope import Envelope
from socsec.kit.auth import OPERATOR_SCOPE, Principal, authenticate
from socsec.kit.clock import FixedClock
from socsec.kit.follower import TopicFollower
from socsec.registry.main import create_app

TOPICS = (
    "registry.employers.v1",
    "registry.secretariats.v1",
    "registry.mandates.v1",
    "registry.senders.v1",
    "registry.identifications.v1",
    "registry.workers.v1",
)
OPERATOR = Principal("test-operator", "NSSO", frozenset({OPERATOR_SCOPE}))
TODAY = date(2025, 5, 1)


@dataclass
class Published:
    """Records of the registry's topics as ``(key, envelope)``, per logical topic name."""

    records: dict[str, list[tuple[str, Envelope]]] = field(default_factory=dict)

    def on(self, topic: str) -> Callable[[Any], None]:
        def keep(record: Any) -> None:
            key = record.key.decode() if record.key else ""
            self.records.setdefault(topic, []).append((key, Envelope.from_bytes(record.value)))

        return keep

    def latest(self, topic: str, key: str) -> Envelope | None:
        found = [env for k, env in self.records.get(topic, []) if k == key]
        return found[-1] if found else None

    async def wait_for(
        self,
        topic: str,
        key: str,
        check: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = 30.0,
    ) -> Envelope:
        """The latest event under ``key`` once its payload passes ``check``."""
        deadline = time.monotonic() + timeout
        while True:
            env = self.latest(topic, key)
            if env is not None and check(env.payload):
                return env
            if time.monotonic() > deadline:
                seen = [(k, e.payload) for k, e in self.records.get(topic, [])]
                raise AssertionError(f"no matching event on {topic} under key {key}; saw {seen}")
            await asyncio.sleep(0.05)


@dataclass
class Registry:
    client: httpx.AsyncClient
    clock: FixedClock
    published: Published
    app: Any

    async def outbox_count(self) -> int:
        return await self.app.state.runtime.db.fetchval("SELECT count(*) FROM outbox")

    async def history_count(self) -> int:
        return await self.app.state.runtime.db.fetchval("SELECT count(*) FROM history")


async def start_registry(env: Any, **overrides: Any) -> AsyncIterator[Registry]:
    clock = FixedClock(TODAY)
    settings = env.settings("registry", identification_poll_seconds=0.05, **overrides)
    app = create_app(settings, clock=clock)
    app.dependency_overrides[authenticate] = lambda: OPERATOR
    runtime = app.state.runtime
    await runtime.start()
    published = Published()
    followers = [
        TopicFollower(env.bootstrap, env.topic(t), published.on(t), name=f"test:{t}")
        for t in TOPICS
    ]
    try:
        for follower in followers:
            await follower.start()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://registry/registry/v1"
        ) as client:
            yield Registry(client, clock, published, app)
    finally:
        for follower in followers:
            await follower.stop()
        await runtime.stop()


# -- reference data the tests build on (valid check digits) --------------------------------


def employer(nsso: str = "123456749", **changes: Any) -> dict[str, Any]:
    body = {
        "nsso_number": nsso,
        "enterprise_number": "0123456749",
        "name": "Employer A",
        "language": "fr",
        "registered_from": "2010-01-01",
    }
    return {**body, **changes}


def exemplum(**changes: Any) -> dict[str, Any]:
    body = {
        "id": "M-EXEMPLUM",
        "kind": "APPROVED_SECRETARIAT",
        "legal_name": "ASBL - Secrétariat Social Exemplum",
        "enterprise_number": "0412345614",
        "legal_form": "ASBL",
        "language": "fr",
        "approval": {"number": "950", "approved_from": "2017-01-01"},
        "seat": {"id": "S-EXEMPLUM-BXL", "address": "Rue de la Loi 1, 1000 Bruxelles"},
        "branches": [
            {
                "id": "B-EXEMPLUM-GENT",
                "seat_id": "S-EXEMPLUM-BXL",
                "address": "Veldstraat 1, 9000 Gent",
                "communicated_on": "2020-03-02",
                "active_from": "2020-04-01",
            }
        ],
    }
    return {**body, **changes}


def paypro(**changes: Any) -> dict[str, Any]:
    body = {
        "id": "M-PAYPRO",
        "kind": "SERVICE_PROVIDER",
        "legal_name": "PayPro Services SRL",
        "enterprise_number": "0456789133",
        "legal_form": "SRL",
        "language": "fr",
        "seat": {"id": "S-PAYPRO-BXL", "address": "Avenue Louise 100, 1050 Bruxelles"},
    }
    return {**body, **changes}


def mandate(**changes: Any) -> dict[str, Any]:
    body = {
        "employer_nsso": "123456749",
        "mandatary_id": "M-EXEMPLUM",
        "affiliation_point": "S-EXEMPLUM-BXL",
        "scopes": ["DIMONA", "DMFA", "CONTRIBUTION_COLLECTION"],
        "proxy_registered_on": "2021-05-27",
        "valid_from": "2021-07-01",
    }
    return {**body, **changes}


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (201, 202), response.text
    return response.json()
