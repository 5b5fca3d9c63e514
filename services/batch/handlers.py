"""Use cases of the batch service. Each takes the transaction's connection and its
dependencies; the entry point (HTTP route, folder watcher, background loop, consumer) opens
the transaction and commits once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from socsec.batch import repository as repo
from socsec.batch.domain.acrf import acrf_document
from socsec.batch.domain.dmfa_noti import (
    PID_FORM_CLOSE,
    PID_HEAD,
    PID_TAIL,
    dmfa_form,
    line_pid_facts,
    persons_of_lines,
    pid_form_open,
    pid_person,
    pid_renderable,
)
from socsec.batch.domain.names import (
    FileName,
    Folder,
    NameCheck,
    NameRules,
    answer_environment,
    check_name,
    out_name,
    out_sequence,
    ticket,
)
from socsec.batch.domain.noti import NOTI_HEAD, NOTI_TAIL, EmployerFacts, NotiFile, dimona_form
from socsec.batch.domain.reception import (
    ContentRefused,
    FormEcho,
    FormReader,
    Part,
    ReadForm,
    ReceptionRules,
    set_errors,
)
from socsec.batch.domain.signature import Signature, SignatureInvalid, load_certificates
from socsec.batch.senders import Senders
from socsec.batch.settings import BatchSettings
from socsec.contracts.payloads.batch import BatchFormSubmitted
from socsec.contracts.payloads.dimona import DimonaNotified
from socsec.contracts.payloads.dmfa import DmfaDeclarationNotified
from socsec.kit.authz import Authorizer
from socsec.kit.clock import Clock
from socsec.kit.outbox import Outbox, PendingEvent

log = logging.getLogger(__name__)

FORMS_TOPIC = "batch.forms.v1"

#: A GO for a set in one of these states is a re-delivery while it is processed: a no-op.
IN_PROGRESS = ("TRIGGERED", "ACCEPTED", "PUBLISHED")

#: File types whose NOTI files this service writes (every type it accepts).
NOTI_TYPES = ("DIMN", "DMFA", "DMWA")

#: What a DmfA form's stored result leaves out of its notification: the worker lines are
#: the cross-check's; a PID form needs only their identifiers (kept apart, see below).
_DMFA_BULK = ("worker_lines", "deleted_lines")


@dataclass
class Deps:
    """What the use cases need besides the connection."""

    outbox: Outbox
    clock: Clock
    settings: BatchSettings
    senders: Senders
    authorizer: Authorizer | None
    name_rules: NameRules = field(default_factory=NameRules)
    reception_rules: ReceptionRules = field(default_factory=ReceptionRules)

    @classmethod
    def build(
        cls,
        settings: BatchSettings,
        *,
        outbox: Outbox,
        clock: Clock,
        senders: Senders,
        authorizer: Authorizer | None,
    ) -> Deps:
        return cls(
            outbox=outbox,
            clock=clock,
            settings=settings,
            senders=senders,
            authorizer=authorizer,
            name_rules=NameRules(
                max_file_age_days=settings.max_file_age_days,
                max_parts=settings.max_parts,
                strict_numeric_sequence=settings.strict_numeric_sequence,
                simulation_folder=Folder(settings.simulation_folder),
            ),
            reception_rules=ReceptionRules(
                signature_required_envs=frozenset(settings.signature_required_envs),
                max_forms_per_file=settings.max_forms_per_file,
                max_form_bytes=settings.max_form_bytes,
            ),
        )


# -- contents ---------------------------------------------------------------------------------


class BlobWriter:
    """Stores a file's bytes as it arrives, one piece of ``chunk_bytes`` at a time."""

    def __init__(self, conn: asyncpg.Connection, blob_id: int, chunk_bytes: int) -> None:
        self.conn = conn
        self.blob_id = blob_id
        self.chunk_bytes = chunk_bytes
        self.size = 0
        self._digest = hashlib.sha256()
        self._buffer = bytearray()
        self._seq = 0

    async def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        self._digest.update(data)
        while len(self._buffer) >= self.chunk_bytes:
            await self._flush(bytes(self._buffer[: self.chunk_bytes]))
            del self._buffer[: self.chunk_bytes]

    async def _flush(self, piece: bytes) -> None:
        await repo.insert_chunk(self.conn, self.blob_id, self._seq, piece)
        self._seq += 1

    async def close(self) -> str:
        """Store what is left; the SHA-256 of the whole content."""
        if self._buffer:
            await self._flush(bytes(self._buffer))
            self._buffer.clear()
        return self._digest.hexdigest()


