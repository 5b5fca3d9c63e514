"""Every SQL statement of the registry (unqualified names: the schema is on the search path).

Functions take the caller's connection; none of them opens or commits a transaction.
Rows are turned into the domain's values here and nowhere else.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from socsec.contracts.payloads.registry import (
    IdentificationOutcome,
    MandataryKind,
    NotificationRouting,
    Scope,
    SenderHolderKind,
)
from socsec.registry.domain.employers import Employer, EmployerClass
from socsec.registry.domain.mandataries import Approval, Branch, Mandatary, Seat
from socsec.registry.domain.mandates import EndNotice, Mandate, scopes_of
from socsec.registry.domain.senders import Sender
from socsec.registry.domain.validity import plain
from socsec.registry.domain.workers import (
    IdentificationRequest,
    IdentificationStatus,
    Worker,
    WorkerKind,
)

Page = tuple[list[Any], str | None]


def _page(items: list[Any], limit: int, key: Any) -> Page:
    """The first ``limit`` items and the cursor of the next page (``None``: last page)."""
    if len(items) > limit:
        items = items[:limit]
        return items, str(key(items[-1]))
    return items, None


# -- history -----------------------------------------------------------------------------


async def append_history(
    conn: asyncpg.Connection,
    *,
    entity: str,
    entity_id: str,
    version: int,
    operation: str,
    changed_at: datetime,
    changed_by: str,
    before: Any,
    after: Any,
) -> None:
    await conn.execute(
        """INSERT INTO history (entity, entity_id, version, operation, changed_at, changed_by,
                                before, after)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        entity,
        entity_id,
        version,
        operation,
        changed_at,
        changed_by,
        plain(before) if before is not None else None,
        plain(after),
    )


async def history(conn: asyncpg.Connection, entity: str, entity_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT version, operation, changed_at, recorded_at, changed_by, before, after
             FROM history WHERE entity = $1 AND entity_id = $2 ORDER BY version""",
        entity,
        entity_id,
    )
    return [dict(r) for r in rows]


async def version_of(conn: asyncpg.Connection, entity: str, entity_id: str) -> int:
    """The latest recorded version of an entity (0 when never recorded)."""
    value = await conn.fetchval(
        "SELECT max(version) FROM history WHERE entity = $1 AND entity_id = $2",
        entity,
        entity_id,
    )
    return value or 0


# -- employers ---------------------------------------------------------------------------


def _employer(row: asyncpg.Record) -> Employer:
    return Employer(
        nsso_number=row["nsso_number"],
        enterprise_number=row["enterprise_number"],
        name=row["name"],
        language=row["language"],
        registered_from=row["registered_from"],
        registered_to=row["registered_to"],
        employer_classes=tuple(EmployerClass(**c) for c in row["employer_classes"]),
        public_sector=row["public_sector"],
        local_authority=row["local_authority"],
    )


async def get_employer(
    conn: asyncpg.Connection, nsso_number: str, *, lock: bool = False
) -> Employer | None:
    query = "SELECT * FROM employers WHERE nsso_number = $1"
    row = await conn.fetchrow(query + (" FOR UPDATE" if lock else ""), nsso_number)
    return _employer(row) if row else None


async def save_employer(
    conn: asyncpg.Connection, employer: Employer, *, version: int, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO employers (nsso_number, enterprise_number, name, language,
                                  registered_from, registered_to, employer_classes,
                                  public_sector, local_authority, version, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (nsso_number) DO UPDATE SET
               enterprise_number = EXCLUDED.enterprise_number, name = EXCLUDED.name,
               language = EXCLUDED.language, registered_from = EXCLUDED.registered_from,
               registered_to = EXCLUDED.registered_to,
               employer_classes = EXCLUDED.employer_classes,
               public_sector = EXCLUDED.public_sector,
               local_authority = EXCLUDED.local_authority,
               version = EXCLUDED.version, updated_at = EXCLUDED.updated_at""",
        employer.nsso_number,
        employer.enterprise_number,
        employer.name,
        employer.language,
        employer.registered_from,
        employer.registered_to,
        plain(employer.employer_classes),
        employer.public_sector,
        employer.local_authority,
        version,
        at,
    )


