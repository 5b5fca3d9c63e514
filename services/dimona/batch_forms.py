"""The batch channel's entry point into dimona: ``DIMN`` forms of ``batch.forms.v1``.

A form is processed exactly as a REST declaration, in the consumer's transaction: it gets
a declaration id, is recorded with its ticket and position, and is evaluated at once by the
consumer batch's :class:`socsec.dimona.handlers.Batch` (whose writes go out in one
statement at the end of the batch, or sooner when a later form needs them), so its
``DimonaNotified`` carries ``batch_ticket``/``batch_position`` back to the batch service.
What REST answers with an HTTP status becomes an anomaly of the form here, because a batch
file is never refused for one form: no mandate of the sender's holder for the employer is
90256-155 (REST: 403), a form that breaks the schema gets its structural anomalies (REST: 400).

``(ticket, position)`` is unique among declarations: a form delivered again (the same
event, or the same form published again) is recognised and changes nothing.
"""

from __future__ import annotations

import dataclasses

import asyncpg
from lxml import etree

from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.batch import BatchFormSubmitted
from socsec.contracts.payloads.registry import Scope
from socsec.dimona import handlers
from socsec.dimona import repository as repo
from socsec.dimona.domain.batch_form import FormRefused, read_form, structural
from socsec.dimona.domain.model import Declaration, Kind, Outcome, Result
from socsec.kit.consumer import Message
from socsec.kit.runtime import ServiceRuntime

#: Batch environments dimona processes (T files are only acknowledged by the batch service).
ENVIRONMENTS = ("R", "S")

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _form_element(form_xml: str) -> object | None:
    try:
        return etree.fromstring(form_xml.encode(), _PARSER)
    except etree.XMLSyntaxError:
        return None


async def _employer_concerned(
    conn: asyncpg.Connection, deps: handlers.Deps, declaration: Declaration
) -> str | None:
    """Whose mandate is checked: the form's employer for an IN, the period's otherwise (as
    over REST). An employer the registry does not know is left to the rules' own codes."""
    authz = deps.authorizer
    if declaration.kind == Kind.IN:
        if declaration.employer_nsso and declaration.employer_nsso in authz.employers:
            return declaration.employer_nsso
        if declaration.employer_enterprise:
            return authz.by_enterprise.get(declaration.employer_enterprise)
        return None
    period = await repo.period(conn, declaration.period_id) if declaration.period_id else None
    return period.employer_nsso if period else None


def _ours(form: BatchFormSubmitted) -> bool:
    return form.file_type == "DIMN" and form.environment in ENVIRONMENTS


@dataclasses.dataclass
class FormBatch:
    """The forms of one consumer batch: the :class:`~socsec.dimona.handlers.Batch` their
    declarations are processed in, and the forms already recorded, read for the whole
    batch at its start (:func:`start`) and completed as its forms are recorded."""

    batch: handlers.Batch
    recorded: set[tuple[str, int]]


async def start(
    conn: asyncpg.Connection, deps: handlers.Deps, forms: list[BatchFormSubmitted]
) -> FormBatch:
    """A :class:`FormBatch` for ``forms``: which of them were recorded before, in one round
    trip."""
    positions = [(f.ticket, f.position) for f in forms if _ours(f)]
    recorded = await repo.recorded_positions(conn, positions) if positions else set()
    return FormBatch(handlers.Batch(conn, deps), recorded)


