"""The dimona service split in two processes: the REST API (``role=api``) and the processor
(``role=processor``: consumers, outbox relay), on the same database and topics."""

from __future__ import annotations

import asyncio

import pytest
from dimona.dimona_fixtures import publish_reference_data, set_clock, start_dimona, stop_dimona

BASE = "/REST/dimona/v2"

IN_BODY = {
    "employer": {"employerId": 123456749},
    "worker": {"ssin": "85073003328"},
    "dimonaIn": {
        "startDate": "2026-09-01",
        "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
    },
}


@pytest.fixture
async def reference(env):
    await publish_reference_data(env)
    await set_clock(env, "2026-09-01T08:00:00")


async def test_api_role_records_and_processor_role_processes(reference, env) -> None:
    processor = await start_dimona(env, role="processor")
    api = await start_dimona(env, role="api")
    try:
        # The processor serves health and metrics, not the Dimona API.
        assert (await processor.http.get("/healthz")).status_code == 200
        assert (await processor.http.post(f"{BASE}/declarations", json=IN_BODY)).status_code == 404

        # Declared through the API process, processed by the processor process.
        declaration_id = await api.declare(IN_BODY)
        body = await api.result(declaration_id)
        status = body["declarationStatus"]
        assert status["result"] == "A"
        period = status["period"]["id"]
        assert period == declaration_id

        # An OUT on that period: the API finds the period's employer for the mandate check.
        out_id = await api.declare({"dimonaOut": {"periodId": period, "endDate": "2026-09-30"}})
        assert (await api.result(out_id))["declarationStatus"]["result"] == "A"
        got = await api.http.get(f"{BASE}/periods/{period}")
        assert got.json()["endDate"] == "2026-09-30"

        # Someone else's employer is refused by the API process as well.
        api.act_as("M-EXEMPLUM")
        refused = await api.http.post(
            f"{BASE}/declarations", json={"dimonaCancel": {"periodId": period}}
        )
        assert refused.status_code == 403
    finally:
        await stop_dimona(api)
        await stop_dimona(processor)


async def test_declarations_received_while_no_processor_runs_are_processed_later(
    reference, env
) -> None:
    first = await start_dimona(env, role="processor")
    api = await start_dimona(env, role="api")
    await stop_dimona(first)
    processor = None
    try:
        declaration_id = await api.declare(IN_BODY)
        await asyncio.sleep(1.0)
        # Recorded, not processed: the API process neither processes nor relays.
        db = api.app.state.runtime.db
        status = await db.fetchval("SELECT status FROM declarations WHERE id = $1", declaration_id)
        assert status == "RECEIVED"
        assert await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 1
        assert (await api.http.get(f"{BASE}/declarations/{declaration_id}")).status_code == 404

        processor = await start_dimona(env, role="processor")
        assert (await api.result(declaration_id))["declarationStatus"]["result"] == "A"
    finally:
        await stop_dimona(api)
        if processor is not None:
            await stop_dimona(processor)
