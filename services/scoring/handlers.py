"""Facts from the input topics: each handler writes one event's effect in the consumer's
transaction. Every write is an upsert keyed by the fact's identity, so a replay of the
topics in their order rebuilds the same state."""

from __future__ import annotations

import asyncpg

from socsec.contracts.payloads.crosscheck import (
    CrosscheckMismatchOpened,
    CrosscheckMismatchResolved,
    CrosscheckYearCounted,
)
from socsec.contracts.payloads.dmfa import (
    DmfaAnomalyDetected,
    DmfaAnomalyResolved,
    DmfaDeclarationLate,
    DmfaDeclarationNotified,
    DmfaEmployerSilent,
    DmfaWorkerLine,
    DmfaWorkerLinesNotified,
)
from socsec.contracts.payloads.registry import (
    EmployerChanged,
    MandataryChanged,
    MandateChanged,
    Scope,
)

SCORED_PRIORITIES = ("AP", "ANP")


# -- registry -----------------------------------------------------------------------------


async def on_mandatary(conn: asyncpg.Connection, m: MandataryChanged) -> None:
    await conn.execute(
        """INSERT INTO mandataries (id, kind, legal_name, seat_id, deleted)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, legal_name = EXCLUDED.legal_name,
               seat_id = EXCLUDED.seat_id, deleted = EXCLUDED.deleted""",
        m.id,
        str(m.kind),
        m.legal_name,
        m.seat.id,
        m.deleted,
    )
    await conn.execute("DELETE FROM branches WHERE mandatary_id = $1", m.id)
    if not m.deleted and m.branches:
        await conn.executemany(
            """INSERT INTO branches (id, seat_id, mandatary_id) VALUES ($1, $2, $3)
               ON CONFLICT (id) DO UPDATE SET seat_id = EXCLUDED.seat_id,
                   mandatary_id = EXCLUDED.mandatary_id""",
            [(b.id, m.seat.id, m.id) for b in m.branches],
        )


async def on_employer(conn: asyncpg.Connection, e: EmployerChanged) -> None:
    await conn.execute(
        """INSERT INTO employers (nsso_number, registered_from, registered_to, deleted)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (nsso_number) DO UPDATE SET registered_from = EXCLUDED.registered_from,
               registered_to = EXCLUDED.registered_to, deleted = EXCLUDED.deleted""",
        e.nsso_number,
        e.registered_from,
        e.registered_to,
        e.deleted,
    )


async def on_mandate(conn: asyncpg.Connection, m: MandateChanged) -> None:
    await conn.execute(
        """INSERT INTO mandates (id, employer_nsso, mandatary_id, affiliation_point, seat_id, dmfa,
                                 proxy_registered_on, valid_from, valid_to, deleted)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET employer_nsso = EXCLUDED.employer_nsso,
               mandatary_id = EXCLUDED.mandatary_id,
               affiliation_point = EXCLUDED.affiliation_point, seat_id = EXCLUDED.seat_id,
               dmfa = EXCLUDED.dmfa, proxy_registered_on = EXCLUDED.proxy_registered_on,
               valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to,
               deleted = EXCLUDED.deleted""",
        m.id,
        m.employer_nsso,
        m.mandatary_id,
        m.affiliation_point,
        m.seat_id,
        Scope.DMFA in m.scopes,
        m.proxy_registered_on,
        m.valid_from,
        m.valid_to,
        m.deleted,
    )
    await conn.execute("UPDATE registry_version SET version = version + 1 WHERE id = 1")


# -- dmfa ---------------------------------------------------------------------------------


async def on_silent(conn: asyncpg.Connection, s: DmfaEmployerSilent) -> None:
    detail = s.model_dump(
        mode="json",
        include={
            "persons_in_dimona",
            "persons_missing",
            "missing_share",
            "original_wage_mass",
            "current_wage_mass",
            "wage_mass_change",
            "due_date",
        },
        exclude_none=True,
    )
    await _silent(conn, s.employer_nsso, s.quarter, s.reason, s.evaluated_on, detail)


async def on_late(conn: asyncpg.Connection, late: DmfaDeclarationLate) -> None:
    detail = {
        "ticket": late.ticket,
        "received_on": late.received_on.isoformat(),
        "deadline": late.deadline.isoformat(),
        "days_late": late.days_late,
    }
    await _silent(conn, late.employer_nsso, late.quarter, "LATE", late.received_on, detail)


async def _silent(conn, employer, quarter, reason, evaluated_on, detail) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(
        """INSERT INTO silent_facts (employer_nsso, quarter, reason, evaluated_on, detail)
           VALUES ($1, $2, $3, $4, $5::jsonb)
           ON CONFLICT (quarter, employer_nsso, reason) DO UPDATE
               SET evaluated_on = EXCLUDED.evaluated_on, detail = EXCLUDED.detail""",
        employer,
        quarter,
        reason,
        evaluated_on,
        detail,
    )


async def on_anomaly_detected(conn: asyncpg.Connection, a: DmfaAnomalyDetected) -> None:
    """Instances of accepted declarations (state OPEN) of class AP or ANP; refused
    declarations kept nothing, excluded classes score elsewhere (S, C)."""
    if a.state != "OPEN" or a.priority not in SCORED_PRIORITIES:
        return
    if a.employer_nsso is None or a.quarter is None:
        return
    await conn.execute(
        """INSERT INTO anomalies (anomaly_id, priority, subject, employer_nsso, quarter, error_id,
                                  inss, employer_class, worker_code, detected_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (anomaly_id) DO UPDATE SET priority = EXCLUDED.priority,
               subject = EXCLUDED.subject, detected_at = EXCLUDED.detected_at""",
        a.anomaly_id,
        a.priority,
        a.subject,
        a.employer_nsso,
        a.quarter,
        a.error_id,
        a.inss,
        a.employer_class,
        a.worker_code,
        a.detected_at,
    )


