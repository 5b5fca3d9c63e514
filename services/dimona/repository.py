"""All SQL of the dimona service. Functions take the transaction's connection."""

from __future__ import annotations

import functools
import json
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from socsec.contracts.identifiers import dimona_id
from socsec.dimona.codec import anomalies_to_text, declaration_to_text, period_from_row
from socsec.dimona.domain.model import Anomaly, Declaration, Period, Worker
from socsec.kit.outbox import OUTBOX_COLUMNS, PreparedEvent

_PARAM = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Write:
    """One data-modifying statement and its arguments (``$1``... numbered from 1)."""

    sql: str
    args: tuple[Any, ...]

    async def execute(self, conn: asyncpg.Connection) -> None:
        await conn.execute(self.sql, *self.args)


@dataclass
class Writes:
    """The writes of one use case, sent as a single statement (each one a data-modifying
    ``WITH`` query): one round trip instead of one per write, atomic like a transaction.

    The writes must touch different rows, and none sees the others' effects (they all see
    the snapshot of the statement), as PostgreSQL runs data-modifying ``WITH`` queries."""

    parts: list[Write] = field(default_factory=list)

    def add(self, write: Write) -> None:
        self.parts.append(write)

    def statement(self) -> Write:
        if len(self.parts) == 1:
            return self.parts[0]
        sql = _combined(tuple((part.sql, len(part.args)) for part in self.parts))
        return Write(sql, tuple(arg for part in self.parts for arg in part.args))

    async def execute(self, conn: asyncpg.Connection) -> None:
        if self.parts:
            await self.statement().execute(conn)


@functools.lru_cache(maxsize=64)
def _combined(parts: tuple[tuple[str, int], ...]) -> str:
    """One statement of data-modifying ``WITH`` queries (``sql``, number of arguments)."""
    queries, offset = [], 0
    for i, (sql, count) in enumerate(parts):
        renumbered = _PARAM.sub(lambda m, o=offset: f"${int(m.group(1)) + o}", sql)
        queries.append(f"w{i} AS ({renumbered})")
        offset += count
    return f"WITH {', '.join(queries)} SELECT 1"