async def process_form(
    conn: asyncpg.Connection,
    deps: handlers.Deps,
    form: BatchFormSubmitted,
    forms: FormBatch | None = None,
) -> Outcome | None:
    """Record and process one batch form; ``None`` when it is not dimona's (a DMFA or DMWA
    form, a test file) or was already processed. With ``forms`` (the consumer batch's), its
    writes join the batch's, sent once at its end; without, they are sent at once."""
    if not _ours(form):
        return None
    if forms is not None:
        if (form.ticket, form.position) in forms.recorded:
            return None
        forms.recorded.add((form.ticket, form.position))
    elif await repo.declaration_at_position(conn, form.ticket, form.position) is not None:
        return None
    batch = forms.batch if forms is not None else None
    declaration_id = await deps.numbers.next(conn)
    element = _form_element(form.form_xml)
    reading = (
        read_form(
            element,
            declaration_id=declaration_id,
            received_at=form.received_at,
            declarant=form.declarant,
        )
        if element is not None
        else FormRefused((structural("90059-163", tag="Form"),))
    )
    if isinstance(reading, FormRefused):
        return await _refuse(conn, deps, form, declaration_id, reading, batch)
    if batch is not None and reading.period_id:
        await batch.settle({("period", reading.period_id)})  # an IN of this batch made it
    employer = await _employer_concerned(conn, deps, reading)
    if employer is not None and not deps.authorizer.may_act(
        form.declarant, employer, Scope.DIMONA, deps.clock.today()
    ):
        reading = dataclasses.replace(reading, mandate_valid=False)
    await repo.insert_declaration(
        conn,
        reading,
        environment=form.environment,
        batch_ticket=form.ticket,
        batch_position=form.position,
    )
    if batch is None:
        return await handlers.process(conn, deps, declaration_id)
    return await batch.process(declaration_id)


async def _refuse(
    conn: asyncpg.Connection,
    deps: handlers.Deps,
    form: BatchFormSubmitted,
    declaration_id: int,
    refused: FormRefused,
    batch: handlers.Batch | None = None,
) -> Outcome:
    """A form that cannot be evaluated: recorded and notified as refused (B) at once. Its
    kind is the block's; a form without any is recorded as an IN (the column needs one)."""
    declaration = Declaration(
        declaration_id=declaration_id,
        kind=refused.kind or Kind.IN,
        received_at=form.received_at,
        channel="BATCH",
        declarant=form.declarant,
        employer_nsso=refused.employer_nsso,
        ssin=refused.ssin,
        period_id=refused.period_id,
    )
    await repo.insert_declaration(
        conn,
        declaration,
        environment=form.environment,
        batch_ticket=form.ticket,
        batch_position=form.position,
    )
    row = await repo.lock_declaration(conn, declaration_id)
    now = deps.clock.now()
    deadline = deps.calendar.add(deps.clock.today(), deps.contest_window_days)
    outcome = Outcome(
        result=Result.REFUSED,
        anomalies=refused.anomalies,
        employer_nsso=refused.employer_nsso,
        ssin=refused.ssin,
        period_id=refused.period_id,
    )
    # In the batch's writes when there is one: its events keep the order of the forms.
    writes = batch.writes if batch is not None else repo.ProcessingWrites()
    writes.outcome(
        declaration_id,
        status="PROCESSED",
        result=str(Result.REFUSED),
        anomalies=outcome.anomalies,
        employer_nsso=outcome.employer_nsso,
        insz=outcome.ssin,
        period_id=None,
        processed_at=now,
        contest_deadline=deadline,
    )
    writes.event(handlers.notification(deps, declaration, outcome, row, now, deadline))
    if batch is None:
        await writes.execute(conn)
    return outcome


def subscribe(runtime: ServiceRuntime) -> None:
    """The idempotent consumer of ``batch.forms.v1`` for dimona: the forms of a consumer
    batch are processed in order, their writes sent in one statement at its end."""
    current: FormBatch | None = None
    #: The forms of the current batch, read once (by event id).
    parsed: dict[object, BatchFormSubmitted] = {}

    def deps() -> handlers.Deps:
        return runtime.state["dimona_deps"]

    def form_of(message: Message) -> BatchFormSubmitted:
        form = parsed.pop(message.envelope.event_id, None) or parse_payload(message.envelope)
        assert isinstance(form, BatchFormSubmitted)
        return form

    async def start_batch(conn: asyncpg.Connection, messages: list[Message]) -> None:
        nonlocal current
        parsed.clear()
        for message in messages:
            form = parse_payload(message.envelope)
            assert isinstance(form, BatchFormSubmitted)
            parsed[message.envelope.event_id] = form
        current = await start(conn, deps(), list(parsed.values()))

    async def on_form(conn: asyncpg.Connection, message: Message) -> None:
        await process_form(conn, deps(), form_of(message), current)

    async def write_batch(conn: asyncpg.Connection) -> None:
        nonlocal current
        forms, current = current, None
        parsed.clear()
        assert forms is not None
        await forms.batch.flush()

    runtime.subscribe(
        "batch.forms.v1",
        on_form,
        name="batch-forms",
        before_batch=start_batch,
        after_batch=write_batch,
    )
