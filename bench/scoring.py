"""Scoring at national scale: every score of one quarter, computed from the stored facts.

A national quarter is generated straight into the scoring schema: 30 seats (24 approved
secretariats, 6 smaller providers; 40 branches), 400 000 employers with a DmfA mandate (a fifth
through a branch), 400 000 accepted declarations of the quarter and 380 000 of the quarter
before, about 4 million worker lines, priority and non-priority anomaly instances (about
2 % and 4 % of the lines, a third still open), silent findings for 5 % of the employers, the
payment ledger of every approved secretariat's employers (four items, each due, paid and
forwarded: about 3.8 million entries) and one technical-control campaign per seat with its
findings. The registry tables are loaded with COPY, the bulk facts with set-based INSERTs
(``generate_series``), as the consumers would have left them.

Measured: the scorer's computation of every domain (S, T, F, AP, ANP) for every seat of
the quarter, as the completion job runs it (attribution of the 400 000 employers to their
seats included), and, apart, domain C of the year (four quarters attributed).
Goal (issue "Quality barometer"): every score of the quarter in under 30 s.

``python -m bench scoring``; smaller with ``SOCSEC_BENCH_SCORING_DECLARATIONS``.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, date, datetime
from typing import Any

from rich.table import Table

from bench.common import BenchEnv, BenchOptions, Goal, ScenarioReport
from socsec.contracts.identifiers import nsso_number_from
from socsec.kit import migrator
from socsec.kit.db import connect_once
from socsec.scoring.domain import catalogue as catalogue_file
from socsec.scoring.scorer import Scorer

NAME = "scoring"
SERVICE = "scoring"
GOAL_S = 30.0
QUARTER, PREVIOUS, YEAR = 20261, 20254, 2026
SEATS, PROVIDERS, BRANCHES = 30, 6, 40
LINES_PER_DECLARATION = 10


def _declarations() -> int:
    raw = os.environ.get("SOCSEC_BENCH_SCORING_DECLARATIONS", "400000")
    return max(1_000, int(raw.replace("_", "")))


async def _load(conn: Any, n: int) -> dict[str, Any]:
    rng = random.Random(2017)
    started = time.perf_counter()
    seats = [f"S-{i:02d}" for i in range(SEATS)]
    await conn.copy_records_to_table(
        "mandataries",
        records=[
            (
                f"M-{i:02d}",
                "SERVICE_PROVIDER" if i >= SEATS - PROVIDERS else "APPROVED_SECRETARIAT",
                f"Secretariat {i}",
                seat,
                False,
            )
            for i, seat in enumerate(seats)
        ],
        columns=["id", "kind", "legal_name", "seat_id", "deleted"],
    )
    branches = [(f"B-{b:02d}", seats[b % SEATS], f"M-{b % SEATS:02d}") for b in range(BRANCHES)]
    await conn.copy_records_to_table(
        "branches", records=branches, columns=["id", "seat_id", "mandatary_id"]
    )
    employers = [nsso_number_from(1_000_000 + i) for i in range(n)]
    await conn.copy_records_to_table(
        "employers",
        records=[(e, date(2010, 1, 1), None, False) for e in employers],
        columns=["nsso_number", "registered_from", "registered_to", "deleted"],
    )
    mandates = []
    for i, e in enumerate(employers):
        # Skewed seat sizes: a few large secretariats hold most employers.
        s = min(SEATS - 1, int(rng.paretovariate(1.2)) - 1 + rng.randrange(3) * 5)
        own = [b for b in branches if b[1] == seats[s]]
        point = rng.choice(own)[0] if own and rng.random() < 0.2 else seats[s]
        mandates.append(
            (
                f"MD-{i:07d}",
                e,
                f"M-{s:02d}",
                point,
                seats[s],
                True,
                date(2015, 1, 1),
                date(2015, 1, 1),
                None,
                False,
            )
        )
    await conn.copy_records_to_table(
        "mandates",
        records=mandates,
        columns=[
            "id",
            "employer_nsso",
            "mandatary_id",
            "affiliation_point",
            "seat_id",
            "dmfa",
            "proxy_registered_on",
            "valid_from",
            "valid_to",
            "deleted",
        ],
    )
    await conn.execute("UPDATE registry_version SET version = version + 1")
    await conn.execute("CREATE TABLE bench_employers (i integer PRIMARY KEY, nsso text NOT NULL)")
    await conn.copy_records_to_table(
        "bench_employers", records=list(enumerate(employers)), columns=["i", "nsso"]
    )
    registry_s = time.perf_counter() - started

    started = time.perf_counter()
    statements = [
        # Lines per declaration: 1 to 19 (mean 10), the previous quarter 95 % of employers.
        f"""INSERT INTO declarations (employer_nsso, quarter, lines, accepted)
            SELECT nsso, q,
                   1 + (hashtext(nsso || q) & 2147483647) % {2 * LINES_PER_DECLARATION - 1}, 1
              FROM bench_employers, (VALUES ({QUARTER}), ({PREVIOUS})) v(q)
             WHERE q = {QUARTER} OR i % 20 <> 0""",
        f"""INSERT INTO worker_lines (employer_nsso, quarter, inss, employer_class, worker_code,
                                     worker_kind)
            SELECT d.employer_nsso, d.quarter, lpad((d.lines * 1000003 + k)::text, 11, '0'),
                   '010', CASE WHEN k % 3 = 0 THEN '015' ELSE '495' END,
                   CASE WHEN k % 3 = 0 THEN 'BLUE_COLLAR' ELSE 'WHITE_COLLAR' END
              FROM declarations d, generate_series(1, d.lines) k
             WHERE d.quarter = {QUARTER}""",
        # Anomaly instances: AP on ~2 %, ANP on ~4 % of the lines of both quarters.
        f"""INSERT INTO anomalies (anomaly_id, priority, subject, employer_nsso, quarter,
                                   error_id, inss, employer_class, worker_code, detected_at,
                                   resolved_at)
            SELECT gen_random_uuid(), p.priority, 'WORKER_LINE', d.employer_nsso, d.quarter,
                   p.error_id, lpad((d.lines * 1000003 + k)::text, 11, '0'), '010', '495',
                   t.detected,
                   CASE WHEN (hashtext(d.employer_nsso || k) & 2147483647) % 3 = 0 THEN NULL
                        ELSE t.detected + ((hashtext(d.employer_nsso || k || 'r') & 2147483647)
                                           % 150) * interval '1 day' END
              FROM declarations d, generate_series(1, d.lines) k,
                   (VALUES ('AP', '00024-044', 50), ('ANP', '00084-044', 25))
                       AS p(priority, error_id, every),
                   LATERAL (SELECT CASE d.quarter
                                       WHEN {QUARTER} THEN timestamptz '2026-04-20 10:00+00'
                                       ELSE timestamptz '2026-01-20 10:00+00' END AS detected) t
             WHERE (hashtext(d.employer_nsso || k || p.priority) & 2147483647) % p.every = 0""",
        f"""INSERT INTO silent_facts (employer_nsso, quarter, reason, evaluated_on)
            SELECT nsso, {QUARTER},
                   (ARRAY['NO_DMFA', 'INCOMPLETE', 'INACCURATE', 'LATE'])[1 + i / 20 % 4],
                   date '2026-05-29'
              FROM bench_employers WHERE i % 20 = 7""",
        # The ledger of the approved secretariats' employers: due, paid (5 % late), forwarded
        # (3 % short).
        f"""INSERT INTO f_ledger (employer_nsso, quarter, item, direction, amount_cents, on_date,
                                  reference, recorded_at, recorded_by)
            SELECT e.nsso, {QUARTER}, it.item, dir.direction, 100000,
                   CASE dir.direction WHEN 'DUE' THEN it.due
                        WHEN 'EMPLOYER_PAID' THEN it.due - CASE WHEN e.i % 20 = 3 THEN -9 ELSE 2 END
                        ELSE it.due END,
                   e.nsso || '/' || it.item || '/' || dir.direction, now(), 'bench'
              FROM bench_employers e
              JOIN mandates m ON m.employer_nsso = e.nsso
              JOIN mandataries t ON t.id = m.mandatary_id AND t.kind = 'APPROVED_SECRETARIAT',
                   (VALUES ('P1', date '2026-02-05'), ('P2', date '2026-03-05'),
                           ('P3', date '2026-04-05'), ('BALANCE', date '2026-05-21')) it(item, due),
                   (VALUES ('DUE'), ('EMPLOYER_PAID'), ('FORWARDED')) dir(direction)
             WHERE NOT (dir.direction = 'FORWARDED' AND e.i % 33 = 5)""",
    ]
    for sql in statements:
        await conn.execute(sql)
    await conn.execute("ANALYZE")
    facts_s = time.perf_counter() - started
    counts = {
        table: await conn.fetchval(f"SELECT count(*) FROM {table}")
        for table in (
            "employers",
            "declarations",
            "worker_lines",
            "anomalies",
            "silent_facts",
            "f_ledger",
        )
    }
    return {"registry_s": registry_s, "facts_s": facts_s, "rows": counts}


async def _campaigns(conn: Any, service_seats: list[str]) -> float:
    """One T campaign per seat with findings on every item (as the inspectors record them),
    drawn by the service's own sampling code."""
    from socsec.scoring.service import ScoringService

    class _Clock:
        def now(self) -> datetime:
            return datetime(2026, 7, 1, tzinfo=UTC)

        def today(self) -> date:
            return date(2026, 7, 1)

    class _Runtime:
        clock = _Clock()

    service = ScoringService(_Runtime(), catalogue_file.load())  # type: ignore[arg-type]
    started = time.perf_counter()
    async with conn.transaction():
        for seat in service_seats:
            await service.create_campaign(conn, seat, QUARTER, f"bench-{seat}", "bench")
    seconds = time.perf_counter() - started
    await conn.execute(
        """INSERT INTO t_findings (campaign_id, item_no, indicators, inspector, recorded_at)
           SELECT campaign_id, item_no,
                  CASE item_no % 25 WHEN 0 THEN ARRAY['T1'] WHEN 1 THEN ARRAY['T3', 'T4']
                                    ELSE ARRAY[]::text[] END,
                  'bench', timestamptz '2026-06-15 10:00+00'
             FROM t_items"""
    )
    return seconds