def outbox_rows(events: Iterable[PreparedEvent]) -> Write:
    """The outbox rows of ``events``, in one INSERT (ids follow the given order)."""
    rows, args = [], []
    for event in events:
        n = len(args)
        rows.append(f"(${n + 1}, ${n + 2}, ${n + 3}, ${n + 4}, ${n + 5}::text::jsonb)")
        args.extend(event.args)
    return Write(f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES {', '.join(rows)}", tuple(args))


class DimonaNumbers:
    """Fresh 12-digit Dimona numbers for one process, taken from ``declaration_seq`` a
    block at a time: one round trip per ``block`` declarations instead of one each.
    Sequence values with remainder 0 are skipped; numbers a process has not handed out
    when it stops are never used (the numbering has gaps, as it always had)."""

    def __init__(self, block: int = 50) -> None:
        self.block = block
        self._free: deque[int] = deque()

    async def next(self, conn: asyncpg.Connection) -> int:
        while not self._free:
            values = await conn.fetch(
                "SELECT nextval('declaration_seq') AS value FROM generate_series(1, $1)",
                self.block,
            )
            self._free.extend(dimona_id(r["value"]) for r in values if r["value"] % 97)
        return self._free.popleft()


class PeriodEmployers:
    """The employer of each period, as far as this process has seen it: a period never
    changes employer and is never deleted, so what was seen stays true. A POST for an OUT,
    UPDATE or CANCEL needs it for the mandate check; the client has read the IN's result
    (which names the period and its employer) just before, through the same API."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._known: dict[int, str] = {}

    def remember(self, period_id: int, employer_nsso: str) -> None:
        if period_id not in self._known and len(self._known) >= self.size:
            del self._known[next(iter(self._known))]  # the oldest goes
        self._known[period_id] = employer_nsso

    async def get(self, conn: asyncpg.Connection, period_id: int | None) -> str | None:
        """The employer of the period, if it exists."""
        if period_id is None:
            return None
        employer = self._known.get(period_id)
        if employer is None:
            employer = await conn.fetchval(
                "SELECT employer_nsso FROM periods WHERE id = $1", period_id
            )
            if employer is not None:
                self.remember(period_id, employer)
        return employer


def declaration_insert(
    declaration: Declaration,
    *,
    environment: str = "R",
    batch_ticket: str | None = None,
    batch_position: int | None = None,
) -> Write:
    return Write(
        """INSERT INTO declarations (id, kind, channel, environment, declarant, gender_encoding,
                                     request, received_at, batch_ticket, batch_position,
                                     employer_nsso, insz, period_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $11, $12, $13)""",
        (
            declaration.declaration_id,
            str(declaration.kind),
            declaration.channel,
            environment,
            declaration.declarant,
            declaration.gender_encoding,
            declaration_to_text(declaration),
            declaration.received_at,
            batch_ticket,
            batch_position,
            declaration.employer_nsso,
            declaration.ssin,
            declaration.period_id,
        ),
    )


async def insert_declaration(
    conn: asyncpg.Connection,
    declaration: Declaration,
    *,
    environment: str = "R",
    batch_ticket: str | None = None,
    batch_position: int | None = None,
) -> None:
    await declaration_insert(
        declaration,
        environment=environment,
        batch_ticket=batch_ticket,
        batch_position=batch_position,
    ).execute(conn)


async def declaration_row(conn: asyncpg.Connection, declaration_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT *, request::text AS request_text, anomalies::text AS anomalies_text"
        " FROM declarations WHERE id = $1",
        declaration_id,
    )


async def declaration_result(
    conn: asyncpg.Connection, declaration_id: int
) -> asyncpg.Record | None:
    """What GET /declarations/{id} shows (the JSON columns as text, decoded once)."""
    return await conn.fetchrow(
        "SELECT id, status, result, period_id, employer_nsso, declarant, insz,"
        " request::text AS request_text, anomalies::text AS anomalies_text"
        " FROM declarations WHERE id = $1",
        declaration_id,
    )


async def declaration_at_position(
    conn: asyncpg.Connection, ticket: str, position: int
) -> int | None:
    """The declaration recorded for a batch form (ticket, position), if any."""
    return await conn.fetchval(
        "SELECT id FROM declarations WHERE batch_ticket = $1 AND batch_position = $2",
        ticket,
        position,
    )


async def recorded_positions(
    conn: asyncpg.Connection, forms: list[tuple[str, int]]
) -> set[tuple[str, int]]:
    """Which of the batch forms ``(ticket, position)`` already have their declaration."""
    rows = await conn.fetch(
        """SELECT d.batch_ticket, d.batch_position
             FROM unnest($1::text[], $2::integer[]) AS f(ticket, position)
             JOIN declarations d ON d.batch_ticket = f.ticket AND d.batch_position = f.position""",
        [ticket for ticket, _ in forms],
        [position for _, position in forms],
    )
    return {(row["batch_ticket"], row["batch_position"]) for row in rows}


_LOCK = (
    "SELECT id, status, environment, request::text AS request_text, identification_request,"
    " batch_ticket, batch_position FROM declarations"
)


async def lock_declaration(conn: asyncpg.Connection, declaration_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_LOCK} WHERE id = $1 FOR UPDATE", declaration_id)


async def lock_declarations(
    conn: asyncpg.Connection, declaration_ids: list[int]
) -> dict[int, asyncpg.Record]:
    """:func:`lock_declaration` of many in one round trip (locked in id order)."""
    rows = await conn.fetch(
        f"{_LOCK} WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", declaration_ids
    )
    return {row["id"]: row for row in rows}


async def declaration_by_identification(
    conn: asyncpg.Connection, request_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id FROM declarations WHERE identification_request = $1", request_id
    )


# -- personnel file ---------------------------------------------------------------------


async def period(conn: asyncpg.Connection, period_id: int) -> Period | None:
    row = await conn.fetchrow("SELECT * FROM periods WHERE id = $1", period_id)
    return period_from_row(row) if row else None


def _using(using: Any) -> dict[str, Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(type(using)).dump_python(using, mode="json")


#: The writes of :class:`ProcessingWrites`: one statement whose text never changes (every
#: table gets arrays, one element per row), so PostgreSQL prepares it once per connection.
_PROCESSING_WRITES = """
WITH outcomes AS (
    UPDATE declarations d
       SET status = u.status, result = u.result, anomalies = u.anomalies::jsonb,
           employer_nsso = u.employer_nsso, insz = u.insz, period_id = u.period_id,
           processed_at = u.at, notified_at = u.at, contest_deadline = u.deadline,
           identification_request = COALESCE(u.request_id, d.identification_request),
           request = COALESCE(u.request::jsonb, d.request)
      FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                  $7::bigint[], $8::timestamptz[], $9::date[], $10::text[], $11::text[])
           AS u(id, status, result, anomalies, employer_nsso, insz, period_id, at, deadline,
                request_id, request)
     WHERE d.id = u.id),
