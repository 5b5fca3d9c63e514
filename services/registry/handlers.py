"""Use cases of the registry: one function per command, the same for every entry point.

A handler takes its command, the caller's connection (inside the transaction the entry
point opened), the outbox, the business clock, the register's rules and the actor (who
asks, for the history). It never opens or commits a transaction.

Every change of an employer, mandatary, mandate or sender is written with one more row of
``history`` (before and after) and publishes the entity's whole current state on its
compacted topic, in the same transaction. A command that changes nothing writes nothing
and publishes nothing, which makes imports idempotent.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

import asyncpg

from socsec.contracts.payloads.registry import (
    Approval as ApprovalPayload,
)
from socsec.contracts.payloads.registry import (
    Branch as BranchPayload,
)
from socsec.contracts.payloads.registry import (
    EmployerChanged,
    IdentificationOutcome,
    IdentificationResolved,
    MandataryChanged,
    MandateChanged,
    SenderChanged,
    SenderHolderKind,
    WorkerChanged,
)
from socsec.contracts.payloads.registry import (
    EmployerClass as EmployerClassPayload,
)
from socsec.contracts.payloads.registry import (
    EndNotice as EndNoticePayload,
)
from socsec.contracts.payloads.registry import (
    Seat as SeatPayload,
)
from socsec.kit.clock import Clock
from socsec.kit.outbox import Outbox
from socsec.registry import repository
from socsec.registry.domain import mandataries as mandatary_rules
from socsec.registry.domain import mandates as mandate_rules
from socsec.registry.domain.commands import (
    BranchInput,
    GiveEndNotice,
    IssueSender,
    RegisterEmployer,
    RegisterMandatary,
    RegisterMandate,
    RegisterWorker,
    RequestIdentification,
    ResolveIdentification,
)
from socsec.registry.domain.employers import Employer, EmployerClass, check_employer
from socsec.registry.domain.errors import Code, refusal
from socsec.registry.domain.mandataries import Approval, Branch, Mandatary, Seat
from socsec.registry.domain.mandates import Mandate
from socsec.registry.domain.rules import Rules
from socsec.registry.domain.senders import (
    Sender,
    check_sender_number,
    environments_of,
    issuable,
)
from socsec.registry.domain.workers import (
    IdentificationRequest,
    Worker,
    birth_date_of,
    bis_candidates,
    bis_prefix,
    check_worker,
    complete,
    implausibility,
    kind_of,
    resolve,
    same_person,
    worker_for,
)

T = TypeVar("T")

EMPLOYERS_TOPIC = "registry.employers.v1"
SECRETARIATS_TOPIC = "registry.secretariats.v1"
MANDATES_TOPIC = "registry.mandates.v1"
SENDERS_TOPIC = "registry.senders.v1"
IDENTIFICATIONS_TOPIC = "registry.identifications.v1"
WORKERS_TOPIC = "registry.workers.v1"

#: Who answers identification requests when their delay has passed (for the history).
IDENTIFICATION_TIMER = "registry:identification-timer"


class Mode(StrEnum):
    """How a register command treats an entity that exists (or not)."""

    CREATE = "CREATE"  # refuse an existing id (HTTP POST)
    REPLACE = "REPLACE"  # refuse an unknown id (HTTP PUT)
    UPSERT = "UPSERT"  # either (bulk import)


class Change(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"


@dataclass(frozen=True)
class Saved(Generic[T]):
    """What a register command left: the entity and whether it changed."""

    value: T
    change: Change


@dataclass(frozen=True)
class Context:
    """What every handler needs besides its command and connection."""

    outbox: Outbox
    clock: Clock
    rules: Rules
    actor: str


# -- common ------------------------------------------------------------------------------


def _check_mode(mode: Mode, exists: bool, code_exists: Code, code_missing: Code, what: str) -> None:
    if exists and mode == Mode.CREATE:
        raise refusal(code_exists, f"{what} is already registered")
    if not exists and mode == Mode.REPLACE:
        raise refusal(code_missing, f"{what} is not registered")


async def _record(
    conn: asyncpg.Connection,
    ctx: Context,
    *,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
    operation: str,
    save: Callable[..., Awaitable[None]],
) -> None:
    """Store a new version of an entity and append it to the history."""
    version = await repository.version_of(conn, entity, entity_id) + 1
    at = ctx.clock.now()
    await save(conn, after, version=version, at=at)
    await repository.append_history(
        conn,
        entity=entity,
        entity_id=entity_id,
        version=version,
        operation=operation,
        changed_at=at,
        changed_by=ctx.actor,
        before=before,
        after=after,
    )


def _change(before: Any, after: Any) -> Change:
    if before is None:
        return Change.CREATED
    return Change.UNCHANGED if before == after else Change.UPDATED


# -- events: the whole current state -------------------------------------------------------


def employer_changed(employer: Employer) -> EmployerChanged:
    """The contract payload carrying an employer's whole current state."""
    return EmployerChanged(
        nsso_number=employer.nsso_number,
        enterprise_number=employer.enterprise_number,
        name=employer.name,
        language=employer.language,
        registered_from=employer.registered_from,
        registered_to=employer.registered_to,
        employer_classes=tuple(
            EmployerClassPayload(
                employer_class=c.employer_class,
                from_quarter=c.from_quarter,
                to_quarter=c.to_quarter,
            )
            for c in employer.employer_classes
        ),
        public_sector=employer.public_sector,
        local_authority=employer.local_authority,
    )


