"""The crosscheck service end to end on real Kafka and PostgreSQL: Dimona and DmfA events
published through the outboxes of the dimona and dmfa schemas, the consumers, the
evaluator, crosscheck.anomalies.v1, the read API, the yearly command and redelivery."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import date

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from crosscheck.crosscheck_fixtures import EMPLOYER_B, changed, declaration, occ, state, wline
from dimona.dimona_fixtures import publish_reference_data, read_topic, set_clock

from socsec.contracts.envelope import Envelope
from socsec.contracts.payloads.registry import WorkerChanged
from socsec.kit import migrator
from socsec.kit.auth import DMFA_CONSULT_SCOPE, OPERATOR_SCOPE, Principal, authenticate
from socsec.kit.runtime import ServiceRuntime

BASE = "/crosscheck/v1"
ANNA, BERT, CARL, DORA, EMIL = (
    "88041212434",
    "92073021590",
    "69123103187",
    "05021408828",
    "01090914289",
)


async def publisher(env, service: str) -> ServiceRuntime:
    """A runtime of ``service`` that only publishes through its outbox, as the service does."""
    conn = await env.connect(service)
    try:
        await migrator.apply(conn, service, migrator.load("kit", migrator.KIT_MIGRATIONS))
    finally:
        await conn.close()
    runtime = ServiceRuntime(env.settings(service), follow_clock=False, configure_logging=False)
    await runtime.start()
    return runtime


async def publish(runtime: ServiceRuntime, topic: str, event_type: str, payload) -> Envelope:
    async with runtime.db.transaction() as conn:
        return await runtime.outbox.publish(
            conn, topic, event_type=event_type, key=EMPLOYER_B, payload=payload
        )


async def anomalies(env, count: int, timeout: float = 60) -> list[Envelope]:
    deadline = time.monotonic() + timeout
    while True:
        events = await read_topic(env.bootstrap, env.topic("crosscheck.anomalies.v1"))
        if len(events) >= count:
            return events
        assert time.monotonic() < deadline, f"{len(events)} of {count} crosscheck events arrived"
        await asyncio.sleep(0.2)


async def wait_rows(s: Stack, table: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while await s.app.state.runtime.db.fetchval(f"SELECT count(*) FROM {table}") < count:
        assert time.monotonic() < deadline, f"{table}: fewer than {count} rows"
        await asyncio.sleep(0.1)


class Stack:
    def __init__(self, app, dimona: ServiceRuntime, dmfa: ServiceRuntime) -> None:
        self.app = app
        self.dimona = dimona
        self.dmfa = dmfa
        self.principal = [Principal("ops", "NSSO", frozenset({OPERATOR_SCOPE}))]
        app.dependency_overrides[authenticate] = lambda: self.principal[0]
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://crosscheck.test"
        )

    def act_as(self, organisation: str, *scopes: str) -> None:
        self.principal[:] = [Principal(f"client-{organisation}", organisation, frozenset(scopes))]

    async def get(self, path: str, **params):
        return await self.http.get(f"{BASE}{path}", params=params)


@pytest.fixture
async def stack(env):
    from socsec.crosscheck.main import create_app

    await publish_reference_data(env)
    await set_clock(env, "2025-08-01T09:00:00")
    app = create_app(env.settings("crosscheck"))
    await app.state.runtime.start()
    dimona, dmfa = await publisher(env, "dimona"), await publisher(env, "dmfa")
    s = Stack(app, dimona, dmfa)
    deadline = time.monotonic() + 30
    while app.state.runtime.authorizer.mandate_for(EMPLOYER_B, "DMFA", date(2025, 6, 30)) is None:
        assert time.monotonic() < deadline, "the mandates did not arrive"
        await asyncio.sleep(0.1)
    yield s
    await s.http.aclose()
    for runtime in (dimona, dmfa, app.state.runtime):
        await runtime.stop()


async def publish_example(s: Stack):
    """crosscheck.md §5, employer B, quarter 2025/2: Dimona first, then the DmfA."""
    anna = changed("IN", state(1, ANNA, start=date(2025, 5, 15)))
    periods = [
        anna,
        changed("IN", state(2, BERT, start=date(2024, 9, 1), cancelled=True)),
        changed("IN", state(3, CARL, start=date(2010, 1, 1), jc="XXX")),
        changed(
            "IN", state(4, DORA, "STU", date(2025, 4, 1), date(2025, 6, 30), hours=80, jc=None)
        ),
        changed("IN", state(5, EMIL, start=date(2025, 5, 2))),
    ]
    for change in periods:
        await publish(s.dimona, "dimona.periods.v1", "DimonaPeriodChanged", change)
    # The personnel file is known before the DmfA comes, as it is months before in reality
    # (otherwise the first evaluation rightly finds C1 until the periods are consumed).
    await wait_rows(s, "periods", len(periods))
    original = declaration(
        [
            wline(ANNA, "495", occ(jc="200", start=date(2025, 4, 1))),
            wline(BERT, "495", occ(jc="200")),
            wline(CARL, "015", occ(jc="302")),
            wline(DORA, "841", occ(jc="200"), hours=120),
        ]
    )
    await publish(s.dmfa, "dmfa.notifications.v1", "DmfaDeclarationNotified", original)
    return anna


async def test_the_example_end_to_end_resolution_api_and_yearly_run(stack, env, tmp_path) -> None:
    anna = await publish_example(stack)
    opened = await anomalies(env, 5)
    assert {e.event_type for e in opened} == {"CrosscheckMismatchOpened"}
    found = {e.payload["insz"]: e.payload for e in opened}
    assert {i: [r["rule"] for r in p["rules"]] for i, p in found.items()} == {
        ANNA: ["C3"],
        BERT: ["C1"],
        CARL: ["C4"],
        DORA: ["C6"],
        EMIL: ["C2"],
    }
    assert found[DORA]["codes"] == ["90017-502"] and found[BERT]["codes"] == ["90007-262"]
    assert {p["seat"] for p in found.values()} == {"S-PAYPRO"}
    assert {e.producer for e in opened} == {"crosscheck"}

    # The read API: the employer's quarter judged now, and per seat.
    quarter = (await stack.get(f"/employers/{EMPLOYER_B}/quarters/2025-2")).json()
    assert (quarter["triples"], quarter["mismatching"]) == (5, 5)  # pct_C 100 %
    assert (quarter["dmfaWorkersNbr"], quarter["dimonaWorkersNbr"]) == (4, 4)
    assert quarter["declarationCodes"] == ["90007-262", "90007-263"]
    assert quarter["perRule"] == {"C1": 1, "C2": 1, "C3": 1, "C4": 1, "C6": 1}
    assert len(quarter["openMismatches"]) == 5
    seat = (await stack.get("/mismatches", seat="S-PAYPRO", quarter="20252")).json()
    assert sorted(i["insz"] for i in seat["items"]) == sorted(found)

    # The employer corrects Anna's Dimona: the instance is resolved by DIMONA.
    await set_clock(env, "2025-08-11T09:00:00")
    deadline = time.monotonic() + 10
    while stack.app.state.runtime.clock.today() != date(2025, 8, 11):
        assert time.monotonic() < deadline, "the business clock did not move"
        await asyncio.sleep(0.05)
    update = changed("UPDATE", state(1, ANNA, start=date(2025, 4, 1)), before=anna.after)
    await publish(stack.dimona, "dimona.periods.v1", "DimonaPeriodChanged", update)
    resolved = (await anomalies(env, 6))[-1].payload
    assert resolved["insz"] == ANNA and resolved["resolved_by"] == "DIMONA"
    assert resolved["lifetime_days"] == 10
    triple = (await stack.get(f"/employers/{EMPLOYER_B}/quarters/20252/workers/{ANNA}")).json()
    assert triple["failing"] is False
    assert [i["state"] for i in triple["instances"]] == ["RESOLVED"]

    # A secretariat reads its own employers and seat only.
    stack.act_as("M-EXEMPLUM", DMFA_CONSULT_SCOPE)
    assert (await stack.get("/mismatches", employer=EMPLOYER_B)).status_code == 403
    assert (await stack.get("/mismatches", seat="S-PAYPRO")).status_code == 403
    stack.act_as("M-PAYPRO", DMFA_CONSULT_SCOPE)
    mine = (await stack.get("/mismatches")).json()["items"]
    assert len(mine) == 4

    # The yearly command recomputes 2025 and agrees with the service.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "socsec",
        "crosscheck",
        "run",
        "--year",
        "2025",
        "--data-dir",
        str(tmp_path),
        env={**env.process_env("crosscheck"), "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=os.fspath(tmp_path),
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    text = output.decode()
    assert process.returncode == 0, text
    assert "5 triples" in text and "4 mismatching" in text, text
    assert "the incremental instances agree" in text, text
    # The counts per seat reach crosscheck.anomalies.v1 through the outbox (scoring, domain C).
    [counted] = [e for e in await anomalies(env, 7) if e.event_type == "CrosscheckYearCounted"]
    assert counted.payload["seat"] == "S-PAYPRO" and counted.payload["year"] == 2025
    assert counted.payload["secretariat"] == "M-PAYPRO"
    assert (counted.payload["triples"], counted.payload["mismatching"]) == (5, 4)
    assert {r["rule"]: r["count"] for r in counted.payload["rules"]} == {
        "C1": 1,
        "C2": 1,
        "C4": 1,
        "C6": 1,
    }
    stack.act_as("NSSO", OPERATOR_SCOPE)
    year = (await stack.get("/years/2025")).json()
    assert (year["triples"], year["mismatching"], year["disagreements"]) == (5, 4, 0)
    assert year["perRule"] == {"C1": 1, "C2": 1, "C3": 0, "C4": 1, "C5": 0, "C6": 1}
    assert [(s["seat"], s["triples"], s["mismatching"]) for s in year["seats"]] == [
        ("S-PAYPRO", 5, 4)
    ]
    rows = (await stack.get("/years/2025/mismatches", seat="S-PAYPRO")).json()["items"]
    assert sorted(r["insz"] for r in rows) == sorted([BERT, CARL, DORA, EMIL])
    stack.act_as("M-EXEMPLUM", DMFA_CONSULT_SCOPE)
    assert (await stack.get("/years/2025")).json()["seats"] == []


async def test_redelivered_and_replayed_events_change_nothing(stack, env) -> None:
    inn = changed("IN", state(21, ANNA, start=date(2025, 5, 15)))
    envelope = await publish(stack.dimona, "dimona.periods.v1", "DimonaPeriodChanged", inn)
    await wait_rows(stack, "periods", 1)
    original = declaration([wline(ANNA, "495", occ(start=date(2025, 4, 1)))])
    await publish(stack.dmfa, "dmfa.notifications.v1", "DmfaDeclarationNotified", original)
    [opened] = await anomalies(env, 1)

    consumers = {c.name: c for c in stack.app.state.runtime.consumers}
    periods = consumers["crosscheck.periods"]
    skipped, handled = periods.stats.skipped, periods.stats.handled
    producer = AIOKafkaProducer(bootstrap_servers=env.bootstrap)
    await producer.start()
    try:
        # The same record twice (a redelivery), then the same change under a new event id
        # (a producer that sent it again): neither may re-open or resolve anything.
        fresh = envelope.model_copy(update={"event_id": uuid.uuid4()})
        for record in (envelope.to_bytes(), envelope.to_bytes(), fresh.to_bytes()):
            await producer.send_and_wait(
                env.topic("dimona.periods.v1"),
                record,
                key=EMPLOYER_B.encode(),
                headers=[("event_type", b"DimonaPeriodChanged")],
            )
    finally:
        await producer.stop()
    deadline = time.monotonic() + 30
    while periods.stats.skipped < skipped + 2 or periods.stats.handled < handled + 1:
        assert time.monotonic() < deadline, f"redelivered records not consumed: {periods.stats}"
        await asyncio.sleep(0.1)
    async with stack.app.state.runtime.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM touches") == 0
        assert await conn.fetchval("SELECT count(*) FROM mismatches") == 1
    events = await read_topic(env.bootstrap, env.topic("crosscheck.anomalies.v1"))
    assert [e.event_id for e in events] == [opened.event_id]


async def replace_worker(env, bis: str, nn: str) -> None:
    """The worker register publishes that ``bis`` is replaced by ``nn`` (its outbox, relayed
    to registry.workers.v1 before the publisher stops)."""
    registry = await publisher(env, "registry")
    try:
        async with registry.db.transaction() as conn:
            await registry.outbox.publish(
                conn,
                "registry.workers.v1",
                event_type="WorkerChanged",
                key=bis,
                payload=WorkerChanged(insz=bis, kind="bis", replaced_by=nn),
            )
        deadline = time.monotonic() + 30
        while await registry.db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            assert time.monotonic() < deadline, "the worker change was not relayed"
            await asyncio.sleep(0.1)
    finally:
        await registry.stop()


async def test_a_bis_number_replaced_by_a_national_number_rejoins_both_sides(stack, env) -> None:
    bis, nn = "98472899765", "85073003328"
    # Dimona knows the worker under his BIS number, the DmfA under his national number.
    inn = changed("IN", state(31, bis, start=date(2025, 1, 6)))
    await publish(stack.dimona, "dimona.periods.v1", "DimonaPeriodChanged", inn)
    await wait_rows(stack, "periods", 1)
    original = declaration([wline(nn, "495", occ())])
    await publish(stack.dmfa, "dmfa.notifications.v1", "DmfaDeclarationNotified", original)
    opened = {e.payload["insz"]: e.payload for e in await anomalies(env, 2)}
    assert {i: [r["rule"] for r in p["rules"]] for i, p in opened.items()} == {
        nn: ["C1"],
        bis: ["C2"],
    }

    # The worker register replaces the BIS number by the national number.
    await replace_worker(env, bis, nn)
    events = await anomalies(env, 4)
    resolved = {e.payload["insz"]: e.payload for e in events[2:]}
    assert {e.event_type for e in events[2:]} == {"CrosscheckMismatchResolved"}
    assert set(resolved) == {nn, bis}
    assert {p["resolved_by"] for p in resolved.values()} == {"WORKER_REGISTER"}
    assert {p["mismatch_id"] for p in resolved.values()} == {
        p["mismatch_id"] for p in opened.values()
    }
    async with stack.app.state.runtime.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM mismatches WHERE resolved_at IS NULL") == 0
        assert await conn.fetchval("SELECT insz FROM periods WHERE id = 31") == nn

    # Dimona still ends the period under the BIS number: it stays the national number's, and
    # the triple is judged under it (the occupation is not covered after 14 May: C3).
    out = changed(
        "UPDATE", state(31, bis, start=date(2025, 1, 6), end=date(2025, 5, 14)), before=inn.after
    )
    await publish(stack.dimona, "dimona.periods.v1", "DimonaPeriodChanged", out)
    [late] = (await anomalies(env, 5))[4:]
    assert late.event_type == "CrosscheckMismatchOpened"
    assert late.payload["insz"] == nn and [r["rule"] for r in late.payload["rules"]] == ["C3"]
    quarter = (await stack.get(f"/employers/{EMPLOYER_B}/quarters/2025-2")).json()
    assert quarter["triples"] == 1 and quarter["dimonaWorkersNbr"] == 1

    # The same replacement again (a replayed register) changes nothing.
    workers = {c.name: c for c in stack.app.state.runtime.consumers}["crosscheck.workers"]
    seen = workers.stats.handled
    await replace_worker(env, bis, nn)
    deadline = time.monotonic() + 30
    while workers.stats.handled <= seen:
        assert time.monotonic() < deadline, f"the replayed change was not consumed: {workers.stats}"
        await asyncio.sleep(0.1)
    async with stack.app.state.runtime.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM touches") == 0
    assert len(await read_topic(env.bootstrap, env.topic("crosscheck.anomalies.v1"))) == 5
