"""Every service answers health, readiness, metrics and OpenAPI on real infrastructure."""

from __future__ import annotations

import httpx
import pytest

from socsec.catalog import SERVICES


@pytest.mark.parametrize("name", list(SERVICES))
async def test_service_health_readiness_metrics_and_schema(env, name: str) -> None:
    app = SERVICES[name].create_app(env.settings(name))
    runtime = app.state.runtime
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok", "service": name}
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"postgres": True, "kafka": True}
            metrics = (await client.get("/metrics")).text
            assert 'http_requests_total{method="GET",route="/readyz",status="200"}' in metrics
            assert (await client.get("/openapi.json")).json()["info"]["title"] == f"socsec {name}"

            conn = await env.connect(name)
            try:
                tables = {
                    r["table_name"]
                    for r in await conn.fetch(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                        name,
                    )
                }
            finally:
                await conn.close()
            assert {"outbox", "processed_messages", "schema_migrations"} <= tables

            await runtime.relay.stop()
            await runtime.db.close()  # PostgreSQL gone from the service's point of view
            not_ready = await client.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["postgres"] is False
    finally:
        await runtime.stop()


async def test_a_service_role_cannot_touch_another_service_schema(env) -> None:
    import asyncpg

    from socsec.kit import migrator

    await migrator.migrate(env.dsns["dimona"], "dimona", "socsec.dimona.migrations")
    conn = await env.connect("dmfa")
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM dimona.outbox")
    finally:
        await conn.close()
