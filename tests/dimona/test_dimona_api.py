"""The Dimona REST v2 API end to end: HTTP, Kafka processing, personnel file, notifications."""

from __future__ import annotations

import asyncio

import pytest
from dimona.dimona_fixtures import (
    publish_reference_data,
    read_topic,
    set_clock,
    start_dimona,
    stop_dimona,
)

from socsec.contracts.envelope import Envelope
from socsec.contracts.payloads.registry import IdentificationOutcome, IdentificationResolved
from socsec.kit import migrator
from socsec.kit.runtime import ServiceRuntime

BASE = "/REST/dimona/v2"


@pytest.fixture
async def dimona(env):
    await publish_reference_data(env)
    await set_clock(env, "2026-09-01T08:00:00")
    client = await start_dimona(env)
    yield client
    await stop_dimona(client)


async def test_life_of_a_period_in_out_update_cancel(dimona, env) -> None:
    in_id = await dimona.declare(
        {
            "employer": {"employerId": 123456749},
            "worker": {"ssin": "85073003328"},
            "dimonaIn": {
                "startDate": "2026-09-01",
                "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
            },
        }
    )
    body = await dimona.result(in_id)
    status = body["declarationStatus"]
    assert status["result"] == "A", status
    assert status["anomalies"] == []
    assert status["period"]["id"] == in_id  # period id = id of the IN declaration
    assert body["employer"] == {"employerId": 123456749, "enterpriseNumber": "0123456749"}
    assert body["dimonaIn"]["features"] == {"jointCommissionNumber": "XXX", "workerType": "OTH"}

    out_id = await dimona.declare({"dimonaOut": {"periodId": in_id, "endDate": "2026-09-30"}})
    assert (await dimona.result(out_id))["declarationStatus"]["result"] == "A"
    update_id = await dimona.declare({"dimonaUpdate": {"periodId": in_id, "endDate": "2026-10-15"}})
    assert (await dimona.result(update_id))["declarationStatus"]["result"] == "A"
    period = (await dimona.http.get(f"{BASE}/periods/{in_id}")).json()
    assert period["endDate"] == "2026-10-15" and not period["isCancelled"]

    cancel_id = await dimona.declare({"dimonaCancel": {"periodId": in_id}})
    assert (await dimona.result(cancel_id))["declarationStatus"]["result"] == "A"
    period = (await dimona.http.get(f"{BASE}/periods/{in_id}")).json()
    assert period["isCancelled"] is True
    assert [d["kind"] for d in period["declarations"]] == ["IN", "OUT", "UPDATE", "CANCEL"]

    # A second CANCEL is refused with its code, and the period is named in the answer.
    again = await dimona.declare({"dimonaCancel": {"periodId": in_id}})
    refused = (await dimona.result(again))["declarationStatus"]
    assert refused["result"] == "B"
    assert [a["code"] for a in refused["anomalies"]] == ["00913-355"]
    assert refused["period"]["id"] == in_id

    relations = await dimona.http.post(
        f"{BASE}/relations/search", json={"employer": {"employerId": 123456749}}
    )
    [relation] = relations.json()["items"]
    assert relation["worker"] == {"ssin": "85073003328"}
    assert relation["periods"][0]["id"] == in_id

    # The results are read from the database; their events follow through the relay.
    changes = await _wait_for(env, "dimona.periods.v1", 4)
    assert [e.payload["kind"] for e in changes] == ["IN", "OUT", "UPDATE", "CANCEL"]
    assert changes[1].payload["before"]["end_date"] is None
    assert changes[1].payload["after"]["end_date"] == "2026-09-30"


