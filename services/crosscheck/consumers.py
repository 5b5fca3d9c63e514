"""Kafka entry points of the crosscheck service: translate messages into handler calls."""

from __future__ import annotations

import asyncpg

from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.dimona import DimonaPeriodChanged
from socsec.contracts.payloads.dmfa import DmfaDeclarationNotified, DmfaWorkerLinesNotified
from socsec.contracts.payloads.registry import WorkerChanged
from socsec.crosscheck import handlers
from socsec.kit.consumer import Message
from socsec.kit.runtime import ServiceRuntime


async def on_period(conn: asyncpg.Connection, deps: handlers.Deps, message: Message) -> None:
    """``dimona.periods.v1``: every change of a period of the personnel file."""
    change = parse_payload(message.envelope)
    assert isinstance(change, DimonaPeriodChanged)
    await handlers.on_period_changed(conn, deps, change)


async def on_dmfa(conn: asyncpg.Connection, deps: handlers.Deps, message: Message) -> None:
    """``dmfa.notifications.v1``: handled declarations and the further parts of their lines."""
    payload = parse_payload(message.envelope)
    if isinstance(payload, DmfaDeclarationNotified):
        await handlers.on_declaration_notified(conn, deps, payload)
    elif isinstance(payload, DmfaWorkerLinesNotified):
        await handlers.on_worker_lines_notified(conn, deps, payload)


async def on_worker(conn: asyncpg.Connection, deps: handlers.Deps, message: Message) -> None:
    """``registry.workers.v1``: a BIS number replaced by a national register number."""
    worker = parse_payload(message.envelope)
    if isinstance(worker, WorkerChanged):
        await handlers.on_worker_changed(conn, deps, worker)


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's idempotent consumers (before the broker starts)."""

    def deps() -> handlers.Deps:
        return runtime.state["crosscheck_deps"]

    async def periods(conn: asyncpg.Connection, message: Message) -> None:
        await on_period(conn, deps(), message)

    async def dmfa(conn: asyncpg.Connection, message: Message) -> None:
        await on_dmfa(conn, deps(), message)

    async def workers(conn: asyncpg.Connection, message: Message) -> None:
        await on_worker(conn, deps(), message)

    runtime.subscribe("dimona.periods.v1", periods, name="periods")
    runtime.subscribe("registry.workers.v1", workers, name="workers")
    runtime.subscribe("dmfa.notifications.v1", dmfa, name="dmfa")