changed AS (
    SELECT * FROM unnest($12::bigint[], $13::text[], $14::text[], $15::text[], $16::text[],
                         $17::integer[], $18::text[], $19::date[], $20::date[], $21::text[],
                         $22::text[], $23::integer[], $24::boolean[], $25::boolean[],
                         $26::boolean[], $27::timestamptz[], $28::integer[])
           AS u(id, employer_nsso, insz, worker_type, joint_commission, sub_entity,
                using_employer, start_date, end_date, start_hour, end_hour, planned_hours,
                is_cancelled, is_locked, is_late, last_update, planned_days)),
periods_written AS (
    INSERT INTO periods (id, employer_nsso, insz, worker_type, joint_commission, sub_entity,
                         using_employer, start_date, end_date, start_hour, end_hour,
                         planned_hours, is_cancelled, is_locked, is_late, last_update,
                         planned_days)
    SELECT id, employer_nsso, insz, worker_type, joint_commission, sub_entity,
           using_employer::jsonb, start_date, end_date, start_hour, end_hour, planned_hours,
           is_cancelled, is_locked, is_late, last_update, planned_days
      FROM changed
    ON CONFLICT (id) DO UPDATE SET
        start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
        start_hour = EXCLUDED.start_hour, end_hour = EXCLUDED.end_hour,
        planned_hours = EXCLUDED.planned_hours, planned_days = EXCLUDED.planned_days,
        is_cancelled = EXCLUDED.is_cancelled,
        is_late = periods.is_late OR EXCLUDED.is_late, last_update = EXCLUDED.last_update),
relations_written AS (
    -- Level 1 of each changed period's pair: first start and last end of the pair's
    -- non-cancelled periods (null while one is open); kept when every period is
    -- cancelled. This statement cannot see periods_written: the pair's other periods as
    -- stored, and the changed period as it will be.
    INSERT INTO relations (employer_nsso, insz, start_date, end_date)
    SELECT c.employer_nsso, c.insz, pair.first_start, pair.last_end
      FROM changed c
     CROSS JOIN LATERAL (
           SELECT min(start_date) FILTER (WHERE NOT is_cancelled) AS first_start,
                  CASE WHEN bool_or(end_date IS NULL AND NOT is_cancelled) THEN NULL
                       ELSE max(end_date) FILTER (WHERE NOT is_cancelled) END AS last_end
             FROM (SELECT start_date, end_date, is_cancelled FROM periods
                    WHERE employer_nsso = c.employer_nsso AND insz = c.insz AND id <> c.id
                   UNION ALL SELECT c.start_date, c.end_date, c.is_cancelled) p) pair
    ON CONFLICT (employer_nsso, insz) DO UPDATE
        SET start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date),
links AS (
    INSERT INTO period_declarations (period_id, declaration_id, kind, result)
    SELECT * FROM unnest($29::bigint[], $30::bigint[], $31::text[], $32::text[])
    ON CONFLICT DO NOTHING),
events AS (
    INSERT INTO outbox (event_id, topic, key, value, headers)
    SELECT event_id, topic, key, value, headers::jsonb
      FROM unnest($33::uuid[], $34::text[], $35::bytea[], $36::bytea[], $37::text[])
           WITH ORDINALITY AS e(event_id, topic, key, value, headers, n)
     ORDER BY n)