def mandatary_changed(mandatary: Mandatary) -> MandataryChanged:
    """The contract payload carrying a mandatary with its seat and branches."""
    approval = mandatary.approval
    return MandataryChanged(
        id=mandatary.id,
        kind=mandatary.kind,
        legal_name=mandatary.legal_name,
        enterprise_number=mandatary.enterprise_number,
        legal_form=mandatary.legal_form,
        language=mandatary.language,
        approval=ApprovalPayload(
            number=approval.number,
            approved_from=approval.approved_from,
            withdrawn_on=approval.withdrawn_on,
        )
        if approval
        else None,
        seat=SeatPayload(id=mandatary.seat.id, address=mandatary.seat.address),
        branches=tuple(
            BranchPayload(
                id=b.id,
                seat_id=b.seat_id,
                address=b.address,
                communicated_on=b.communicated_on,
                active_from=b.active_from,
                active_to=b.active_to,
            )
            for b in mandatary.branches
        ),
    )


def mandate_changed(mandate: Mandate, employer_enterprise: str | None) -> MandateChanged:
    """The contract payload carrying a mandate's whole current state."""
    notice = mandate.end_notice
    return MandateChanged(
        id=mandate.id,
        employer_nsso=mandate.employer_nsso,
        employer_enterprise=employer_enterprise,
        mandatary_id=mandate.mandatary_id,
        affiliation_point=mandate.affiliation_point,
        seat_id=mandate.seat_id,
        scopes=mandate.scopes,
        proxy_registered_on=mandate.proxy_registered_on,
        valid_from=mandate.valid_from,
        valid_to=mandate.valid_to,
        end_notice=EndNoticePayload(
            notified_on=notice.notified_on,
            effective_end=notice.effective_end,
            reason=notice.reason,
            late=notice.late,
        )
        if notice
        else None,
        notification_routing=mandate.notification_routing,
        written_mandate_ref=mandate.written_mandate_ref,
        signed_on=mandate.signed_on,
    )


def sender_changed(sender: Sender) -> SenderChanged:
    """The contract payload carrying a sender number and its holder."""
    return SenderChanged(
        sender_number=sender.sender_number,
        holder=sender.holder,
        environments=sender.environments,
        active=sender.active,
        holder_kind=sender.holder_kind,
        mandatary_id=sender.mandatary_id,
        seat_id=sender.seat_id,
        employer_nsso=sender.employer_nsso,
    )


