"""All SQL of the dmfa service. Functions take the transaction's connection; bulk rows go
through COPY, which is what lets a quarter of worker lines be stored at batch speed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from socsec.dmfa.codec import record_from_json
from socsec.dmfa.domain.lifetime import OpenInstance
from socsec.dmfa.domain.model import (
    DimonaPeriod,
    StoredDeclaration,
    StoredLine,
    StoredPerson,
    Subject,
)

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: DmfA declaration tickets start with these two characters (dmfa.md §5 example
#: ``34000C7PQ200X``), so they never equal a batch file ticket (``38...``).
TICKET_PREFIX = "34"


def ticket(value: int) -> str:
    """The 13-character base-36 ticket of a value of the ticket sequence."""
    digits = ""
    while value:
        value, rest = divmod(value, 36)
        digits = _BASE36[rest] + digits
    width = 13 - len(TICKET_PREFIX)
    if len(digits) > width:
        raise ValueError("ticket sequence exhausted")
    return TICKET_PREFIX + digits.rjust(width, "0")


@dataclass(frozen=True)
class Allocated:
    """The identifiers of one handled declaration."""

    declaration_id: int
    ticket: str
    numbers: list[int]  # PIDs and version numbers
    person_pids: list[int]  # NaturalPersonPIDs
    #: A declaration was already recorded for the same batch form (ticket, position).
    duplicate: bool = False


_ALLOCATE = """nextval('declarations_id_seq') AS id, nextval('ticket_seq') AS ticket,
       array(SELECT nextval('pid_seq') FROM generate_series(1, {numbers}::int)) AS numbers,
       array(SELECT nextval('person_pid_seq') FROM generate_series(1, {persons}::int))
           AS persons,
       EXISTS (SELECT 1 FROM declarations
                WHERE batch_ticket = {ticket}::text AND batch_position = {position}::int)
           AS duplicate"""


def _allocated(row: asyncpg.Record) -> Allocated:
    return Allocated(
        row["id"],
        ticket(row["ticket"]),
        list(row["numbers"]),
        list(row["persons"]),
        bool(row["duplicate"]),
    )


async def allocate(
    conn: asyncpg.Connection,
    numbers: int,
    persons: int,
    batch_ticket: str | None = None,
    batch_position: int | None = None,
) -> Allocated:
    """A declaration id, a ticket, ``numbers`` PIDs or version numbers, ``persons``
    NaturalPersonPIDs, and whether the batch form was already handled: one round trip."""
    sql = _ALLOCATE.format(numbers="$1", persons="$2", ticket="$3", position="$4")
    row = await conn.fetchrow(f"SELECT {sql}", numbers, persons, batch_ticket, batch_position)
    return _allocated(row)


# -- declarations ------------------------------------------------------------------------------


_JSON_COLUMNS = frozenset({"anomalies", "summary"})

#: PostgreSQL types of the bulk columns, for ``unnest`` of one array per column.
_TYPES = {
    "persons": ("bigint", "bigint", "text", "int", "bigint", "bigint"),
    "worker_lines": (
        "bigint", "bigint", "bigint", "text", "text", "text", "bigint", "boolean", "boolean",
        "bigint", "text",
    ),
    "anomalies": (
        "uuid", "bigint", "text", "bigint", "text", "int", "text", "text", "text", "text",
        "text", "text", "text", "text", "text", "text", "int", "text", "text", "text",
        "timestamptz", "text", "text",
    ),
}  # fmt: skip


async def write_declaration(
    conn: asyncpg.Connection,
    declaration: dict[str, Any],
    *,
    employer: dict[str, Any] | None = None,
    persons: Sequence[tuple[Any, ...]] = (),
    lines: Sequence[tuple[Any, ...]] = (),
    anomalies: Sequence[tuple[Any, ...]] = (),
) -> None:
    """The declaration row, and for an accepted original its employer declaration, persons
    and worker lines, and its anomaly instances, in one statement (one round trip: the
    latency of many small statements is what limits a consumer that handles forms one after
    the other). Foreign keys are checked at the end of the statement."""
    args: list[Any] = []

    def values(row: dict[str, Any]) -> tuple[str, str]:
        marks = []
        for column, value in row.items():
            args.append(
                json.dumps(value) if column in _JSON_COLUMNS and value is not None else value
            )
            cast = "::text::jsonb" if column in _JSON_COLUMNS else ""
            marks.append(f"${len(args)}{cast}")
        return ", ".join(row), ", ".join(marks)

    def unnest(table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> str:
        marks = []
        for column_values, type_ in zip(zip(*rows, strict=True), _TYPES[table], strict=True):
            args.append(list(column_values))
            marks.append(f"${len(args)}::{type_}[]")
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({', '.join(marks)})"
        )

    columns, marks = values(declaration)
    parts = [f"INSERT INTO declarations ({columns}) VALUES ({marks})"]
    if employer is not None:
        columns, marks = values(employer)
        parts.append(f"INSERT INTO employer_declarations ({columns}) VALUES ({marks})")
    if persons:
        parts.append(unnest("persons", PERSON_COLUMNS, persons))
    if lines:
        parts.append(unnest("worker_lines", LINE_COLUMNS, lines))
    if anomalies:
        parts.append(unnest("anomalies", ANOMALY_COLUMNS, anomalies))
    statement = "WITH " + ", ".join(f"w{i} AS ({p})" for i, p in enumerate(parts)) + " SELECT 1"
    await conn.execute(statement, *args)


async def declaration_by_ticket(conn: asyncpg.Connection, ticket_: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT *, anomalies::text AS anomalies_text, summary::text AS summary_text
             FROM declarations WHERE ticket = $1""",
        ticket_,
    )


