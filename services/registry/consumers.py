"""Entry points of the registry that are not HTTP: Kafka subscribers and timed jobs.

- ``dimona.identification-requests.v1``: a worker declared without an INSZ the register
  knows becomes an identification request, exactly as ``POST /identifications`` records
  one (the asker's request id is kept, so the answer names it).
- A timed job answers the requests whose delay has passed on the business clock
  (``runtime.clock``): every ``identification_poll_seconds`` of wall time it opens one
  transaction and calls the handler. Several instances may run it: due requests are
  locked with ``SKIP LOCKED``, so each is answered once.
"""

from __future__ import annotations

import asyncpg

from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.dimona import IdentificationRequested
from socsec.kit.consumer import Message
from socsec.kit.runtime import ServiceRuntime
from socsec.registry import handlers
from socsec.registry.domain.commands import RequestIdentification
from socsec.registry.settings import RegistrySettings

_SEX = {1: "M", 2: "F"}


def identification_command(requested: IdentificationRequested) -> RequestIdentification:
    """The command an ``IdentificationRequested`` event stands for."""
    return RequestIdentification(
        requested_by=requested.requested_by,
        reference=requested.request_id,
        family_name=requested.family_name or "",
        given_name=requested.given_name or "",
        birth_date=requested.birth_date,
        sex=_SEX.get(requested.sex) if requested.sex is not None else None,  # type: ignore[arg-type]
        nationality=str(requested.nationality) if requested.nationality is not None else None,
        insz=requested.insz,
    )


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's consumers and schedule its jobs (before the runtime starts)."""
    settings = runtime.settings
    assert isinstance(settings, RegistrySettings)
    ctx = handlers.Context(
        outbox=runtime.outbox,
        clock=runtime.clock,
        rules=settings.rules(),
        actor=handlers.IDENTIFICATION_TIMER,
    )

    async def answer_due_identifications() -> None:
        while True:
            async with runtime.db.transaction() as conn:
                answered = await handlers.resolve_due_identifications(conn, ctx, limit=100)
            if len(answered) < 100:
                return

    async def identification_requested(conn: asyncpg.Connection, message: Message) -> None:
        requested = parse_payload(message.envelope)
        assert isinstance(requested, IdentificationRequested)
        await handlers.request_identification(
            identification_command(requested), conn, ctx, request_id=requested.request_id
        )

    runtime.subscribe(
        "dimona.identification-requests.v1", identification_requested, name="identifications"
    )
    runtime.every(
        settings.identification_poll_seconds,
        answer_due_identifications,
        name="registry.identifications",
    )