def worker_changed(worker: Worker) -> WorkerChanged:
    """The contract payload of a worker: what the declaration services check (no address).

    The contract codes the sex as 1 (male) or 2 (female) and the nationality as the numeric
    country code of the declarations (150: Belgium), so a nationality kept in another form
    is not published.
    """
    nationality = worker.nationality
    return WorkerChanged(
        insz=worker.inss,
        kind=worker.kind.value.lower(),
        family_name=worker.family_name,
        given_name=worker.given_name,
        birth_date=worker.birth_date,
        sex={"M": 1, "F": 2}.get(worker.sex or ""),
        nationality=int(nationality) if nationality and nationality.isdigit() else None,
        flexi_eligible=worker.flexi_eligible,
        replaced_by=worker.replaced_by,
    )


async def _publish_mandate(
    conn: asyncpg.Connection, ctx: Context, mandate: Mandate, enterprise: str | None
) -> None:
    await ctx.outbox.publish(
        conn,
        MANDATES_TOPIC,
        event_type="MandateChanged",
        key=mandate.id,
        payload=mandate_changed(mandate, enterprise),
    )


# -- employers ---------------------------------------------------------------------------


async def register_employer(
    cmd: RegisterEmployer, conn: asyncpg.Connection, ctx: Context, mode: Mode = Mode.CREATE
) -> Saved[Employer]:
    """Register an employer, or replace its data; publishes ``EmployerChanged``."""
    current = await repository.get_employer(conn, cmd.nsso_number, lock=True)
    _check_mode(
        mode,
        current is not None,
        Code.EMPLOYER_EXISTS,
        Code.EMPLOYER_NOT_FOUND,
        f"employer {cmd.nsso_number}",
    )
    employer = Employer(
        nsso_number=cmd.nsso_number,
        enterprise_number=cmd.enterprise_number,
        name=cmd.name,
        language=cmd.language,
        registered_from=cmd.registered_from,
        registered_to=cmd.registered_to,
        employer_classes=tuple(
            EmployerClass(c.employer_class, c.from_quarter, c.to_quarter)
            for c in cmd.employer_classes
        ),
        public_sector=cmd.public_sector,
        local_authority=cmd.local_authority,
    )
    check_employer(employer, is_new=current is None, rules=ctx.rules)
    change = _change(current, employer)
    if change == Change.UNCHANGED:
        return Saved(employer, change)
    await _record(
        conn,
        ctx,
        entity="employer",
        entity_id=employer.nsso_number,
        before=current,
        after=employer,
        operation=change.value,
        save=repository.save_employer,
    )
    await ctx.outbox.publish(
        conn,
        EMPLOYERS_TOPIC,
        event_type="EmployerChanged",
        key=employer.nsso_number,
        payload=employer_changed(employer),
    )
    if current is not None and current.enterprise_number != employer.enterprise_number:
        # The mandates' published state names the employer's enterprise number.
        for mandate in await repository.mandates_of_employer(conn, employer.nsso_number):
            await _publish_mandate(conn, ctx, mandate, employer.enterprise_number)
    return Saved(employer, change)


async def get_employer(conn: asyncpg.Connection, nsso_number: str) -> Employer:
    """The employer, or ``employer_not_found``."""
    employer = await repository.get_employer(conn, nsso_number)
    if employer is None:
        raise refusal(Code.EMPLOYER_NOT_FOUND, f"employer {nsso_number} is not registered")
    return employer


# -- mandataries -------------------------------------------------------------------------


def _branch(branch: BranchInput, seat_id: str) -> Branch:
    return Branch(
        id=branch.id,
        seat_id=branch.seat_id or seat_id,
        address=branch.address,
        communicated_on=branch.communicated_on,
        active_from=branch.active_from,
        active_to=branch.active_to,
    )