SELECT 1"""


@dataclass
class ProcessingWrites:
    """What processing declarations writes, gathered over one or many declarations and
    sent in one statement by :meth:`execute`: their outcomes, the periods they change with
    the level-1 relation of each, the periods' links to them, and their events (in the
    given order).

    The rows must be different rows: at most one change per period and per worker's pair,
    one outcome per declaration. Like data-modifying ``WITH`` queries, no write sees the
    others' effects."""

    outcomes: list[tuple[Any, ...]] = field(default_factory=list)
    periods: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[PreparedEvent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.outcomes or self.periods or self.links or self.events)

    def outcome(
        self,
        declaration_id: int,
        *,
        status: str,
        result: str,
        anomalies: tuple[Anomaly, ...],
        employer_nsso: str | None,
        insz: str | None,
        period_id: int | None,
        processed_at: datetime,
        contest_deadline: date | None,
        identification_request: str | None = None,
        request: Declaration | None = None,
    ) -> None:
        """The declaration's status and result (``request``: its request as completed by
        the identification, when it was)."""
        self.outcomes.append(
            (
                declaration_id,
                status,
                result,
                anomalies_to_text(anomalies),
                employer_nsso,
                insz,
                period_id,
                processed_at,
                contest_deadline,
                identification_request,
                declaration_to_text(request) if request else None,
            )
        )

    def period(self, p: Period, at: datetime) -> None:
        """The period as it is after the declaration (created or changed), and its pair's
        relation."""
        using = p.features.using_employer
        self.periods.append(
            (
                p.id,
                p.employer_nsso,
                p.ssin,
                p.features.worker_type,
                p.features.joint_commission,
                p.features.sub_entity,
                json.dumps(_using(using)) if using else None,
                p.start_date,
                p.end_date,
                p.start_hour,
                p.end_hour,
                p.planned_hours,
                p.is_cancelled,
                p.is_locked,
                p.is_late,
                at,
                p.planned_days,
            )
        )

    def link(self, period_id: int, declaration_id: int, kind: str, result: str) -> None:
        self.links.append((period_id, declaration_id, kind, result))

    def event(self, event: PreparedEvent) -> None:
        self.events.append(event)

    async def execute(self, conn: asyncpg.Connection) -> None:
        """Send the gathered writes (none: no round trip) and start over."""
        if not self:
            return
        columns = [
            *_columns(self.outcomes, 11),
            *_columns(self.periods, 17),
            *_columns(self.links, 4),
            *_columns([e.args for e in self.events], 5),
        ]
        await conn.execute(_PROCESSING_WRITES, *columns)
        self.outcomes, self.periods, self.links, self.events = [], [], [], []


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """``rows`` as one list per column (the arrays ``unnest`` takes)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


@dataclass(frozen=True)
class ContextRows:
    """What the rules need of the database for one declaration (see :func:`context`)."""

    period: Period | None
    worker: Worker | None
    pair: list[Period]
    #: year -> period id -> (worker type, planned hours, planned or calendar days)
    quota: dict[int, dict[int, tuple[str, int, int]]]


#: The worker types whose planned hours count towards a yearly quota at every employer.
QUOTA_TYPES = ("STU", "O17", "S17", "T17")
#: First key of the advisory locks of :func:`lock_quota_workers` (the quota anomaly's code).
QUOTA_LOCK_CLASS = 90017369


@dataclass(frozen=True)
class ContextQuery:
    """What one declaration's context is read from (see :func:`contexts`)."""

    period_id: int | None
    employer_nsso: str | None
    insz: str | None
    year: int | None
    #: Whether the declaration counts towards its worker's quota (see
    #: :func:`lock_quota_workers`): ``None`` when its period's worker type decides.
    quota: bool | None = False


async def lock_quota_workers(conn: asyncpg.Connection, queries: list[ContextQuery]) -> None:
    """Lock, until the end of the transaction, the workers whose yearly quota the
    declarations of ``queries`` count towards, before their contexts are read.

    A worker's student and art. 17 hours are summed over every employer, and two
    processors handle two employers' declarations at the same time: without the lock,
    each would read the worker's periods without the other's and neither would see the
    quota exceeded. The locks are taken in INSZ order, in one statement, so two batches
    that lock several workers cannot deadlock on each other."""
    if not any(q.quota is not False for q in queries):
        return
    await conn.execute(
        """SELECT pg_advisory_xact_lock($4::integer, hashtext(w.insz))
             FROM (SELECT DISTINCT coalesce(q.insz, p.insz) AS insz
                     FROM unnest($1::text[], $2::bigint[], $3::boolean[])
                          AS q(insz, period_id, quota)
                     LEFT JOIN periods p ON p.id = q.period_id
                    WHERE q.quota OR (q.quota IS NULL AND p.worker_type = ANY($5::text[]))
                    ORDER BY 1) w
            WHERE w.insz IS NOT NULL""",
        [q.insz for q in queries],
        [q.period_id for q in queries],
        [q.quota for q in queries],
        QUOTA_LOCK_CLASS,
        list(QUOTA_TYPES),
    )


