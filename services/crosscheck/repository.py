"""All SQL of the crosscheck service. Functions take the transaction's connection.

Three groups: the read models fed by the consumers (periods, declarations, worker lines,
occupations) with the queue of re-evaluations they cause (touches); the evaluator's loads
and the mismatch instances; the yearly recomputation, which runs rules C1–C6 as one
set-based statement over the read models.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from socsec.crosscheck.domain.model import (
    ANY_JOINT_COMMITTEE,
    FLEXI,
    OCCASIONAL,
    RULES,
    STUDENT,
    Code,
    Rule,
)
from socsec.crosscheck.domain.rules import RuleSettings

#: Key of a triple: (employer NSSO number, quarter, INSZ).
TripleKey = tuple[str, int, str]

LINE_COLUMNS = (
    "employer_nsso",
    "quarter",
    "insz",
    "employer_class",
    "worker_code",
    "needs_dimona",
    "student_hours",
)
OCCUPATION_COLUMNS = (
    "employer_nsso",
    "quarter",
    "insz",
    "employer_class",
    "worker_code",
    "sequence",
    "start_date",
    "end_date",
    "joint_commission",
    "days",
    "flexi",
    "occasional",
)
PERIOD_COLUMNS = (
    "id",
    "employer_nsso",
    "insz",
    "worker_type",
    "joint_commission",
    "start_date",
    "end_date",
    "planned_hours",
    "is_cancelled",
    "declaration_id",
    "changed_at",
)
MISMATCH_COLUMNS = (
    "id",
    "employer_nsso",
    "quarter",
    "insz",
    "c1",
    "c2",
    "c3",
    "c4",
    "c5",
    "c6",
    "codes",
    "secretariat",
    "seat_id",
    "opened_at",
    "opened_by",
    "evaluated_at",
)


def _keys(keys: Sequence[TripleKey]) -> tuple[list[str], list[int], list[str]]:
    return [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]


# -- Dimona side -------------------------------------------------------------------------


async def save_period(
    conn: asyncpg.Connection, state: Any, declaration_id: int, changed_at: datetime
) -> str | None:
    """Keep the period's state after a change and return the INSZ it is kept under (a
    replaced BIS number becomes its national number); ``None`` when this change (or a later
    one) was already applied, so a replayed change touches nothing."""
    return await conn.fetchval(
        """INSERT INTO periods (id, employer_nsso, insz, worker_type, joint_commission,
                               start_date, end_date, planned_hours, is_cancelled,
                               declaration_id, changed_at)
           VALUES ($1, $2, coalesce((SELECT r.new_insz FROM insz_replacements r
                                      WHERE r.old_insz = $3), $3),
                   $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET
               worker_type = EXCLUDED.worker_type, joint_commission = EXCLUDED.joint_commission,
               start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
               planned_hours = EXCLUDED.planned_hours, is_cancelled = EXCLUDED.is_cancelled,
               declaration_id = EXCLUDED.declaration_id, changed_at = EXCLUDED.changed_at
             WHERE periods.declaration_id < EXCLUDED.declaration_id
           RETURNING insz""",
        state.id,
        state.employer_nsso,
        state.insz,
        state.worker_type,
        state.joint_commission,
        state.start_date,
        state.end_date,
        state.planned_hours,
        state.is_cancelled,
        declaration_id,
        changed_at,
    )


async def touch_period(
    conn: asyncpg.Connection,
    employer_nsso: str,
    insz: str,
    spans: Iterable[tuple[date, date | None]],
    trigger: str,
) -> None:
    """Queue the re-evaluation of every declared quarter the spans meet."""
    await conn.executemany(
        """INSERT INTO touches (kind, employer_nsso, insz, from_date, to_date, trigger)
           VALUES ('PERIOD', $1, $2, $3, $4, $5)""",
        [(employer_nsso, insz, start, end, trigger) for start, end in spans],
    )


# -- DmfA side ---------------------------------------------------------------------------


async def replace_original(
    conn: asyncpg.Connection,
    employer_nsso: str,
    quarter: int,
    quarter_start: date,
    quarter_end: date,
    *,
    pid: int | None,
    ticket: str,
    origin: str,
    parts: int,
    at: datetime,
) -> None:
    """An accepted original: its lines replace whatever the quarter held; complete at once
    when its lines came in one part."""
    await conn.execute(
        "DELETE FROM occupations WHERE employer_nsso = $1 AND quarter = $2", employer_nsso, quarter
    )
    await conn.execute(
        "DELETE FROM worker_lines WHERE employer_nsso = $1 AND quarter = $2", employer_nsso, quarter
    )
    await conn.execute(
        """INSERT INTO declarations (employer_nsso, quarter, quarter_start, quarter_end,
                                    employer_declaration_pid, ticket, kind, origin, parts,
                                    parts_seen, complete, accepted_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'ORIGINAL', $7, $8, '{1}', $8 <= 1, $9, $9)
           ON CONFLICT (employer_nsso, quarter) DO UPDATE SET
               employer_declaration_pid = EXCLUDED.employer_declaration_pid,
               ticket = EXCLUDED.ticket, kind = 'ORIGINAL', origin = EXCLUDED.origin,
               parts = EXCLUDED.parts, parts_seen = '{1}', complete = EXCLUDED.complete,
               accepted_at = EXCLUDED.accepted_at, updated_at = EXCLUDED.updated_at""",
        employer_nsso,
        quarter,
        quarter_start,
        quarter_end,
        pid,
        ticket,
        origin,
        parts,
        at,
    )


async def start_update(
    conn: asyncpg.Connection,
    employer_nsso: str,
    quarter: int,
    *,
    ticket: str,
    origin: str,
    parts: int,
    at: datetime,
) -> bool:
    """An accepted modification becomes the latest version; ``False`` when the original was
    never received (nothing to modify)."""
    updated = await conn.fetchval(
        """UPDATE declarations
              SET ticket = $3, kind = 'UPDATE', origin = $4, parts = $5, parts_seen = '{1}',
                  updated_at = $6
            WHERE employer_nsso = $1 AND quarter = $2
           RETURNING 1""",
        employer_nsso,
        quarter,
        ticket,
        origin,
        parts,
        at,
    )
    return updated is not None


async def add_part(
    conn: asyncpg.Connection, employer_nsso: str, quarter: int, ticket: str, part: int
) -> asyncpg.Record | None:
    """Record a further part of the latest declaration's lines; ``None`` for a part of
    another declaration or one already applied."""
    return await conn.fetchrow(
        """UPDATE declarations
              SET parts_seen = parts_seen || $4,
                  complete = complete OR cardinality(parts_seen) + 1 >= parts
            WHERE employer_nsso = $1 AND quarter = $2 AND ticket = $3
              AND NOT ($4 = ANY (parts_seen))
           RETURNING kind, origin, complete""",
        employer_nsso,
        quarter,
        ticket,
        part,
    )


async def delete_lines(
    conn: asyncpg.Connection,
    employer_nsso: str,
    quarter: int,
    keys: Sequence[tuple[str, str, str]],
) -> None:
    """Remove worker lines (insz, employer class, worker code) and their occupations."""
    if not keys:
        return
    args = (
        employer_nsso,
        quarter,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    for table in ("occupations", "worker_lines"):
        await conn.execute(
            f"""DELETE FROM {table} t
                 USING unnest($3::text[], $4::text[], $5::text[]) AS k(insz, cls, code)
                 WHERE t.employer_nsso = $1 AND t.quarter = $2 AND t.insz = k.insz
                   AND t.employer_class = k.cls AND t.worker_code = k.code""",
            *args,
        )


_LINE_TYPES = ("text", "int", "text", "text", "text", "bool", "int")
_OCCUPATION_TYPES = (
    "text",
    "int",
    "text",
    "text",
    "text",
    "int",
    "date",
    "date",
    "text",
    "int",
    "bool",
    "bool",
)


async def _insert_rows(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    # One round trip whatever the number of rows (COPY costs a type introspection per call,
    # too much for the few lines of most declarations).
    arrays = [list(column) for column in zip(*rows, strict=True)]
    casts = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, 1))
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({casts})", *arrays
    )


async def save_lines(
    conn: asyncpg.Connection,
    employer_nsso: str,
    quarter: int,
    lines: Sequence[tuple[Any, ...]],
    occupations: Sequence[tuple[Any, ...]],
    *,
    replace: bool = True,
) -> None:
    """Write the current version of worker lines (rows of ``LINE_COLUMNS``) and their
    occupations (``OCCUPATION_COLUMNS``); ``replace`` removes earlier versions of the same
    lines first (not needed right after an original cleared the quarter)."""
    if not lines:
        return
    if replace:
        await delete_lines(conn, employer_nsso, quarter, [(r[2], r[3], r[4]) for r in lines])
    await _insert_rows(conn, "worker_lines", LINE_COLUMNS, _LINE_TYPES, lines)
    if occupations:
        await _insert_rows(conn, "occupations", OCCUPATION_COLUMNS, _OCCUPATION_TYPES, occupations)


async def touch_declaration(
    conn: asyncpg.Connection, employer_nsso: str, quarter: int, trigger: str
) -> None:
    """Queue the re-evaluation of every person of (employer, quarter)."""
    await conn.execute(
        """INSERT INTO touches (kind, employer_nsso, quarter, trigger)
           VALUES ('DECLARATION', $1, $2, $3)""",
        employer_nsso,
        quarter,
        trigger,
    )


async def touch_persons(
    conn: asyncpg.Connection,
    employer_nsso: str,
    quarter: int,
    persons: Iterable[str],
    trigger: str,
) -> None:
    """Queue the re-evaluation of some persons of (employer, quarter)."""
    await conn.execute(
        """INSERT INTO touches (kind, employer_nsso, quarter, insz, trigger)
           SELECT 'PERSON', $1, $2, insz, $4 FROM unnest($3::text[]) AS insz""",
        employer_nsso,
        quarter,
        sorted(set(persons)),
        trigger,
    )


# -- worker register ---------------------------------------------------------------------


async def replacements(conn: asyncpg.Connection, insz: Iterable[str]) -> dict[str, str]:
    """The INSZ that replaced these ones (BIS -> national number), for those replaced."""
    wanted = sorted(set(insz))
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT old_insz, new_insz FROM insz_replacements WHERE old_insz = ANY ($1::text[])",
        wanted,
    )
    return {r["old_insz"]: r["new_insz"] for r in rows}


async def record_replacement(conn: asyncpg.Connection, old: str, new: str, at: datetime) -> bool:
    """Remember that ``old`` is replaced by ``new``; ``False`` when already known. Earlier
    replacements pointing at ``old`` now point at ``new`` (a chain stays one step)."""
    recorded = await conn.fetchval(
        """INSERT INTO insz_replacements (old_insz, new_insz, replaced_at) VALUES ($1, $2, $3)
           ON CONFLICT (old_insz) DO UPDATE SET new_insz = EXCLUDED.new_insz,
                                               replaced_at = EXCLUDED.replaced_at
            WHERE insz_replacements.new_insz <> EXCLUDED.new_insz
           RETURNING 1""",
        old,
        new,
        at,
    )
    if recorded:
        await conn.execute(
            "UPDATE insz_replacements SET new_insz = $2 WHERE new_insz = $1", old, new
        )
    return bool(recorded)


async def rekey_worker(
    conn: asyncpg.Connection, old: str, new: str
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Move every row of ``old`` to ``new``: periods, worker lines and occupations (a line
    both numbers hold under the same codes keeps the new number's). Returns the periods
    moved (employer, start, end) and the (employer, quarter) pairs where either number had a
    line or an open mismatch, both read before the move."""
    periods = await conn.fetch(
        """UPDATE periods SET insz = $2 WHERE insz = $1
           RETURNING employer_nsso, start_date, end_date""",
        old,
        new,
    )
    quarters = await conn.fetch(
        """SELECT employer_nsso, quarter FROM worker_lines WHERE insz = ANY ($1::text[])
           UNION
           SELECT employer_nsso, quarter FROM mismatches
            WHERE insz = ANY ($1::text[]) AND resolved_at IS NULL""",
        [old, new],
    )
    for table in ("occupations", "worker_lines"):
        await conn.execute(
            f"""DELETE FROM {table} t
                 WHERE t.insz = $1 AND EXISTS (
                       SELECT 1 FROM worker_lines n
                        WHERE n.insz = $2 AND n.employer_nsso = t.employer_nsso
                          AND n.quarter = t.quarter AND n.employer_class = t.employer_class
                          AND n.worker_code = t.worker_code)""",
            old,
            new,
        )
    await conn.execute("UPDATE occupations SET insz = $2 WHERE insz = $1", old, new)
    await conn.execute("UPDATE worker_lines SET insz = $2 WHERE insz = $1", old, new)
    return periods, quarters


# -- the evaluator -------------------------------------------------------------------------


async def try_lead(conn: asyncpg.Connection, schema: str) -> bool:
    """Become the one evaluator of the schema (session advisory lock): evaluations never
    run concurrently, so the last one of a triple always sees every committed change."""
    return await conn.fetchval(
        "SELECT pg_try_advisory_lock(hashtext($1))", f"socsec-crosscheck-evaluator:{schema}"
    )


async def stop_leading(conn: asyncpg.Connection, schema: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_unlock(hashtext($1))", f"socsec-crosscheck-evaluator:{schema}"
    )


async def take_touches(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Remove the oldest queued re-evaluations (committed ones only) and return them."""
    return await conn.fetch(
        """DELETE FROM touches
            WHERE id IN (SELECT id FROM touches ORDER BY id LIMIT $1)
           RETURNING id, kind, employer_nsso, quarter, insz, from_date, to_date, trigger""",
        limit,
    )


async def expand_touches(
    conn: asyncpg.Connection, touches: Sequence[asyncpg.Record]
) -> list[asyncpg.Record]:
    """The triples the touches concern, each with the trigger of its latest touch. Only
    quarters with a complete accepted original count: a Dimona change before the DmfA
    judges nothing, and the original's own touch judges every person later."""
    return await conn.fetch(
        """WITH t AS (
               SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[],
                                    $6::date[], $7::date[], $8::text[])
                      AS t(id, kind, employer_nsso, quarter, insz, from_date, to_date, trigger)
           ),
           x AS (
               SELECT t.id, t.employer_nsso, d.quarter, t.insz, t.trigger
                 FROM t
                 JOIN declarations d ON d.employer_nsso = t.employer_nsso AND d.complete
                  AND d.quarter_start <= coalesce(t.to_date, 'infinity'::date)
                  AND d.quarter_end >= t.from_date
                WHERE t.kind = 'PERIOD'
               UNION ALL
               SELECT t.id, t.employer_nsso, t.quarter, t.insz, t.trigger
                 FROM t
                 JOIN declarations d ON d.employer_nsso = t.employer_nsso
                  AND d.quarter = t.quarter AND d.complete
                WHERE t.kind = 'PERSON'
               UNION ALL
               SELECT t.id, t.employer_nsso, t.quarter, who.insz, t.trigger
                 FROM t
                 JOIN declarations d ON d.employer_nsso = t.employer_nsso
                  AND d.quarter = t.quarter AND d.complete
                 CROSS JOIN LATERAL (
                     SELECT l.insz FROM worker_lines l
                      WHERE l.employer_nsso = t.employer_nsso AND l.quarter = t.quarter
                     UNION
                     SELECT p.insz FROM periods p
                      WHERE p.employer_nsso = t.employer_nsso
                        AND p.start_date <= d.quarter_end
                        AND (p.end_date IS NULL OR p.end_date >= d.quarter_start)
                     UNION
                     SELECT m.insz FROM mismatches m
                      WHERE m.employer_nsso = t.employer_nsso AND m.quarter = t.quarter
                        AND m.resolved_at IS NULL
                 ) AS who
                WHERE t.kind = 'DECLARATION'
           )
           SELECT DISTINCT ON (employer_nsso, quarter, insz) employer_nsso, quarter, insz, trigger
             FROM x
            ORDER BY employer_nsso, quarter, insz, id DESC""",
        [t["id"] for t in touches],
        [t["kind"] for t in touches],
        [t["employer_nsso"] for t in touches],
        [t["quarter"] for t in touches],
        [t["insz"] for t in touches],
        [t["from_date"] for t in touches],
        [t["to_date"] for t in touches],
        [t["trigger"] for t in touches],
    )


async def lines_of(conn: asyncpg.Connection, keys: Sequence[TripleKey]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {", ".join("l." + c for c in LINE_COLUMNS)}
              FROM unnest($1::text[], $2::int[], $3::text[]) AS k(employer_nsso, quarter, insz)
              JOIN worker_lines l USING (employer_nsso, quarter, insz)""",
        *_keys(keys),
    )


async def occupations_of(
    conn: asyncpg.Connection, keys: Sequence[TripleKey]
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {", ".join("o." + c for c in OCCUPATION_COLUMNS)}
              FROM unnest($1::text[], $2::int[], $3::text[]) AS k(employer_nsso, quarter, insz)
              JOIN occupations o USING (employer_nsso, quarter, insz)
             ORDER BY o.sequence""",
        *_keys(keys),
    )


async def periods_of(
    conn: asyncpg.Connection, pairs: Sequence[tuple[str, str]]
) -> list[asyncpg.Record]:
    """Every period of the (employer, INSZ) pairs: the rules keep those that qualify."""
    return await conn.fetch(
        f"""SELECT {", ".join("p." + c for c in PERIOD_COLUMNS)}
              FROM (SELECT DISTINCT *
                      FROM unnest($1::text[], $2::text[]) AS k(employer_nsso, insz)) k
              JOIN periods p USING (employer_nsso, insz)
             ORDER BY p.start_date, p.id""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )


async def open_mismatches(
    conn: asyncpg.Connection, keys: Sequence[TripleKey]
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT m.*
             FROM unnest($1::text[], $2::int[], $3::text[]) AS k(employer_nsso, quarter, insz)
             JOIN mismatches m USING (employer_nsso, quarter, insz)
            WHERE m.resolved_at IS NULL""",
        *_keys(keys),
    )


async def insert_mismatches(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """New open instances (rows of ``MISMATCH_COLUMNS``)."""
    if rows:
        await conn.copy_records_to_table("mismatches", records=rows, columns=MISMATCH_COLUMNS)


async def update_mismatches(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[UUID, dict[Rule, int], Sequence[str]]],
    at: datetime,
) -> None:
    """Open instances whose failing rules changed: they follow the latest evaluation."""
    if not rows:
        return
    await conn.execute(
        """UPDATE mismatches m
              SET c1 = u.c1, c2 = u.c2, c3 = u.c3, c4 = u.c4, c5 = u.c5, c6 = u.c6,
                  codes = string_to_array(u.codes, ' '), evaluated_at = $9
             FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[],
                         $7::int[], $8::text[]) AS u(id, c1, c2, c3, c4, c5, c6, codes)
            WHERE m.id = u.id AND m.resolved_at IS NULL""",
        [r[0] for r in rows],
        *([r[1].get(rule, 0) for r in rows] for rule in RULES),
        [" ".join(r[2]) for r in rows],
        at,
    )


async def resolve_mismatches(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[UUID, str, int]],
    at: datetime,
) -> None:
    """Instances found consistent again: (id, resolved_by, lifetime in days)."""
    if not rows:
        return
    await conn.execute(
        """UPDATE mismatches m
              SET resolved_at = $4, resolved_by = u.resolved_by, lifetime_days = u.days,
                  evaluated_at = $4
             FROM unnest($1::uuid[], $2::text[], $3::int[]) AS u(id, resolved_by, days)
            WHERE m.id = u.id AND m.resolved_at IS NULL""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        at,
    )


async def pending_touches(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM touches")


# -- the yearly recomputation ------------------------------------------------------------


async def declared_employer_quarters(conn: asyncpg.Connection, year: int) -> list[tuple[str, int]]:
    """Every (employer, quarter) of the year with a complete accepted original."""
    rows = await conn.fetch(
        """SELECT employer_nsso, quarter FROM declarations
            WHERE complete AND quarter BETWEEN $1 * 10 + 1 AND $1 * 10 + 4
            ORDER BY employer_nsso, quarter""",
        year,
    )
    return [(r["employer_nsso"], r["quarter"]) for r in rows]


async def replace_seat_map(
    conn: asyncpg.Connection, year: int, rows: Sequence[tuple[Any, ...]]
) -> None:
    """The seat of each declared (employer, quarter): rows (year, employer, quarter,
    secretariat, seat)."""
    await conn.execute("DELETE FROM yearly_seat_map WHERE year = $1", year)
    if rows:
        await conn.copy_records_to_table(
            "yearly_seat_map",
            records=rows,
            columns=("year", "employer_nsso", "quarter", "secretariat", "seat_id"),
        )


#: The official codes in the order the yearly statement lists them (sorted, like
#: ``Evaluation.codes``).
_YEARLY_CODES = [
    Code.MORE_WORKERS_IN_DMFA,
    Code.FEWER_WORKERS_IN_DMFA,
    Code.OCCASIONAL_WITHOUT_EXT,
    Code.FLEXI_NOT_COVERED,
    Code.OCCASIONAL_DAYS,
    Code.STUDENT_HOURS,
    Code.STUDENT_WITHOUT_STU,
]
assert [str(c) for c in _YEARLY_CODES] == sorted(str(c) for c in _YEARLY_CODES)

# Rules C1–C6 over every triple of a year, as one statement (the same conventions as
# socsec.crosscheck.domain.rules, which the incremental path runs per triple):
#   dq  declared employer-quarters with their seat      ln  counting lines per person
#   qp  qualifying periods clipped to the quarter        pp  per person: coverage, types
#   oc  occupations clipped to the quarter               oe  C3 and C4 per occupation
#   op  per person: occupation findings                  tr  both sides of every triple
#   ev  the findings per rule and the official codes
# The mismatching triples go to yearly_mismatches, the counts per seat to
# yearly_seat_counts.
_COMPUTE_YEAR = """
WITH dq AS MATERIALIZED (
    SELECT d.employer_nsso, d.quarter, d.quarter_start AS qs, d.quarter_end AS qe,
           s.secretariat, s.seat_id
      FROM declarations d
      LEFT JOIN yearly_seat_map s
             ON s.year = $1 AND s.employer_nsso = d.employer_nsso AND s.quarter = d.quarter
     WHERE d.complete AND d.quarter BETWEEN $1 * 10 + 1 AND $1 * 10 + 4
),
ln AS (
    SELECT l.employer_nsso, l.quarter, l.insz,
           bool_or(l.worker_code = ANY ($5)) AS student,
           coalesce(sum(l.student_hours) FILTER (WHERE l.worker_code = ANY ($5)), 0) AS hours
      FROM worker_lines l
      JOIN dq USING (employer_nsso, quarter)
     WHERE l.needs_dimona AND l.worker_code <> ALL ($4)
     GROUP BY l.employer_nsso, l.quarter, l.insz
),
qp AS (
    SELECT dq.employer_nsso, dq.quarter, p.insz, p.worker_type,
           left(coalesce(p.joint_commission, $11), 3) AS jc,
           daterange(greatest(p.start_date, dq.qs), least(coalesce(p.end_date, dq.qe), dq.qe),
                     '[]') AS span,
           coalesce(p.planned_hours, 0) AS planned
      FROM dq
      JOIN periods p ON p.employer_nsso = dq.employer_nsso
     WHERE NOT p.is_cancelled AND p.worker_type <> ALL ($3)
       AND p.start_date <= dq.qe AND (p.end_date IS NULL OR p.end_date >= dq.qs)
),
pp AS MATERIALIZED (
    SELECT employer_nsso, quarter, insz,
           count(*) AS n,
           min(jc) AS jc1,
           min(lower(span)) AS lo,
           max(upper(span)) AS hi,
           range_agg(span) AS cover,
           array_agg(jc) AS jcs,
           array_agg(span) AS spans,
           bool_or(worker_type = $8) AS stu,
           bool_or(worker_type = $8 AND planned > 0) AS stu_planned,
           coalesce(sum(planned) FILTER (WHERE worker_type = $8), 0) AS planned,
           bool_or(worker_type = $9) AS flx,
           bool_or(worker_type = $10) AS ext,
           CASE WHEN bool_or(worker_type = $10) THEN
               (SELECT sum(upper(r) - lower(r))
                  FROM unnest(range_agg(span) FILTER (WHERE worker_type = $10)) AS r)
           END AS ext_days
      FROM qp
     GROUP BY employer_nsso, quarter, insz
),
oc AS (
    SELECT o.employer_nsso, o.quarter, o.insz, o.flexi, o.occasional, o.days,
           left(o.joint_commission, 3) AS jc,
           daterange(greatest(coalesce(o.start_date, dq.qs), dq.qs),
                     least(coalesce(o.end_date, dq.qe), dq.qe), '[]') AS span
      FROM occupations o
      JOIN dq USING (employer_nsso, quarter)
     WHERE o.worker_code <> ALL ($4)
       AND greatest(coalesce(o.start_date, dq.qs), dq.qs)
           <= least(coalesce(o.end_date, dq.qe), dq.qe)
),
oe AS (
    SELECT oc.employer_nsso, oc.quarter, oc.insz, oc.flexi, oc.occasional, oc.days,
           -- One period (most persons): its bounds say it all, no set operation needed.
           CASE WHEN pp.n = 1 THEN
                CASE WHEN upper(oc.span) <= pp.lo OR lower(oc.span) >= pp.hi
                     THEN upper(oc.span) - lower(oc.span)
                     ELSE greatest(pp.lo - lower(oc.span), upper(oc.span) - pp.hi, 0) END > $2
           ELSE EXISTS (SELECT 1 FROM unnest(datemultirange(oc.span) - pp.cover) AS gap
                         WHERE upper(gap) - lower(gap) > $2)
           END AS c3,
           CASE WHEN pp.n = 1 THEN
                CASE WHEN upper(oc.span) <= pp.lo OR lower(oc.span) >= pp.hi
                     THEN oc.jc = ANY ($6)
                     ELSE NOT (pp.jc1 = oc.jc OR (pp.jc1 <> ALL ($6) AND oc.jc <> ALL ($6))) END
           ELSE (SELECT NOT coalesce(bool_or(x.jc = oc.jc
                                             OR (x.jc <> ALL ($6) AND oc.jc <> ALL ($6))), false)
                        AND (count(*) > 0 OR oc.jc = ANY ($6))
                   FROM unnest(pp.jcs, pp.spans) AS x(jc, span)
                  WHERE x.span && oc.span)
           END AS c4
      FROM oc
      JOIN pp USING (employer_nsso, quarter, insz)
),
op AS (
    SELECT employer_nsso, quarter, insz,
           count(*) FILTER (WHERE c3) AS c3,
           coalesce(bool_or(c3 AND flexi), false) AS c3_flexi,
           count(*) FILTER (WHERE c4) AS c4,
           bool_or(flexi) AS flexi,
           bool_or(occasional) AS occasional,
           coalesce(sum(days) FILTER (WHERE occasional), 0) AS occasional_days
      FROM oe
     GROUP BY employer_nsso, quarter, insz
),
tr AS (
    SELECT employer_nsso, quarter, insz,
           ln.insz IS NOT NULL AND pp.insz IS NULL AS c1,
           pp.insz IS NOT NULL AND ln.insz IS NULL AS c2,
           ln.insz IS NOT NULL AND pp.insz IS NOT NULL AS both_sides,
           coalesce(ln.student, false) AS student, coalesce(ln.hours, 0) AS hours,
           coalesce(pp.stu, false) AS stu, coalesce(pp.stu_planned, false) AS stu_planned,
           coalesce(pp.planned, 0) AS planned, coalesce(pp.flx, false) AS flx,
           coalesce(pp.ext, false) AS ext, coalesce(pp.ext_days, 0) AS ext_days,
           coalesce(op.c3, 0) AS c3, coalesce(op.c3_flexi, false) AS c3_flexi,
           coalesce(op.c4, 0) AS c4, coalesce(op.flexi, false) AS flexi,
           coalesce(op.occasional, false) AS occasional,
           coalesce(op.occasional_days, 0) AS occasional_days
      FROM ln
      FULL JOIN pp USING (employer_nsso, quarter, insz)
      LEFT JOIN op USING (employer_nsso, quarter, insz)
),
fl AS (
    SELECT employer_nsso, quarter, insz, c1, c2,
           CASE WHEN both_sides THEN c3 ELSE 0 END AS c3,
           CASE WHEN both_sides THEN c4 ELSE 0 END AS c4,
           both_sides AND c3 > 0 AND c3_flexi AS c3_flexi,
           both_sides AND student AND NOT stu_planned AS stu_missing,
           both_sides AND stu AND NOT student AS stu_extra,
           both_sides AND flexi AND NOT flx AS flx_missing,
           both_sides AND flx AND NOT flexi AS flx_extra,
           both_sides AND occasional AND NOT ext AS ext_missing,
           both_sides AND ext AND NOT occasional AS ext_extra,
           both_sides AND student AND stu_planned
               AND CASE WHEN $7 = 'exceeds' THEN hours > planned ELSE hours <> planned END
               AS stu_hours,
           both_sides AND occasional AND ext AND occasional_days <> 100 * ext_days AS ext_off
      FROM tr
),
ev AS MATERIALIZED (
    SELECT fl.employer_nsso, fl.quarter, fl.insz, dq.secretariat, dq.seat_id,
           c1::int AS c1, c2::int AS c2, c3::int AS c3, c4::int AS c4,
           stu_missing::int + stu_extra::int + flx_missing::int + flx_extra::int
               + ext_missing::int + ext_extra::int AS c5,
           stu_hours::int + ext_off::int AS c6,
           array_remove(ARRAY[
               CASE WHEN c1 THEN ($12::text[])[1] END,
               CASE WHEN c2 THEN ($12::text[])[2] END,
               CASE WHEN ext_missing THEN ($12::text[])[3] END,
               CASE WHEN c3_flexi OR flx_missing THEN ($12::text[])[4] END,
               CASE WHEN ext_off THEN ($12::text[])[5] END,
               CASE WHEN stu_hours THEN ($12::text[])[6] END,
               CASE WHEN stu_missing THEN ($12::text[])[7] END
           ], NULL) AS codes
      FROM fl
      JOIN dq USING (employer_nsso, quarter)
),
saved AS (
    INSERT INTO yearly_mismatches (year, employer_nsso, quarter, insz, secretariat, seat_id,
                                   c1, c2, c3, c4, c5, c6, codes)
    SELECT $1, employer_nsso, quarter, insz, secretariat, seat_id, c1, c2, c3, c4, c5, c6, codes
      FROM ev
     WHERE c1 + c2 + c3 + c4 + c5 + c6 > 0
)
INSERT INTO yearly_seat_counts (year, seat_id, employers, triples, mismatching,
                                c1, c2, c3, c4, c5, c6)
SELECT $1, seat_id, count(DISTINCT employer_nsso), count(*),
       count(*) FILTER (WHERE c1 + c2 + c3 + c4 + c5 + c6 > 0),
       count(*) FILTER (WHERE c1 > 0), count(*) FILTER (WHERE c2 > 0),
       count(*) FILTER (WHERE c3 > 0), count(*) FILTER (WHERE c4 > 0),
       count(*) FILTER (WHERE c5 > 0), count(*) FILTER (WHERE c6 > 0)
  FROM ev
 GROUP BY seat_id
"""


async def compute_year(conn: asyncpg.Connection, year: int, rules: RuleSettings) -> None:
    """Recompute every triple of ``year`` from the read models (set-based) and replace the
    year's mismatching triples and counts per seat."""
    await conn.execute("DELETE FROM yearly_mismatches WHERE year = $1", year)
    await conn.execute("DELETE FROM yearly_seat_counts WHERE year = $1", year)
    # Large hash joins and aggregates stay in memory rather than spilling to disk. The row
    # estimates of grouped CTEs are poor; merge joins built on them can rescan an input
    # many times over, where a hash join's cost stays linear whatever the estimate.
    await conn.execute("SET LOCAL work_mem = '256MB'")
    await conn.execute("SET LOCAL enable_mergejoin = off")
    await conn.execute(
        _COMPUTE_YEAR,
        year,
        rules.grace_days,
        sorted(rules.excluded_worker_types),
        sorted(rules.ignored_worker_codes),
        sorted(rules.student_worker_codes),
        sorted(rules.joint_committees),
        rules.student_hours_mode,
        STUDENT,
        FLEXI,
        OCCASIONAL,
        ANY_JOINT_COMMITTEE,
        [str(c) for c in _YEARLY_CODES],
    )


async def year_totals(conn: asyncpg.Connection, year: int) -> dict[str, int]:
    """The year's totals over every seat, and how many employer-quarters were declared."""
    row = await conn.fetchrow(
        """SELECT coalesce(sum(triples), 0)::bigint AS triples,
                  coalesce(sum(mismatching), 0)::bigint AS mismatching,
                  coalesce(sum(c1), 0)::bigint AS c1, coalesce(sum(c2), 0)::bigint AS c2,
                  coalesce(sum(c3), 0)::bigint AS c3, coalesce(sum(c4), 0)::bigint AS c4,
                  coalesce(sum(c5), 0)::bigint AS c5, coalesce(sum(c6), 0)::bigint AS c6,
                  (SELECT count(*) FROM yearly_seat_map WHERE year = $1) AS employer_quarters
             FROM yearly_seat_counts WHERE year = $1""",
        year,
    )
    return dict(row)


async def count_disagreements(conn: asyncpg.Connection, year: int) -> int:
    """Triples where the yearly result and the incremental open instances differ (a
    mismatch on one side only, or other counts or codes): 0 when both paths agree."""
    return await conn.fetchval(
        """SELECT count(*)
             FROM (SELECT * FROM yearly_mismatches WHERE year = $1) y
             FULL JOIN (SELECT * FROM mismatches
                         WHERE resolved_at IS NULL
                           AND quarter BETWEEN $1 * 10 + 1 AND $1 * 10 + 4) m
               ON m.employer_nsso = y.employer_nsso AND m.quarter = y.quarter AND m.insz = y.insz
            WHERE y.insz IS NULL OR m.insz IS NULL
               OR (y.c1, y.c2, y.c3, y.c4, y.c5, y.c6, y.codes)
                  IS DISTINCT FROM (m.c1, m.c2, m.c3, m.c4, m.c5, m.c6, m.codes)""",
        year,
    )


async def save_run(conn: asyncpg.Connection, run: dict[str, Any]) -> None:
    columns = list(run)
    values = [json.dumps(v) if c == "settings" else v for c, v in run.items()]
    placeholders = ", ".join(
        f"${i}::text::jsonb" if c == "settings" else f"${i}" for i, c in enumerate(columns, 1)
    )
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "year")
    await conn.execute(
        f"""INSERT INTO yearly_runs ({", ".join(columns)}) VALUES ({placeholders})
            ON CONFLICT (year) DO UPDATE SET {updates}""",
        *values,
    )


# -- queries of the API ------------------------------------------------------------------


async def search_mismatches(
    conn: asyncpg.Connection,
    *,
    employers: Sequence[str] | None,
    quarter: int | None,
    seat: str | None,
    state: str,
    offset: int,
    limit: int,
) -> list[asyncpg.Record]:
    """Mismatch instances, filtered; ``employers`` None means every employer."""
    return await conn.fetch(
        """SELECT * FROM mismatches
            WHERE ($1::text[] IS NULL OR employer_nsso = ANY ($1))
              AND ($2::int IS NULL OR quarter = $2)
              AND ($3::text IS NULL OR seat_id = $3)
              AND ($4 = 'all' OR ($4 = 'open') = (resolved_at IS NULL))
            ORDER BY employer_nsso, quarter, insz, opened_at
            LIMIT $6 OFFSET $5""",
        list(employers) if employers is not None else None,
        quarter,
        seat,
        state,
        offset,
        limit,
    )


async def triple_history(
    conn: asyncpg.Connection, employer_nsso: str, quarter: int, insz: str
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM mismatches
            WHERE employer_nsso = $1 AND quarter = $2 AND insz = $3 ORDER BY opened_at""",
        employer_nsso,
        quarter,
        insz,
    )


async def declaration(
    conn: asyncpg.Connection, employer_nsso: str, quarter: int
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM declarations WHERE employer_nsso = $1 AND quarter = $2",
        employer_nsso,
        quarter,
    )


async def persons_of(conn: asyncpg.Connection, employer_nsso: str, quarter: int) -> list[str]:
    """Every person of (employer, quarter) on either side, and those with an open instance."""
    rows = await conn.fetch(
        """SELECT l.insz FROM worker_lines l WHERE l.employer_nsso = $1 AND l.quarter = $2
           UNION
           SELECT p.insz FROM periods p, declarations d
            WHERE d.employer_nsso = $1 AND d.quarter = $2 AND p.employer_nsso = $1
              AND p.start_date <= d.quarter_end
              AND (p.end_date IS NULL OR p.end_date >= d.quarter_start)
           UNION
           SELECT m.insz FROM mismatches m
            WHERE m.employer_nsso = $1 AND m.quarter = $2 AND m.resolved_at IS NULL""",
        employer_nsso,
        quarter,
    )
    return sorted(r["insz"] for r in rows)


async def yearly_run(conn: asyncpg.Connection, year: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT *, settings::text AS settings_text FROM yearly_runs WHERE year = $1", year
    )


async def yearly_seat_counts_with_secretariat(
    conn: asyncpg.Connection, year: int
) -> list[asyncpg.Record]:
    """The year's counts per seat with the mandatary of the seat (one per seat)."""
    return await conn.fetch(
        """
        SELECT c.*, (SELECT min(m.secretariat) FROM yearly_seat_map m
                      WHERE m.year = c.year AND m.seat_id = c.seat_id) AS secretariat
          FROM yearly_seat_counts c
         WHERE c.year = $1
         ORDER BY c.seat_id NULLS LAST
        """,
        year,
    )


async def yearly_seats(conn: asyncpg.Connection, year: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM yearly_seat_counts WHERE year = $1 ORDER BY seat_id NULLS LAST", year
    )


async def yearly_mismatches(
    conn: asyncpg.Connection,
    year: int,
    *,
    seat: str | None,
    employer: str | None,
    offset: int,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM yearly_mismatches
            WHERE year = $1 AND ($2::text IS NULL OR seat_id = $2)
              AND ($3::text IS NULL OR employer_nsso = $3)
            ORDER BY employer_nsso, quarter, insz LIMIT $5 OFFSET $4""",
        year,
        seat,
        employer,
        offset,
        limit,
    )