async def _store_mandatary(
    conn: asyncpg.Connection, ctx: Context, current: Mandatary | None, new: Mandatary
) -> Saved[Mandatary]:
    if current is not None:
        mandatary_rules.check_change(current, new)
    mandatary_rules.check_mandatary(new, ctx.rules)
    for index, organisation in enumerate(new.organisation_ids()):
        owner = await repository.organisation_owner(conn, organisation)
        if owner is not None and owner != new.id:
            field = "id" if index == 0 else "seat.id" if index == 1 else f"branches.{index - 2}.id"
            raise refusal(
                Code.ORGANISATION_ID_TAKEN,
                f"{organisation} already names {owner} (a mandatary, seat or branch)",
                field=field,
            )
    if new.approval is not None:
        holder = await repository.approval_holder(conn, new.approval.number)
        if holder is not None and holder != new.id:
            raise refusal(
                Code.APPROVAL_NUMBER_TAKEN,
                f"approval number {new.approval.number} belongs to {holder}",
                field="approval.number",
            )
    change = _change(current, new)
    if change == Change.UNCHANGED:
        return Saved(new, change)
    await _record(
        conn,
        ctx,
        entity="mandatary",
        entity_id=new.id,
        before=current,
        after=new,
        operation=change.value,
        save=repository.save_mandatary,
    )
    await ctx.outbox.publish(
        conn,
        SECRETARIATS_TOPIC,
        event_type="MandataryChanged",
        key=new.id,
        payload=mandatary_changed(new),
    )
    return Saved(new, change)


async def register_mandatary(
    cmd: RegisterMandatary, conn: asyncpg.Connection, ctx: Context, mode: Mode = Mode.CREATE
) -> Saved[Mandatary]:
    """Register a secretariat or provider with its seat and branches, or replace its data.

    Branches not listed stay as they are (a branch ends with ``active_to``, it is never
    removed). Publishes ``MandataryChanged``.
    """
    if cmd.id is None:
        if mode != Mode.CREATE:
            raise ValueError("a mandatary id is required to replace or import a mandatary")
        mandatary_id = await repository.next_mandatary_id(conn)
    else:
        mandatary_id = cmd.id
    current = await repository.get_mandatary(conn, mandatary_id, lock=True)
    _check_mode(
        mode,
        current is not None,
        Code.MANDATARY_EXISTS,
        Code.MANDATARY_NOT_FOUND,
        f"mandatary {mandatary_id}",
    )
    given = [_branch(b, cmd.seat.id) for b in cmd.branches]
    new = Mandatary(
        id=mandatary_id,
        kind=cmd.kind,
        legal_name=cmd.legal_name,
        enterprise_number=cmd.enterprise_number,
        legal_form=cmd.legal_form,
        language=cmd.language,
        approval=Approval(
            number=cmd.approval.number,
            approved_from=cmd.approval.approved_from,
            withdrawn_on=cmd.approval.withdrawn_on,
        )
        if cmd.approval
        else None,
        seat=Seat(id=cmd.seat.id, address=cmd.seat.address),
        branches=mandatary_rules.merge_branches(current.branches if current else (), given),
    )
    seen: set[str] = set()
    for index, branch in enumerate(given):
        if branch.id in seen:
            raise refusal(
                Code.ORGANISATION_ID_TAKEN,
                f"branch {branch.id} is listed twice",
                field=f"branches.{index}.id",
            )
        seen.add(branch.id)
    return await _store_mandatary(conn, ctx, current, new)


async def add_branch(
    mandatary_id: str, cmd: BranchInput, conn: asyncpg.Connection, ctx: Context
) -> Saved[Mandatary]:
    """Add a branch to a mandatary's seat (or replace the branch with that id)."""
    current = await get_mandatary(conn, mandatary_id, lock=True)
    branch = _branch(cmd, current.seat.id)
    new = replace(current, branches=mandatary_rules.merge_branches(current.branches, [branch]))
    return await _store_mandatary(conn, ctx, current, new)


async def get_mandatary(
    conn: asyncpg.Connection, mandatary_id: str, *, lock: bool = False
) -> Mandatary:
    """The mandatary, or ``mandatary_not_found``."""
    mandatary = await repository.get_mandatary(conn, mandatary_id, lock=lock)
    if mandatary is None:
        raise refusal(Code.MANDATARY_NOT_FOUND, f"mandatary {mandatary_id} is not registered")
    return mandatary


