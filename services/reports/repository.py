"""All SQL of the reports service (asyncpg). Functions take the caller's connection; the
entry point owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from socsec.contracts.payloads.registry import MandataryChanged
from socsec.reports.domain.model import Flag, Kind, Procedure, State, TimerKind

# -- Secretariats ----------------------------------------------------------------------


async def upsert_secretariat(conn: asyncpg.Connection, m: MandataryChanged) -> None:
    await conn.execute(
        """INSERT INTO secretariats (id, kind, legal_name, language, seat_id, approved_from,
                                     withdrawn_on, deleted, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
           ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind,
               legal_name = EXCLUDED.legal_name, language = EXCLUDED.language,
               seat_id = EXCLUDED.seat_id, approved_from = EXCLUDED.approved_from,
               withdrawn_on = EXCLUDED.withdrawn_on, deleted = EXCLUDED.deleted,
               updated_at = now()""",
        m.id,
        str(m.kind),
        m.legal_name,
        m.language,
        m.seat.id,
        m.approval.approved_from if m.approval else None,
        m.approval.withdrawn_on if m.approval else None,
        m.deleted,
    )


async def secretariat(conn: asyncpg.Connection, provider: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM secretariats WHERE id = $1", provider)


async def secretariats_in_scope(
    conn: asyncpg.Connection, year: int, include_providers: bool
) -> list[asyncpg.Record]:
    """The secretariats the global evaluation of ``year`` covers: approved during the year
    (and the providers when configured)."""
    return await conn.fetch(
        """SELECT * FROM secretariats
            WHERE NOT deleted
              AND ((kind = 'APPROVED_SECRETARIAT' AND approved_from <= make_date($1, 12, 31)
                    AND (withdrawn_on IS NULL OR withdrawn_on > make_date($1, 1, 1)))
                   OR ($2 AND kind = 'SERVICE_PROVIDER'))
            ORDER BY id""",
        year,
        include_providers,
    )


# -- Reports ---------------------------------------------------------------------------


def procedure_of(row: Mapping[str, Any]) -> Procedure:
    """The procedure part of a report row."""
    return Procedure(
        kind=Kind(row["kind"]),
        state=State(row["state"]),
        score=row["score"],
        final_score=row["final_score"],
        draft_received_on=row["draft_received_on"],
        reaction_deadline=row["reaction_deadline"],
        reaction_received_on=row["reaction_received_on"],
        answer_deadline=row["answer_deadline"],
        answered_on=row["answered_on"],
        final_sent_on=row["final_sent_on"],
        reacted=row["reacted"],
        flags=frozenset(Flag(f) for f in row["flags"]),
    )


async def insert_report(
    conn: asyncpg.Connection,
    *,
    report_id: UUID,
    kind: Kind,
    natural_key: str,
    provider: str | None,
    provider_kind: str | None,
    seat: str | None,
    domain: str | None,
    period: str,
    language: str,
    procedure: Procedure,
    band: str | None,
    content: Mapping[str, Any],
    at: datetime,
) -> bool:
    """Create a report; False when one with the same natural key exists (a redelivered or
    repeated trigger)."""
    status = await conn.execute(
        """INSERT INTO reports (id, kind, natural_key, provider, provider_kind, seat, domain,
                                period, year, language, state, score, band, content,
                                created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
           ON CONFLICT (natural_key) DO NOTHING""",
        report_id,
        str(kind),
        natural_key,
        provider,
        provider_kind,
        seat,
        domain,
        period,
        int(period[:4]),
        language,
        str(procedure.state),
        procedure.score,
        band,
        dict(content),
        at,
    )
    return status.endswith(" 1")


async def lock_report(
    conn: asyncpg.Connection, report_id: UUID, *, skip_locked: bool = False
) -> asyncpg.Record | None:
    """The report row, locked for the transaction (None if absent or, with
    ``skip_locked``, held by another transaction)."""
    suffix = " SKIP LOCKED" if skip_locked else ""
    return await conn.fetchrow(f"SELECT * FROM reports WHERE id = $1 FOR UPDATE{suffix}", report_id)


async def lock_name(conn: asyncpg.Connection, name: str) -> None:
    """Serialise the transactions that decide about ``name`` until they end (so that two
    reports becoming final at once cannot both miss the other)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"socsec-reports:{name}")


async def report(conn: asyncpg.Connection, report_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM reports WHERE id = $1", report_id)


async def report_by_key(conn: asyncpg.Connection, natural_key: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM reports WHERE natural_key = $1", natural_key)


async def save_procedure(
    conn: asyncpg.Connection, report_id: UUID, p: Procedure, at: datetime, last_version: int
) -> asyncpg.Record:
    return await conn.fetchrow(
        """UPDATE reports SET state = $2, score = $3, final_score = $4,
                  draft_received_on = $5, reaction_deadline = $6, reaction_received_on = $7,
                  answer_deadline = $8, answered_on = $9, final_sent_on = $10, reacted = $11,
                  flags = $12, next_due = $13, last_version = $14, updated_at = $15
            WHERE id = $1 RETURNING *""",
        report_id,
        str(p.state),
        p.score,
        p.final_score,
        p.draft_received_on,
        p.reaction_deadline,
        p.reaction_received_on,
        p.answer_deadline,
        p.answered_on,
        p.final_sent_on,
        p.reacted,
        sorted(str(f) for f in p.flags),
        p.next_due,
        last_version,
        at,
    )


async def update_content(
    conn: asyncpg.Connection, report_id: UUID, content: Mapping[str, Any], band: str | None
) -> None:
    await conn.execute(
        "UPDATE reports SET content = $2, band = $3 WHERE id = $1", report_id, dict(content), band
    )


async def search_reports(
    conn: asyncpg.Connection,
    *,
    provider: str | None,
    kind: str | None,
    state: str | None,
    domain: str | None,
    period: str | None,
    seat: str | None,
    due_before: date | None,
    flag: str | None,
    offset: int,
    limit: int,
) -> list[asyncpg.Record]:
    """Reports by the given filters, the one with the nearest running deadline first."""
    return await conn.fetch(
        """SELECT * FROM reports
            WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR kind = $2)
              AND ($3::text IS NULL OR state = $3) AND ($4::text IS NULL OR domain = $4)
              AND ($5::text IS NULL OR period = $5) AND ($6::text IS NULL OR seat = $6)
              AND ($7::date IS NULL OR next_due <= $7)
              AND ($8::text IS NULL OR $8 = ANY(flags))
            ORDER BY next_due NULLS LAST, updated_at DESC, id
            OFFSET $9 LIMIT $10""",
        provider,
        kind,
        state,
        domain,
        period,
        seat,
        due_before,
        flag,
        offset,
        limit,
    )


async def final_domain_reports(
    conn: asyncpg.Connection, seat: str, year: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT domain, period, final_score FROM reports
            WHERE kind = 'DOMAIN' AND seat = $1 AND year = $2 AND state = 'FINAL_SENT'""",
        seat,
        year,
    )


async def annual_reports(conn: asyncpg.Connection, year: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM reports WHERE kind = 'ANNUAL' AND year = $1 ORDER BY provider", year
    )


async def waiting_global_reports(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, year FROM reports WHERE kind = 'GLOBAL' AND state = 'WAITING'"
    )


# -- History and acts -------------------------------------------------------------------


async def insert_transition(
    conn: asyncpg.Connection,
    report_id: UUID,
    event: str,
    from_state: str,
    to_state: str,
    at: datetime,
    actor: str,
    document_version: int | None,
) -> None:
    await conn.execute(
        """INSERT INTO report_transitions (report_id, event, from_state, to_state, at, actor,
                                           document_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        report_id,
        event,
        from_state,
        to_state,
        at,
        actor,
        document_version,
    )


async def transitions(conn: asyncpg.Connection, report_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM report_transitions WHERE report_id = $1 ORDER BY id", report_id
    )


async def insert_act(
    conn: asyncpg.Connection,
    report_id: UUID,
    act: str,
    at: datetime,
    actor: str,
    body: Mapping[str, Any],
) -> int:
    return await conn.fetchval(
        """INSERT INTO report_acts (report_id, act, at, actor, body)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        report_id,
        act,
        at,
        actor,
        dict(body),
    )


async def acts(conn: asyncpg.Connection, report_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM report_acts WHERE report_id = $1 ORDER BY id", report_id)


# -- Documents -------------------------------------------------------------------------


async def insert_document(
    conn: asyncpg.Connection,
    report_id: UUID,
    version: int,
    label: str,
    at: datetime,
    language: str,
    html: str,
    pdf: bytes,
    sha256: str,
) -> None:
    await conn.execute(
        """INSERT INTO report_documents (report_id, version, label, created_at, language, html,
                                         pdf, sha256)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        report_id,
        version,
        label,
        at,
        language,
        html,
        pdf,
        sha256,
    )


async def documents(conn: asyncpg.Connection, report_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT report_id, version, label, created_at, language, sha256,
                  octet_length(pdf) AS pdf_bytes
             FROM report_documents WHERE report_id = $1 ORDER BY version""",
        report_id,
    )


async def document(
    conn: asyncpg.Connection, report_id: UUID, version: int
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM report_documents WHERE report_id = $1 AND version = $2",
        report_id,
        version,
    )


# -- Timers and alerts -----------------------------------------------------------------


async def set_timers(
    conn: asyncpg.Connection,
    report_id: UUID,
    wanted: Mapping[TimerKind, tuple[date, datetime]],
    now: datetime,
) -> None:
    """Make the report's open timers exactly ``wanted`` (kind -> deadline, expiry)."""
    await conn.execute(
        """UPDATE deadline_timers SET cancelled_at = $3
            WHERE report_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL
              AND NOT (kind = ANY($2::text[]))""",
        report_id,
        [str(k) for k in wanted],
        now,
    )
    for kind, (deadline, fires_at) in wanted.items():
        await conn.execute(
            """INSERT INTO deadline_timers (report_id, kind, deadline, fires_at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (report_id, kind) DO UPDATE
                 SET deadline = EXCLUDED.deadline, fires_at = EXCLUDED.fires_at,
                     fired_at = NULL, cancelled_at = NULL
               WHERE deadline_timers.deadline <> EXCLUDED.deadline
                  OR deadline_timers.cancelled_at IS NOT NULL""",
            report_id,
            str(kind),
            deadline,
            fires_at,
        )


async def mark_fired(
    conn: asyncpg.Connection, report_id: UUID, kinds: Iterable[TimerKind], now: datetime
) -> None:
    await conn.execute(
        """UPDATE deadline_timers SET fired_at = $3
            WHERE report_id = $1 AND kind = ANY($2::text[]) AND fired_at IS NULL
              AND cancelled_at IS NULL""",
        report_id,
        [str(k) for k in kinds],
        now,
    )


async def due_timer_reports(conn: asyncpg.Connection, now: datetime, limit: int) -> list[UUID]:
    """Reports with a timer due at ``now`` (business time), the oldest expiry first."""
    rows = await conn.fetch(
        """SELECT report_id, min(fires_at) AS first FROM deadline_timers
            WHERE fired_at IS NULL AND cancelled_at IS NULL AND fires_at <= $1
            GROUP BY report_id ORDER BY first LIMIT $2""",
        now,
        limit,
    )
    return [r["report_id"] for r in rows]


async def open_timers(conn: asyncpg.Connection, report_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM deadline_timers
            WHERE report_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL""",
        report_id,
    )


async def insert_alert(
    conn: asyncpg.Connection, report_id: UUID, kind: str, at: datetime, detail: str
) -> None:
    await conn.execute(
        "INSERT INTO alerts (report_id, kind, raised_at, detail) VALUES ($1, $2, $3, $4)",
        report_id,
        kind,
        at,
        detail,
    )


async def alerts(conn: asyncpg.Connection, *, open_only: bool) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT a.*, r.provider, r.seat, r.domain, r.period, r.kind AS report_kind
             FROM alerts a JOIN reports r ON r.id = a.report_id
            WHERE NOT $1 OR a.acknowledged_at IS NULL ORDER BY a.id""",
        open_only,
    )


async def acknowledge_alert(
    conn: asyncpg.Connection, alert_id: int, at: datetime, by: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE alerts SET acknowledged_at = $2, acknowledged_by = $3
            WHERE id = $1 AND acknowledged_at IS NULL RETURNING *""",
        alert_id,
        at,
        by,
    )


# -- Improvement items -----------------------------------------------------------------


async def add_improvement_item(
    conn: asyncpg.Connection,
    report_id: UUID,
    kind: str,
    text: str,
    due_on: date | None,
    at: datetime,
    by: str,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO improvement_items (report_id, n, kind, text, due_on, status, created_at,
                                          updated_at, updated_by)
           VALUES ($1, (SELECT coalesce(max(n), 0) + 1 FROM improvement_items
                         WHERE report_id = $1), $2, $3, $4, 'OPEN', $5, $5, $6)
           RETURNING *""",
        report_id,
        kind,
        text,
        due_on,
        at,
        by,
    )


async def set_improvement_status(
    conn: asyncpg.Connection, report_id: UUID, n: int, status: str, at: datetime, by: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE improvement_items SET status = $3, updated_at = $4, updated_by = $5
            WHERE report_id = $1 AND n = $2 RETURNING *""",
        report_id,
        n,
        status,
        at,
        by,
    )


async def improvement_items(conn: asyncpg.Connection, report_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM improvement_items WHERE report_id = $1 ORDER BY n", report_id
    )
