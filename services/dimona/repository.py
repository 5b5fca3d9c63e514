"""All SQL of the dimona service. Functions take the transaction's connection."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import asyncpg

from socsec.contracts.identifiers import dimona_id
from socsec.dimona.codec import anomalies_to_json, declaration_to_json, period_from_row
from socsec.dimona.domain.model import Anomaly, Declaration, Period, Worker


async def next_declaration_id(conn: asyncpg.Connection) -> int:
    """A fresh 12-digit Dimona number (sequence values with remainder 0 are skipped)."""
    while True:
        value = await conn.fetchval("SELECT nextval('declaration_seq')")
        if value % 97:
            return dimona_id(value)


async def insert_declaration(
    conn: asyncpg.Connection,
    declaration: Declaration,
    *,
    environment: str = "R",
    batch_ticket: str | None = None,
    batch_position: int | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO declarations (id, kind, channel, environment, declarant, gender_encoding,
                                     request, received_at, batch_ticket, batch_position,
                                     employer_nsso, insz, period_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $11, $12, $13)""",
        declaration.declaration_id,
        str(declaration.kind),
        declaration.channel,
        environment,
        declaration.declarant,
        declaration.gender_encoding,
        json.dumps(declaration_to_json(declaration)),
        declaration.received_at,
        batch_ticket,
        batch_position,
        declaration.employer_nsso,
        declaration.ssin,
        declaration.period_id,
    )


async def declaration_row(conn: asyncpg.Connection, declaration_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT *, request::text AS request_text, anomalies::text AS anomalies_text"
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


async def lock_declaration(conn: asyncpg.Connection, declaration_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, status, environment, request::text AS request_text, identification_request,"
        " batch_ticket, batch_position FROM declarations WHERE id = $1 FOR UPDATE",
        declaration_id,
    )


async def save_outcome(
    conn: asyncpg.Connection,
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
    await conn.execute(
        """UPDATE declarations
              SET status = $2, result = $3, anomalies = $4::text::jsonb, employer_nsso = $5,
                  insz = $6, period_id = $7, processed_at = $8, notified_at = $8,
                  contest_deadline = $9,
                  identification_request = COALESCE($10, identification_request),
                  request = COALESCE($11::text::jsonb, request)
            WHERE id = $1""",
        declaration_id,
        status,
        result,
        json.dumps(anomalies_to_json(anomalies)),
        employer_nsso,
        insz,
        period_id,
        processed_at,
        contest_deadline,
        identification_request,
        json.dumps(declaration_to_json(request)) if request else None,
    )


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


async def periods_of(conn: asyncpg.Connection, employer_nsso: str, insz: str) -> list[Period]:
    rows = await conn.fetch(
        "SELECT * FROM periods WHERE employer_nsso = $1 AND insz = $2 ORDER BY start_date, id",
        employer_nsso,
        insz,
    )
    return [period_from_row(r) for r in rows]


async def quota_periods(
    conn: asyncpg.Connection, insz: str, year: int
) -> dict[int, tuple[str, int, int]]:
    """The worker's non-cancelled student and art. 17 periods starting in ``year``, at every
    employer: period id -> (worker type, planned hours, planned or calendar days)."""
    rows = await conn.fetch(
        """SELECT id, worker_type, coalesce(planned_hours, 0) AS hours,
                  coalesce(planned_days, coalesce(end_date, start_date) - start_date + 1) AS days
             FROM periods
            WHERE insz = $1 AND worker_type IN ('STU', 'O17', 'S17', 'T17') AND NOT is_cancelled
              AND start_date >= make_date($2, 1, 1) AND start_date < make_date($2 + 1, 1, 1)""",
        insz,
        year,
    )
    return {r["id"]: (r["worker_type"], r["hours"], r["days"]) for r in rows}


async def save_period(conn: asyncpg.Connection, p: Period, at: datetime) -> None:
    using = p.features.using_employer
    await conn.execute(
        """INSERT INTO periods (id, employer_nsso, insz, worker_type, joint_commission,
                                sub_entity, using_employer, start_date, end_date, start_hour,
                                end_hour, planned_hours, is_cancelled, is_locked, is_late,
                                last_update, planned_days)
           VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $11, $12, $13, $14,
                   $15, $16, $17)
           ON CONFLICT (id) DO UPDATE SET
               start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
               start_hour = EXCLUDED.start_hour, end_hour = EXCLUDED.end_hour,
               planned_hours = EXCLUDED.planned_hours, planned_days = EXCLUDED.planned_days,
               is_cancelled = EXCLUDED.is_cancelled,
               is_late = periods.is_late OR EXCLUDED.is_late, last_update = EXCLUDED.last_update""",
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


def _using(using: Any) -> dict[str, Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(type(using)).dump_python(using, mode="json")


async def link(
    conn: asyncpg.Connection, period_id: int, declaration_id: int, kind: str, result: str
) -> None:
    await conn.execute(
        """INSERT INTO period_declarations (period_id, declaration_id, kind, result)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        period_id,
        declaration_id,
        kind,
        result,
    )


async def refresh_relation(conn: asyncpg.Connection, employer_nsso: str, insz: str) -> None:
    """Level 1: first start and last end of the non-cancelled periods (null while one is
    open); the relation is kept even when every period is cancelled."""
    await conn.execute(
        """INSERT INTO relations (employer_nsso, insz, start_date, end_date)
           SELECT $1, $2, min(start_date) FILTER (WHERE NOT is_cancelled),
                  CASE WHEN bool_or(end_date IS NULL AND NOT is_cancelled) THEN NULL
                       ELSE max(end_date) FILTER (WHERE NOT is_cancelled) END
             FROM periods WHERE employer_nsso = $1 AND insz = $2
           ON CONFLICT (employer_nsso, insz) DO UPDATE
               SET start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date""",
        employer_nsso,
        insz,
    )


# -- worker register read model ---------------------------------------------------------


async def worker(conn: asyncpg.Connection, insz: str) -> Worker | None:
    row = await conn.fetchrow("SELECT * FROM workers WHERE insz = $1", insz)
    if row is None:
        return None
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
