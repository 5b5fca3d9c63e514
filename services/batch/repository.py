"""All SQL of the batch service. Functions take the caller's connection (in its transaction)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

# -- file contents --------------------------------------------------------------------------


async def next_blob_id(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT nextval('blob_seq')")


async def insert_chunk(conn: asyncpg.Connection, blob_id: int, seq: int, data: bytes) -> None:
    await conn.execute(
        "INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)", blob_id, seq, data
    )


async def chunk(conn: asyncpg.Connection, blob_id: int, seq: int) -> bytes | None:
    return await conn.fetchval(
        "SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2", blob_id, seq
    )


# -- sets and received files ------------------------------------------------------------


async def next_ticket_value(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT nextval('ticket_seq')")


async def arrival_seen(conn: asyncpg.Connection, arrival_key: str) -> bool:
    return bool(
        await conn.fetchval("SELECT 1 FROM received_files WHERE arrival_key = $1", arrival_key)
    )


async def insert_set(
    conn: asyncpg.Connection,
    *,
    sender: str,
    set_key: str | None,
    file_type: str | None,
    environment: str,
    status: str,
    channel: str,
    uploaded_by: str | None,
    deliver: bool,
    opened_at: datetime,
) -> int:
    return await conn.fetchval(
        """INSERT INTO file_sets (sender, set_key, file_type, environment, status, channel,
                                  uploaded_by, deliver, opened_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""",
        sender,
        set_key,
        file_type,
        environment,
        status,
        channel,
        uploaded_by,
        deliver,
        opened_at,
    )


async def open_set(
    conn: asyncpg.Connection,
    *,
    sender: str,
    set_key: str,
    file_type: str,
    environment: str,
    channel: str,
    uploaded_by: str | None,
    opened_at: datetime,
) -> asyncpg.Record:
    """The OPEN set of this name, created when there is none (locked either way)."""
    await conn.execute(
        """INSERT INTO file_sets (sender, set_key, file_type, environment, status, channel,
                                  uploaded_by, opened_at)
           VALUES ($1, $2, $3, $4, 'OPEN', $5, $6, $7)
           ON CONFLICT (sender, set_key) WHERE status = 'OPEN' DO NOTHING""",
        sender,
        set_key,
        file_type,
        environment,
        channel,
        uploaded_by,
        opened_at,
    )
    return await conn.fetchrow(
        "SELECT * FROM file_sets WHERE sender = $1 AND set_key = $2 AND status = 'OPEN' FOR UPDATE",
        sender,
        set_key,
    )


async def open_set_if_any(
    conn: asyncpg.Connection, sender: str, set_key: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM file_sets WHERE sender = $1 AND set_key = $2 AND status = 'OPEN' FOR UPDATE",
        sender,
        set_key,
    )


async def latest_set(conn: asyncpg.Connection, sender: str, set_key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM file_sets WHERE sender = $1 AND set_key = $2 ORDER BY id DESC LIMIT 1",
        sender,
        set_key,
    )


async def insert_received_file(
    conn: asyncpg.Connection,
    *,
    set_id: int | None,
    name: str,
    prefix: str | None,
    parts_total: int | None,
    part_index: int | None,
    name_errors: Sequence[str],
    channel: str,
    folder: str | None,
    size: int,
    sha256: str,
    blob_id: int,
    arrival_key: str | None,
    received_at: datetime,
) -> int:
    if set_id is not None:
        # The same name again before the GO replaces the earlier copy (kept for inspection).
        await conn.execute(
            "UPDATE received_files SET superseded = true WHERE set_id = $1 AND name = $2",
            set_id,
            name,
        )
    return await conn.fetchval(
        """INSERT INTO received_files (set_id, name, prefix, parts_total, part_index,
                                       name_errors, channel, folder, size, sha256, blob_id,
                                       arrival_key, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id""",
        set_id,
        name,
        prefix,
        parts_total,
        part_index,
        list(name_errors),
        channel,
        folder,
        size,
        sha256,
        blob_id,
        arrival_key,
        received_at,
    )


async def trigger_set(
    conn: asyncpg.Connection, set_id: int, *, ticket: str, go_name: str, at: datetime
) -> None:
    await conn.execute(
        """UPDATE file_sets SET status = 'TRIGGERED', ticket = $2, go_name = $3,
                                triggered_at = $4
            WHERE id = $1""",
        set_id,
        ticket,
        go_name,
        at,
    )


async def cancel_set(conn: asyncpg.Connection, set_id: int) -> None:
    await conn.execute("UPDATE file_sets SET status = 'CANCELLED' WHERE id = $1", set_id)


async def set_files(conn: asyncpg.Connection, set_id: int) -> list[asyncpg.Record]:
    """The current copy of every file of a set, in arrival order."""
    return await conn.fetch(
        """SELECT * FROM received_files WHERE set_id = $1 AND NOT superseded ORDER BY id""",
        set_id,
    )


async def all_set_files(conn: asyncpg.Connection, set_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT name, prefix, size, superseded, received_at FROM received_files"
        " WHERE set_id = $1 ORDER BY id",
        set_id,
    )


async def claim_triggered(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM file_sets WHERE status = 'TRIGGERED'
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"""
    )


async def claim_expired(conn: asyncpg.Connection, before: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM file_sets WHERE status = 'OPEN' AND opened_at < $1
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED""",
        before,
    )


async def name_used(conn: asyncpg.Connection, sender: str, set_key: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM used_names WHERE sender = $1 AND set_key = $2", sender, set_key
        )
    )


async def use_name(
    conn: asyncpg.Connection, sender: str, set_key: str, ticket: str | None, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO used_names (sender, set_key, ticket, used_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING""",
        sender,
        set_key,
        ticket or "",
        at,
    )


async def acknowledge_set(
    conn: asyncpg.Connection,
    set_id: int,
    *,
    status: str,
    errors: Sequence[str],
    at: datetime,
    form_count: int | None,
    detail: str | None,
    ticket: str | None = None,
    go_name: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE file_sets
              SET status = $2, acrf_errors = $3, acknowledged_at = $4, form_count = $5,
                  refusal_detail = $6, ticket = COALESCE($7, ticket),
                  go_name = COALESCE($8, go_name)
            WHERE id = $1""",
        set_id,
        status,
        list(errors),
        at,
        form_count,
        detail,
        ticket,
        go_name,
    )


async def set_by_ticket(conn: asyncpg.Connection, ticket: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM file_sets WHERE ticket = $1", ticket)


async def set_by_id(conn: asyncpg.Connection, set_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM file_sets WHERE id = $1", set_id)


async def sets_with_status(conn: asyncpg.Connection, status: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM file_sets WHERE status = $1 ORDER BY id", status)


async def lock_set(conn: asyncpg.Connection, set_id: int, status: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM file_sets WHERE id = $1 AND status = $2 FOR UPDATE SKIP LOCKED",
        set_id,
        status,
    )


async def try_lock_publication(conn: asyncpg.Connection, set_id: int) -> bool:
    """A session lock so that one instance publishes a set's forms at a time."""
    return await conn.fetchval("SELECT pg_try_advisory_lock(hashtext('batch-publish'), $1)", set_id)


async def unlock_publication(conn: asyncpg.Connection, set_id: int) -> None:
    await conn.execute("SELECT pg_advisory_unlock(hashtext('batch-publish'), $1)", set_id)


async def record_published(
    conn: asyncpg.Connection,
    set_id: int,
    ticket: str,
    rows: Sequence[tuple[int, str | None, dict[str, Any]]],
    published: int,
) -> None:
    """Forms ``(position, employer, echo)`` published, and how far publication got."""
    await conn.executemany(
        """INSERT INTO forms (ticket, position, employer, echo)
           VALUES ($1, $2, $3, $4::text::jsonb)""",
        [(ticket, position, employer, json.dumps(echo)) for position, employer, echo in rows],
    )
    await conn.execute("UPDATE file_sets SET published = $2 WHERE id = $1", set_id, published)


async def published_count(conn: asyncpg.Connection, set_id: int) -> int:
    return await conn.fetchval("SELECT published FROM file_sets WHERE id = $1 FOR UPDATE", set_id)


async def finish_publication(conn: asyncpg.Connection, set_id: int, count: int) -> None:
    await conn.execute(
        "UPDATE file_sets SET status = 'PUBLISHED', form_count = $2 WHERE id = $1", set_id, count
    )


async def mark_notified(conn: asyncpg.Connection, set_id: int, at: datetime) -> None:
    await conn.execute(
        "UPDATE file_sets SET status = 'NOTIFIED', notified_at = $2 WHERE id = $1", set_id, at
    )


# -- results ------------------------------------------------------------------------------


async def record_result(
    conn: asyncpg.Connection,
    *,
    ticket: str,
    position: int,
    source: str,
    final: bool,
    result: str,
    payload: dict[str, Any],
) -> None:
    """Keep a form's latest result; a final result is never replaced by a later one."""
    await conn.execute(
        """INSERT INTO form_results (ticket, position, source, final, result, payload)
           VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)
           ON CONFLICT (ticket, position) DO UPDATE
               SET source = EXCLUDED.source, final = EXCLUDED.final, result = EXCLUDED.result,
                   payload = EXCLUDED.payload, received_at = now()
             WHERE NOT form_results.final""",
        ticket,
        position,
        source,
        final,
        result,
        json.dumps(payload),
    )


async def result_counts(conn: asyncpg.Connection, ticket: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """SELECT count(*) AS results,
                  count(*) FILTER (WHERE reported IS NULL
                                      OR (final AND reported = 'PA')) AS unreported,
                  count(*) FILTER (WHERE reported IS DISTINCT FROM 'FA') AS not_final,
                  count(*) FILTER (WHERE reported IS NOT NULL) AS reported
             FROM form_results WHERE ticket = $1""",
        ticket,
    )


async def results_by_code(conn: asyncpg.Connection, ticket: str) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT result, count(*) AS n FROM form_results WHERE ticket = $1 GROUP BY result",
        ticket,
    )
    return {r["result"]: r["n"] for r in rows}


async def first_anomalies(
    conn: asyncpg.Connection, ticket: str, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        # Dimona anomalies have code and severity, DmfA ones error_id and anomaly_class.
        """SELECT r.position, r.result,
                  coalesce(a.value ->> 'code', a.value ->> 'error_id') AS code,
                  coalesce(a.value ->> 'severity', a.value ->> 'anomaly_class') AS severity,
                  a.value ->> 'label_fr' AS label_fr,
                  a.value ->> 'label_nl' AS label_nl,
                  a.value ->> 'description_fr' AS description_fr,
                  a.value ->> 'description_nl' AS description_nl
             FROM form_results r, jsonb_array_elements(r.payload -> 'anomalies') a
            WHERE r.ticket = $1
            ORDER BY r.position LIMIT $2""",
        ticket,
        limit,
    )


def unreported_rows(conn: asyncpg.Connection, ticket: str) -> Any:
    """A cursor (inside a transaction) over the results a NOTI file has still to give, in
    form order, locked so that a result arriving meanwhile waits for the file."""
    return conn.cursor(
        """SELECT r.position, r.final, r.result, r.source, r.payload::text AS payload,
                  f.echo::text AS echo
             FROM form_results r JOIN forms f USING (ticket, position)
            WHERE r.ticket = $1 AND (r.reported IS NULL OR (r.final AND r.reported = 'PA'))
            ORDER BY r.position
              FOR UPDATE OF r""",
        ticket,
        prefetch=500,
    )


async def mark_reported(conn: asyncpg.Connection, ticket: str) -> None:
    await conn.execute(
        """UPDATE form_results SET reported = CASE WHEN final THEN 'FA' ELSE 'PA' END
            WHERE ticket = $1 AND (reported IS NULL OR (final AND reported = 'PA'))""",
        ticket,
    )


# -- outgoing files ---------------------------------------------------------------------------


async def next_out_counter(conn: asyncpg.Connection, day: date, environment: str) -> int:
    return await conn.fetchval(
        """INSERT INTO out_counters (day, environment, last) VALUES ($1, $2, 1)
           ON CONFLICT (day, environment) DO UPDATE SET last = out_counters.last + 1
           RETURNING last""",
        day,
        environment,
    )


async def insert_out_file(
    conn: asyncpg.Connection,
    *,
    name: str,
    kind: str,
    set_id: int,
    sender: str,
    environment: str,
    blob_id: int,
    size: int,
    forms: int | None,
    created_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO out_files (name, kind, set_id, sender, environment, blob_id, size, forms,
                                  created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        name,
        kind,
        set_id,
        sender,
        environment,
        blob_id,
        size,
        forms,
        created_at,
    )


async def out_files_of(conn: asyncpg.Connection, set_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT name, kind, size, forms, created_at, delivered_at FROM out_files"
        " WHERE set_id = $1 ORDER BY id",
        set_id,
    )


async def out_file(conn: asyncpg.Connection, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT o.*, s.uploaded_by, s.deliver FROM out_files o JOIN file_sets s
                ON s.id = o.set_id WHERE o.name = $1""",
        name,
    )


async def undelivered(conn: asyncpg.Connection, limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT o.id, o.name, o.sender, o.environment, o.blob_id FROM out_files o
             JOIN file_sets s ON s.id = o.set_id
            WHERE o.delivered_at IS NULL AND s.deliver
            ORDER BY o.id LIMIT $1""",
        limit,
    )


async def mark_delivered(conn: asyncpg.Connection, out_id: int, at: datetime) -> None:
    await conn.execute("UPDATE out_files SET delivered_at = $2 WHERE id = $1", out_id, at)


async def has_out_file(conn: asyncpg.Connection, set_id: int, kind: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM out_files WHERE set_id = $1 AND kind = $2 LIMIT 1", set_id, kind
        )
    )


# -- DmfA PIDs ----------------------------------------------------------------------------------


async def expect_pid_parts(
    conn: asyncpg.Connection, declaration_ticket: str, ticket: str, position: int, parts: int
) -> None:
    """An accepted original of a batch file whose worker lines come in ``parts`` events."""
    await conn.execute(
        """INSERT INTO dmfa_pid_declarations (declaration_ticket, ticket, position, parts)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        declaration_ticket,
        ticket,
        position,
        parts,
    )


async def pid_parts_expected(conn: asyncpg.Connection, declaration_ticket: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM dmfa_pid_declarations WHERE declaration_ticket = $1",
            declaration_ticket,
        )
    )


async def record_pid_part(
    conn: asyncpg.Connection,
    declaration_ticket: str,
    part: int,
    lines: Sequence[dict[str, Any]],
) -> None:
    """One part's worker lines (PID facts, in declaration order)."""
    await conn.executemany(
        """INSERT INTO dmfa_pid_lines (declaration_ticket, part, idx, inss, facts)
           VALUES ($1, $2, $3, $4, $5::text::jsonb) ON CONFLICT DO NOTHING""",
        [
            (declaration_ticket, part, idx, line["inss"], json.dumps(line))
            for idx, line in enumerate(lines)
        ],
    )
    await conn.execute(
        "INSERT INTO dmfa_pid_parts VALUES ($1, $2) ON CONFLICT DO NOTHING",
        declaration_ticket,
        part,
    )


async def pid_forms(conn: asyncpg.Connection, ticket: str) -> list[asyncpg.Record]:
    """The forms of a file answered by an accepted original that gets a PID form, in file
    order, with how many line parts it has and how many arrived (``parts`` NULL: one)."""
    return await conn.fetch(
        """SELECT r.position, d.declaration_ticket, d.parts,
                  (SELECT count(*) FROM dmfa_pid_parts p
                    WHERE p.declaration_ticket = d.declaration_ticket) AS arrived
             FROM form_results r
             LEFT JOIN dmfa_pid_declarations d USING (ticket, position)
            WHERE r.ticket = $1 AND (r.payload ->> 'pid_file')::boolean
            ORDER BY r.position""",
        ticket,
    )


async def result_with_echo(
    conn: asyncpg.Connection, ticket: str, position: int
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT r.payload::text AS payload, f.echo::text AS echo
             FROM form_results r JOIN forms f USING (ticket, position)
            WHERE r.ticket = $1 AND r.position = $2""",
        ticket,
        position,
    )


def pid_lines(conn: asyncpg.Connection, declaration_ticket: str) -> Any:
    """A cursor (inside a transaction) over a declaration's line facts, grouped by person
    in the order the persons first appear, each person's lines in declaration order."""
    return conn.cursor(
        """SELECT facts::text AS facts FROM (
               SELECT facts, part, idx,
                      min(part::bigint * 1000000 + idx) OVER (PARTITION BY inss) AS first
                 FROM dmfa_pid_lines WHERE declaration_ticket = $1) l
            ORDER BY first, part, idx""",
        declaration_ticket,
        prefetch=1000,
    )