async def list_employers(
    conn: asyncpg.Connection,
    *,
    active_on: date | None,
    name: str | None,
    after: str | None,
    limit: int,
) -> Page:
    rows = await conn.fetch(
        """SELECT * FROM employers
            WHERE ($1::date IS NULL OR (registered_from <= $1
                                        AND (registered_to IS NULL OR $1 <= registered_to)))
              AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%')
              AND ($3::text IS NULL OR nsso_number > $3)
            ORDER BY nsso_number LIMIT $4""",
        active_on,
        name,
        after,
        limit + 1,
    )
    return _page([_employer(r) for r in rows], limit, lambda e: e.nsso_number)


# -- mandataries, seats and branches -------------------------------------------------------


def _mandatary(row: asyncpg.Record, branches: list[asyncpg.Record]) -> Mandatary:
    approval = None
    if row["approval_number"] is not None:
        approval = Approval(
            number=row["approval_number"],
            approved_from=row["approved_from"],
            withdrawn_on=row["withdrawn_on"],
        )
    return Mandatary(
        id=row["id"],
        kind=MandataryKind(row["kind"]),
        legal_name=row["legal_name"],
        enterprise_number=row["enterprise_number"],
        legal_form=row["legal_form"],
        language=row["language"],
        approval=approval,
        seat=Seat(id=row["seat_id"], address=row["seat_address"]),
        branches=tuple(
            Branch(
                id=b["id"],
                seat_id=b["seat_id"],
                address=b["address"],
                communicated_on=b["communicated_on"],
                active_from=b["active_from"],
                active_to=b["active_to"],
            )
            for b in branches
        ),
    )


_MANDATARY = """SELECT m.*, s.id AS seat_id, s.address AS seat_address
                  FROM mandataries m JOIN seats s ON s.mandatary_id = m.id"""