# -- the accepted store ------------------------------------------------------------------------


async def employer_facts(
    conn: asyncpg.Connection,
    employer_nsso: str,
    quarter: int,
    start: date,
    end: date,
    *,
    periods: bool,
    numbers: int,
    persons: int,
    batch_ticket: str | None = None,
    batch_position: int | None = None,
) -> tuple[bool, dict[str, list[DimonaPeriod]], Allocated]:
    """In one round trip: whether an accepted original exists for the employer and quarter,
    the employer's non-cancelled Dimona periods overlapping the quarter by INSZ, the
    identifiers the declaration will need if it is accepted (unused ones are simply gaps in
    the sequences), and whether the batch form was already handled."""
    row = await conn.fetchrow(
        f"""SELECT EXISTS (SELECT 1 FROM employer_declarations
                            WHERE employer_nsso = $1 AND quarter = $2) AS original,
                   array(SELECT ROW(insz, worker_type, start_date, end_date, planned_hours)
                           FROM dimona_periods
                          WHERE $5 AND employer_nsso = $1 AND NOT cancelled
                            AND start_date <= $4 AND (end_date IS NULL OR end_date >= $3)
                          ORDER BY start_date) AS periods,
                   {_ALLOCATE.format(numbers="$6", persons="$7", ticket="$8", position="$9")}""",
        employer_nsso,
        quarter,
        start,
        end,
        periods,
        numbers,
        persons,
        batch_ticket,
        batch_position,
    )
    out: dict[str, list[DimonaPeriod]] = {}
    for insz, worker_type, start_date, end_date, planned_hours in row["periods"]:
        out.setdefault(insz, []).append(
            DimonaPeriod(worker_type, start_date, end_date, planned_hours)
        )
    return bool(row["original"]), out, _allocated(row)


PERSON_COLUMNS = (
    "natural_person_pid",
    "employer_declaration_pid",
    "inss",
    "sequence_nbr",
    "decl_person_pid",
    "decl_person_version",
)
LINE_COLUMNS = (
    "version_nbr",
    "employer_declaration_pid",
    "natural_person_pid",
    "inss",
    "employer_class",
    "worker_code",
    "declaration_id",
    "current",
    "needs_dimona",
    "wage_mass",
    "line",
)


async def set_person_versions(
    conn: asyncpg.Connection, versions: Iterable[tuple[int, int, int]]
) -> None:
    """(natural person PID, new version, sequence number) of persons a modification touched."""
    await conn.executemany(
        """UPDATE persons SET decl_person_version = $2, sequence_nbr = $3
            WHERE natural_person_pid = $1""",
        list(versions),
    )


