"""Kafka entry points of the batch service: the results of the forms it published.

Read by ticket and position (``batch_ticket``/``batch_position`` of the notification): the
dimona and dmfa services answer batch forms on their own notification topics. A
notification that answers no batch form (a REST declaration's) is skipped.
"""

from __future__ import annotations

import asyncpg

from socsec.batch import handlers
from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.dimona import DimonaNotified
from socsec.kit.consumer import Message
from socsec.kit.runtime import ServiceRuntime


async def dimona_result(conn: asyncpg.Connection, message: Message) -> None:
    if not message.payload.get("batch_ticket"):
        return  # a REST declaration's notification
    note = parse_payload(message.envelope)
    assert isinstance(note, DimonaNotified)
    await handlers.record_result(
        conn,
        source=message.envelope.event_type,
        payload=message.payload,
        final=note.final,
        result=note.result,
    )


async def dmfa_result(conn: asyncpg.Connection, message: Message) -> None:
    """A handled DmfA declaration (its NOTI form, and for an accepted original of a file
    the identifiers of its PID form), or a further part of its worker lines."""
    if message.envelope.event_type == "DmfaWorkerLinesNotified":
        await handlers.record_dmfa_lines(conn, message.payload)
    elif message.envelope.event_type == "DmfaDeclarationNotified":
        await handlers.record_dmfa_result(conn, message.payload)


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's idempotent consumers (before the broker starts)."""
    runtime.subscribe("dimona.notifications.v1", dimona_result, name="dimona-results")
    runtime.subscribe("dmfa.notifications.v1", dmfa_result, name="dmfa-results")
