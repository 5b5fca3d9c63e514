"""Declarations processed together in one consumer batch (:class:`socsec.dimona.handlers.Batch`)
get the outcomes they would get one by one, in the order they arrived: a declaration sees
the periods, relations and quota its predecessors in the batch changed.

The declarations are recorded through the API process (``role=api``, no processor), then
processed in one transaction on the real database, as the processor does with a batch."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from batch.batch_fixtures import dimona_form, dimona_in
from dimona.dimona_fixtures import (
    publish_reference_data,
    set_clock,
    start_dimona,
    stop_dimona,
)

from socsec.contracts.envelope import Envelope
from socsec.contracts.payloads.batch import BatchFormSubmitted
from socsec.dimona import batch_forms
from socsec.dimona.handlers import Batch
from socsec.kit.clock import BRUSSELS

BASE = "/REST/dimona/v2"
EMPLOYER = {"employerId": 123456749}
PLACE_OF_WORK = {
    "name": "Campus",
    "address": {
        "street": "Rue Haute",
        "houseNumber": "1",
        "postCode": "1000",
        "municipality": {"code": 21004, "name": "Brussels"},
        "country": 150,
    },
}


def declaration_in(
    ssin: str, start: str, worker_type: str = "OTH", employer: dict = EMPLOYER, **extra
) -> dict:
    return {
        "employer": employer,
        "worker": {"ssin": ssin},
        "dimonaIn": {
            "startDate": start,
            "features": {"jointCommissionNumber": "XXX", "workerType": worker_type},
            **extra,
        },
    }


@pytest.fixture
async def api(env):
    await publish_reference_data(env)
    await set_clock(env, "2026-09-01T08:00:00")
    # The worker register is loaded by the processor's consumer; then only the API runs.
    await stop_dimona(await start_dimona(env, role="processor"))
    client = await start_dimona(env, role="api")
    yield client
    await stop_dimona(client)


async def process_as_one_batch(api, declaration_ids: list[int]) -> list:
    runtime = api.app.state.runtime
    async with runtime.db.transaction() as conn:
        batch = Batch(conn, runtime.state["dimona_deps"])
        await batch.load(declaration_ids)
        outcomes = [await batch.process(d) for d in declaration_ids]
        await batch.flush()
    return outcomes


async def assert_quota_exceeded_by(api, declaration_id: int, hours: int) -> None:
    """The declaration got W with the student quota exceeded (90017-369) by ``hours``."""
    response = await api.http.get(f"{BASE}/declarations/{declaration_id}")
    result = response.json()["declarationStatus"]
    assert result["result"] == "W", result
    [anomaly] = result["anomalies"]
    assert anomaly["code"].endswith("-369")
    assert anomaly["quota"]["exceedingHoursNbr"] == hours


async def status(api, declaration_id: int) -> tuple[str, list[str]]:
    response = await api.http.get(f"{BASE}/declarations/{declaration_id}")
    assert response.status_code == 200, response.text
    body = response.json()["declarationStatus"]
    return body["result"], [a["code"] for a in body["anomalies"]]


async def test_a_batch_sees_what_the_declarations_before_it_changed(api, env) -> None:
    first = await api.declare(declaration_in("85073003328", "2026-09-01"))
    # Declared before the IN above is processed: the period exists once the IN is.
    out = await api.declare({"dimonaOut": {"periodId": first, "endDate": "2026-09-30"}})
    same_again = await api.declare(declaration_in("85073003328", "2026-09-01"))
    overlapping = await api.declare(declaration_in("85073003328", "2026-09-20"))
    after_the_end = await api.declare(declaration_in("85073003328", "2026-10-05"))
    other_worker = await api.declare(declaration_in("88041212434", "2026-09-01"))
    cancel = await api.declare({"dimonaCancel": {"periodId": first}})
    cancel_again = await api.declare({"dimonaCancel": {"periodId": first}})
    ids = [first, out, same_again, overlapping, after_the_end, other_worker, cancel, cancel_again]
    # Not processed yet: the API process only records them.
    assert (await api.http.get(f"{BASE}/declarations/{first}")).status_code == 404

    # The same declaration twice in a batch (a redelivery) is processed once.
    outcomes = await process_as_one_batch(api, [*ids[:3], first, *ids[3:]])
    assert outcomes[3] is None
    assert all(o is not None for i, o in enumerate(outcomes) if i != 3)

    assert await status(api, first) == ("A", [])
    assert await status(api, out) == ("A", [])
    assert await status(api, same_again) == ("B", ["90373-334"])
    assert await status(api, overlapping) == ("B", ["90373-334"])
    assert await status(api, after_the_end) == ("A", [])
    assert await status(api, other_worker) == ("A", [])
    assert await status(api, cancel) == ("A", [])
    assert await status(api, cancel_again) == ("B", ["00913-355"])

    period = (await api.http.get(f"{BASE}/periods/{first}")).json()
    assert period["isCancelled"] is True and period["endDate"] == "2026-09-30"
    assert [d["kind"] for d in period["declarations"]] == ["IN", "OUT", "CANCEL", "CANCEL"]
    found = await api.http.post(
        f"{BASE}/relations/search",
        json={"employer": EMPLOYER, "worker": {"ssin": "85073003328"}},
    )
    [relation] = found.json()["items"]
    # The first period is cancelled: the relation is the one of the period from 5 October.
    assert (relation["startDate"], relation["endDate"]) == ("2026-10-05", None)

    # Their events wait in the outbox (the API process relays none), in processing order.
    runtime = api.app.state.runtime
    async with runtime.db.connection() as conn:
        rows = await conn.fetch("SELECT topic, value FROM outbox ORDER BY id")
    events = [(r["topic"], Envelope.from_bytes(r["value"]).payload) for r in rows]
    notified = [p["declaration_id"] for t, p in events if t.endswith("dimona.notifications.v1")]
    assert notified == ids
    changes = [p for t, p in events if t.endswith("dimona.periods.v1")]
    assert [(c["after"]["id"], c["kind"]) for c in changes] == [
        (first, "IN"),
        (first, "OUT"),
        (after_the_end, "IN"),
        (other_worker, "IN"),
        (first, "CANCEL"),
    ]


async def test_student_hours_of_a_batch_count_towards_the_quota(api) -> None:
    """The worker's quota includes the student periods declared earlier in the batch: the
    last one exceeds the yearly hours, a warning with the hours exceeded."""
    limit = api.app.state.runtime.settings.student_quota_hours_from_2025
    planned = [limit // 2, limit - limit // 2 - 2, 12]
    weeks = [
        ("2026-09-07", "2026-09-11"),
        ("2026-09-14", "2026-09-18"),
        ("2026-09-21", "2026-09-25"),
    ]
    ids = [
        await api.declare(
            declaration_in(
                "05031512367",
                start,
                "STU",
                endDate=end,
                plannedHoursNumber=hours,
                studentPlaceOfWork=PLACE_OF_WORK,
            )
        )
        for (start, end), hours in zip(weeks, planned, strict=True)
    ]
    await process_as_one_batch(api, ids)
    assert await status(api, ids[0]) == ("A", [])
    assert await status(api, ids[1]) == ("A", [])
    await assert_quota_exceeded_by(api, ids[2], 10)


@pytest.mark.parametrize("change", ["IN", "UPDATE"])
async def test_two_processors_see_each_others_student_hours(api, env, change) -> None:
    """Two employers' students of one worker, processed at the same time in two
    transactions (two processors with a partition each): the second waits for the first,
    a new student period or more hours on an existing one, and counts its hours, so the
    quota exceeded is reported."""
    limit = api.app.state.runtime.settings.student_quota_hours_from_2025

    def student(employer: int, start: str, end: str, hours: int) -> dict:
        return declaration_in(
            "05031512367",
            start,
            "STU",
            employer={"employerId": employer},
            endDate=end,
            plannedHoursNumber=hours,
            studentPlaceOfWork=PLACE_OF_WORK,
        )

    if change == "IN":
        first = await api.declare(student(123456749, "2026-09-07", "2026-09-11", limit - 2))
    else:
        period = await api.declare(student(123456749, "2026-09-07", "2026-09-11", 20))
        await process_as_one_batch(api, [period])
        first = await api.declare(
            {"dimonaUpdate": {"periodId": period, "plannedHoursNumber": limit - 2}}
        )
    second = await api.declare(student(187654356, "2026-09-14", "2026-09-18", 12))

    runtime = api.app.state.runtime
    deps = runtime.state["dimona_deps"]
    watcher = await env.connect("dimona")
    try:
        async with runtime.db.transaction() as conn:
            batch = Batch(conn, deps)
            await batch.load([first])
            await batch.process(first)
            await batch.flush()
            # Not committed yet: the other processor starts on its own batch meanwhile.
            other = asyncio.create_task(process_as_one_batch(api, [second]))
            deadline = time.monotonic() + 10
            while not await watcher.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ):
                assert not other.done(), "the second batch read the quota without waiting"
                assert time.monotonic() < deadline, "the second batch never waited"
                await asyncio.sleep(0.02)
            assert not other.done()
        await other
    finally:
        await watcher.close()

    assert await status(api, first) == ("A", [])
    await assert_quota_exceeded_by(api, second, 10)


async def test_a_batch_form_delivered_again_is_recorded_once(api) -> None:
    """The same DIMN form (its ticket and position) published twice in one consumer batch,
    and once more in a later batch, is recorded and notified once."""
    runtime = api.app.state.runtime
    deps = runtime.state["dimona_deps"]
    form = BatchFormSubmitted(
        ticket="0000000000ABC",
        position=1,
        file_type="DIMN",
        environment="R",
        sender="123456",
        declarant="M-PAYPRO",
        go_file_name="GO.DIMONA.R.123456.20260901.00001",
        received_at=datetime(2026, 9, 1, 8, tzinfo=BRUSSELS),
        form_xml=dimona_form(
            dimona_in("123456749", start="2026-09-07", end=None, planned=None, worker_type="OTH")
        ),
    )

    async def consume(forms: list[BatchFormSubmitted]) -> list:
        async with runtime.db.transaction() as conn:
            batch = await batch_forms.start(conn, deps, forms)
            outcomes = [await batch_forms.process_form(conn, deps, f, batch) for f in forms]
            await batch.batch.flush()
        return outcomes

    first, twice = await consume([form, form])
    assert first is not None and str(first.result) == "A", first
    assert twice is None
    assert await consume([form]) == [None]

    async with runtime.db.connection() as conn:
        recorded = await conn.fetch(
            "SELECT id, result FROM declarations WHERE batch_ticket = $1", form.ticket
        )
        notified = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE topic LIKE '%dimona.notifications.v1'"
        )
    assert [r["result"] for r in recorded] == ["A"]
    assert notified == 1