async def on_anomaly_resolved(conn: asyncpg.Connection, r: DmfaAnomalyResolved) -> None:
    if r.priority not in SCORED_PRIORITIES:
        return
    await conn.execute(
        """INSERT INTO anomalies (anomaly_id, priority, subject, employer_nsso, quarter, error_id,
                                  inss, employer_class, worker_code, detected_at, resolved_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (anomaly_id) DO UPDATE SET resolved_at = EXCLUDED.resolved_at""",
        r.anomaly_id,
        r.priority,
        r.subject,
        r.employer_nsso,
        r.quarter,
        r.error_id,
        r.inss,
        r.employer_class,
        r.worker_code,
        r.opened_at,
        r.resolved_at,
    )


async def on_declaration(conn: asyncpg.Connection, d: DmfaDeclarationNotified) -> None:
    """An accepted declaration of the real environment: its lines join the quarter's
    population (every line ever notified counts once); a modification's deleted lines leave
    the sampling population."""
    if d.environment != "R" or d.result != "ACCEPTED":
        return
    if d.employer_nsso is None or d.quarter is None:
        return
    await conn.execute(
        """INSERT INTO declarations (employer_nsso, quarter, accepted) VALUES ($1, $2, 1)
           ON CONFLICT (quarter, employer_nsso)
           DO UPDATE SET accepted = declarations.accepted + 1""",
        d.employer_nsso,
        d.quarter,
    )
    await _lines(conn, d.employer_nsso, d.quarter, d.worker_lines)
    if d.deleted_lines:
        await conn.executemany(
            """UPDATE worker_lines SET deleted = true
                WHERE quarter = $2 AND employer_nsso = $1 AND inss = $3
                  AND employer_class = $4 AND worker_code = $5""",
            [
                (d.employer_nsso, d.quarter, k.inss, k.employer_class, k.worker_code)
                for k in d.deleted_lines
            ],
        )


async def on_worker_lines(conn: asyncpg.Connection, part: DmfaWorkerLinesNotified) -> None:
    """Further parts of an accepted declaration (simulations never have parts with lines
    here: their notification is refused to the other topics and ignored above)."""
    known = await conn.fetchval(
        "SELECT true FROM declarations WHERE quarter = $1 AND employer_nsso = $2",
        part.quarter,
        part.employer_nsso,
    )
    if known:
        await _lines(conn, part.employer_nsso, part.quarter, part.worker_lines)


async def _lines(
    conn: asyncpg.Connection, employer: str, quarter: int, lines: tuple[DmfaWorkerLine, ...]
) -> None:
    if not lines:
        return
    rows = await conn.fetch(
        """INSERT INTO worker_lines AS w (employer_nsso, quarter, inss, employer_class,
                                          worker_code, worker_kind)
           SELECT $1, $2, l.inss, l.employer_class, l.worker_code, l.worker_kind
             FROM unnest($3::text[], $4::text[], $5::text[], $6::text[])
                  AS l(inss, employer_class, worker_code, worker_kind)
           ON CONFLICT (quarter, employer_nsso, inss, employer_class, worker_code)
           DO UPDATE SET worker_kind = EXCLUDED.worker_kind, deleted = false
           RETURNING (xmax = 0) AS inserted""",
        employer,
        quarter,
        [line.inss for line in lines],
        [line.employer_class for line in lines],
        [line.worker_code for line in lines],
        [line.worker_kind for line in lines],
    )
    added = sum(1 for r in rows if r["inserted"])
    if added:
        await conn.execute(
            "UPDATE declarations SET lines = lines + $3 WHERE quarter = $2 AND employer_nsso = $1",
            employer,
            quarter,
            added,
        )


# -- crosscheck ---------------------------------------------------------------------------


async def on_mismatch_opened(conn: asyncpg.Connection, m: CrosscheckMismatchOpened) -> None:
    await conn.execute(
        """INSERT INTO mismatches (mismatch_id, employer_nsso, quarter, rules, opened_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (mismatch_id) DO UPDATE SET rules = EXCLUDED.rules""",
        m.mismatch_id,
        m.employer_nsso,
        int(m.quarter),
        [r.rule for r in m.rules],
        m.opened_at,
    )


async def on_mismatch_resolved(conn: asyncpg.Connection, m: CrosscheckMismatchResolved) -> None:
    await conn.execute(
        """INSERT INTO mismatches (mismatch_id, employer_nsso, quarter, rules, opened_at,
                                   resolved_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (mismatch_id) DO UPDATE SET resolved_at = EXCLUDED.resolved_at""",
        m.mismatch_id,
        m.employer_nsso,
        int(m.quarter),
        [r.rule for r in m.rules],
        m.opened_at,
        m.resolved_at,
    )


async def on_year_counted(conn: asyncpg.Connection, y: CrosscheckYearCounted) -> None:
    """The latest yearly run of a seat wins (a rerun replaces the counts)."""
    if y.seat is None:
        return
    await conn.execute(
        """INSERT INTO year_counts (year, seat_id, secretariat, employers, triples, mismatching,
                                    computed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (year, seat_id) DO UPDATE SET secretariat = EXCLUDED.secretariat,
               employers = EXCLUDED.employers, triples = EXCLUDED.triples,
               mismatching = EXCLUDED.mismatching, computed_at = EXCLUDED.computed_at
           WHERE year_counts.computed_at <= EXCLUDED.computed_at""",
        y.year,
        y.seat,
        y.secretariat,
        y.employers,
        y.triples,
        y.mismatching,
        y.computed_at,
    )