async def read_blobs(conn: asyncpg.Connection, blob_ids: Sequence[int]) -> AsyncIterator[bytes]:
    """The contents of ``blob_ids`` one after the other, a piece at a time."""
    for blob_id in blob_ids:
        seq = 0
        while (piece := await repo.chunk(conn, blob_id, seq)) is not None:
            yield piece
            seq += 1


# -- arrival ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """A file as an entry point received it.

    ``owner`` is the sender it arrived for (the folder's; over HTTP the name's sender once
    the caller was found to hold it), ``refuse`` errors the entry point decided itself (a
    caller who does not hold the sender: ACRF-108 or ACRF-103), ``deliver`` whether the
    answers may go to the owner's folder.
    """

    name: str
    channel: str  # HTTP or FOLDER
    owner: str | None
    folder: Folder | None = None
    uploaded_by: str | None = None
    arrival_key: str | None = None
    refuse: tuple[str, ...] = ()
    deliver: bool = True


@dataclass(frozen=True)
class Receipt:
    """What became of a received file."""

    name: str
    status: str  # the set's status afterwards, IGNORED (a TD with nothing to cancel), DUPLICATE
    set_key: str | None = None
    ticket: str | None = None
    errors: tuple[str, ...] = ()
    redelivered: bool = False


def loose_elements(raw: str) -> tuple[str | None, str | None]:
    """Sender and environment of a name that could not be read, when they can be guessed."""
    elements = raw.split(".")
    sender = elements[2] if len(elements) > 2 else None
    environment = elements[5] if len(elements) > 5 else None
    return (sender if sender and sender.isdigit() and len(sender) == 6 else None), environment


async def receive_file(
    conn: asyncpg.Connection, deps: Deps, arrival: Arrival, content: AsyncIterable[bytes]
) -> Receipt:
    """Store a received file and do what its prefix says (batch.md §3): FI and FS join the
    open set of their name, a GO triggers it (ticket now, ACRF by the acknowledger), a TD
    cancels it. A name whose set cannot be identified, or a file the entry point refused,
    gets its own ACRF at once."""
    if arrival.arrival_key and await repo.arrival_seen(conn, arrival.arrival_key):
        return Receipt(arrival.name, "DUPLICATE")
    now = deps.clock.now()
    check = check_name(
        arrival.name,
        owner=arrival.owner,
        folder=arrival.folder,
        today=deps.clock.today(),
        rules=deps.name_rules,
    )
    writer = BlobWriter(conn, await repo.next_blob_id(conn), deps.settings.chunk_bytes)
    async for piece in content:
        await writer.write(piece)
    sha256 = await writer.close()
    name = check.name

    async def store(set_id: int | None) -> None:
        await repo.insert_received_file(
            conn,
            set_id=set_id,
            name=arrival.name,
            prefix=name.prefix if name else None,
            parts_total=name.parts_total if name else None,
            part_index=name.part_index if name else None,
            name_errors=check.errors,
            channel=arrival.channel,
            folder=arrival.folder.value if arrival.folder else None,
            size=writer.size,
            sha256=sha256,
            blob_id=writer.blob_id,
            arrival_key=arrival.arrival_key,
            received_at=now,
        )

    if name is None or arrival.refuse:
        return await _refuse_at_arrival(conn, deps, arrival, check, store, now)
    sender = arrival.owner or name.sender
    if name.prefix == "TD":
        open_set = await repo.open_set_if_any(conn, sender, name.set_key)
        await store(open_set["id"] if open_set else None)
        if open_set is None:
            return Receipt(arrival.name, "IGNORED", name.set_key)
        await repo.cancel_set(conn, open_set["id"])
        await repo.use_name(conn, sender, name.set_key, None, now)
        return Receipt(arrival.name, "CANCELLED", name.set_key)

    opening = {
        "sender": sender,
        "set_key": name.set_key,
        "file_type": name.file_type,
        # Of the answers: a readable environment, else the one the folder stands for (117).
        "environment": answer_environment(name.environment, arrival.folder),
        "channel": arrival.channel,
        "uploaded_by": arrival.uploaded_by,
        "opened_at": now,
    }
    if name.prefix in ("FI", "FS"):
        open_set = await repo.open_set(conn, **opening)
        await store(open_set["id"])
        return Receipt(arrival.name, "OPEN", name.set_key, errors=check.errors)

    open_set = await repo.open_set_if_any(conn, sender, name.set_key)
    if open_set is None:
        latest = await repo.latest_set(conn, sender, name.set_key)
        if latest is not None and latest["status"] in IN_PROGRESS:
            await store(latest["id"])
            return Receipt(
                arrival.name, latest["status"], name.set_key, latest["ticket"], redelivered=True
            )
        open_set = await repo.open_set(conn, **opening)
    await store(open_set["id"])
    new_ticket = ticket(await repo.next_ticket_value(conn))
    await repo.trigger_set(conn, open_set["id"], ticket=new_ticket, go_name=arrival.name, at=now)
    return Receipt(arrival.name, "TRIGGERED", name.set_key, new_ticket, check.errors)


async def _refuse_at_arrival(
    conn: asyncpg.Connection,
    deps: Deps,
    arrival: Arrival,
    check: NameCheck,
    store: Any,
    now: datetime,
) -> Receipt:
    loose_sender, loose_environment = loose_elements(arrival.name)
    name = check.name
    sender = arrival.owner or (name.sender if name else loose_sender) or ""
    environment = answer_environment(
        name.environment if name else loose_environment, arrival.folder
    )
    errors = tuple(dict.fromkeys((*arrival.refuse, *check.errors)))
    set_id = await repo.insert_set(
        conn,
        sender=sender,
        set_key=None,
        file_type=name.file_type if name else None,
        environment=environment,
        status="REFUSED",
        channel=arrival.channel,
        uploaded_by=arrival.uploaded_by,
        deliver=arrival.deliver and bool(sender),
        opened_at=now,
    )
    await store(set_id)
    new_ticket = ticket(await repo.next_ticket_value(conn))
    await repo.acknowledge_set(
        conn,
        set_id,
        status="REFUSED",
        errors=errors,
        at=now,
        form_count=None,
        detail=None,
        ticket=new_ticket,
        go_name=arrival.name,
    )
    await write_acrf(
        conn,
        deps,
        set_id=set_id,
        sender=sender,
        environment=environment,
        go_name=arrival.name,
        ticket=new_ticket,
        errors=errors,
    )
    return Receipt(arrival.name, "REFUSED", None, new_ticket, errors)


# -- acknowledgement (ACRF) ------------------------------------------------------------------


def _parts(files: Sequence[asyncpg.Record]) -> tuple[list[Part], dict[str, Part]]:
    parts: list[Part] = []
    others: dict[str, Part] = {}
    for f in files:
        part = Part(
            FileName.stored(f["name"], f["parts_total"], f["part_index"]),
            tuple(f["name_errors"]),
            f["size"],
        )
        if f["prefix"] in ("FI", "FS"):
            parts.append(part)
        else:
            others[f["name"]] = part
    return parts, others


def fi_blobs(files: Sequence[asyncpg.Record]) -> list[int]:
    """The FI parts' contents in part order: the reassembled file (batch.md §3.4)."""
    fi = [f for f in files if f["prefix"] == "FI"]
    return [f["blob_id"] for f in sorted(fi, key=lambda f: f["part_index"] or 0)]


