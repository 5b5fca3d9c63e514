"""A mandate changed through the registry's API reaches another service's authorisation
helper, and survives that service's restart (rebuilt from the compacted topics)."""

from __future__ import annotations

import time
from datetime import date

from registry.registry_fixtures import created, employer, exemplum, mandate, start_registry

from socsec.contracts.payloads.registry import Scope
from socsec.kit.runtime import ServiceRuntime

D = date(2025, 3, 1)


async def until(predicate, timeout: float = 5.0) -> float:
    """Seconds until ``predicate()`` holds (fails after ``timeout``)."""
    import asyncio

    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "the change did not arrive"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def dimona_runtime(env) -> ServiceRuntime:
    return ServiceRuntime(
        env.settings("dimona"), follow_clock=False, configure_logging=False, authorization=True
    )


async def test_registry_mandate_change_seen_by_dimona_and_rebuilt_after_restart(env) -> None:
    async for registry in start_registry(env):
        await _scenario(env, registry.client)


async def _scenario(env, client) -> None:
    await created(await client.post("/mandataries", json=exemplum()))
    await created(await client.post("/employers", json=employer()))

    dimona = dimona_runtime(env)
    await dimona.start()
    try:
        authz = dimona.authorizer
        await until(lambda: authz.mandatary_of("B-EXEMPLUM-GENT") == "M-EXEMPLUM")
        assert not authz.may_act("B-EXEMPLUM-GENT", "123456749", Scope.DIMONA, D)

        body = mandate(id="MD-7", affiliation_point="B-EXEMPLUM-GENT")
        await created(await client.post("/mandates", json=body))
        await until(lambda: authz.may_act("B-EXEMPLUM-GENT", "123456749", Scope.DIMONA, D))

        ended = await client.post(
            "/mandates/MD-7/end-notice",
            json={
                "notified_on": "2025-01-02",
                "effective_end": "2025-02-28",
                "reason": "contract terminated",
            },
        )
        assert ended.status_code == 200, ended.text
        await until(lambda: not authz.may_act("S-EXEMPLUM-BXL", "123456749", Scope.DIMONA, D))
    finally:
        await dimona.stop()

    restarted = dimona_runtime(env)
    await restarted.start()
    try:
        rebuilt = restarted.authorizer
        assert rebuilt.may_act("B-EXEMPLUM-GENT", "123456749", Scope.DIMONA, date(2025, 2, 28))
        assert not rebuilt.may_act("B-EXEMPLUM-GENT", "123456749", Scope.DIMONA, D)
        assert rebuilt.employers["123456749"].name == "Employer A"
    finally:
        await restarted.stop()
