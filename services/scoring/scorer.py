"""Domain scores per seat and period from the stored facts.

The heavy part is set-based SQL: one statement per domain aggregates the facts per seat and
unit (the seat itself or a branch: the employer's DmfA mandate on the last day of the
quarter, ``mandate_at_quarter_end``); the formulas of :mod:`socsec.scoring.domain.formulas`
then run on those few aggregates in exact decimals. Everything is a function of the facts,
the catalogue version and the *as-of* date (the evaluation date for a final score, or today
when earlier), so a recomputation gives the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from socsec.contracts.payloads.scoring import (
    BranchScore,
    DomainScoreFinal,
    IndicatorValue,
    ScoreFinding,
)
from socsec.scoring.domain import formulas as f
from socsec.scoring.domain.catalogue import (
    QUARTERLY_DOMAINS,
    Catalogue,
    CatalogueVersion,
    DomainSpec,
    Indicator,
)
from socsec.scoring.domain.periods import (
    LEDGER_ITEMS,
    PROVISIONS,
    add_months,
    bounds,
    due_dates,
    evaluation_date,
    previous,
    quarters_of_year,
)

MAX_FINDINGS = 500
SCORE_NAMESPACE = uuid.UUID("5c0e1a7e-5c07-4b1a-9a0e-000000000009")
APPROVED = "APPROVED_SECRETARIAT"

FORMULA_TEXT = {
    "wpu": "100 × (1 − Σ_units w(heaviest failure of the unit) / N)",
    "wfr": "100 × (1 − Σ wᵢ·nᵢ/Nᵢ / Σ wᵢ), indicators with Nᵢ = 0 left out",
    "anomalies": "w_drop × s_drop + w_life × s_life; s_drop = 100 if pct ≤ floor, else "
    "clip(50 + 50 × (pct(Q−1) − pct(Q)) / max(pct(Q−1), floor)), 50 without Q−1; "
    "s_life = 100 × mean(clip(1 − age / 2T, 0, 1)), 100 without instances",
    "crosscheck": "w_drop × s_improve + w_life × s_life; s_improve = the drop formula on "
    "pct_C(N) against pct_C(N−1); s_life as for anomalies over the year's mismatches",
}


def score_id(seat: str, domain: str, period: str) -> uuid.UUID:
    return uuid.uuid5(SCORE_NAMESPACE, f"{seat}/{domain}/{period}")


@dataclass(frozen=True)
class SeatInfo:
    seat: str
    provider: str
    provider_kind: str
    branches: tuple[str, ...]

    @property
    def approved(self) -> bool:
        return self.provider_kind == APPROVED


@dataclass
class _Unit:
    """Aggregates of one seat or branch."""

    population: int = 0
    failing: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    extra: dict[str, Any] = field(default_factory=dict)


async def seats(conn: asyncpg.Connection, only: Sequence[str] | None = None) -> list[SeatInfo]:
    rows = await conn.fetch(
        """SELECT m.seat_id, m.id, m.kind,
                  coalesce(array_agg(b.id ORDER BY b.id) FILTER (WHERE b.id IS NOT NULL), '{}')
                      AS branches
             FROM mandataries m LEFT JOIN branches b ON b.mandatary_id = m.id
            WHERE NOT m.deleted AND ($1::text[] IS NULL OR m.seat_id = ANY($1))
            GROUP BY m.seat_id, m.id, m.kind ORDER BY m.seat_id""",
        list(only) if only is not None else None,
    )
    return [SeatInfo(r["seat_id"], r["id"], r["kind"], tuple(r["branches"])) for r in rows]


async def attribute(conn: asyncpg.Connection, quarter: int) -> None:
    """Make the attribution of a quarter current: per employer, the seat and the unit
    (affiliation point) of its DmfA mandate usable on the last day of the quarter. Rebuilt
    only when a mandate changed since it was last built."""
    await conn.execute("SELECT pg_advisory_xact_lock(8106, $1::int)", quarter)
    current = await conn.fetchval("SELECT version FROM registry_version WHERE id = 1")
    built = await conn.fetchval(
        "SELECT registry_version FROM attribution_stamps WHERE quarter = $1", quarter
    )
    if built == current:
        return
    end = bounds(quarter)[1]
    await conn.execute("DELETE FROM attribution WHERE quarter = $1", quarter)
    await conn.execute(
        """INSERT INTO attribution (quarter, employer_nsso, seat_id, unit)
           SELECT DISTINCT ON (m.employer_nsso) $1, m.employer_nsso, m.seat_id,
                  m.affiliation_point
             FROM mandates m
            WHERE m.dmfa AND NOT m.deleted AND m.valid_from <= $2
              AND (m.valid_to IS NULL OR m.valid_to >= $2) AND m.proxy_registered_on <= $2
            ORDER BY m.employer_nsso, m.valid_from DESC, m.id""",
        quarter,
        end,
    )
    await conn.execute(
        """INSERT INTO attribution_stamps (quarter, registry_version) VALUES ($1, $2)
           ON CONFLICT (quarter) DO UPDATE SET registry_version = EXCLUDED.registry_version""",
        quarter,
        current,
    )
    await conn.execute("ANALYZE attribution")


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _indicator(ind: Indicator, numerator: Decimal | int, denominator: int) -> IndicatorValue:
    return IndicatorValue(
        code=ind.code,
        label_fr=ind.label_fr,
        label_nl=ind.label_nl,
        label_en=ind.label_en,
        numerator=float(numerator),
        denominator=denominator,
        rate=f.shown(f.ratio(numerator, denominator), 6) if denominator else None,
        weight=float(ind.weight),
    )


@dataclass
class Context:
    """One computation: the catalogue version, the period, the as-of date and the time."""

    version: CatalogueVersion
    domain: str
    period: str
    asof: date
    evaluation: date
    computed_at: datetime
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def spec(self) -> DomainSpec:
        return self.version.domains[self.domain]


class Scorer:
    """Computes the scores of one domain and period for every seat (or some)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    async def compute(
        self,
        conn: asyncpg.Connection,
        domain: str,
        period: str,
        *,
        today: date,
        computed_at: datetime,
        only_seats: Sequence[str] | None = None,
        evaluation: date | None = None,
        cache: dict[Any, Any] | None = None,
    ) -> list[DomainScoreFinal]:
        """Scores of ``domain`` for ``period`` per seat, as of ``min(today, evaluation)``.
        Runs inside a transaction; ``cache`` may be shared by the computations of one
        transaction (AP and ANP share the line counts)."""
        version = self.catalogue.for_period(period)
        spec = version.domains[domain]
        evaluation = evaluation or evaluation_date(spec.evaluation_offset, period) or today
        ctx = Context(version, domain, period, min(today, evaluation), evaluation, computed_at)
        if cache is not None:
            ctx.cache = cache
        # The aggregations hash hundreds of thousands of groups: keep them in memory.
        await conn.execute("SET LOCAL work_mem = '256MB'")
        targets = await seats(conn, only_seats)
        if domain == "C":
            return await self._crosscheck(conn, ctx, targets)
        quarter = int(period)
        await attribute(conn, quarter)
        if domain == "S":
            units = await self._silent(conn, ctx, quarter)
        elif domain in ("AP", "ANP"):
            await attribute(conn, previous(quarter))
            units = await self._anomalies(conn, ctx, quarter)
        elif domain == "F":
            units = await self._financial(conn, ctx, quarter)
        elif domain == "T":
            units = await self._technical(conn, ctx, quarter)
        else:
            raise ValueError(f"unknown domain {domain}")
        return [self._build(ctx, seat, units) for seat in targets if spec.applies(seat.approved)]

    # -- S --------------------------------------------------------------------------------

    async def _silent(self, conn, ctx: Context, quarter: int) -> dict:  # type: ignore[no-untyped-def]
        # Active (dmfa.md §9, as far as the facts tell): registered and not deregistered
        # during Q, with an accepted DmfA for Q, or one with lines for Q-1, or a silent
        # finding for Q (the dmfa service found it active).
        rows = await conn.fetch(
            """WITH act AS (
                   SELECT employer_nsso FROM declarations WHERE quarter = $1
                   UNION SELECT employer_nsso FROM declarations WHERE quarter = $3 AND lines > 0
                   UNION SELECT employer_nsso FROM silent_facts
                          WHERE quarter = $1 AND evaluated_on <= $4),
               facts AS (
                   SELECT employer_nsso, array_agg(reason ORDER BY reason) AS reasons
                     FROM silent_facts WHERE quarter = $1 AND evaluated_on <= $4
                    GROUP BY 1)
               SELECT a.seat_id, a.unit, count(*) AS n,
                      coalesce(jsonb_agg(jsonb_build_array(a.employer_nsso, f.reasons)
                                         ORDER BY a.employer_nsso)
                                   FILTER (WHERE f.reasons IS NOT NULL), '[]') AS failing
                 FROM act
                 JOIN attribution a ON a.quarter = $1 AND a.employer_nsso = act.employer_nsso
                 JOIN employers e ON e.nsso_number = a.employer_nsso
                 LEFT JOIN facts f ON f.employer_nsso = a.employer_nsso
                WHERE NOT e.deleted AND e.registered_from <= $2
                  AND (e.registered_to IS NULL OR e.registered_to > $2)
                GROUP BY 1, 2""",
            quarter,
            bounds(quarter)[1],
            previous(quarter),
            ctx.asof,
        )
        units: dict = defaultdict(lambda: defaultdict(_Unit))
        weights = {i.reason: i for i in ctx.spec.indicators}
        order = {i.code: n for n, i in enumerate(ctx.spec.indicators)}
        failing = []
        for r in rows:
            units[r["seat_id"]][r["unit"]].population = r["n"]
            failing += [
                {"seat_id": r["seat_id"], "unit": r["unit"], "employer_nsso": e, "reasons": rs}
                for e, rs in r["failing"]
            ]
        for r in failing:
            heaviest = max(
                (weights[x] for x in r["reasons"]),
                key=lambda i: (i.weight, -order[i.code]),
            )
            unit = units[r["seat_id"]][r["unit"]]
            unit.failing[heaviest.code] += 1
            unit.extra.setdefault("findings", []).append(
                (
                    heaviest.weight,
                    ScoreFinding(
                        indicator=heaviest.code,
                        employer_nsso=r["employer_nsso"],
                        subject=r["employer_nsso"],
                        detail=", ".join(r["reasons"]),
                        weight=float(heaviest.weight),
                    ),
                )
            )
        return units

    # -- AP / ANP -------------------------------------------------------------------------

    async def _anomalies(self, conn, ctx: Context, quarter: int) -> dict:  # type: ignore[no-untyped-def]
        target = int(ctx.spec.param("target_days"))
        units: dict = defaultdict(lambda: defaultdict(_Unit))
        for q, tag in ((quarter, "now"), (previous(quarter), "prev")):
            lines = ctx.cache.get(("lines", q))
            if lines is None:
                lines = ctx.cache[("lines", q)] = await conn.fetch(
                    """SELECT a.seat_id, a.unit, sum(d.lines)::bigint AS n
                         FROM declarations d
                         JOIN attribution a
                           ON a.quarter = $1 AND a.employer_nsso = d.employer_nsso
                        WHERE d.quarter = $1 GROUP BY 1, 2""",
                    q,
                )
            hit = await conn.fetch(
                """WITH inst AS (
                       SELECT employer_nsso, subject, inss, employer_class, worker_code
                         FROM anomalies
                        WHERE quarter = $1 AND priority = $2
                          AND local_day(detected_at) <= $3),
                   hit AS (
                       SELECT employer_nsso, inss, coalesce(employer_class, '') AS c,
                              coalesce(worker_code, '') AS w
                         FROM inst WHERE subject IN ('WORKER_LINE', 'OCCUPATION')
                                     AND inss IS NOT NULL
                       UNION
                       SELECT l.employer_nsso, l.inss, l.employer_class, l.worker_code
                         FROM inst i JOIN worker_lines l
                           ON l.quarter = $1 AND l.employer_nsso = i.employer_nsso
                          AND l.inss = i.inss
                        WHERE i.subject = 'INSZ')
                   SELECT a.seat_id, a.unit, count(*) AS n
                     FROM hit h
                     JOIN attribution a ON a.quarter = $1 AND a.employer_nsso = h.employer_nsso
                    GROUP BY 1, 2""",
                q,
                ctx.domain,
                ctx.asof,
            )
            for r in lines:
                units[r["seat_id"]][r["unit"]].extra[f"lines_{tag}"] = int(r["n"])
            for r in hit:
                units[r["seat_id"]][r["unit"]].extra[f"hit_{tag}"] = int(r["n"])
        for seat_units in units.values():
            for unit in seat_units.values():
                unit.population = unit.extra.get("lines_now", 0)
        scored = """WITH inst AS (
                   SELECT i.anomaly_id, i.employer_nsso, i.error_id, i.subject,
                          local_day(i.resolved_at) <= $3 AS resolved,
                          greatest(0, least(coalesce(local_day(i.resolved_at), $3), $3)
                                      - local_day(i.detected_at)) AS age
                     FROM anomalies i
                    WHERE i.quarter = $1 AND i.priority = $2
                      AND local_day(i.detected_at) <= $3),
               scored AS (
                   SELECT a.seat_id, a.unit, inst.*,
                          least(greatest(2 * $4 - age, 0), 2 * $4) AS credit
                     FROM inst
                     JOIN attribution a
                       ON a.quarter = $1 AND a.employer_nsso = inst.employer_nsso)"""
        args = (quarter, ctx.domain, ctx.asof, target)
        rows = await conn.fetch(
            f"""{scored},
               agg AS (SELECT seat_id, unit, count(*) AS instances, sum(credit) AS credits
                         FROM scored GROUP BY 1, 2),
               top AS (
                   SELECT seat_id,
                          jsonb_agg(jsonb_build_object(
                              'unit', unit, 'anomaly_id', anomaly_id,
                              'employer_nsso', employer_nsso, 'error_id', error_id,
                              'subject', subject, 'age', age, 'credit', credit,
                              'resolved', resolved) ORDER BY rank) AS failing
                     FROM (SELECT *, row_number() OVER (PARTITION BY seat_id
                                                        ORDER BY age DESC, anomaly_id) AS rank
                             FROM scored) ranked
                    WHERE rank <= {MAX_FINDINGS} GROUP BY seat_id)
               SELECT agg.*, top.failing,
                      row_number() OVER (PARTITION BY agg.seat_id ORDER BY agg.unit) AS nth
                 FROM agg LEFT JOIN top ON top.seat_id = agg.seat_id""",
            *args,
        )
        found = []
        for r in rows:
            unit = units[r["seat_id"]][r["unit"]]
            unit.extra["instances"] = int(r["instances"])
            unit.extra["credits"] = int(r["credits"])
            unit.extra["findings_total"] = int(r["instances"])
            if r["nth"] == 1 and r["failing"]:
                found += [{**x, "seat_id": r["seat_id"]} for x in r["failing"]]
        for r in found:
            unit = units[r["seat_id"]][r["unit"]]
            state = "resolved after" if r["resolved"] else "open for"
            penalty = 1 - f.ratio(r["credit"], 2 * target)
            unit.extra.setdefault("findings", []).append(
                (
                    penalty,
                    ScoreFinding(
                        indicator=f"{ctx.domain}2",
                        employer_nsso=r["employer_nsso"],
                        subject=str(r["anomaly_id"]),
                        detail=f"{r['error_id']} ({r['subject']}) {state} {r['age']} days",
                        weight=f.shown(penalty),
                    ),
                )
            )
        return units

    # -- F --------------------------------------------------------------------------------

    async def _financial(self, conn, ctx: Context, quarter: int) -> dict:  # type: ignore[no-untyped-def]
        """Items = (employer, quarter, provision P1-P3 or balance) with ledger entries; an
        item is judged by an indicator once its reference date has passed: F1 the employer
        had not paid what is owed by the NSSO due date; F2 (provisions) / F3 (balance) the
        secretariat had not forwarded what is owed by the due date (late or short); F4 what
        was collected by one month after the due date was not all forwarded by then. What
        is owed is the DUE entries, or what the employer paid when none was recorded."""
        extra_days = int(ctx.spec.parameters.get("balance_extra_working_days", 15))
        grace_months = int(ctx.spec.parameters.get("forward_grace_months", 1))
        dues = due_dates(quarter, balance_extra_working_days=extra_days)
        due_on = (
            "CASE l.item WHEN 'P1' THEN $2::date WHEN 'P2' THEN $3::date "
            "WHEN 'P3' THEN $4::date ELSE $5::date END"
        )
        grace_on = due_on.replace("$2", "$6").replace("$3", "$7").replace("$4", "$8")
        grace_on = grace_on.replace("$5", "$9")
        flagged = f"""WITH it AS (
                   SELECT l.employer_nsso, l.item, {due_on} AS due_on, {grace_on} AS grace_on,
                          sum(l.amount_cents) FILTER (WHERE l.direction = 'DUE') AS due,
                          coalesce(sum(l.amount_cents) FILTER (
                              WHERE l.direction = 'EMPLOYER_PAID'), 0) AS paid,
                          coalesce(sum(l.amount_cents) FILTER (
                              WHERE l.direction = 'EMPLOYER_PAID' AND l.on_date <= {due_on}), 0)
                              AS paid_by_due,
                          coalesce(sum(l.amount_cents) FILTER (
                              WHERE l.direction = 'FORWARDED' AND l.on_date <= {due_on}), 0)
                              AS fwd_by_due,
                          coalesce(sum(l.amount_cents) FILTER (
                              WHERE l.direction = 'EMPLOYER_PAID' AND l.on_date <= {grace_on}),
                              0) AS paid_by_grace,
                          coalesce(sum(l.amount_cents) FILTER (
                              WHERE l.direction = 'FORWARDED' AND l.on_date <= {grace_on}), 0)
                              AS fwd_by_grace
                     FROM f_ledger l
                    WHERE l.quarter = $1 AND l.on_date <= $10
                    GROUP BY 1, 2),
               judged AS (
                   SELECT a.seat_id, a.unit, it.*, coalesce(it.due, it.paid) AS owed,
                          it.due_on < $10 AS due_passed, it.grace_on < $10 AS grace_passed
                     FROM it
                     JOIN attribution a ON a.quarter = $1 AND a.employer_nsso = it.employer_nsso),
               flagged AS (
                   SELECT *, owed > 0 AND due_passed AS f1_unit,
                          owed > 0 AND due_passed AND paid_by_due < owed AS f1,
                          owed > 0 AND due_passed AND fwd_by_due < owed AS f23,
                          paid_by_grace > 0 AND grace_passed AS f4_unit,
                          paid_by_grace > 0 AND grace_passed AND fwd_by_grace < paid_by_grace
                              AS f4
                     FROM judged)"""
        args = (
            quarter,
            *(dues[i] for i in LEDGER_ITEMS),
            *(add_months(dues[i], grace_months) for i in LEDGER_ITEMS),
            ctx.asof,
        )
        rows = await conn.fetch(
            f"""{flagged},
               agg AS (
                   SELECT seat_id, unit, count(*) AS items,
                          count(*) FILTER (WHERE f1_unit) AS f1_units,
                          count(*) FILTER (WHERE f1) AS f1_n,
                          count(*) FILTER (WHERE f1_unit AND item <> 'BALANCE') AS f2_units,
                          count(*) FILTER (WHERE f23 AND item <> 'BALANCE') AS f2_n,
                          count(*) FILTER (WHERE f1_unit AND item = 'BALANCE') AS f3_units,
                          count(*) FILTER (WHERE f23 AND item = 'BALANCE') AS f3_n,
                          count(*) FILTER (WHERE f4_unit) AS f4_units,
                          count(*) FILTER (WHERE f4) AS f4_n
                     FROM flagged GROUP BY 1, 2),
               top AS (
                   SELECT seat_id,
                          jsonb_agg(jsonb_build_object(
                              'unit', unit, 'employer_nsso', employer_nsso, 'item', item,
                              'owed', owed, 'paid_by_due', paid_by_due,
                              'fwd_by_due', fwd_by_due, 'paid_by_grace', paid_by_grace,
                              'fwd_by_grace', fwd_by_grace, 'f1', f1, 'f23', f23, 'f4', f4)
                              ORDER BY rank) AS failing
                     FROM (SELECT *, row_number() OVER (
                                      PARTITION BY seat_id
                                      ORDER BY f4 DESC, f23 DESC, employer_nsso, item) AS rank
                             FROM flagged WHERE f1 OR f23 OR f4) ranked
                    WHERE rank <= {MAX_FINDINGS} GROUP BY seat_id)
               SELECT agg.*, top.failing,
                      row_number() OVER (PARTITION BY agg.seat_id ORDER BY agg.unit) AS nth
                 FROM agg LEFT JOIN top ON top.seat_id = agg.seat_id""",
            *args,
        )
        units: dict = defaultdict(lambda: defaultdict(_Unit))
        failing = []
        for r in rows:
            unit = units[r["seat_id"]][r["unit"]]
            unit.population = int(r["items"])
            unit.extra["rates"] = {
                code: (int(r[f"{code.lower()}_n"]), int(r[f"{code.lower()}_units"]))
                for code in ("F1", "F2", "F3", "F4")
            }
            unit.extra["findings_total"] = sum(int(r[f"f{k}_n"]) for k in (1, 2, 3, 4))
            if r["nth"] == 1 and r["failing"]:
                failing += [{**x, "seat_id": r["seat_id"]} for x in r["failing"]]
        by_code = {i.code: i for i in ctx.spec.indicators}
        for r in failing:
            unit = units[r["seat_id"]][r["unit"]]
            failed = []
            if r["f1"]:
                failed.append(
                    ("F1", f"employer paid {r['paid_by_due']} of {r['owed']} cents by the due date")
                )
            if r["f23"]:
                code = "F2" if r["item"] in PROVISIONS else "F3"
                failed.append(
                    (code, f"forwarded {r['fwd_by_due']} of {r['owed']} cents by the due date")
                )
            if r["f4"]:
                failed.append(
                    (
                        "F4",
                        f"forwarded {r['fwd_by_grace']} of {r['paid_by_grace']} cents collected "
                        "one month after the due date",
                    )
                )
            for code, detail in failed:
                unit.extra.setdefault("findings", []).append(
                    (
                        by_code[code].weight,
                        ScoreFinding(
                            indicator=code,
                            employer_nsso=r["employer_nsso"],
                            subject=f"{r['employer_nsso']}/{quarter}/{r['item']}",
                            detail=detail,
                            weight=float(by_code[code].weight),
                        ),
                    )
                )
        return units

    # -- T --------------------------------------------------------------------------------

    async def _technical(self, conn, ctx: Context, quarter: int) -> dict:  # type: ignore[no-untyped-def]
        rows = await conn.fetch(
            """SELECT c.id, c.seat_id, c.catalogue_version, i.item_no, i.unit, i.employer_nsso,
                      i.inss, i.employer_class, i.worker_code, f.indicators, f.note
                 FROM t_campaigns c JOIN t_items i ON i.campaign_id = c.id
                 LEFT JOIN t_findings f
                   ON f.campaign_id = i.campaign_id AND f.item_no = i.item_no
                  AND local_day(f.recorded_at) <= $2
                WHERE c.quarter = $1 ORDER BY c.seat_id, i.item_no""",
            quarter,
            ctx.asof,
        )
        by_code = {i.code: i for i in ctx.spec.indicators}
        order = {i.code: n for n, i in enumerate(ctx.spec.indicators)}
        units: dict = defaultdict(lambda: defaultdict(_Unit))
        for r in rows:
            unit = units[r["seat_id"]][r["unit"]]
            unit.population += 1
            unit.extra["campaign"] = str(r["id"])
            unit.extra["recorded"] = unit.extra.get("recorded", 0) + (r["indicators"] is not None)
            found = [by_code[c] for c in (r["indicators"] or ()) if c in by_code]
            if not found:
                continue
            heaviest = max(found, key=lambda i: (i.weight, -order[i.code]))
            unit.failing[heaviest.code] += 1
            unit.extra.setdefault("findings", []).append(
                (
                    heaviest.weight,
                    ScoreFinding(
                        indicator=heaviest.code,
                        employer_nsso=r["employer_nsso"],
                        subject=f"item {r['item_no']}: line {r['employer_class']}/"
                        f"{r['worker_code']} of a worker",
                        detail=", ".join(r["indicators"]) + (f": {r['note']}" if r["note"] else ""),
                        weight=float(heaviest.weight),
                    ),
                )
            )
        return units

    # -- building a quarterly score --------------------------------------------------------

    def _unit_score(self, ctx: Context, unit: _Unit) -> tuple[Decimal | None, dict[str, Any]]:
        spec = ctx.spec
        if spec.formula == "wpu":
            weights = {i.code: i.weight for i in spec.indicators}
            failing = [weights[c] * n for c, n in unit.failing.items()]
            return f.wpu(failing, unit.population), {}
        if spec.formula == "wfr":
            rates = unit.extra.get("rates", {})
            return (
                f.wfr(f.Rate(i.weight, *rates.get(i.code, (0, 0))) for i in spec.indicators),
                {},
            )
        # anomalies
        if unit.population == 0:
            return None, {}
        floor = spec.param("floor")
        target = int(spec.param("target_days"))
        pct = f.ratio(min(unit.extra.get("hit_now", 0), unit.population), unit.population)
        prev_lines = unit.extra.get("lines_prev", 0)
        pct_prev = (
            f.ratio(min(unit.extra.get("hit_prev", 0), prev_lines), prev_lines)
            if prev_lines
            else None
        )
        s_drop = f.drop(pct, pct_prev, floor)
        s_life = f.life(unit.extra.get("credits", 0), unit.extra.get("instances", 0), target)
        score = f.blend(s_drop, s_life, spec.param("drop_weight"), spec.param("life_weight"))
        return score, {
            "pct": pct,
            "pct_previous": pct_prev,
            "s_drop": s_drop,
            "s_life": s_life,
            "lines": unit.population,
            "lines_with_anomaly": unit.extra.get("hit_now", 0),
            "lines_previous": prev_lines,
            "lines_with_anomaly_previous": unit.extra.get("hit_prev", 0),
            "instances": unit.extra.get("instances", 0),
            "life_credit_days": unit.extra.get("credits", 0),
        }

    def _build(self, ctx: Context, seat: SeatInfo, units: dict) -> DomainScoreFinal:
        spec = ctx.spec
        mine: dict[str, _Unit] = units.get(seat.seat, {})
        total = _Unit()
        findings: list[tuple[Decimal, ScoreFinding]] = []
        for unit in mine.values():
            total.population += unit.population
            for code, n in unit.failing.items():
                total.failing[code] += n
            for key, value in unit.extra.items():
                if key == "findings":
                    findings.extend(value)
                elif key == "rates":
                    rates = total.extra.setdefault("rates", {})
                    for code, (n, units_) in value.items():
                        a, b = rates.get(code, (0, 0))
                        rates[code] = (a + n, b + units_)
                elif isinstance(value, int):
                    total.extra[key] = total.extra.get(key, 0) + value
                else:
                    total.extra[key] = value
        score, components = self._unit_score(ctx, total)
        indicators = self._indicators(ctx, total, components)
        breakdown = []
        for name in (seat.seat, *seat.branches):
            unit = mine.get(name, _Unit())
            unit_score, _ = self._unit_score(ctx, unit)
            breakdown.append(
                BranchScore(
                    unit=name,
                    kind="SEAT" if name == seat.seat else "BRANCH",
                    population=unit.population,
                    score=float(f.final(unit_score)) if unit_score is not None else None,
                )
            )
        findings.sort(key=lambda x: (-x[0], x[1].indicator, x[1].subject))
        if spec.formula == "wpu" and ctx.domain == "T":
            components = {
                "items": total.population,
                "items_with_findings": total.extra.get("recorded", 0),
            }
        return self._payload(
            ctx,
            seat,
            score,
            components,
            indicators,
            total.population,
            breakdown,
            [x[1] for x in findings[:MAX_FINDINGS]],
            total.extra.get("findings_total", len(findings)),
            {
                "units": {
                    name: {
                        "population": u.population,
                        "failing": dict(sorted(u.failing.items())),
                        "extra": {k: v for k, v in sorted(u.extra.items()) if k != "findings"},
                    }
                    for name, u in sorted(mine.items())
                },
                "findings": [x[1].model_dump(mode="json") for x in findings],
            },
        )

    def _indicators(
        self, ctx: Context, total: _Unit, components: dict[str, Any]
    ) -> list[IndicatorValue]:
        spec = ctx.spec
        if spec.formula == "wpu":
            return [
                _indicator(i, total.failing.get(i.code, 0), total.population)
                for i in spec.indicators
            ]
        if spec.formula == "wfr":
            rates = total.extra.get("rates", {})
            return [_indicator(i, *rates.get(i.code, (0, 0))) for i in spec.indicators]
        first, second = spec.indicators
        return [
            _indicator(first, components.get("lines_with_anomaly", 0), total.population),
            _indicator(
                second,
                components.get("instances", 0) * 2 * int(spec.param("target_days"))
                - components.get("life_credit_days", 0),
                components.get("instances", 0) * 2 * int(spec.param("target_days")),
            ),
        ]

    def _payload(
        self,
        ctx: Context,
        seat: SeatInfo,
        score: Decimal | None,
        components: dict[str, Any],
        indicators: list[IndicatorValue],
        population: int,
        breakdown: list[BranchScore],
        findings: list[ScoreFinding],
        findings_total: int,
        facts: Any,
    ) -> DomainScoreFinal:
        value = f.final(score) if score is not None else None
        shown_components = {
            k: (f.shown(v) if isinstance(v, Decimal) else float(v))
            for k, v in components.items()
            if v is not None
        }
        return DomainScoreFinal(
            score_id=score_id(seat.seat, ctx.domain, ctx.period),
            provider=seat.provider,
            provider_kind=seat.provider_kind,
            seat=seat.seat,
            domain=ctx.domain,
            period=ctx.period,
            period_kind="YEAR" if len(ctx.period) == 4 else "QUARTER",
            applicable=value is not None,
            score=float(value) if value is not None else None,
            band=ctx.version.bands.band(value),
            catalogue_version=ctx.version.catalogue_version,
            formula_id=ctx.spec.formula,
            components=shown_components,
            indicators=tuple(indicators),
            population=population,
            branch_breakdown=tuple(breakdown),
            findings=tuple(findings),
            findings_total=findings_total,
            evaluation_date=ctx.evaluation,
            computed_at=ctx.computed_at,
            input_snapshot_id=_digest(
                {
                    "seat": seat.seat,
                    "domain": ctx.domain,
                    "period": ctx.period,
                    "catalogue": ctx.version.digest,
                    "asof": ctx.asof.isoformat(),
                    "facts": facts,
                }
            ),
        )

    # -- C --------------------------------------------------------------------------------

    async def _crosscheck(
        self, conn: asyncpg.Connection, ctx: Context, targets: Iterable[SeatInfo]
    ) -> list[DomainScoreFinal]:
        year = int(ctx.period)
        spec = ctx.spec
        target = int(spec.param("target_days"))
        for q in quarters_of_year(year):
            await attribute(conn, q)
        counts = {
            (r["year"], r["seat_id"]): r
            for r in await conn.fetch("SELECT * FROM year_counts WHERE year IN ($1, $1 - 1)", year)
        }
        rows = await conn.fetch(
            """WITH inst AS (
                   SELECT m.mismatch_id, m.employer_nsso, m.quarter, m.rules,
                          m.resolved_at IS NOT NULL
                              AND local_day(m.resolved_at) <= $2
                              AS resolved,
                          greatest(0, least(coalesce(local_day(m.resolved_at), $2), $2)
                                      - local_day(m.opened_at)) AS age
                     FROM mismatches m
                    WHERE m.quarter = ANY($1::int[])
                      AND local_day(m.opened_at) <= $2),
               scored AS (
                   SELECT a.seat_id, inst.*,
                          least(greatest(2 * $3 - age, 0), 2 * $3) AS credit,
                          row_number() OVER (PARTITION BY a.seat_id
                                             ORDER BY age DESC, inst.mismatch_id) AS rank,
                          count(*) OVER (PARTITION BY a.seat_id) AS instances,
                          sum(least(greatest(2 * $3 - age, 0), 2 * $3))
                              OVER (PARTITION BY a.seat_id) AS credits
                     FROM inst
                     JOIN attribution a
                       ON a.quarter = inst.quarter AND a.employer_nsso = inst.employer_nsso)
               SELECT * FROM scored WHERE rank <= $4 ORDER BY seat_id, rank""",
            list(quarters_of_year(year)),
            ctx.asof,
            target,
            MAX_FINDINGS,
        )
        lifetimes: dict[str, dict[str, Any]] = defaultdict(lambda: {"findings": []})
        for r in rows:
            seat = lifetimes[r["seat_id"]]
            seat["instances"], seat["credits"] = int(r["instances"]), int(r["credits"])
            penalty = 1 - f.ratio(r["credit"], 2 * target)
            state = "resolved after" if r["resolved"] else "open for"
            seat["findings"].append(
                ScoreFinding(
                    indicator="C2",
                    employer_nsso=r["employer_nsso"],
                    subject=str(r["mismatch_id"]),
                    detail=f"{'/'.join(r['rules'])} in {r['quarter']} {state} {r['age']} days",
                    weight=f.shown(penalty),
                )
            )
        out = []
        first, second = spec.indicators
        for seat in targets:
            if not spec.applies(seat.approved):
                continue
            now = counts.get((year, seat.seat))
            before = counts.get((year - 1, seat.seat))
            life = lifetimes.get(seat.seat, {"findings": []})
            instances, credits = life.get("instances", 0), life.get("credits", 0)
            triples = now["triples"] if now else 0
            components: dict[str, Any] = {}
            score = None
            if triples:
                floor = spec.param("floor")
                pct = f.ratio(now["mismatching"], triples)
                pct_prev = (
                    f.ratio(before["mismatching"], before["triples"])
                    if before and before["triples"]
                    else None
                )
                s_improve = f.drop(pct, pct_prev, floor)
                s_life = f.life(credits, instances, target)
                score = f.blend(
                    s_improve, s_life, spec.param("drop_weight"), spec.param("life_weight")
                )
                components = {
                    "pct": pct,
                    "pct_previous": pct_prev,
                    "s_improve": s_improve,
                    "s_life": s_life,
                    "triples": triples,
                    "mismatching": now["mismatching"],
                    "triples_previous": before["triples"] if before else None,
                    "mismatching_previous": before["mismatching"] if before else None,
                    "instances": instances,
                    "life_credit_days": credits,
                }
            span = instances * 2 * target
            indicators = [
                _indicator(first, now["mismatching"] if now else 0, triples),
                _indicator(second, span - credits, span),
            ]
            out.append(
                self._payload(
                    ctx,
                    seat,
                    score,
                    components,
                    indicators,
                    triples,
                    [],
                    life["findings"],
                    instances,
                    {
                        "counts": dict(now) if now else None,
                        "previous": dict(before) if before else None,
                        "instances": instances,
                        "credits": credits,
                        "findings": [x.model_dump(mode="json") for x in life["findings"]],
                    },
                )
            )
        return out