async def count_forms(
    conn: asyncpg.Connection, deps: Deps, file_type: str, blobs: list[int], file_bytes: int
) -> int:
    """The check pass over a set's content: raises :class:`ContentRefused`, else the number
    of forms."""
    rules = deps.reception_rules
    # A form is no larger than its file: only larger files have forms to measure.
    measure = rules.max_form_bytes is not None and file_bytes > rules.max_form_bytes
    reader = FormReader(
        file_type,
        max_forms=rules.max_forms_per_file,
        max_form_bytes=rules.max_form_bytes if measure else None,
        count_only=True,
    )
    async for piece in read_blobs(conn, blobs):
        reader.feed(piece)
    reader.close()
    return reader.count


async def acknowledge(conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record) -> str:
    """Run the reception checks of a triggered set and write its ACRF; the set's status
    afterwards (REFUSED, ACKNOWLEDGED for a test file, ACCEPTED)."""
    now = deps.clock.now()
    files = await repo.set_files(conn, row["id"])
    parts, others = _parts(files)
    go = others.get(row["go_name"])
    used = await repo.name_used(conn, row["sender"], row["set_key"])
    errors = set_errors(
        parts,
        go=go,
        name_used=used,
        sender=deps.senders.get(row["sender"]),
        rules=deps.reception_rules,
    )
    count: int | None = None
    detail: str | None = None
    if not errors:
        errors, detail = await signature_errors(conn, deps, row, files)
    if not errors:
        try:
            fi_bytes = sum(f["size"] for f in files if f["prefix"] == "FI")
            count = await count_forms(conn, deps, row["file_type"], fi_blobs(files), fi_bytes)
        except ContentRefused as exc:
            errors, detail = (exc.error,), exc.detail
    status = "REFUSED" if errors else ("ACKNOWLEDGED" if row["environment"] == "T" else "ACCEPTED")
    if not used:
        await repo.use_name(conn, row["sender"], row["set_key"], row["ticket"], now)
    await repo.acknowledge_set(
        conn, row["id"], status=status, errors=errors, at=now, form_count=count, detail=detail
    )
    await write_acrf(
        conn,
        deps,
        set_id=row["id"],
        sender=row["sender"],
        environment=row["environment"],
        go_name=row["go_name"],
        ticket=row["ticket"],
        errors=errors,
    )
    log.info(
        "ticket %s (%s): ACRF %s %s",
        row["ticket"],
        row["go_name"],
        0 if errors else 1,
        " ".join(errors),
    )
    return status