async def contexts(conn: asyncpg.Connection, queries: list[ContextQuery]) -> list[ContextRows]:
    """The context rows of many declarations in one round trip, in the given order. For
    each: the period ``period_id``; the worker (``insz``, else the period's); the periods
    of the pair (the period's employer, else ``employer_nsso``); the worker's
    non-cancelled student and art. 17 periods, at every employer, starting in ``year`` or
    in the period's start year."""
    rows = await conn.fetch(
        """SELECT CASE WHEN p0.id IS NULL THEN NULL ELSE to_json(p0) END AS period,
                  (SELECT to_json(w) FROM workers w WHERE w.insz = k.insz) AS worker,
                  (SELECT json_agg(p ORDER BY p.start_date, p.id) FROM periods p
                    WHERE p.employer_nsso = k.employer AND p.insz = k.insz) AS pair,
                  (SELECT json_agg(json_build_array(
                              extract(year FROM start_date)::int, id, worker_type,
                              coalesce(planned_hours, 0),
                              coalesce(planned_days,
                                       coalesce(end_date, start_date) - start_date + 1)))
                     FROM periods
                    WHERE insz = k.insz AND worker_type = ANY($5::text[])
                      AND NOT is_cancelled
                      AND extract(year FROM start_date)::int = ANY(k.years)) AS quota
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[])
                  WITH ORDINALITY AS q(period_id, employer, insz, year, n)
             LEFT JOIN periods p0 ON p0.id = q.period_id
            CROSS JOIN LATERAL (
                  SELECT coalesce(p0.employer_nsso, q.employer) AS employer,
                         coalesce(q.insz, p0.insz) AS insz,
                         array_remove(ARRAY[q.year, extract(year FROM p0.start_date)::int],
                                      NULL) AS years) k
            ORDER BY q.n""",
        [q.period_id for q in queries],
        [q.employer_nsso for q in queries],
        [q.insz for q in queries],
        [q.year for q in queries],
        list(QUOTA_TYPES),
    )
    return [_context_rows(row) for row in rows]


def _context_rows(row: asyncpg.Record) -> ContextRows:
    quota: dict[int, dict[int, tuple[str, int, int]]] = {}
    for y, pid, worker_type, hours, days in row["quota"] or ():
        quota.setdefault(y, {})[pid] = (worker_type, hours, days)
    worker = row["worker"]
    if worker is not None and worker["birth_date"]:
        worker["birth_date"] = date.fromisoformat(worker["birth_date"])
    return ContextRows(
        period=_period_from_json(row["period"]) if row["period"] is not None else None,
        worker=worker_from_row(worker) if worker is not None else None,
        pair=[_period_from_json(p) for p in row["pair"] or ()],
        quota=quota,
    )


def _period_from_json(data: dict[str, Any]) -> Period:
    """A period from its row as JSON (dates as ISO text)."""
    for name in ("start_date", "end_date"):
        if data[name] is not None:
            data[name] = date.fromisoformat(data[name])
    return period_from_row(data)


# -- worker register read model ---------------------------------------------------------


async def worker(conn: asyncpg.Connection, insz: str) -> Worker | None:
    row = await conn.fetchrow("SELECT * FROM workers WHERE insz = $1", insz)
    return worker_from_row(row) if row is not None else None


def worker_from_row(row: Any) -> Worker:
    return Worker(
        ssin=row["insz"],
        family_name=row["family_name"],
        given_name=row["given_name"],
        birth_date=row["birth_date"],
        gender=row["sex"],
        nationality=row["nationality"],
        flexi_eligible=row["flexi_eligible"],
    )


async def upsert_worker(conn: asyncpg.Connection, w: Any) -> None:
    if w.deleted:
        await conn.execute("DELETE FROM workers WHERE insz = $1", w.insz)
        return
    await conn.execute(
        """INSERT INTO workers (insz, family_name, given_name, birth_date, sex, nationality,
                                flexi_eligible, replaced_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (insz) DO UPDATE SET family_name = EXCLUDED.family_name,
               given_name = EXCLUDED.given_name, birth_date = EXCLUDED.birth_date,
               sex = EXCLUDED.sex, nationality = EXCLUDED.nationality,
               flexi_eligible = EXCLUDED.flexi_eligible, replaced_by = EXCLUDED.replaced_by""",
        w.insz,
        w.family_name,
        w.given_name,
        w.birth_date,
        w.sex,
        w.nationality,
        w.flexi_eligible,
        w.replaced_by,
    )