# -- mandates ----------------------------------------------------------------------------


async def register_mandate(
    cmd: RegisterMandate, conn: asyncpg.Connection, ctx: Context, mode: Mode = Mode.CREATE
) -> Saved[Mandate]:
    """Register a mandate, or replace its data; publishes ``MandateChanged``.

    The employer's row is locked first, so two mandates of one employer are checked for
    overlap one after the other.
    """
    employer = await repository.get_employer(conn, cmd.employer_nsso, lock=True)
    if employer is None:
        raise refusal(
            Code.EMPLOYER_NOT_FOUND,
            f"employer {cmd.employer_nsso} is not registered",
            field="employer_nsso",
        )
    mandatary = await repository.get_mandatary(conn, cmd.mandatary_id)
    if mandatary is None:
        raise refusal(
            Code.MANDATARY_NOT_FOUND,
            f"mandatary {cmd.mandatary_id} is not registered",
            field="mandatary_id",
        )
    if cmd.id is None:
        if mode != Mode.CREATE:
            raise ValueError("a mandate id is required to replace or import a mandate")
        mandate_id = await repository.next_mandate_id(conn)
    else:
        mandate_id = cmd.id
    current = await repository.get_mandate(conn, mandate_id, lock=True)
    _check_mode(
        mode,
        current is not None,
        Code.MANDATE_EXISTS,
        Code.MANDATE_NOT_FOUND,
        f"mandate {mandate_id}",
    )
    new = Mandate(
        id=mandate_id,
        employer_nsso=cmd.employer_nsso,
        mandatary_id=cmd.mandatary_id,
        affiliation_point=cmd.affiliation_point,
        seat_id=mandatary_rules.seat_of(mandatary, cmd.affiliation_point),
        scopes=mandate_rules.scopes_of(cmd.scopes),
        written_mandate_ref=cmd.written_mandate_ref,
        signed_on=cmd.signed_on,
        proxy_registered_on=cmd.proxy_registered_on,
        valid_from=cmd.valid_from,
        valid_to=cmd.valid_to,
        notification_routing=cmd.notification_routing
        or mandate_rules.default_routing(mandatary.kind, ctx.rules),
        end_notice=current.end_notice if current else None,
    )
    if current is not None:
        mandate_rules.check_change(current, new)
    mandate_rules.check_mandate(new, mandatary)
    others = await repository.mandates_of_employer(conn, employer.nsso_number)
    mandate_rules.check_overlap(new, others, ctx.rules)
    change = _change(current, new)
    if change == Change.UNCHANGED:
        return Saved(new, change)
    await _record(
        conn,
        ctx,
        entity="mandate",
        entity_id=new.id,
        before=current,
        after=new,
        operation=change.value,
        save=repository.save_mandate,
    )
    await _publish_mandate(conn, ctx, new, employer.enterprise_number)
    return Saved(new, change)


async def give_end_notice(
    mandate_id: str, cmd: GiveEndNotice, conn: asyncpg.Connection, ctx: Context
) -> Mandate:
    """Record the end notice of a mandate: valid until ``effective_end``, flagged ``late``
    when notified less than ``rules.end_notice_days`` before it; publishes
    ``MandateChanged``."""
    found = await get_mandate(conn, mandate_id)
    employer = await repository.get_employer(conn, found.employer_nsso, lock=True)
    current = await get_mandate(conn, mandate_id, lock=True)
    new = mandate_rules.end(
        current,
        notified_on=cmd.notified_on,
        effective_end=cmd.effective_end,
        reason=cmd.reason,
        rules=ctx.rules,
    )
    others = await repository.mandates_of_employer(conn, current.employer_nsso)
    mandate_rules.check_overlap(new, others, ctx.rules)
    assert new.end_notice is not None
    await repository.record_end_notice(
        conn, new.id, new.end_notice, at=ctx.clock.now(), by=ctx.actor
    )
    await _record(
        conn,
        ctx,
        entity="mandate",
        entity_id=new.id,
        before=current,
        after=new,
        operation="END_NOTICE",
        save=repository.save_mandate,
    )
    await _publish_mandate(conn, ctx, new, employer.enterprise_number if employer else None)
    return new