async def supersede_lines(conn: asyncpg.Connection, versions: list[int]) -> None:
    if versions:
        await conn.execute(
            "UPDATE worker_lines SET current = false WHERE version_nbr = ANY($1::bigint[])",
            versions,
        )


async def current_pids(conn: asyncpg.Connection, pid: int) -> dict[str, Any] | None:
    """The identifiers a modification of an employer declaration must quote now: its PID,
    every person's PIDs and last version, every current line's and occupation's version
    (the content of a PID file, as of today)."""
    head = await conn.fetchrow("SELECT * FROM employer_declarations WHERE pid = $1", pid)
    if head is None:
        return None
    lines: dict[int, list[dict[str, Any]]] = {}
    for r in await conn.fetch(
        """SELECT natural_person_pid, employer_class, worker_code, version_nbr,
                  (line::jsonb -> 'occupation_versions')::text AS occupations
             FROM worker_lines WHERE employer_declaration_pid = $1 AND current
            ORDER BY employer_class, worker_code""",
        pid,
    ):
        occupations = json.loads(r["occupations"]) if r["occupations"] else {}
        lines.setdefault(r["natural_person_pid"], []).append(
            {
                "employer_class": r["employer_class"],
                "worker_code": r["worker_code"],
                "worker_record_version_nbr": r["version_nbr"],
                "occupations": [
                    {"occupation_sequence_nbr": int(k), "occupation_version_nbr": v}
                    for k, v in sorted(occupations.items(), key=lambda kv: int(kv[0]))
                ],
            }
        )
    persons = [
        {
            "inss": r["inss"],
            "natural_person_pid": r["natural_person_pid"],
            "decl_natural_person_pid": r["decl_person_pid"],
            "decl_natural_person_version_nbr": r["decl_person_version"],
            "worker_records": lines.get(r["natural_person_pid"], []),
        }
        for r in await conn.fetch(
            "SELECT * FROM persons WHERE employer_declaration_pid = $1 ORDER BY sequence_nbr", pid
        )
        if r["natural_person_pid"] in lines
    ]
    return {
        "quarter": head["quarter"],
        "nsso_registration_nbr": head["employer_nsso"],
        "trusteeship": head["trusteeship"],
        "company_id": head["company_id"],
        "employer_declaration_pid": pid,
        "persons": persons,
    }


async def load_stored(conn: asyncpg.Connection, pid: int) -> StoredDeclaration | None:
    """The accepted state a modification quotes: persons and current worker lines."""
    head = await conn.fetchrow(
        "SELECT pid, employer_nsso, quarter FROM employer_declarations WHERE pid = $1", pid
    )
    if head is None:
        return None
    stored = StoredDeclaration(head["pid"], head["employer_nsso"], head["quarter"])
    for r in await conn.fetch("SELECT * FROM persons WHERE employer_declaration_pid = $1", pid):
        stored.persons[r["inss"]] = StoredPerson(
            r["natural_person_pid"],
            r["inss"],
            r["sequence_nbr"],
            r["decl_person_pid"],
            r["decl_person_version"],
        )
    for r in await conn.fetch(
        """SELECT version_nbr, natural_person_pid, inss, employer_class, worker_code,
                  line AS line_text
             FROM worker_lines WHERE employer_declaration_pid = $1 AND current""",
        pid,
    ):
        stored.lines[(r["inss"], r["employer_class"], r["worker_code"])] = StoredLine(
            r["natural_person_pid"],
            r["inss"],
            r["employer_class"],
            r["worker_code"],
            r["version_nbr"],
            record_from_json(json.loads(r["line_text"])["record"]),
        )
    return stored


# -- anomaly instances -------------------------------------------------------------------------

ANOMALY_COLUMNS = (
    "id",
    "declaration_id",
    "ticket",
    "employer_declaration_pid",
    "employer_nsso",
    "quarter",
    "code",
    "rule_code",
    "class",
    "priority",
    "subject",
    "state",
    "key",
    "inss",
    "employer_class",
    "worker_code",
    "occupation_sequence",
    "path",
    "tag_name",
    "value",
    "detected_at",
    "secretariat",
    "seat",
)