#: An FS part is a signature, never a large file: anything bigger is not one.
MAX_SIGNATURE_BYTES = 1 << 20


async def signature_errors(
    conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record, files: Sequence[asyncpg.Record]
) -> tuple[tuple[str, ...], str | None]:
    """With ``verify_signatures``, ACRF-125 and why when an FS part of a set whose
    environment needs signatures is not a valid signature of its FI part by a certificate
    registered for the sender (batch.md §3); nothing otherwise. The part numbering is
    already checked (ACRF-122/124)."""
    if not (
        deps.settings.verify_signatures
        and row["environment"] in deps.reception_rules.signature_required_envs
    ):
        return (), None
    certificates = await asyncio.to_thread(
        load_certificates, deps.settings.certificates_root, row["sender"]
    )
    fi = {f["part_index"]: f for f in files if f["prefix"] == "FI"}
    signatures = sorted((f for f in files if f["prefix"] == "FS"), key=lambda f: f["part_index"])
    for fs in signatures:
        index = fs["part_index"]
        try:
            if fs["size"] > MAX_SIGNATURE_BYTES:
                raise SignatureInvalid(f"{fs['size']} bytes: not a signature")
            if not certificates:
                raise SignatureInvalid(f"no certificate registered for sender {row['sender']}")
            data = b"".join([piece async for piece in read_blobs(conn, [fs["blob_id"]])])
            signature = Signature(data)
            hashers = {name: Signature.digest(name) for name in signature.hash_names()}
            async for piece in read_blobs(conn, [fi[index]["blob_id"]]):
                for hasher in hashers.values():
                    hasher.update(piece)
            digests = {name: hasher.digest() for name, hasher in hashers.items()}
            signature.verify(digests, certificates, deps.clock.now())
        except SignatureInvalid as exc:
            return ("ACRF-125",), f"{fs['name']}: {exc}"
    return (), None