async def get_mandate(conn: asyncpg.Connection, mandate_id: str, *, lock: bool = False) -> Mandate:
    """The mandate, or ``mandate_not_found``."""
    mandate = await repository.get_mandate(conn, mandate_id, lock=lock)
    if mandate is None:
        raise refusal(Code.MANDATE_NOT_FOUND, f"mandate {mandate_id} is not registered")
    return mandate


# -- senders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Holder:
    holder: str
    kind: SenderHolderKind
    mandatary_id: str | None = None
    seat_id: str | None = None
    employer_nsso: str | None = None


async def _holder(conn: asyncpg.Connection, holder: str) -> _Holder:
    mandatary = await repository.seat_owner(conn, holder)
    if mandatary is not None:
        return _Holder(holder, SenderHolderKind.SEAT, mandatary, holder)
    branch = await repository.branch_seat(conn, holder)
    if branch is not None:
        seat, mandatary = branch
        return _Holder(holder, SenderHolderKind.BRANCH, mandatary, seat)
    seat = await repository.seat_of_mandatary(conn, holder)
    if seat is not None:  # a mandatary id names its seat
        return _Holder(seat, SenderHolderKind.SEAT, holder, seat)
    if await repository.get_employer(conn, holder) is not None:
        return _Holder(holder, SenderHolderKind.EMPLOYER, employer_nsso=holder)
    raise refusal(
        Code.SENDER_HOLDER_NOT_FOUND,
        f"{holder} is neither a seat, a branch, a mandatary nor a registered employer",
        field="holder",
    )


async def _issue_number(conn: asyncpg.Connection, rules: Rules) -> str:
    while True:
        value = await repository.next_sender_value(conn)
        if value is None:
            raise refusal(Code.SENDER_NUMBERS_EXHAUSTED, "every sender number has been issued")
        number = f"{value:06d}"
        if issuable(value, rules.reserved_sender_numbers) and not await repository.sender_taken(
            conn, number
        ):
            return number


async def issue_sender(
    cmd: IssueSender, conn: asyncpg.Connection, ctx: Context, mode: Mode = Mode.CREATE
) -> Saved[Sender]:
    """Issue a sender number (the next free one when none is given) or replace its data;
    publishes ``SenderChanged``. Numbers are never deleted, hence never reused."""
    holder = await _holder(conn, cmd.holder)
    if cmd.sender_number is None:
        if mode != Mode.CREATE:
            raise ValueError("a sender number is required to replace or import a sender")
        number = await _issue_number(conn, ctx.rules)
    else:
        number = cmd.sender_number
        check_sender_number(number, ctx.rules.reserved_sender_numbers)
    current = await repository.get_sender(conn, number, lock=True)
    _check_mode(
        mode,
        current is not None,
        Code.SENDER_EXISTS,
        Code.SENDER_NOT_FOUND,
        f"sender {number}",
    )
    new = Sender(
        sender_number=number,
        holder=holder.holder,
        holder_kind=holder.kind,
        environments=environments_of(cmd.environments),
        active=cmd.active,
        certificate=cmd.certificate,
        mandatary_id=holder.mandatary_id,
        seat_id=holder.seat_id,
        employer_nsso=holder.employer_nsso,
    )
    change = _change(current, new)
    if change == Change.UNCHANGED:
        return Saved(new, change)
    await _record(
        conn,
        ctx,
        entity="sender",
        entity_id=number,
        before=current,
        after=new,
        operation=change.value,
        save=repository.save_sender,
    )
    await ctx.outbox.publish(
        conn,
        SENDERS_TOPIC,
        event_type="SenderChanged",
        key=number,
        payload=sender_changed(new),
    )
    return Saved(new, change)


async def get_sender(conn: asyncpg.Connection, sender_number: str) -> Sender:
    """The sender, or ``sender_not_found``."""
    sender = await repository.get_sender(conn, sender_number)
    if sender is None:
        raise refusal(Code.SENDER_NOT_FOUND, f"sender {sender_number} is not registered")
    return sender