async def test_relation_spans_the_pairs_periods_that_are_not_cancelled(dimona) -> None:
    """Level 1 of the personnel file: first start and last end of the pair's periods, open
    while one is open, cancelled periods left out, the relation kept when none is left."""

    async def relation() -> tuple[str | None, str | None]:
        found = await dimona.http.post(
            f"{BASE}/relations/search",
            json={"employer": {"employerId": 123456749}, "worker": {"ssin": "88041212434"}},
        )
        [item] = found.json()["items"]
        return item["startDate"], item["endDate"]

    async def accepted(body: dict) -> int:
        declaration_id = await dimona.declare(body)
        status = (await dimona.result(declaration_id))["declarationStatus"]
        assert status["result"] == "A", status
        return declaration_id

    def declaration_in(start: str) -> dict:
        return {
            "employer": {"employerId": 123456749},
            "worker": {"ssin": "88041212434"},
            "dimonaIn": {
                "startDate": start,
                "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
            },
        }

    first = await accepted(declaration_in("2026-09-01"))
    assert await relation() == ("2026-09-01", None)
    await accepted({"dimonaOut": {"periodId": first, "endDate": "2026-09-30"}})
    assert await relation() == ("2026-09-01", "2026-09-30")
    second = await accepted(declaration_in("2026-10-05"))
    assert await relation() == ("2026-09-01", None)
    await accepted({"dimonaOut": {"periodId": second, "endDate": "2026-11-30"}})
    assert await relation() == ("2026-09-01", "2026-11-30")
    await accepted({"dimonaCancel": {"periodId": first}})
    assert await relation() == ("2026-10-05", "2026-11-30")
    await accepted({"dimonaCancel": {"periodId": second}})
    assert await relation() == (None, None)


async def test_worker_without_ssin_gets_provisional_then_final_notification(dimona, env):
    declaration = await dimona.declare(
        {
            "employer": {"employerId": 123456749},
            "worker": {
                "familyName": "Peeters",
                "givenName": "An",
                "birthDate": "1990-02-03",
                "gender": 2,
                "nationality": 150,
            },
            "dimonaIn": {
                "startDate": "2026-09-02",
                "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
            },
        }
    )
    provisional = await dimona.result(declaration, final=False)
    assert provisional["declarationStatus"]["result"] == "S"
    requests = await _wait_for(env, "dimona.identification-requests.v1", 1)
    request_id = requests[0].payload["request_id"]
    assert requests[0].payload["family_name"] == "Peeters"

    await _resolve(env, request_id, IdentificationOutcome.CREATED, "90220300113")
    final = await dimona.result(declaration)
    assert final["declarationStatus"]["result"] == "A"
    assert final["worker"]["ssin"] == "90220300113"
    notes = await _notifications_of(env, declaration, 2)
    assert [(n["result"], n["final"]) for n in notes] == [("S", False), ("A", True)]


async def test_redelivered_declaration_is_processed_once(dimona, env) -> None:
    declaration = await dimona.declare(
        {
            "employer": {"employerId": 187654356},
            "worker": {"ssin": "88041212434"},
            "dimonaIn": {
                "startDate": "2026-09-03",
                "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
            },
        }
    )
    assert (await dimona.result(declaration))["declarationStatus"]["result"] == "A"
    [received] = await read_topic(env.bootstrap, env.topic("dimona.declarations.v1"))
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=env.bootstrap)
    await producer.start()
    try:
        topic = env.topic("dimona.declarations.v1")
        # The same message again, and the same declaration under a new event id.
        await producer.send_and_wait(topic, received.to_bytes(), key=b"187654356")
        copy = Envelope(**{**received.model_dump(), "event_id": __import__("uuid").uuid4()})
        await producer.send_and_wait(topic, copy.to_bytes(), key=b"187654356")
    finally:
        await producer.stop()
    await asyncio.sleep(2)
    notes = [
        e
        for e in await read_topic(env.bootstrap, env.topic("dimona.notifications.v1"))
        if e.payload["declaration_id"] == declaration
    ]
    assert len(notes) == 1
    periods = await dimona.http.post(
        f"{BASE}/periods/search", json={"employer": {"employerId": 187654356}}
    )
    assert len(periods.json()["items"]) == 1


async def test_a_secretariat_cannot_declare_or_read_for_another_secretariats_employer(dimona):
    declaration = await dimona.declare(
        {
            "employer": {"employerId": 123456749},
            "worker": {"ssin": "92073021590"},
            "dimonaIn": {
                "startDate": "2026-09-04",
                "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
            },
        }
    )
    await dimona.result(declaration)

    dimona.act_as("B-EXEMPLUM-GENT")
    refused = await dimona.http.post(
        f"{BASE}/declarations",
        json={
            "employer": {"employerId": 123456749},
            "worker": {"ssin": "92073021590"},
            "dimonaIn": {
                "startDate": "2026-09-05",
                "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
            },
        },
    )
    assert refused.status_code == 403
    assert "123456749" in refused.json()["detail"]
    assert (await dimona.http.get(f"{BASE}/declarations/{declaration}")).status_code == 404
    assert (await dimona.http.get(f"{BASE}/periods/{declaration}")).status_code == 404
    search = await dimona.http.post(
        f"{BASE}/periods/search", json={"employer": {"employerId": 123456749}}
    )
    assert search.status_code == 403
    mine = await dimona.http.post(f"{BASE}/periods/search", json={})
    assert mine.json() == {"items": [], "next": None}

    # The employer itself always may.
    dimona.act_as("123456749")
    assert (await dimona.http.get(f"{BASE}/declarations/{declaration}")).status_code == 200