async def _with_branches(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[Mandatary]:
    seats = [r["seat_id"] for r in rows]
    branches = await conn.fetch(
        "SELECT * FROM branches WHERE seat_id = ANY($1::text[]) ORDER BY id", seats
    )
    by_seat: dict[str, list[asyncpg.Record]] = {}
    for branch in branches:
        by_seat.setdefault(branch["seat_id"], []).append(branch)
    return [_mandatary(r, by_seat.get(r["seat_id"], [])) for r in rows]


async def get_mandatary(
    conn: asyncpg.Connection, mandatary_id: str, *, lock: bool = False
) -> Mandatary | None:
    query = _MANDATARY + " WHERE m.id = $1" + (" FOR UPDATE OF m" if lock else "")
    row = await conn.fetchrow(query, mandatary_id)
    if row is None:
        return None
    return (await _with_branches(conn, [row]))[0]


async def save_mandatary(
    conn: asyncpg.Connection, mandatary: Mandatary, *, version: int, at: datetime
) -> None:
    """Insert or update the mandatary, its seat and its branches (branches are kept)."""
    approval = mandatary.approval
    await conn.execute(
        """INSERT INTO mandataries (id, kind, legal_name, enterprise_number, legal_form,
                                    language, approval_number, approved_from, withdrawn_on,
                                    version, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET
               kind = EXCLUDED.kind, legal_name = EXCLUDED.legal_name,
               enterprise_number = EXCLUDED.enterprise_number,
               legal_form = EXCLUDED.legal_form, language = EXCLUDED.language,
               approval_number = EXCLUDED.approval_number,
               approved_from = EXCLUDED.approved_from, withdrawn_on = EXCLUDED.withdrawn_on,
               version = EXCLUDED.version, updated_at = EXCLUDED.updated_at""",
        mandatary.id,
        mandatary.kind.value,
        mandatary.legal_name,
        mandatary.enterprise_number,
        mandatary.legal_form,
        mandatary.language,
        approval.number if approval else None,
        approval.approved_from if approval else None,
        approval.withdrawn_on if approval else None,
        version,
        at,
    )
    await conn.execute(
        """INSERT INTO seats (id, mandatary_id, address) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address""",
        mandatary.seat.id,
        mandatary.id,
        mandatary.seat.address,
    )
    if mandatary.branches:
        await conn.executemany(
            """INSERT INTO branches (id, seat_id, address, communicated_on, active_from,
                                     active_to)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (id) DO UPDATE SET
                   address = EXCLUDED.address, communicated_on = EXCLUDED.communicated_on,
                   active_from = EXCLUDED.active_from, active_to = EXCLUDED.active_to""",
            [
                (b.id, b.seat_id, b.address, b.communicated_on, b.active_from, b.active_to)
                for b in mandatary.branches
            ],
        )


async def organisation_owner(conn: asyncpg.Connection, organisation_id: str) -> str | None:
    """The mandatary that a mandatary, seat or branch id belongs to (``None``: unknown)."""
    return await conn.fetchval(
        """SELECT id FROM mandataries WHERE id = $1
           UNION ALL SELECT mandatary_id FROM seats WHERE id = $1
           UNION ALL SELECT s.mandatary_id FROM branches b JOIN seats s ON s.id = b.seat_id
                      WHERE b.id = $1
           LIMIT 1""",
        organisation_id,
    )


async def approval_holder(conn: asyncpg.Connection, number: str) -> str | None:
    return await conn.fetchval("SELECT id FROM mandataries WHERE approval_number = $1", number)


async def next_mandatary_id(conn: asyncpg.Connection) -> str:
    while True:
        value = await conn.fetchval("SELECT nextval('mandatary_numbers')")
        candidate = f"M-{value:06d}"
        if await organisation_owner(conn, candidate) is None:
            return candidate


async def list_mandataries(
    conn: asyncpg.Connection,
    *,
    kind: MandataryKind | None,
    after: str | None,
    limit: int,
) -> Page:
    rows = await conn.fetch(
        _MANDATARY
        + """ WHERE ($1::text IS NULL OR m.kind = $1) AND ($2::text IS NULL OR m.id > $2)
              ORDER BY m.id LIMIT $3""",
        kind.value if kind else None,
        after,
        limit + 1,
    )
    return _page(await _with_branches(conn, list(rows)), limit, lambda m: m.id)


async def approved_on(
    conn: asyncpg.Connection, day: date, *, after: str | None, limit: int
) -> Page:
    """Approved secretariats whose approval is in force on ``day``, by approval number."""
    rows = await conn.fetch(
        _MANDATARY
        + """ WHERE m.kind = 'APPROVED_SECRETARIAT' AND m.approved_from <= $1
                AND (m.withdrawn_on IS NULL OR $1 < m.withdrawn_on)
                AND ($2::text IS NULL OR m.approval_number > $2)
              ORDER BY m.approval_number LIMIT $3""",
        day,
        after,
        limit + 1,
    )
    mandataries = await _with_branches(conn, list(rows))
    return _page(mandataries, limit, lambda m: m.approval.number)


# -- mandates ----------------------------------------------------------------------------


def _mandate(row: asyncpg.Record) -> Mandate:
    notice = None
    if row["end_notified_on"] is not None:
        notice = EndNotice(
            notified_on=row["end_notified_on"],
            effective_end=row["end_effective"],
            reason=row["end_reason"],
            late=row["end_late"],
        )
    return Mandate(
        id=row["id"],
        employer_nsso=row["employer_nsso"],
        mandatary_id=row["mandatary_id"],
        affiliation_point=row["affiliation_point"],
        seat_id=row["seat_id"],
        scopes=scopes_of(row["scopes"]),
        written_mandate_ref=row["written_mandate_ref"],
        signed_on=row["signed_on"],
        proxy_registered_on=row["proxy_registered_on"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        notification_routing=NotificationRouting(row["notification_routing"]),
        end_notice=notice,
    )


async def get_mandate(
    conn: asyncpg.Connection, mandate_id: str, *, lock: bool = False
) -> Mandate | None:
    query = "SELECT * FROM mandates WHERE id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(query, mandate_id)
    return _mandate(row) if row else None


async def mandates_of_employer(conn: asyncpg.Connection, nsso_number: str) -> list[Mandate]:
    rows = await conn.fetch(
        "SELECT * FROM mandates WHERE employer_nsso = $1 ORDER BY id", nsso_number
    )
    return [_mandate(r) for r in rows]


async def save_mandate(
    conn: asyncpg.Connection, mandate: Mandate, *, version: int, at: datetime
) -> None:
    notice = mandate.end_notice
    await conn.execute(
        """INSERT INTO mandates (id, employer_nsso, mandatary_id, affiliation_point, seat_id,
                                 scopes, written_mandate_ref, signed_on, proxy_registered_on,
                                 valid_from, valid_to, notification_routing, end_notified_on,
                                 end_effective, end_reason, end_late, version, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                   $17, $18)
           ON CONFLICT (id) DO UPDATE SET
               affiliation_point = EXCLUDED.affiliation_point, seat_id = EXCLUDED.seat_id,
               scopes = EXCLUDED.scopes, written_mandate_ref = EXCLUDED.written_mandate_ref,
               signed_on = EXCLUDED.signed_on,
               proxy_registered_on = EXCLUDED.proxy_registered_on,
               valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to,
               notification_routing = EXCLUDED.notification_routing,
               end_notified_on = EXCLUDED.end_notified_on,
               end_effective = EXCLUDED.end_effective, end_reason = EXCLUDED.end_reason,
               end_late = EXCLUDED.end_late,
               version = EXCLUDED.version, updated_at = EXCLUDED.updated_at""",
        mandate.id,
        mandate.employer_nsso,
        mandate.mandatary_id,
        mandate.affiliation_point,
        mandate.seat_id,
        [s.value for s in mandate.scopes],
        mandate.written_mandate_ref,
        mandate.signed_on,
        mandate.proxy_registered_on,
        mandate.valid_from,
        mandate.valid_to,
        mandate.notification_routing.value,
        notice.notified_on if notice else None,
        notice.effective_end if notice else None,
        notice.reason if notice else None,
        notice.late if notice else None,
        version,
        at,
    )


async def record_end_notice(
    conn: asyncpg.Connection, mandate_id: str, notice: EndNotice, *, at: datetime, by: str
) -> None:
    await conn.execute(
        """INSERT INTO mandate_end_notices (mandate_id, notified_on, effective_end, reason,
                                            late, recorded_at, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        mandate_id,
        notice.notified_on,
        notice.effective_end,
        notice.reason,
        notice.late,
        at,
        by,
    )


async def end_notices(conn: asyncpg.Connection, mandate_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT notified_on, effective_end, reason, late, recorded_at, recorded_by
             FROM mandate_end_notices WHERE mandate_id = $1 ORDER BY id""",
        mandate_id,
    )
    return [dict(r) for r in rows]


async def next_mandate_id(conn: asyncpg.Connection) -> str:
    while True:
        value = await conn.fetchval("SELECT nextval('mandate_numbers')")
        candidate = f"MD-{value:06d}"
        if not await conn.fetchval("SELECT 1 FROM mandates WHERE id = $1", candidate):
            return candidate


async def list_mandates(
    conn: asyncpg.Connection,
    *,
    employer: str | None,
    mandatary: str | None,
    scope: Scope | None,
    usable_on: date | None,
    late: bool | None,
    after: str | None,
    limit: int,
) -> Page:
    rows = await conn.fetch(
        """SELECT * FROM mandates
            WHERE ($1::text IS NULL OR employer_nsso = $1)
              AND ($2::text IS NULL OR mandatary_id = $2)
              AND ($3::text IS NULL OR $3 = ANY(scopes))
              AND ($4::date IS NULL OR (valid_from <= $4 AND proxy_registered_on <= $4
                                        AND (valid_to IS NULL OR $4 <= valid_to)))
              AND ($5::boolean IS NULL OR coalesce(end_late, false) = $5)
              AND ($6::text IS NULL OR id > $6)
            ORDER BY id LIMIT $7""",
        employer,
        mandatary,
        scope.value if scope else None,
        usable_on,
        late,
        after,
        limit + 1,
    )
    return _page([_mandate(r) for r in rows], limit, lambda m: m.id)


# -- senders -----------------------------------------------------------------------------


def _sender(row: asyncpg.Record) -> Sender:
    return Sender(
        sender_number=row["sender_number"],
        holder=row["holder"],
        holder_kind=SenderHolderKind(row["holder_kind"]),
        environments=tuple(row["environments"]),
        active=row["active"],
        certificate=row["certificate"],
        mandatary_id=row["mandatary_id"],
        seat_id=row["seat_id"],
        employer_nsso=row["employer_nsso"],
    )


async def get_sender(
    conn: asyncpg.Connection, sender_number: str, *, lock: bool = False
) -> Sender | None:
    query = "SELECT * FROM senders WHERE sender_number = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(query, sender_number)
    return _sender(row) if row else None


async def save_sender(
    conn: asyncpg.Connection, sender: Sender, *, version: int, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO senders (sender_number, holder, holder_kind, mandatary_id, seat_id,
                                employer_nsso, environments, certificate, active, version,
                                updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (sender_number) DO UPDATE SET
               holder = EXCLUDED.holder, holder_kind = EXCLUDED.holder_kind,
               mandatary_id = EXCLUDED.mandatary_id, seat_id = EXCLUDED.seat_id,
               employer_nsso = EXCLUDED.employer_nsso, environments = EXCLUDED.environments,
               certificate = EXCLUDED.certificate, active = EXCLUDED.active,
               version = EXCLUDED.version, updated_at = EXCLUDED.updated_at""",
        sender.sender_number,
        sender.holder,
        sender.holder_kind.value,
        sender.mandatary_id,
        sender.seat_id,
        sender.employer_nsso,
        list(sender.environments),
        sender.certificate,
        sender.active,
        version,
        at,
    )


async def next_sender_value(conn: asyncpg.Connection) -> int | None:
    """The next value of the sender-number sequence; ``None`` once it is exhausted (the
    caller's transaction is then aborted and must end in a refusal)."""
    try:
        return await conn.fetchval("SELECT nextval('sender_numbers')")
    except asyncpg.SequenceGeneratorLimitExceededError:
        return None


async def sender_taken(conn: asyncpg.Connection, sender_number: str) -> bool:
    found = await conn.fetchval("SELECT 1 FROM senders WHERE sender_number = $1", sender_number)
    return bool(found)


async def branch_seat(conn: asyncpg.Connection, branch_id: str) -> tuple[str, str] | None:
    """``(seat id, mandatary id)`` of a branch."""
    row = await conn.fetchrow(
        """SELECT b.seat_id, s.mandatary_id FROM branches b JOIN seats s ON s.id = b.seat_id
            WHERE b.id = $1""",
        branch_id,
    )
    return (row["seat_id"], row["mandatary_id"]) if row else None


async def seat_owner(conn: asyncpg.Connection, seat_id: str) -> str | None:
    return await conn.fetchval("SELECT mandatary_id FROM seats WHERE id = $1", seat_id)


async def seat_of_mandatary(conn: asyncpg.Connection, mandatary_id: str) -> str | None:
    return await conn.fetchval("SELECT id FROM seats WHERE mandatary_id = $1", mandatary_id)


async def list_senders(
    conn: asyncpg.Connection,
    *,
    holder: str | None,
    mandatary: str | None,
    employer: str | None,
    active: bool | None,
    after: str | None,
    limit: int,
) -> Page:
    rows = await conn.fetch(
        """SELECT * FROM senders
            WHERE ($1::text IS NULL OR holder = $1)
              AND ($2::text IS NULL OR mandatary_id = $2)
              AND ($3::text IS NULL OR employer_nsso = $3)
              AND ($4::boolean IS NULL OR active = $4)
              AND ($5::text IS NULL OR sender_number > $5)
            ORDER BY sender_number LIMIT $6""",
        holder,
        mandatary,
        employer,
        active,
        after,
        limit + 1,
    )
    return _page([_sender(r) for r in rows], limit, lambda s: s.sender_number)


# -- workers -----------------------------------------------------------------------------


def _worker(row: asyncpg.Record) -> Worker:
    return Worker(
        inss=row["inss"],
        kind=WorkerKind(row["kind"]),
        family_name=row["family_name"],
        given_name=row["given_name"],
        birth_date=row["birth_date"],
        sex=row["sex"],
        nationality=row["nationality"],
        address=row["address"],
        flexi_eligible=row["flexi_eligible"],
        replaced_by=row["replaced_by"],
    )


async def get_worker(conn: asyncpg.Connection, inss: str, *, lock: bool = False) -> Worker | None:
    query = "SELECT * FROM workers WHERE inss = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(query, inss)
    return _worker(row) if row else None


async def save_worker(
    conn: asyncpg.Connection, worker: Worker, *, version: int, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO workers (inss, kind, family_name, given_name, birth_date, sex,
                                nationality, address, flexi_eligible, replaced_by, version,
                                updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (inss) DO UPDATE SET
               kind = EXCLUDED.kind, family_name = EXCLUDED.family_name,
               given_name = EXCLUDED.given_name, birth_date = EXCLUDED.birth_date,
               sex = EXCLUDED.sex, nationality = EXCLUDED.nationality,
               address = EXCLUDED.address, flexi_eligible = EXCLUDED.flexi_eligible,
               replaced_by = EXCLUDED.replaced_by,
               version = EXCLUDED.version, updated_at = EXCLUDED.updated_at""",
        worker.inss,
        worker.kind.value,
        worker.family_name,
        worker.given_name,
        worker.birth_date,
        worker.sex,
        worker.nationality,
        worker.address,
        worker.flexi_eligible,
        worker.replaced_by,
        version,
        at,
    )


async def workers_born_on(conn: asyncpg.Connection, birth_date: date) -> list[Worker]:
    rows = await conn.fetch("SELECT * FROM workers WHERE birth_date = $1 ORDER BY inss", birth_date)
    return [_worker(r) for r in rows]


async def inss_with_prefix(conn: asyncpg.Connection, prefix: str) -> set[str]:
    rows = await conn.fetch("SELECT inss FROM workers WHERE inss LIKE $1 || '%'", prefix)
    return {r["inss"] for r in rows}


async def lock_key(conn: asyncpg.Connection, key: str) -> None:
    """Serialise, until the transaction ends, the writers that take the same key."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)


async def list_workers(
    conn: asyncpg.Connection,
    *,
    kind: WorkerKind | None,
    after: str | None,
    limit: int,
) -> Page:
    rows = await conn.fetch(
        """SELECT * FROM workers
            WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR inss > $2)
            ORDER BY inss LIMIT $3""",
        kind.value if kind else None,
        after,
        limit + 1,
    )
    return _page([_worker(r) for r in rows], limit, lambda w: w.inss)


# -- identification requests -------------------------------------------------------------


def _request(row: asyncpg.Record) -> IdentificationRequest:
    return IdentificationRequest(
        id=row["id"],
        requested_by=row["requested_by"],
        reference=row["reference"],
        family_name=row["family_name"],
        given_name=row["given_name"],
        birth_date=row["birth_date"],
        sex=row["sex"],
        nationality=row["nationality"],
        declared_insz=row["declared_insz"],
        requested_at=row["requested_at"],
        due_at=row["due_at"],
        status=IdentificationStatus(row["status"]),
        outcome=IdentificationOutcome(row["outcome"]) if row["outcome"] else None,
        insz=row["insz"],
        reason=row["reason"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
    )


async def insert_request(conn: asyncpg.Connection, request: IdentificationRequest) -> None:
    await conn.execute(
        """INSERT INTO identification_requests
               (id, requested_by, reference, family_name, given_name, birth_date, sex,
                nationality, declared_insz, requested_at, due_at, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT DO NOTHING""",
        request.id,
        request.requested_by,
        request.reference,
        request.family_name,
        request.given_name,
        request.birth_date,
        request.sex,
        request.nationality,
        request.declared_insz,
        request.requested_at,
        request.due_at,
        request.status.value,
    )


async def update_request(conn: asyncpg.Connection, request: IdentificationRequest) -> None:
    await conn.execute(
        """UPDATE identification_requests
              SET status = $2, outcome = $3, insz = $4, reason = $5, resolved_at = $6,
                  resolved_by = $7
            WHERE id = $1""",
        request.id,
        request.status.value,
        request.outcome.value if request.outcome else None,
        request.insz,
        request.reason,
        request.resolved_at,
        request.resolved_by,
    )


async def get_request(
    conn: asyncpg.Connection, request_id: str, *, lock: bool = False
) -> IdentificationRequest | None:
    query = "SELECT * FROM identification_requests WHERE id = $1"
    row = await conn.fetchrow(query + (" FOR UPDATE" if lock else ""), request_id)
    return _request(row) if row else None


async def request_by_reference(
    conn: asyncpg.Connection, requested_by: str, reference: str
) -> IdentificationRequest | None:
    row = await conn.fetchrow(
        "SELECT * FROM identification_requests WHERE requested_by = $1 AND reference = $2",
        requested_by,
        reference,
    )
    return _request(row) if row else None


async def due_requests(
    conn: asyncpg.Connection, now: datetime, limit: int
) -> list[IdentificationRequest]:
    """Pending requests due at ``now``, locked; those another instance holds are skipped."""
    rows = await conn.fetch(
        """SELECT * FROM identification_requests
            WHERE status = 'PENDING' AND due_at <= $1
            ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return [_request(r) for r in rows]


async def list_requests(
    conn: asyncpg.Connection,
    *,
    status: IdentificationStatus | None,
    requested_by: str | None,
    after: str | None,
    limit: int,
) -> Page:
    rows = await conn.fetch(
        """SELECT * FROM identification_requests
            WHERE ($1::text IS NULL OR status = $1)
              AND ($2::text IS NULL OR requested_by = $2)
              AND ($3::text IS NULL OR id > $3)
            ORDER BY id LIMIT $4""",
        status.value if status else None,
        requested_by,
        after,
        limit + 1,
    )
    return _page([_request(r) for r in rows], limit, lambda r: r.id)
