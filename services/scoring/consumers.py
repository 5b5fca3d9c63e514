"""Kafka entry points of the scoring service: translate messages into handler calls.

Every input topic has its own idempotent consumer (group ``<prefix>scoring.<name>``); the
completion job reads these groups' committed offsets to know that every input is in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.crosscheck import (
    CrosscheckMismatchOpened,
    CrosscheckMismatchResolved,
    CrosscheckYearCounted,
)
from socsec.contracts.payloads.dmfa import (
    DmfaAnomalyDetected,
    DmfaAnomalyResolved,
    DmfaDeclarationLate,
    DmfaDeclarationNotified,
    DmfaEmployerSilent,
    DmfaWorkerLinesNotified,
)
from socsec.contracts.payloads.registry import EmployerChanged, MandataryChanged, MandateChanged
from socsec.kit.consumer import Message
from socsec.kit.runtime import ServiceRuntime
from socsec.scoring import handlers

_ROUTES: dict[type, Callable[[asyncpg.Connection, Any], Awaitable[None]]] = {
    MandataryChanged: handlers.on_mandatary,
    EmployerChanged: handlers.on_employer,
    MandateChanged: handlers.on_mandate,
    DmfaEmployerSilent: handlers.on_silent,
    DmfaDeclarationLate: handlers.on_late,
    DmfaAnomalyDetected: handlers.on_anomaly_detected,
    DmfaAnomalyResolved: handlers.on_anomaly_resolved,
    DmfaDeclarationNotified: handlers.on_declaration,
    DmfaWorkerLinesNotified: handlers.on_worker_lines,
    CrosscheckMismatchOpened: handlers.on_mismatch_opened,
    CrosscheckMismatchResolved: handlers.on_mismatch_resolved,
    CrosscheckYearCounted: handlers.on_year_counted,
}

#: Consumer name -> contract topic.
INPUTS = {
    "secretariats": "registry.secretariats.v1",
    "employers": "registry.employers.v1",
    "mandates": "registry.mandates.v1",
    "silent": "dmfa.silent.v1",
    "anomalies": "dmfa.anomalies.v1",
    "notifications": "dmfa.notifications.v1",
    "crosscheck": "crosscheck.anomalies.v1",
}


async def route(conn: asyncpg.Connection, message: Message) -> None:
    """A payload to its handler. Other registered event types on these topics are not facts
    of the barometer and are skipped; an unreadable one is dead-lettered by the kit."""
    payload = parse_payload(message.envelope)
    handler = _ROUTES.get(type(payload))
    if handler is not None:
        await handler(conn, payload)


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's idempotent consumers (before the broker starts)."""
    for name, topic in INPUTS.items():
        runtime.subscribe(topic, route, name=name)