async def test_unreadable_bodies_get_400_with_the_offending_property(dimona) -> None:
    cases = [
        (
            {
                "dimonaIn": {"startDate": "2026-09-01"},
                "employer": {"employerId": 123456749},
                "worker": {"ssin": "85073003328"},
            },
            "dimonaIn.features",
        ),
        ({"dimonaOut": {"endDate": "2026-09-01"}}, "dimonaOut.periodId"),
        (
            {
                "dimonaCancel": {"periodId": 1},
                "dimonaOut": {"periodId": 1, "endDate": "2026-01-01"},
            },
            None,
        ),
    ]
    for body, name in cases:
        response = await dimona.http.post(f"{BASE}/declarations", json=body)
        assert response.status_code == 400, body
        problem = response.json()
        assert problem["status"] == 400 and problem["title"] == "Bad Request"
        if name:
            assert name in [p["name"] for p in problem["invalidParams"]], problem
    not_json = await dimona.http.post(
        f"{BASE}/declarations", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400


async def test_contest_within_five_working_days_then_definitive(dimona, env) -> None:
    declaration = await dimona.declare(
        {
            "employer": {"employerId": 123456749},
            "worker": {"ssin": "88041212434"},
            "dimonaIn": {
                "startDate": "2026-09-01",
                "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
            },
        }
    )
    await dimona.result(declaration)
    url = f"{BASE}/declarations/{declaration}/contest"
    assert (await dimona.http.post(url, json={})).status_code == 400
    ok = await dimona.http.post(url, json={"reason": "wrong start date"})
    assert ok.status_code == 202
    # Notified Tuesday 1 Sept 2026: five working days run to Tuesday 8 Sept.
    assert ok.json()["contestDeadline"] == "2026-09-08"

    other = await dimona.declare(
        {
            "employer": {"employerId": 123456749},
            "worker": {"ssin": "92073021590"},
            "dimonaIn": {
                "startDate": "2026-09-01",
                "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
            },
        }
    )
    await dimona.result(other)
    await set_clock(env, "2026-09-09T08:00:00")

    async def closed() -> bool:
        response = await dimona.http.post(
            f"{BASE}/declarations/{other}/contest", json={"reason": "too late"}
        )
        return response.status_code == 409

    from kit.conftest import eventually

    await eventually(closed, timeout=10, what="the contest window closing")


async def _wait_for(env, topic: str, count: int, timeout: float = 20) -> list:
    from kit.conftest import eventually

    async def enough():
        found = await read_topic(env.bootstrap, env.topic(topic))
        return found if len(found) >= count else None

    return await eventually(enough, timeout=timeout, what=f"{count} message(s) on {topic}")


async def _notifications_of(env, declaration_id: int, count: int, timeout: float = 20) -> list:
    """The payloads of the notifications of one declaration, once there are ``count``: a
    result is read from the database before the relay has published its notification."""
    from kit.conftest import eventually

    async def enough():
        found = [
            e.payload
            for e in await read_topic(env.bootstrap, env.topic("dimona.notifications.v1"))
            if e.payload["declaration_id"] == declaration_id
        ]
        return found if len(found) >= count else None

    return await eventually(
        enough, timeout=timeout, what=f"{count} notification(s) of {declaration_id}"
    )


async def _resolve(env, request_id: str, outcome, insz: str | None) -> None:
    conn = await env.connect("registry")
    try:
        await migrator.apply(conn, "registry", migrator.load("kit", migrator.KIT_MIGRATIONS))
    finally:
        await conn.close()
    registry = ServiceRuntime(env.settings("registry"), follow_clock=False, configure_logging=False)
    await registry.start()
    try:
        async with registry.db.transaction() as conn:
            await registry.outbox.publish(
                conn,
                "registry.identifications.v1",
                event_type="IdentificationResolved",
                key=request_id,
                payload=IdentificationResolved(
                    request_id=request_id, requested_by="dimona", outcome=outcome, insz=insz
                ),
            )
        while await registry.db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            await asyncio.sleep(0.1)
    finally:
        await registry.stop()