# -- queries of the API -----------------------------------------------------------------


async def search_declarations(
    conn: asyncpg.Connection,
    employers: list[str],
    insz: str | None,
    start: date | None,
    end: date | None,
    offset: int,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT d.*, d.request::text AS request_text, d.anomalies::text AS anomalies_text
             FROM declarations d LEFT JOIN periods p ON p.id = d.period_id
            WHERE d.status = 'PROCESSED' AND d.environment = 'R'
              AND d.employer_nsso = ANY($1::text[])
              AND ($2::text IS NULL OR d.insz = $2)
              AND ($3::date IS NULL OR coalesce(p.end_date, 'infinity') >= $3)
              AND ($4::date IS NULL OR p.start_date <= $4)
            ORDER BY d.id LIMIT $6 OFFSET $5""",
        employers,
        insz,
        start,
        end,
        offset,
        limit,
    )


async def search_periods(
    conn: asyncpg.Connection,
    employers: list[str],
    insz: str | None,
    start: date | None,
    end: date | None,
    offset: int,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM periods
            WHERE employer_nsso = ANY($1::text[]) AND ($2::text IS NULL OR insz = $2)
              AND ($3::date IS NULL OR coalesce(end_date, 'infinity') >= $3)
              AND ($4::date IS NULL OR start_date <= $4)
            ORDER BY id LIMIT $6 OFFSET $5""",
        employers,
        insz,
        start,
        end,
        offset,
        limit,
    )


async def period_declarations(conn: asyncpg.Connection, period_ids: list[int]) -> dict[int, list]:
    rows = await conn.fetch(
        """SELECT period_id, declaration_id, kind, result FROM period_declarations
            WHERE period_id = ANY($1::bigint[]) ORDER BY declaration_id""",
        period_ids,
    )
    out: dict[int, list] = {}
    for r in rows:
        out.setdefault(r["period_id"], []).append(
            {"id": r["declaration_id"], "kind": r["kind"], "result": r["result"]}
        )
    return out


async def search_relations(
    conn: asyncpg.Connection,
    employers: list[str],
    insz: str | None,
    start: date | None,
    end: date | None,
    offset: int,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT r.*, array(SELECT p.id FROM periods p
                              WHERE p.employer_nsso = r.employer_nsso AND p.insz = r.insz
                              ORDER BY p.id) AS period_ids
             FROM relations r
            WHERE r.employer_nsso = ANY($1::text[]) AND ($2::text IS NULL OR r.insz = $2)
              AND ($3::date IS NULL OR coalesce(r.end_date, 'infinity') >= $3)
              AND ($4::date IS NULL OR r.start_date <= $4)
            ORDER BY r.employer_nsso, r.insz LIMIT $6 OFFSET $5""",
        employers,
        insz,
        start,
        end,
        offset,
        limit,
    )


async def add_contest(
    conn: asyncpg.Connection, declaration_id: int, reason: str, by: str, at: datetime
) -> int:
    contest_id = await conn.fetchval(
        """INSERT INTO contests (declaration_id, reason, contested_by, contested_at)
           VALUES ($1, $2, $3, $4) RETURNING id""",
        declaration_id,
        reason,
        by,
        at,
    )
    await conn.execute(
        """UPDATE periods SET contested = true
            WHERE id = (SELECT period_id FROM declarations WHERE id = $1)""",
        declaration_id,
    )
    return contest_id


async def mark_definitive(conn: asyncpg.Connection, today: date) -> int:
    """Periods whose last notification's contest window is over become definitive."""
    result = await conn.execute(
        """UPDATE periods p SET definitive_from = $1
            WHERE p.definitive_from IS NULL AND NOT p.contested
              AND NOT EXISTS (SELECT 1 FROM period_declarations pd
                                JOIN declarations d ON d.id = pd.declaration_id
                               WHERE pd.period_id = p.id
                                 AND (d.contest_deadline IS NULL OR d.contest_deadline >= $1))""",
        today,
    )
    return int(result.split()[-1])
