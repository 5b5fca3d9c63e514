"""Kafka entry points of the reports service: translate messages into handler calls."""

from __future__ import annotations

import asyncpg

from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.registry import MandataryChanged
from socsec.contracts.payloads.scoring import DomainScoreFinal
from socsec.kit.consumer import Message
from socsec.kit.runtime import ServiceRuntime
from socsec.reports import handlers


async def on_score(conn: asyncpg.Connection, deps: handlers.Deps, message: Message) -> None:
    """``scoring.scores.v1``: a domain score is final for a seat and period."""
    payload = parse_payload(message.envelope)
    if isinstance(payload, DomainScoreFinal):
        await handlers.on_domain_score_final(conn, deps, payload)


async def on_secretariat(conn: asyncpg.Connection, message: Message) -> None:
    """``registry.secretariats.v1``: addressee, language, kind and approval."""
    payload = parse_payload(message.envelope)
    if isinstance(payload, MandataryChanged):
        await handlers.on_mandatary_changed(conn, payload)


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's idempotent consumers (before the broker starts)."""

    async def scores(conn: asyncpg.Connection, message: Message) -> None:
        await on_score(conn, runtime.state["reports_deps"], message)

    runtime.subscribe("registry.secretariats.v1", on_secretariat, name="secretariats")
    runtime.subscribe("scoring.scores.v1", scores, name="scores")