async def expire(conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record) -> str:
    """Refuse an open set whose GO never came (ACRF-130) with a ticket of its own."""
    now = deps.clock.now()
    files = await repo.set_files(conn, row["id"])
    parts, others = _parts(files)
    used = await repo.name_used(conn, row["sender"], row["set_key"])
    errors = set_errors(
        parts,
        go=None,
        name_used=used,
        sender=deps.senders.get(row["sender"]),
        rules=deps.reception_rules,
    )
    named = parts[0].name if parts else next(iter(others.values())).name
    go_name = named.go_name
    new_ticket = ticket(await repo.next_ticket_value(conn))
    if not used:
        await repo.use_name(conn, row["sender"], row["set_key"], new_ticket, now)
    await repo.acknowledge_set(
        conn,
        row["id"],
        status="REFUSED",
        errors=errors,
        at=now,
        form_count=None,
        detail=None,
        ticket=new_ticket,
        go_name=go_name,
    )
    await write_acrf(
        conn,
        deps,
        set_id=row["id"],
        sender=row["sender"],
        environment=row["environment"],
        go_name=go_name,
        ticket=new_ticket,
        errors=errors,
    )
    return "REFUSED"


# -- outgoing files ---------------------------------------------------------------------------


async def _out_name(conn: asyncpg.Connection, deps: Deps, kind: str, environment: str) -> str:
    day = deps.clock.today()
    counter = await repo.next_out_counter(conn, day, environment)
    return out_name(kind, "FO", day, out_sequence(counter), environment)


async def write_acrf(
    conn: asyncpg.Connection,
    deps: Deps,
    *,
    set_id: int,
    sender: str,
    environment: str,
    go_name: str,
    ticket: str,
    errors: Sequence[str],
) -> str:
    """Store the ACRF of a set (``FO.ACRF...``); the deliverer writes it to the folder."""
    now = deps.clock.now()
    name = await _out_name(conn, deps, "ACRF", environment)
    content = acrf_document(go_name=go_name, ticket=ticket, errors=errors, created=now)
    writer = BlobWriter(conn, await repo.next_blob_id(conn), deps.settings.chunk_bytes)
    await writer.write(content)
    await writer.close()
    await repo.insert_out_file(
        conn,
        name=name,
        kind="ACRF",
        set_id=set_id,
        sender=sender,
        environment=environment,
        blob_id=writer.blob_id,
        size=writer.size,
        forms=None,
        created_at=now,
    )
    return name


# -- publication of the forms -----------------------------------------------------------------


def employer_key(employer: str | None) -> str | None:
    """The key of a form's event: its employer's NSSO number, normalised to nine digits."""
    if not employer:
        return None
    return employer.zfill(9) if employer.isdigit() and len(employer) <= 9 else employer


async def publish_forms(
    conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record, forms: Sequence[ReadForm]
) -> int:
    """Publish one batch of forms of an accepted set in the caller's transaction, with how
    far publication got (the resume point after a restart); the new count."""
    sender = deps.senders.get(row["sender"])
    declarant = sender.holder if sender else row["sender"]
    events = [
        PendingEvent(
            topic=FORMS_TOPIC,
            event_type="BatchFormSubmitted",
            key=employer_key(form.employer) or row["ticket"],
            payload=BatchFormSubmitted(
                ticket=row["ticket"],
                position=form.position,
                file_type=row["file_type"],
                environment=row["environment"],
                sender=row["sender"],
                declarant=declarant,
                go_file_name=row["go_name"],
                received_at=row["triggered_at"],
                form_xml=form.xml,
            ),
        )
        for form in forms
    ]
    await deps.outbox.publish_many(conn, events)
    last = forms[-1].position
    await repo.record_published(
        conn,
        row["id"],
        row["ticket"],
        [(f.position, employer_key(f.employer), f.echo.to_json()) for f in forms],
        last,
    )
    return last


# -- results and NOTI -------------------------------------------------------------------------


async def record_result(
    conn: asyncpg.Connection, *, source: str, payload: dict[str, Any], final: bool, result: str
) -> bool:
    """Keep the result of one published form (by its ticket and position); ``False`` for a
    notification that does not answer a batch form."""
    ticket_ = payload.get("batch_ticket")
    position = payload.get("batch_position")
    if not ticket_ or not position:
        return False
    await repo.record_result(
        conn,
        ticket=ticket_,
        position=int(position),
        source=source,
        final=final,
        result=result,
        payload=payload,
    )
    return True


