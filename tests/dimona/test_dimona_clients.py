"""Real clients work unchanged: bodies shaped like theirs, answers read the way they read them.

Odoo's Belgian payroll Dimona module (v2) sends ``employerId`` as an integer, identity fields
with a zero-based gender, integer planned hours; it reads the declaration id as the last
segment of ``Location``, then ``declarationStatus.result``, ``declarationStatus.period.id``,
and for W/B indexes ``anomaliesCollection`` and ``informationsCollection``; its search sync
posts ``?pageSize=50&page=1`` and follows ``next`` as a full URL until it is falsy, reading
``items[*]['periodId']``, ``startDate``, ``endDate`` and ``worker.ssin``.

The laravel-dimona client sends the employer as an ``enterpriseNumber`` string, the worker as
``ssin`` only, ``plannedHoursNumber`` as a float (``8.0``), hours as ``"HHMM"``; it takes the
reference after ``declarations/`` in ``Location``, treats 404 as "not processed yet", and
reads ``declarationStatus.period.id``, ``declarationStatus.result`` and searches the JSON of
``declarationStatus.anomalies`` for codes such as ``90017-369``.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from dimona.dimona_fixtures import publish_reference_data, set_clock, start_dimona, stop_dimona

BASE = "/REST/dimona/v2"


@pytest.fixture
async def dimona(env):
    await publish_reference_data(env)
    await set_clock(env, "2026-09-01T08:00:00")
    client = await start_dimona(env)
    yield client
    await stop_dimona(client)


async def odoo_check(dimona, declaration_id: str) -> dict:
    """Odoo's action_check_dimona: GET, map result, read the collections on W and B."""
    for _ in range(300):
        response = await dimona.http.get(f"{BASE}/declarations/{declaration_id}")
        if response.status_code == 200:
            result = response.json()
            state = {"A": "done", "W": "done_warning", "B": "refused", "S": "waiting_sigedis"}[
                result["declarationStatus"]["result"]
            ]
            if state == "done_warning":
                result["declarationStatus"]["anomaliesCollection"]
                result["declarationStatus"]["informationsCollection"]
            if state == "refused":
                result["declarationStatus"]["anomaliesCollection"]
            return {
                "state": state,
                "period": result["declarationStatus"].get("period", {}).get("id"),
                "content": result,
            }
        assert response.status_code == 404
        await asyncio.sleep(0.05)
    raise AssertionError("never processed")


async def test_odoo_payroll_module(dimona) -> None:
    dimona.act_as("M-PAYPRO", gender_encoding="zero_based")
    body = {
        "employer": {"employerId": 187654356},
        "worker": {
            "ssin": "88041212434",
            "familyName": "Employee",
            "givenName": "Test",
            "birthDate": "1988-04-12",
            "placeOfBirth": "PARIS",
            "countryOfBirth": 111,
            "nationality": 111,
            "gender": 1,
            "address": {
                "street": "23 Test Street",
                "houseNumber": "23",
                "postCode": "6800",
                "municipality": {"name": "Test City", "code": 84077},
                "country": 150,
            },
        },
        "dimonaIn": {
            "startDate": "2026-09-01",
            "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
        },
    }
    response = await dimona.http.post(f"{BASE}/declarations", json=body)
    assert response.status_code == 201  # Odoo accepts nothing else
    declaration_id = response.headers["Location"].split("/")[-1]
    checked = await odoo_check(dimona, declaration_id)
    assert checked["state"] == "done"
    assert checked["content"]["worker"]["ssin"] == "88041212434"
    in_block = next(
        k
        for k in ("dimonaIn", "dimonaOut", "dimonaUpdate", "dimonaCancel")
        if k in checked["content"]
    )
    assert in_block == "dimonaIn" and checked["content"][in_block]["startDate"] == "2026-09-01"

    # Odoo declares the OUT on int(<IN declaration id>) as the period id.
    out = await dimona.http.post(
        f"{BASE}/declarations",
        json={"dimonaOut": {"periodId": int(declaration_id), "endDate": "2026-10-31"}},
    )
    assert out.status_code == 201
    closed = await odoo_check(dimona, out.headers["Location"].split("/")[-1])
    assert closed["state"] == "done", closed["content"]["declarationStatus"]["anomalies"]

    # A refused declaration: Odoo indexes anomaliesCollection.
    bad = await dimona.http.post(
        f"{BASE}/declarations", json={"dimonaCancel": {"periodId": 700000009999}}
    )
    refused = await odoo_check(dimona, bad.headers["Location"].split("/")[-1])
    assert refused["state"] == "refused"
    assert refused["content"]["declarationStatus"]["anomaliesCollection"][0]["code"]

    # The search sync: relations, then periods, then declarations, following `next`.
    for path, key in (
        ("relations", None),
        ("periods", "periodId"),
        ("declarations", "declarationStatus"),
    ):
        url = f"{BASE}/{path}/search?pageSize=50&page=1"
        items = []
        while url:
            page = await dimona.http.post(url, json={"employer": {"employerId": 187654356}})
            assert page.status_code == 200
            result = page.json()
            items += result["items"]
            url = result.get("next", False)
        assert items, path
        for item in items:
            assert item["worker"]["ssin"] == "88041212434"
            if key == "periodId":
                assert item["periodId"] == declaration_id
                assert item["startDate"] == "2026-09-01" and item["endDate"] == "2026-10-31"
            if key == "declarationStatus":
                assert item["declarationStatus"]["declarationId"]


