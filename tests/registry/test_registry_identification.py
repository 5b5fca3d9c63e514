"""Worker identification requests: answered on the business clock, or by an operator."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from registry.registry_fixtures import Registry, created
from stdnum.be import ssn

from socsec.contracts.envelope import Envelope
from socsec.contracts.payloads.dimona import IdentificationRequested


def identity(reference: str, **changes: Any) -> dict[str, Any]:
    body = {
        "requested_by": "dimona",
        "reference": reference,
        "family_name": "Nowak",
        "given_name": "Anna",
        "birth_date": "1990-03-04",
        "sex": "F",
        "nationality": "616",
    }
    return {**body, **changes}


async def answered(registry: Registry, request_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = await registry.client.get(f"/identifications/{request_id}")
        if response.status_code == 200 and response.json()["status"] == "RESOLVED":
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"request {request_id} not answered: {response.text}")
        await asyncio.sleep(0.05)


async def test_a_bis_number_is_created_after_the_delay_on_the_business_clock(registry) -> None:
    client = registry.client
    request = await created(await client.post("/identifications", json=identity("D-1")))
    assert request["status"] == "PENDING"
    requested_at = datetime.fromisoformat(request["requested_at"])
    assert datetime.fromisoformat(request["due_at"]) - requested_at == timedelta(seconds=60)
    again = await created(await client.post("/identifications", json=identity("D-1")))
    assert again["id"] == request["id"]  # a retry is the same request

    # the business clock stands still, so the request cannot be due yet
    assert (await client.get(f"/identifications/{request['id']}")).json()["status"] == "PENDING"
    registry.clock.advance(timedelta(seconds=60))

    result = await answered(registry, request["id"])
    assert result["outcome"] == "CREATED"
    assert result["resolved_by"] == "registry:identification-timer"
    insz = result["insz"]
    assert ssn.is_valid(insz) and ssn.guess_type(insz) == "bis"
    assert ssn.get_birth_date(insz).isoformat() == "1990-03-04"
    assert ssn.get_gender(insz) == "F"
    assert insz[2:4] == "43"  # month + 40: the sex was known

    event = await registry.published.wait_for("registry.identifications.v1", request["id"])
    assert event.event_type == "IdentificationResolved"
    assert event.payload == {
        "request_id": request["id"],
        "requested_by": "dimona",
        "reference": "D-1",
        "outcome": "CREATED",
        "insz": insz,
        "reason": None,
    }
    worker = (await client.get(f"/workers/{insz}")).json()
    assert (worker["kind"], worker["family_name"], worker["flexi_eligible"]) == (
        "BIS",
        "Nowak",
        True,
    )
    published_worker = await registry.published.wait_for("registry.workers.v1", insz)
    assert published_worker.payload["kind"] == "bis"
    assert published_worker.payload["sex"] == 2
    assert published_worker.payload["nationality"] == 616

    # the same person asked again is found, not created twice
    second = await created(
        await client.post("/identifications", json=identity("D-2", family_name="NOWAK"))
    )
    registry.clock.advance(timedelta(seconds=60))
    found = await answered(registry, second["id"])
    assert (found["outcome"], found["insz"]) == ("FOUND", insz)


async def test_implausible_identities_are_not_found(registry) -> None:
    client = registry.client
    future = await created(
        await client.post("/identifications", json=identity("D-3", birth_date="2025-05-02"))
    )
    nameless = await created(
        await client.post("/identifications", json=identity("D-4", given_name=""))
    )
    ancient = await created(
        await client.post("/identifications", json=identity("D-5", birth_date="1899-12-31"))
    )
    registry.clock.advance(timedelta(seconds=60))
    for request, why in ((future, "future"), (nameless, "given name"), (ancient, "1900")):
        result = await answered(registry, request["id"])
        assert result["outcome"] == "NOT_FOUND"
        assert result["insz"] is None
        assert why in result["reason"]
        event = await registry.published.wait_for("registry.identifications.v1", request["id"])
        assert event.payload["outcome"] == "NOT_FOUND"
        assert why in event.payload["reason"]
    assert (await client.get("/workers")).json()["items"] == []


async def test_an_operator_answers_a_request(registry) -> None:
    client = registry.client
    request = await created(await client.post("/identifications", json=identity("D-6")))
    missing_insz = await client.post(
        f"/identifications/{request['id']}/resolve", json={"outcome": "FOUND"}
    )
    assert missing_insz.status_code == 422
    assert "insz is required" in missing_insz.text

    resolved = await client.post(
        f"/identifications/{request['id']}/resolve",
        json={"outcome": "FOUND", "insz": "88041212434"},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["outcome"] == "FOUND"
    assert resolved.json()["resolved_by"] == "test-operator"
    event = await registry.published.wait_for("registry.identifications.v1", request["id"])
    assert (event.payload["outcome"], event.payload["insz"]) == ("FOUND", "88041212434")
    worker = (await client.get("/workers/88041212434")).json()
    assert worker["birth_date"] == "1988-04-12"  # from the number

    again = await client.post(
        f"/identifications/{request['id']}/resolve", json={"outcome": "NOT_FOUND"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "identification_resolved"

    other = await created(await client.post("/identifications", json=identity("D-7")))
    refused = await client.post(
        f"/identifications/{other['id']}/resolve",
        json={"outcome": "NOT_FOUND", "reason": "unknown at the national register"},
    )
    assert refused.json()["reason"] == "unknown at the national register"
    event = await registry.published.wait_for("registry.identifications.v1", other["id"])
    assert event.payload["outcome"] == "NOT_FOUND"

    assert (
        await client.post("/identifications/IDR-nope/resolve", json={"outcome": "NOT_FOUND"})
    ).status_code == 404
    pending = await client.get("/identifications", params={"status": "PENDING"})
    assert pending.json()["items"] == []


async def test_requests_from_dimona_over_kafka(env, registry) -> None:
    requested = IdentificationRequested(
        request_id="dimona-700000000145-ab12cd34",
        requested_by="dimona",
        insz="85073003328",  # declared, but unknown to the register
        family_name="Janssens",
        given_name="Pieter",
        birth_date=datetime(1985, 7, 30).date(),
        sex=1,
        nationality=150,
    )
    envelope = Envelope(
        event_type="IdentificationRequested",
        producer="dimona",
        payload=requested.model_dump(mode="json"),
    )
    producer = AIOKafkaProducer(bootstrap_servers=env.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            env.topic("dimona.identification-requests.v1"),
            envelope.to_bytes(),
            key=requested.request_id.encode(),
            headers=[("event_type", b"IdentificationRequested")],
        )
    finally:
        await producer.stop()

    deadline = time.monotonic() + 30
    while (
        await registry.client.get(f"/identifications/{requested.request_id}")
    ).status_code != 200:
        assert time.monotonic() < deadline, "the request from Kafka was not recorded"
        await asyncio.sleep(0.05)
    registry.clock.advance(timedelta(seconds=60))
    result = await answered(registry, requested.request_id)
    assert result["reference"] == requested.request_id
    assert result["outcome"] == "CREATED"  # not in the register: a BIS number, month + 40
    assert result["insz"][2:4] == "47"
    event = await registry.published.wait_for("registry.identifications.v1", requested.request_id)
    assert event.payload["requested_by"] == "dimona"