async def record_dmfa_result(conn: asyncpg.Connection, payload: dict[str, Any]) -> bool:
    """Keep the result of a DmfA form of a batch file (``DmfaDeclarationNotified`` with a
    ``batch_ticket``); for an accepted original whose lines come in several events, its
    first part's line identifiers and how many parts to wait for. ``False`` for a REST
    declaration."""
    if not payload.get("batch_ticket") or not payload.get("batch_position"):
        return False
    kept = {key: value for key, value in payload.items() if key not in _DMFA_BULK}
    note = DmfaDeclarationNotified.model_validate(kept)
    await record_result(
        conn, source="DmfaDeclarationNotified", payload=kept, final=True, result=note.result
    )
    if note.pid_file and note.worker_line_parts > 1:
        assert note.batch_ticket is not None and note.batch_position is not None
        await repo.expect_pid_parts(
            conn, note.ticket, note.batch_ticket, note.batch_position, note.worker_line_parts
        )
        await _record_pid_lines(conn, note.ticket, 1, payload.get("worker_lines") or ())
    return True


async def record_dmfa_lines(conn: asyncpg.Connection, payload: dict[str, Any]) -> bool:
    """Keep the line identifiers of a further part (``DmfaWorkerLinesNotified``) of an
    accepted original answered in a batch file; ``False`` for any other declaration's."""
    declaration = str(payload.get("ticket", ""))
    if not await repo.pid_parts_expected(conn, declaration):
        return False
    await _record_pid_lines(
        conn, declaration, int(payload["part"]), payload.get("worker_lines") or ()
    )
    return True


async def _record_pid_lines(
    conn: asyncpg.Connection, declaration: str, part: int, lines: Sequence[dict[str, Any]]
) -> None:
    facts = [f for f in (line_pid_facts(line) for line in lines) if f is not None]
    await repo.record_pid_part(conn, declaration, part, facts)


def _employer_facts(deps: Deps, nsso: str | None) -> EmployerFacts:
    known = deps.authorizer.employers.get(nsso) if deps.authorizer and nsso else None
    if known is None:
        return EmployerFacts(language=deps.settings.default_language)
    return EmployerFacts(known.enterprise_number, known.language)


def _dimona_employer(note: DimonaNotified) -> str | None:
    period = note.after or note.before
    return note.employer_nsso or (period.employer_nsso if period else None)


def _noti_form(deps: Deps, noti: NotiFile, file_type: str, result: asyncpg.Record) -> bytes:
    """The NOTI form of one result, by the type of the file it answers."""
    echo = FormEcho.from_json(json.loads(result["echo"]))
    if file_type == "DIMN":
        note = DimonaNotified.model_validate_json(result["payload"])
        return dimona_form(noti, echo, note, _employer_facts(deps, _dimona_employer(note)))
    dmfa = DmfaDeclarationNotified.model_validate_json(result["payload"])
    return dmfa_form(noti, echo, dmfa, _employer_facts(deps, dmfa.employer_nsso))


async def _record_answer(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    name: str,
    kind: str,
    writer: BlobWriter,
    forms: int,
    now: datetime,
) -> None:
    """Register an answer file (NOTI or PID) of the set ``row`` once its content is stored."""
    await repo.insert_out_file(
        conn,
        name=name,
        kind=kind,
        set_id=row["id"],
        sender=row["sender"],
        environment=row["environment"],
        blob_id=writer.blob_id,
        size=writer.size,
        forms=forms,
        created_at=now,
    )
    log.info("ticket %s: %s with %d form(s)", row["ticket"], name, forms)