async def open_instances(conn: asyncpg.Connection, pid: int) -> list[OpenInstance]:
    rows = await conn.fetch(
        """SELECT id, key, subject, inss, employer_class, worker_code, detected_at
             FROM anomalies WHERE employer_declaration_pid = $1 AND state = 'OPEN'
            FOR UPDATE""",
        pid,
    )
    return [
        OpenInstance(
            str(r["id"]),
            r["key"],
            Subject(r["subject"]),
            r["inss"],
            r["employer_class"],
            r["worker_code"],
            r["detected_at"],
        )
        for r in rows
    ]


async def resolve_anomalies(
    conn: asyncpg.Connection, ids: list[str], at: datetime, by: str, declaration_id: int
) -> list[asyncpg.Record]:
    if not ids:
        return []
    return await conn.fetch(
        """UPDATE anomalies SET state = 'RESOLVED', resolved_at = $2, resolved_by = $3,
                                resolved_declaration_id = $4
            WHERE id = ANY($1::uuid[]) AND state = 'OPEN'
        RETURNING *""",
        ids,
        at,
        by,
        declaration_id,
    )


async def search_anomalies(
    conn: asyncpg.Connection,
    *,
    employers: list[str] | None,
    secretariat: str | None,
    quarter: int | None,
    state: str | None,
    offset: int,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT *, path AS path_text FROM anomalies
            WHERE ($1::text[] IS NULL OR employer_nsso = ANY($1::text[]))
              AND ($2::text IS NULL OR secretariat = $2)
              AND ($3::int IS NULL OR quarter = $3)
              AND ($4::text IS NULL OR state = $4)
            ORDER BY detected_at, id LIMIT $6 OFFSET $5""",
        employers,
        secretariat,
        quarter,
        state,
        offset,
        limit,
    )


# -- silent employers --------------------------------------------------------------------------


async def grant_extensions(
    conn: asyncpg.Connection,
    quarter: int,
    employers: list[str],
    extended_to: date,
    reason: str,
    granted_by: str,
    granted_at: datetime,
) -> None:
    """Set the deadline extension of these employers for the quarter (replacing theirs)."""
    await conn.executemany(
        """INSERT INTO deadline_extensions (employer_nsso, quarter, extended_to, reason,
                                            granted_by, granted_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (employer_nsso, quarter) DO UPDATE SET
               extended_to = EXCLUDED.extended_to, reason = EXCLUDED.reason,
               granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at""",
        [(e, quarter, extended_to, reason, granted_by, granted_at) for e in employers],
    )


async def withdraw_extension(conn: asyncpg.Connection, employer_nsso: str, quarter: int) -> bool:
    return bool(
        await conn.fetchval(
            """DELETE FROM deadline_extensions WHERE employer_nsso = $1 AND quarter = $2
               RETURNING 1""",
            employer_nsso,
            quarter,
        )
    )


async def extension(conn: asyncpg.Connection, employer_nsso: str, quarter: int) -> date | None:
    """The extended deadline of an employer for a quarter, if one was granted."""
    return await conn.fetchval(
        "SELECT extended_to FROM deadline_extensions WHERE employer_nsso = $1 AND quarter = $2",
        employer_nsso,
        quarter,
    )


async def extensions(conn: asyncpg.Connection, quarter: int | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM deadline_extensions WHERE $1::integer IS NULL OR quarter = $1
           ORDER BY quarter, employer_nsso""",
        quarter,
    )


async def record_finding(
    conn: asyncpg.Connection,
    employer_nsso: str,
    quarter: int,
    reason: str,
    found_at: datetime,
    evaluated_on: date,
    details: dict[str, Any],
) -> bool:
    """Record a finding once; ``False`` when it was already recorded (nothing to publish)."""
    inserted = await conn.fetchval(
        """INSERT INTO silent_findings (employer_nsso, quarter, reason, found_at, evaluated_on,
                                        details)
           VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)
           ON CONFLICT DO NOTHING RETURNING 1""",
        employer_nsso,
        quarter,
        reason,
        found_at,
        evaluated_on,
        json.dumps(details, default=str),
    )
    return bool(inserted)


async def findings(
    conn: asyncpg.Connection, quarter: int | None, reason: str | None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT *, details::text AS details_text FROM silent_findings
            WHERE ($1::int IS NULL OR quarter = $1) AND ($2::text IS NULL OR reason = $2)
            ORDER BY quarter, reason, employer_nsso""",
        quarter,
        reason,
    )


async def employers_with_original(conn: asyncpg.Connection, quarter: int) -> set[str]:
    rows = await conn.fetch(
        "SELECT employer_nsso FROM employer_declarations WHERE quarter = $1", quarter
    )
    return {r["employer_nsso"] for r in rows}


async def employers_with_persons(conn: asyncpg.Connection, quarter: int) -> set[str]:
    """Employers whose accepted declaration for the quarter has at least one person."""
    rows = await conn.fetch(
        """SELECT DISTINCT e.employer_nsso FROM employer_declarations e
             JOIN worker_lines l ON l.employer_declaration_pid = e.pid AND l.current
            WHERE e.quarter = $1""",
        quarter,
    )
    return {r["employer_nsso"] for r in rows}


async def employers_with_periods(
    conn: asyncpg.Connection, start: date, end: date, excluded_types: list[str]
) -> set[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT employer_nsso FROM dimona_periods
            WHERE NOT cancelled AND worker_type <> ALL($3::text[])
              AND start_date <= $2 AND (end_date IS NULL OR end_date >= $1)""",
        start,
        end,
        excluded_types,
    )
    return {r["employer_nsso"] for r in rows}


async def completeness(
    conn: asyncpg.Connection, quarter: int, start: date, end: date, excluded_types: list[str]
) -> list[asyncpg.Record]:
    """Per accepted declaration of the quarter: persons with a qualifying Dimona period,
    those of them without a current worker line, and the original and current wage mass."""
    return await conn.fetch(
        """WITH dimona AS (
               SELECT DISTINCT employer_nsso, insz FROM dimona_periods
                WHERE NOT cancelled AND worker_type <> ALL($4::text[])
                  AND start_date <= $3 AND (end_date IS NULL OR end_date >= $2))
           SELECT e.employer_nsso, e.original_wage_mass,
                  (SELECT coalesce(sum(l.wage_mass), 0) FROM worker_lines l
                    WHERE l.employer_declaration_pid = e.pid AND l.current) AS current_wage_mass,
                  (SELECT count(*) FROM dimona d WHERE d.employer_nsso = e.employer_nsso)
                      AS persons_in_dimona,
                  (SELECT count(*) FROM dimona d
                    WHERE d.employer_nsso = e.employer_nsso
                      AND NOT EXISTS (SELECT 1 FROM worker_lines l
                                       WHERE l.employer_declaration_pid = e.pid AND l.current
                                         AND l.inss = d.insz)) AS persons_missing
             FROM employer_declarations e WHERE e.quarter = $1""",
        quarter,
        start,
        end,
        excluded_types,
    )


# -- read models -------------------------------------------------------------------------------


async def upsert_period(conn: asyncpg.Connection, p: Any, changed_at: datetime) -> None:
    await conn.execute(
        """INSERT INTO dimona_periods (period_id, employer_nsso, insz, worker_type, start_date,
                                       end_date, planned_hours, cancelled, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (period_id) DO UPDATE SET
               employer_nsso = EXCLUDED.employer_nsso, insz = EXCLUDED.insz,
               worker_type = EXCLUDED.worker_type, start_date = EXCLUDED.start_date,
               end_date = EXCLUDED.end_date, planned_hours = EXCLUDED.planned_hours,
               cancelled = EXCLUDED.cancelled, changed_at = EXCLUDED.changed_at
           WHERE dimona_periods.changed_at <= EXCLUDED.changed_at""",
        p.id,
        p.employer_nsso,
        p.insz,
        p.worker_type,
        p.start_date,
        p.end_date,
        p.planned_hours,
        p.is_cancelled,
        changed_at,
    )


async def upsert_worker(conn: asyncpg.Connection, insz: str, deleted: bool) -> None:
    if deleted:
        await conn.execute("DELETE FROM workers WHERE insz = $1", insz)
    else:
        await conn.execute("INSERT INTO workers (insz) VALUES ($1) ON CONFLICT DO NOTHING", insz)


async def known_workers(conn: asyncpg.Connection, inss: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT insz FROM workers WHERE insz = ANY($1::text[])", inss)
    return {r["insz"] for r in rows}
