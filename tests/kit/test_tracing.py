"""One trace from the HTTP request to the consumer's database write, without any INSZ."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
from fastapi import APIRouter
from kit.conftest import TOPIC, eventually
from opentelemetry.trace import SpanKind

from socsec.kit.consumer import Message
from socsec.kit.http import create_http_app
from socsec.kit.logging import setup_logging
from socsec.kit.pseudonym import Pseudonymizer
from socsec.kit.runtime import ServiceRuntime

INSZ = "85073003328"


async def test_one_trace_spans_http_outbox_kafka_consumer_database(env, db, span_exporter):
    runtime = ServiceRuntime(env.settings("dimona"), follow_clock=False, configure_logging=False)
    router = APIRouter()

    @router.post("/workers/{insz}/echo", status_code=202)
    async def echo(insz: str) -> dict[str, str]:
        async with runtime.db.transaction() as conn:
            envelope = await runtime.outbox.publish(
                conn,
                TOPIC,
                event_type="kit.echo",
                key="123456749",
                payload={"insz": insz, "seq": 1},
            )
        return {"event_id": str(envelope.event_id)}

    async def handle(conn, message: Message) -> None:
        await conn.execute(
            "INSERT INTO kit_effects (event_id, key, seq) VALUES ($1, $2, $3)",
            message.envelope.event_id,
            message.payload["insz"],
            message.payload["seq"],
        )

    runtime.subscribe(TOPIC, handle, name="echo")
    app = create_http_app(runtime, title="trace test", routers=[router])
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(f"/workers/{INSZ}/echo")
        assert response.status_code == 202
        await eventually(
            lambda: db.fetchval("SELECT count(*) FROM kit_effects"), what="the consumer's write"
        )
        await asyncio.sleep(0.5)
    finally:
        await runtime.stop()

    spans = span_exporter.get_finished_spans()
    server = next(s for s in spans if s.kind == SpanKind.SERVER and "/echo" in s.name)
    trace = [s for s in spans if s.context.trace_id == server.context.trace_id]
    names = [s.name for s in trace]

    def has(predicate) -> bool:
        return any(predicate(s) for s in trace)

    # One span for the request itself: no ASGI "http send" / "http receive" spans under it.
    assert [
        s.name
        for s in trace
        if s.parent
        and s.parent.span_id == server.context.span_id
        and s.kind == SpanKind.INTERNAL
        and s.name.startswith(server.name)
    ] == [], names

    assert has(lambda s: "INSERT INTO outbox" in str(s.attributes.get("db.statement", ""))), names
    assert has(lambda s: s.kind == SpanKind.PRODUCER and TOPIC in s.name), names
    assert has(lambda s: s.kind == SpanKind.CONSUMER and s.name == "handle kit.echo"), names
    assert has(lambda s: "INSERT INTO kit_effects" in str(s.attributes.get("db.statement", ""))), (
        names
    )
    # The consumer's database write is a descendant of the HTTP request's span.
    by_id = {s.context.span_id: s for s in trace}
    write = next(
        s for s in trace if "INSERT INTO kit_effects" in str(s.attributes.get("db.statement", ""))
    )
    ancestors = []
    node = write
    while node.parent is not None and node.parent.span_id in by_id:
        node = by_id[node.parent.span_id]
        ancestors.append(node.name)
    assert node is server, ancestors

    exported = json.dumps([json.loads(s.to_json()) for s in spans])
    assert INSZ not in exported
    assert Pseudonymizer("test-pseudonym-key").pseudonym(INSZ) in exported


def test_log_lines_are_json_with_trace_ids_and_no_insz(capfd) -> None:
    from opentelemetry import trace

    pseudonymizer = Pseudonymizer("k")
    setup_logging("tests", pseudonymizer, json=True)
    log = logging.getLogger("socsec.test")
    try:
        with trace.get_tracer("t").start_as_current_span("work") as span:
            log.info("declared worker %s for employer %s", "85.07.30-033.28", "123456749")
            try:
                raise ValueError(f"bad worker {INSZ}")
            except ValueError:
                log.exception("failed")
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in capfd.readouterr().err.strip().splitlines()]
    assert lines[0]["message"] == (
        f"declared worker {pseudonymizer.pseudonym(INSZ)} for employer 123456749"
    )
    assert lines[0]["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert lines[0]["level"] == "INFO" and lines[0]["service"] == "tests"
    assert INSZ not in json.dumps(lines)
    assert "ValueError" in lines[1]["exc_info"]
