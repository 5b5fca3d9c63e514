"""Kafka entry points of the dmfa service: translate messages into handler calls.

``batch.forms.v1``: the ``DMFA`` and ``DMWA`` forms of accepted batch files, handled exactly
as a REST body (one path, :func:`socsec.dmfa.handlers.handle`). A form that breaks the
schema is answered with its structural anomalies (REST would answer 400 only for a body that
is not a declaration at all); a sender without mandate gets 00011-155 (REST: 403).
``(ticket, position)`` identifies a form: delivered again, it changes nothing.

``dimona.periods.v1`` and ``registry.workers.v1`` feed the two read models the rules ask
(persons of the personnel file, known INSZ).
"""

from __future__ import annotations

import asyncpg
from lxml import etree

from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.batch import BatchFormSubmitted
from socsec.contracts.payloads.dimona import DimonaPeriodChanged
from socsec.contracts.payloads.registry import WorkerChanged
from socsec.dmfa import handlers
from socsec.dmfa import repository as repo
from socsec.kit.consumer import Message
from socsec.kit.runtime import ServiceRuntime

#: File types and batch environments dmfa handles (T files are only acknowledged).
FILE_TYPES = ("DMFA", "DMWA")
ENVIRONMENTS = ("R", "S")

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def parse_form(form_xml: str) -> etree._Element | None:
    """The ``Form`` element of a batch form, or ``None`` when it is not well formed."""
    try:
        return etree.fromstring(form_xml.encode(), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


async def process_form(
    conn: asyncpg.Connection, deps: handlers.Deps, form: BatchFormSubmitted
) -> handlers.Handled | None:
    """Handle one batch form; ``None`` when it is not dmfa's or was already handled (the
    handler checks the form's ticket and position along with its first query)."""
    if form.file_type not in FILE_TYPES or form.environment not in ENVIRONMENTS:
        return None
    submission = handlers.Submission(
        file_type=form.file_type,
        form=parse_form(form.form_xml),
        channel="BATCH",
        declarant=form.declarant,
        received_at=form.received_at,
        environment=form.environment,
        form_text=form.form_xml,
        batch_ticket=form.ticket,
        batch_position=form.position,
        go_file_name=form.go_file_name,
    )
    return await handlers.handle(conn, deps, submission)


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's idempotent consumers (before the broker starts)."""

    def deps() -> handlers.Deps:
        return runtime.state["dmfa_deps"]

    async def forms(conn: asyncpg.Connection, message: Message) -> None:
        if message.payload.get("file_type") not in FILE_TYPES:
            return  # a Dimona form: not parsed at all
        form = parse_payload(message.envelope)
        assert isinstance(form, BatchFormSubmitted)
        await process_form(conn, deps(), form)

    async def periods(conn: asyncpg.Connection, message: Message) -> None:
        change = parse_payload(message.envelope)
        assert isinstance(change, DimonaPeriodChanged)
        await handlers.apply_period(conn, change)

    async def workers(conn: asyncpg.Connection, message: Message) -> None:
        worker = parse_payload(message.envelope)
        assert isinstance(worker, WorkerChanged)
        await repo.upsert_worker(conn, worker.insz, worker.deleted)

    runtime.subscribe("batch.forms.v1", forms, name="batch-forms")
    runtime.subscribe("dimona.periods.v1", periods, name="dimona-periods")
    runtime.subscribe("registry.workers.v1", workers, name="workers")