# -- workers -----------------------------------------------------------------------------


async def register_worker(
    cmd: RegisterWorker, conn: asyncpg.Connection, ctx: Context, mode: Mode = Mode.CREATE
) -> Saved[Worker]:
    """Register a worker in the identification register, or replace its data."""
    current = await repository.get_worker(conn, cmd.inss, lock=True)
    # The INSZ itself never goes into a message: it names the worker in the register only.
    _check_mode(mode, current is not None, Code.WORKER_EXISTS, Code.WORKER_NOT_FOUND, "the worker")
    worker = complete(
        Worker(
            inss=cmd.inss,
            kind=kind_of(cmd.inss),
            family_name=cmd.family_name,
            given_name=cmd.given_name,
            birth_date=cmd.birth_date,
            sex=cmd.sex,
            nationality=cmd.nationality,
            address=cmd.address,
            flexi_eligible=ctx.rules.flexi_eligible_default
            if cmd.flexi_eligible is None
            else cmd.flexi_eligible,
            replaced_by=cmd.replaced_by,
        )
    )
    check_worker(worker)
    return await _store_worker(conn, ctx, current, worker)


async def _store_worker(
    conn: asyncpg.Connection, ctx: Context, current: Worker | None, worker: Worker
) -> Saved[Worker]:
    change = _change(current, worker)
    if change != Change.UNCHANGED:
        await _record(
            conn,
            ctx,
            entity="worker",
            entity_id=worker.inss,
            before=current,
            after=worker,
            operation=change.value,
            save=repository.save_worker,
        )
        await ctx.outbox.publish(
            conn,
            WORKERS_TOPIC,
            event_type="WorkerChanged",
            key=worker.inss,
            payload=worker_changed(worker),
        )
    return Saved(worker, change)


async def get_worker(conn: asyncpg.Connection, inss: str) -> Worker:
    """The worker, or ``worker_not_found``."""
    worker = await repository.get_worker(conn, inss)
    if worker is None:
        raise refusal(Code.WORKER_NOT_FOUND, "no worker with this INSZ is registered")
    return worker


# -- identification requests -------------------------------------------------------------


async def request_identification(
    cmd: RequestIdentification,
    conn: asyncpg.Connection,
    ctx: Context,
    *,
    request_id: str | None = None,
) -> IdentificationRequest:
    """Record an identification request, answered after the configured delay.

    ``request_id`` is the asker's when it names its requests itself (a Kafka request),
    otherwise one is issued. Asking again with the same id, or the same ``requested_by``
    and ``reference``, returns the first request: the asker may retry safely.
    """
    if request_id is not None:
        existing = await repository.get_request(conn, request_id)
        if existing is not None:
            return existing
    existing = await repository.request_by_reference(conn, cmd.requested_by, cmd.reference)
    if existing is not None:
        return existing
    now = ctx.clock.now()
    request = IdentificationRequest(
        id=request_id or f"IDR-{uuid.uuid4().hex}",
        requested_by=cmd.requested_by,
        reference=cmd.reference,
        family_name=cmd.family_name,
        given_name=cmd.given_name,
        birth_date=cmd.birth_date,
        sex=cmd.sex,
        nationality=cmd.nationality,
        declared_insz=cmd.insz,
        requested_at=now,
        due_at=now + timedelta(seconds=ctx.rules.identification_delay_seconds),
    )
    await repository.insert_request(conn, request)
    return request


async def get_identification(
    conn: asyncpg.Connection, request_id: str, *, lock: bool = False
) -> IdentificationRequest:
    """The identification request, or ``identification_not_found``."""
    request = await repository.get_request(conn, request_id, lock=lock)
    if request is None:
        raise refusal(
            Code.IDENTIFICATION_NOT_FOUND, f"identification request {request_id} is unknown"
        )
    return request


