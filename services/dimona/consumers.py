"""Kafka entry points of the dimona service: translate messages into handler calls."""

from __future__ import annotations

import asyncpg

from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.dimona import DimonaDeclarationReceived
from socsec.contracts.payloads.registry import IdentificationResolved, WorkerChanged
from socsec.dimona import batch_forms, handlers
from socsec.dimona import repository as repo
from socsec.kit.consumer import Message
from socsec.kit.runtime import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's idempotent consumers (before the broker starts)."""

    def deps() -> handlers.Deps:
        return runtime.state["dimona_deps"]

    # The declarations of the consumer batch being handled (one batch at a time).
    current: handlers.Batch | None = None

    async def load_batch(conn: asyncpg.Connection, messages: list[Message]) -> None:
        nonlocal current
        ids = []
        for message in messages:
            received = parse_payload(message.envelope)
            assert isinstance(received, DimonaDeclarationReceived)
            ids.append(received.declaration_id)
        current = handlers.Batch(conn, deps())
        await current.load(ids)

    async def declarations(conn: asyncpg.Connection, message: Message) -> None:
        received = parse_payload(message.envelope)
        assert isinstance(received, DimonaDeclarationReceived)
        assert current is not None, "load_batch runs first"
        await current.process(received.declaration_id)

    async def write_batch(conn: asyncpg.Connection) -> None:
        nonlocal current
        batch, current = current, None
        assert batch is not None
        await batch.flush()

    async def identifications(conn: asyncpg.Connection, message: Message) -> None:
        resolved = parse_payload(message.envelope)
        assert isinstance(resolved, IdentificationResolved)
        if resolved.requested_by == handlers.REQUESTED_BY:
            await handlers.on_identification(conn, deps(), resolved)

    async def workers(conn: asyncpg.Connection, message: Message) -> None:
        worker = parse_payload(message.envelope)
        assert isinstance(worker, WorkerChanged)
        await repo.upsert_worker(conn, worker)

    runtime.subscribe(
        "dimona.declarations.v1",
        declarations,
        name="processor",
        before_batch=load_batch,
        after_batch=write_batch,
        fetch_wait_ms=runtime.settings.processor_fetch_wait_ms or None,
    )
    runtime.subscribe("registry.identifications.v1", identifications, name="identifications")
    runtime.subscribe("registry.workers.v1", workers, name="workers")
    batch_forms.subscribe(runtime)