async def run(env: BenchEnv, opts: BenchOptions) -> ScenarioReport:
    n = _declarations()
    await migrator.migrate(env.dsns[SERVICE], SERVICE, f"socsec.{SERVICE}.migrations")
    conn = await connect_once(env.dsns[SERVICE], SERVICE)
    try:
        loaded = await _load(conn, n)
        seats = [f"S-{i:02d}" for i in range(SEATS)]
        sampling_s = await _campaigns(conn, seats)
        scorer = Scorer(catalogue_file.load())
        at = datetime(2026, 10, 1, tzinfo=UTC)
        per_domain: dict[str, float] = {}
        scores: dict[str, int] = {}
        started = time.perf_counter()
        cache: dict = {}
        async with conn.transaction():
            for domain in ("S", "T", "F", "AP", "ANP"):
                t0 = time.perf_counter()
                result = await scorer.compute(
                    conn, domain, str(QUARTER), today=at.date(), computed_at=at, cache=cache
                )
                per_domain[domain] = time.perf_counter() - t0
                scores[domain] = sum(1 for s in result if s.applicable)
        quarter_s = time.perf_counter() - started
        # Domain C of the year: mismatch instances on 3 % of the quarter's lines.
        await conn.execute(
            f"""INSERT INTO mismatches (mismatch_id, employer_nsso, quarter, rules, opened_at,
                                        resolved_at)
                SELECT gen_random_uuid(), employer_nsso, {QUARTER}, ARRAY['C3'],
                       timestamptz '2026-05-01 10:00+00',
                       CASE WHEN (hashtext(inss) & 1) = 0
                            THEN timestamptz '2026-06-01 10:00+00' END
                  FROM worker_lines WHERE (hashtext(employer_nsso || inss) & 2147483647) % 33 = 0"""
        )
        await conn.execute(
            f"""INSERT INTO year_counts (year, seat_id, secretariat, employers, triples,
                                         mismatching, computed_at)
                SELECT y, seat_id, NULL, count(DISTINCT employer_nsso), count(*) * 4,
                       count(*) / (CASE y WHEN {YEAR} THEN 8 ELSE 6 END),
                       timestamptz '2027-02-01 10:00+00'
                  FROM worker_lines l JOIN mandates m USING (employer_nsso),
                       (VALUES ({YEAR}), ({YEAR - 1})) v(y)
                 GROUP BY y, seat_id"""
        )
        t0 = time.perf_counter()
        async with conn.transaction():
            result = await scorer.compute(
                conn, "C", str(YEAR), today=date(2027, 7, 1), computed_at=at
            )
        year_c_s = time.perf_counter() - t0
        scores["C"] = sum(1 for s in result if s.applicable)
        await conn.execute("DROP TABLE bench_employers")
    finally:
        await conn.close()

    results = {
        "declarations": n,
        "seats": SEATS,
        **loaded,
        "sampling_s": round(sampling_s, 2),
        "quarter_scores_s": round(quarter_s, 2),
        "per_domain_s": {d: round(s, 2) for d, s in per_domain.items()},
        "applicable_scores": scores,
        "year_c_s": round(year_c_s, 2),
    }
    table = Table(title=f"Scoring: every score of a quarter ({n:,} declarations, {SEATS} seats)")
    for column in ("step", "time", "detail"):
        table.add_column(column)
    table.add_row("load registry (COPY)", f"{loaded['registry_s']:.1f} s", f"{n:,} employers")
    rows = loaded["rows"]
    table.add_row(
        "load facts (set-based)",
        f"{loaded['facts_s']:.1f} s",
        f"{rows['worker_lines']:,} lines, {rows['anomalies']:,} anomalies, "
        f"{rows['f_ledger']:,} ledger entries",
    )
    table.add_row("T samples (30 campaigns)", f"{sampling_s:.1f} s", "drawn by the service")
    for domain, seconds in per_domain.items():
        table.add_row(f"  {domain}", f"{seconds:.2f} s", f"{scores[domain]} applicable scores")
    table.add_row("every score of the quarter", f"{quarter_s:.1f} s", "S, T, F, AP, ANP")
    table.add_row("domain C of the year", f"{year_c_s:.1f} s", f"{scores['C']} scores")
    goal = Goal(
        description=f"every score of a national quarter ({n:,} declarations, {SEATS} seats) "
        f"under {GOAL_S:.0f} s",
        met=quarter_s < GOAL_S,
        value=f"{quarter_s:.1f} s",
    )
    return ScenarioReport(
        scenario=NAME,
        results=results,
        goals=[goal],
        notes=[
            "Timed: Scorer.compute of each quarterly domain for all seats in one "
            "transaction, including the attribution of every employer to its seat on the "
            "last day of the quarter; loading the facts and drawing the samples are not.",
        ],
        tables=[table],
    )