async def _answer(
    conn: asyncpg.Connection,
    ctx: Context,
    request: IdentificationRequest,
    *,
    outcome: IdentificationOutcome,
    insz: str | None,
    reason: str | None,
) -> IdentificationRequest:
    resolved = resolve(
        request, outcome=outcome, insz=insz, reason=reason, at=ctx.clock.now(), by=ctx.actor
    )
    await repository.update_request(conn, resolved)
    await ctx.outbox.publish(
        conn,
        IDENTIFICATIONS_TOPIC,
        event_type="IdentificationResolved",
        key=resolved.id,
        payload=IdentificationResolved(
            request_id=resolved.id,
            requested_by=resolved.requested_by,
            reference=resolved.reference,
            outcome=outcome,
            insz=insz,
            reason=reason,
        ),
    )
    return resolved


async def resolve_identification(
    request_id: str, cmd: ResolveIdentification, conn: asyncpg.Connection, ctx: Context
) -> IdentificationRequest:
    """An operator answers a request; a found worker missing from the register is added.

    Publishes ``IdentificationResolved``.
    """
    request = await get_identification(conn, request_id, lock=True)
    outcome = IdentificationOutcome(cmd.outcome)
    if outcome == IdentificationOutcome.FOUND:
        assert cmd.insz is not None
        if await repository.get_worker(conn, cmd.insz, lock=True) is None:
            worker = worker_for(request, cmd.insz, ctx.rules)
            worker = replace(worker, birth_date=birth_date_of(cmd.insz) or request.birth_date)
            await _store_worker(conn, ctx, None, worker)
        return await _answer(conn, ctx, request, outcome=outcome, insz=cmd.insz, reason=cmd.reason)
    return await _answer(
        conn,
        ctx,
        request,
        outcome=outcome,
        insz=None,
        reason=cmd.reason or "not found by an operator",
    )


async def _resolve_automatically(
    conn: asyncpg.Connection, ctx: Context, request: IdentificationRequest
) -> IdentificationRequest:
    if request.declared_insz is not None:
        known = await repository.get_worker(conn, request.declared_insz)
        if known is not None:
            return await _answer(
                conn,
                ctx,
                request,
                outcome=IdentificationOutcome.FOUND,
                insz=known.replaced_by or known.inss,
                reason=None,
            )
    reason = implausibility(request, ctx.clock.today(), ctx.rules)
    if reason is not None:
        return await _answer(
            conn, ctx, request, outcome=IdentificationOutcome.NOT_FOUND, insz=None, reason=reason
        )
    for worker in await repository.workers_born_on(conn, request.birth_date):
        if same_person(worker, request):
            return await _answer(
                conn,
                ctx,
                request,
                outcome=IdentificationOutcome.FOUND,
                insz=worker.replaced_by or worker.inss,
                reason=None,
            )
    assert request.birth_date is not None  # implausible otherwise
    prefix = bis_prefix(request.birth_date, request.sex)
    await repository.lock_key(conn, f"bis:{prefix}")
    taken = await repository.inss_with_prefix(conn, prefix)
    candidates = bis_candidates(request.birth_date, request.sex)
    number = next((n for n in candidates if n not in taken), None)
    if number is None:
        return await _answer(
            conn,
            ctx,
            request,
            outcome=IdentificationOutcome.NOT_FOUND,
            insz=None,
            reason=f"no BIS serial left for birth date {request.birth_date}",
        )
    await _store_worker(conn, ctx, None, worker_for(request, number, ctx.rules))
    return await _answer(
        conn, ctx, request, outcome=IdentificationOutcome.CREATED, insz=number, reason=None
    )


async def resolve_due_identifications(
    conn: asyncpg.Connection, ctx: Context, *, limit: int = 100
) -> list[IdentificationRequest]:
    """Answer every request whose delay has passed on the business clock (at most
    ``limit``): found in the register, a new BIS number, or not found when implausible.

    Requests another instance is answering are skipped.
    """
    answered = []
    for request in await repository.due_requests(conn, ctx.clock.now(), limit):
        answered.append(await _resolve_automatically(conn, ctx, request))
    return answered