def quarter_total(version: CatalogueVersion, scores: Iterable[DomainScoreFinal]) -> dict[str, Any]:
    """The quarter result of a seat (§5): the weighted mean of its applicable quarterly
    domains (F is never among a provider's)."""
    used = {
        s.domain: Decimal(str(s.score))
        for s in scores
        if s.domain in QUARTERLY_DOMAINS and s.applicable and s.score is not None
    }
    weights = {d: version.domains[d].weight for d in used}
    value = f.total(used, weights)
    final = f.final(value) if value is not None else None
    return {
        "score": float(final) if final is not None else None,
        "band": version.bands.band(final),
        "domains": sorted(used, key=QUARTERLY_DOMAINS.index),
        "weights": {d: float(w) for d, w in weights.items()},
        "catalogue_version": version.catalogue_version,
    }


def year_total(
    version: CatalogueVersion,
    quarterly: dict[str, list[DomainScoreFinal]],
    yearly: Iterable[DomainScoreFinal],
) -> dict[str, Any]:
    """The year result (§5): quarterly domains = the mean of their quarterly scores
    (quarters without a score left out), T and C their yearly score, then the weighted mean."""
    used: dict[str, Decimal] = {}
    for domain, scores in quarterly.items():
        values = [Decimal(str(s.score)) for s in scores if s.applicable and s.score is not None]
        if values:
            used[domain] = f.ratio(sum(values, Decimal(0)), len(values))
    for s in yearly:
        if s.applicable and s.score is not None:
            used[s.domain] = Decimal(str(s.score))
    weights = {d: version.domains[d].weight for d in used}
    value = f.total(used, weights)
    final = f.final(value) if value is not None else None
    return {
        "score": float(final) if final is not None else None,
        "band": version.bands.band(final),
        "domains": {d: f.shown(v, 2) for d, v in sorted(used.items())},
        "weights": {d: float(w) for d, w in weights.items()},
        "catalogue_version": version.catalogue_version,
    }