async def write_noti(conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record) -> str | None:
    """Write the next NOTI file of a published set when there is one to write: the first
    once every form has a result (FA, or PA for a provisional one), later ones with the
    final results of forms answered PA; for a DmfA original file, its PID file once the
    NOTI is out and every accepted original's identifiers have arrived. Marks the set
    NOTIFIED when every form has its final answer (and its PID form). The name of the NOTI
    file written, or ``None``."""
    counts = await repo.result_counts(conn, row["ticket"])
    first = counts["reported"] == 0
    if first and counts["results"] < (row["form_count"] or 0):
        return None  # results still coming: the first NOTI holds every form
    name = None
    if counts["unreported"]:
        now = deps.clock.now()
        name = await _out_name(conn, deps, "NOTI", row["environment"])
        noti = NotiFile(row["go_name"], row["ticket"], row["sender"], now)
        writer = BlobWriter(conn, await repo.next_blob_id(conn), deps.settings.chunk_bytes)
        await writer.write(NOTI_HEAD)
        written = 0
        async for result in repo.unreported_rows(conn, row["ticket"]):
            await writer.write(_noti_form(deps, noti, row["file_type"], result))
            written += 1
        await writer.write(NOTI_TAIL)
        await writer.close()
        await repo.mark_reported(conn, row["ticket"])
        await _record_answer(conn, row, name, "NOTI", writer, written, now)
    after = await repo.result_counts(conn, row["ticket"])
    answered = after["results"] >= (row["form_count"] or 0) and after["not_final"] == 0
    if answered and await _pid_done(conn, deps, row):
        await repo.mark_notified(conn, row["id"], deps.clock.now())
    return name


async def _pid_done(conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record) -> bool:
    """Whether the set's PID file is written or not needed; writes it when it is due."""
    if row["file_type"] != "DMFA" or await repo.has_out_file(conn, row["id"], "DPID"):
        return True
    forms = await repo.pid_forms(conn, row["ticket"])
    if any(f["parts"] is not None and f["arrived"] < f["parts"] for f in forms):
        return False  # worker lines of an accepted original still coming
    if forms:
        await write_pid(conn, deps, row, forms)
    return True


async def write_pid(
    conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record, forms: Sequence[asyncpg.Record]
) -> str | None:
    """The PID file (``FO.DPID...``, dmfa.md §6) of a DmfA file: one form per accepted
    original, each person streamed. The new file's name, or ``None`` when no form could be
    identified well enough to be written."""
    now = deps.clock.now()
    noti = NotiFile(row["go_name"], row["ticket"], row["sender"], now)
    writer: BlobWriter | None = None
    written = 0
    for form in forms:
        result = await repo.result_with_echo(conn, row["ticket"], form["position"])
        note = DmfaDeclarationNotified.model_validate_json(result["payload"])
        if not pid_renderable(note):
            log.warning("ticket %s: no PID form for declaration %s", row["ticket"], note.ticket)
            continue
        if writer is None:
            writer = BlobWriter(conn, await repo.next_blob_id(conn), deps.settings.chunk_bytes)
            await writer.write(PID_HEAD)
        echo = FormEcho.from_json(json.loads(result["echo"]))
        pid_ticket = ticket(await repo.next_ticket_value(conn))
        await writer.write(pid_form_open(noti, note, echo, pid_ticket))
        if form["parts"] is None:
            assert note.pids is not None
            for person in note.pids.persons:
                await writer.write(pid_person(person))
        else:
            facts = (json.loads(r["facts"]) async for r in repo.pid_lines(conn, note.ticket))
            async for person in _persons(facts):
                await writer.write(pid_person(person))
        await writer.write(PID_FORM_CLOSE)
        written += 1
    if writer is None:
        return None
    await writer.write(PID_TAIL)
    await writer.close()
    name = await _out_name(conn, deps, "DPID", row["environment"])
    await _record_answer(conn, row, name, "DPID", writer, written, now)
    return name


async def _persons(facts: AsyncIterator[dict[str, Any]]) -> AsyncIterator[Any]:
    """:func:`persons_of_lines` over an asynchronous stream, one person in memory at a
    time."""
    group: list[dict[str, Any]] = []
    async for line in facts:
        if group and (group[0]["inss"], group[0]["natural_person_pid"]) != (
            line["inss"],
            line["natural_person_pid"],
        ):
            for person in persons_of_lines(group):
                yield person
            group = []
        group.append(line)
    for person in persons_of_lines(group):
        yield person


def go_timeout(deps: Deps) -> timedelta:
    return timedelta(hours=deps.settings.go_timeout_hours)