async def test_laravel_dimona_client(dimona) -> None:
    dimona.act_as("M-PAYPRO")
    body = {
        "employer": {"enterpriseNumber": "0123456749"},
        "worker": {"ssin": "05031512367"},
        "dimonaIn": {
            "features": {"jointCommissionNumber": "XXX", "workerType": "STU"},
            "plannedHoursNumber": 700.0,
            "studentPlaceOfWork": {
                "name": "Test Location",
                "address": {
                    "street": "Test Street",
                    "houseNumber": "123",
                    "boxNumber": None,
                    "postCode": "1000",
                    "municipality": {"code": 21004, "name": "Brussels"},
                    "country": 150,
                },
            },
            "startDate": "2026-09-07",
            "endDate": "2026-09-07",
        },
    }
    response = await dimona.http.post(f"{BASE}/declarations", json=body)
    assert 200 <= response.status_code < 300
    location = response.headers["Location"]
    reference = location.split("declarations/", 1)[1]

    for _ in range(300):
        got = await dimona.http.get(f"declarations/{reference}".join([f"{BASE}/", ""]))
        if got.status_code != 404:  # 404: DimonaDeclarationIsNotYetProcessed, retry
            break
        await asyncio.sleep(0.05)
    data = got.json()
    period_reference = data["declarationStatus"]["period"]["id"]
    assert data["declarationStatus"]["result"] == "W"  # AcceptedWithWarning
    # The client searches the encoded anomalies for the student-quota code.
    assert "90017-369" in json.dumps(data["declarationStatus"]["anomalies"])

    # A flexi shift with HHMM hours, then an update and a cancel on the period reference.
    flexi = {
        "employer": {"enterpriseNumber": "0123456749"},
        "worker": {"ssin": "90061204572"},
        "dimonaIn": {
            "features": {"jointCommissionNumber": "302", "workerType": "FLX"},
            "startDate": "2026-09-08",
            "startHour": "0900",
            "endDate": "2026-09-08",
            "endHour": "1700",
        },
    }
    flexi_ref = (await dimona.http.post(f"{BASE}/declarations", json=flexi)).headers["Location"]
    flexi_id = await _final(dimona, flexi_ref.split("declarations/", 1)[1])
    assert flexi_id["declarationStatus"]["result"] in ("A", "W")
    update = {
        "dimonaUpdate": {
            "periodId": flexi_id["declarationStatus"]["period"]["id"],
            "plannedHoursNumber": None,
            "startDate": "2026-09-08",
            "startHour": "1000",
            "endDate": "2026-09-08",
            "endHour": "1800",
        }
    }
    updated = (await dimona.http.post(f"{BASE}/declarations", json=update)).headers["Location"]
    assert (await _final(dimona, updated.split("declarations/", 1)[1]))["declarationStatus"][
        "result"
    ] in ("A", "W")
    cancel = {"dimonaCancel": {"periodId": int(period_reference)}}
    cancelled = (await dimona.http.post(f"{BASE}/declarations", json=cancel)).headers["Location"]
    assert (await _final(dimona, cancelled.split("declarations/", 1)[1]))["declarationStatus"][
        "result"
    ] == "A"


async def _final(dimona, reference: str) -> dict:
    for _ in range(300):
        got = await dimona.http.get(f"{BASE}/declarations/{reference}")
        if got.status_code == 200:
            return got.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{reference} never processed")
