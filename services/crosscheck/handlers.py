"""Use cases of the crosscheck service. Each takes the transaction's connection and its
dependencies as parameters; the entry point (Kafka consumer, evaluator loop, command line,
HTTP route) opens the transaction and commits once.

The consumers only keep the read models and queue the triples a change touches
(``touches``); the evaluator judges queued triples once their data is committed, one
evaluator at a time. Judging committed data only is what makes the arrival order of Dimona
and DmfA irrelevant: whichever commits last, its own touch is judged after both are in.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from socsec.contracts.payloads.crosscheck import (
    CrosscheckMismatchOpened,
    CrosscheckMismatchResolved,
    CrosscheckYearCounted,
    RuleCount,
)
from socsec.contracts.payloads.dimona import DimonaPeriodChanged
from socsec.contracts.payloads.dmfa import (
    DmfaDeclarationNotified,
    DmfaWorkerLine,
    DmfaWorkerLinesNotified,
)
from socsec.contracts.payloads.registry import Scope, WorkerChanged
from socsec.crosscheck import repository as repo
from socsec.crosscheck.domain.lifecycle import (
    Change,
    OpenMismatch,
    Trigger,
    lifetime,
    resolved_by,
    transition,
)
from socsec.crosscheck.domain.model import (
    RULES,
    Evaluation,
    Occupation,
    Period,
    Rule,
    WorkerLine,
)
from socsec.crosscheck.domain.quarters import bounds, is_quarter
from socsec.crosscheck.domain.rules import RuleSettings, declaration_codes, evaluate_triple
from socsec.kit.authz import Authorizer
from socsec.kit.clock import Clock
from socsec.kit.outbox import Outbox, PendingEvent

log = logging.getLogger(__name__)

TOPIC = "crosscheck.anomalies.v1"
#: Key of the yearly counts of employers without a DmfA mandate (no seat).
NO_SEAT_KEY = "NO_SEAT"


@dataclass
class Deps:
    """What the use cases need besides the connection."""

    outbox: Outbox
    clock: Clock
    authorizer: Authorizer
    rules: RuleSettings = field(default_factory=RuleSettings)


def seat_of(authorizer: Authorizer, employer_nsso: str, quarter: int) -> tuple[str | None, ...]:
    """(secretariat, seat) the employer's triples of the quarter count for: its DmfA
    mandate on the last day of the quarter (``mandate_at_quarter_end``, barometer.md §2);
    (None, None) for an employer declaring itself."""
    mandate = authorizer.mandate_for(employer_nsso, Scope.DMFA, bounds(quarter)[1])
    if mandate is None:
        return (None, None)
    return (mandate.mandatary_id, mandate.seat_id)


# -- Dimona side -------------------------------------------------------------------------


async def on_period_changed(
    conn: asyncpg.Connection, deps: Deps, change: DimonaPeriodChanged
) -> bool:
    """A period changed: keep its new state and queue the quarters its before and after
    states meet. ``False`` when nothing was kept (simulation, or a change already applied)."""
    if change.simulation:
        return False
    after = change.after
    # A period still declared under a replaced BIS number is kept under the new number.
    insz = await repo.save_period(conn, after, change.declaration_id, change.changed_at)
    if insz is None:
        return False
    for state in (change.before, after):
        if state is None:
            continue
        if state.insz == after.insz:
            touched = insz
        else:
            touched = (await repo.replacements(conn, [state.insz])).get(state.insz, state.insz)
        await repo.touch_period(
            conn,
            state.employer_nsso,
            touched,
            [(state.start_date, state.end_date)],
            Trigger.DIMONA,
        )
    return True


# -- DmfA side ---------------------------------------------------------------------------


def _trigger(kind: str, origin: str) -> Trigger:
    if origin == "EX_OFFICIO":
        return Trigger.EX_OFFICIO
    return Trigger.DMFA_ORIGINAL if kind == "ORIGINAL" else Trigger.DMFA_UPDATE


def line_rows(
    employer_nsso: str, quarter: int, lines: tuple[DmfaWorkerLine, ...]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of ``worker_lines`` and ``occupations`` for notified lines. Occupations are kept
    only for lines needing a Dimona, so both implementations of the rules see the same."""
    lines_out, occupations_out = [], []
    for line in lines:
        lines_out.append(
            (
                employer_nsso,
                quarter,
                line.inss,
                line.employer_class,
                line.worker_code,
                line.needs_dimona,
                line.student_hours,
            )
        )
        if not line.needs_dimona:
            continue
        for o in line.occupations:
            occupations_out.append(
                (
                    employer_nsso,
                    quarter,
                    line.inss,
                    line.employer_class,
                    line.worker_code,
                    o.sequence,
                    o.start_date,
                    o.end_date,
                    o.joint_commission,
                    o.days,
                    o.flexi,
                    o.occasional,
                )
            )
    return lines_out, occupations_out


async def on_declaration_notified(
    conn: asyncpg.Connection, deps: Deps, notified: DmfaDeclarationNotified
) -> bool:
    """An accepted original replaces the quarter's lines; an accepted modification or
    ex-officio correction replaces the lines it changes and removes those it deletes.
    Refused and simulation declarations keep nothing. ``False`` when nothing was kept."""
    n = notified
    if (
        n.result != "ACCEPTED"
        or n.environment != "R"
        or n.employer_nsso is None
        or n.quarter is None
        or not is_quarter(n.quarter)
    ):
        return False
    employer, quarter = n.employer_nsso, n.quarter
    n = await _rekeyed(conn, n)
    trigger = _trigger(n.kind, n.origin)
    parts = max(1, n.worker_line_parts)
    lines, occupations = line_rows(employer, quarter, n.worker_lines)
    if n.kind == "ORIGINAL":
        first, last = bounds(quarter)
        await repo.replace_original(
            conn,
            employer,
            quarter,
            first,
            last,
            pid=n.employer_declaration_pid,
            ticket=n.ticket,
            origin=n.origin,
            parts=parts,
            at=n.notified_at,
        )
        await repo.save_lines(conn, employer, quarter, lines, occupations, replace=False)
        if parts == 1:
            await repo.touch_declaration(conn, employer, quarter, trigger)
        return True
    known = await repo.start_update(
        conn, employer, quarter, ticket=n.ticket, origin=n.origin, parts=parts, at=n.notified_at
    )
    if not known:
        log.warning(
            "modification %s of employer %s, quarter %s: the original was never received; ignored",
            n.ticket,
            employer,
            quarter,
        )
        return False
    deleted = [(d.inss, d.employer_class, d.worker_code) for d in n.deleted_lines]
    await repo.delete_lines(conn, employer, quarter, deleted)
    await repo.save_lines(conn, employer, quarter, lines, occupations)
    persons = {line.inss for line in n.worker_lines} | {d[0] for d in deleted}
    await repo.touch_persons(conn, employer, quarter, persons, trigger)
    return True


async def on_worker_lines_notified(
    conn: asyncpg.Connection, deps: Deps, part: DmfaWorkerLinesNotified
) -> bool:
    """A further part of the lines of the latest declaration. The original's triples are
    queued once its last part is in; a modification's persons as their lines arrive."""
    row = await repo.add_part(conn, part.employer_nsso, part.quarter, part.ticket, part.part)
    if row is None:
        return False
    part = await _rekeyed(conn, part)
    lines, occupations = line_rows(part.employer_nsso, part.quarter, part.worker_lines)
    await repo.save_lines(conn, part.employer_nsso, part.quarter, lines, occupations)
    trigger = _trigger(row["kind"], row["origin"])
    if row["kind"] == "ORIGINAL":
        if row["complete"]:
            await repo.touch_declaration(conn, part.employer_nsso, part.quarter, trigger)
    else:
        persons = {line.inss for line in part.worker_lines}
        await repo.touch_persons(conn, part.employer_nsso, part.quarter, persons, trigger)
    return True


async def _rekeyed(conn: asyncpg.Connection, n: Any) -> Any:
    """The notification with replaced BIS numbers turned into their national numbers."""
    deleted = getattr(n, "deleted_lines", ())
    replaced = await repo.replacements(
        conn, [line.inss for line in n.worker_lines] + [d.inss for d in deleted]
    )
    if not replaced:
        return n
    update: dict[str, Any] = {
        "worker_lines": tuple(
            line.model_copy(update={"inss": replaced[line.inss]}) if line.inss in replaced else line
            for line in n.worker_lines
        )
    }
    if deleted:
        update["deleted_lines"] = tuple(
            d.model_copy(update={"inss": replaced[d.inss]}) if d.inss in replaced else d
            for d in deleted
        )
    return n.model_copy(update=update)


# -- worker register -----------------------------------------------------------------------


async def on_worker_changed(conn: asyncpg.Connection, deps: Deps, worker: WorkerChanged) -> bool:
    """A BIS number was replaced by a national register number (crosscheck.md §3): the
    read models move to the new number, and the triples of both numbers are judged again,
    so a Dimona under the BIS and a DmfA under the national number meet. ``False`` when
    there is nothing to do (no replacement, or one already applied)."""
    old, new = worker.insz, worker.replaced_by
    if new is None or new == old or worker.deleted:
        return False
    new = (await repo.replacements(conn, [new])).get(new, new)
    if not await repo.record_replacement(conn, old, new, deps.clock.now()):
        return False
    periods, quarters = await repo.rekey_worker(conn, old, new)
    trigger = str(Trigger.WORKER_REGISTER)
    spans: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
    for p in periods:
        spans[p["employer_nsso"]].append((p["start_date"], p["end_date"]))
    for employer, employer_spans in spans.items():
        for insz in (old, new):
            await repo.touch_period(conn, employer, insz, employer_spans, trigger)
    for q in quarters:
        await repo.touch_persons(conn, q["employer_nsso"], q["quarter"], (old, new), trigger)
    return True


# -- judging triples ---------------------------------------------------------------------


def _period(r: asyncpg.Record) -> Period:
    return Period(
        id=r["id"],
        worker_type=r["worker_type"],
        start=r["start_date"],
        end=r["end_date"],
        joint_commission=r["joint_commission"],
        planned_hours=r["planned_hours"],
        cancelled=r["is_cancelled"],
    )


async def judge(
    conn: asyncpg.Connection, rules: RuleSettings, keys: list[repo.TripleKey]
) -> dict[repo.TripleKey, Evaluation]:
    """Evaluate triples from the read models: a few set-based loads, then the rules."""
    occupations: dict[tuple[Any, ...], list[Occupation]] = defaultdict(list)
    for r in await repo.occupations_of(conn, keys):
        occupations[tuple(r[c] for c in repo.LINE_COLUMNS[:5])].append(
            Occupation(
                sequence=r["sequence"],
                joint_commission=r["joint_commission"],
                start=r["start_date"],
                end=r["end_date"],
                days=r["days"],
                flexi=r["flexi"],
                occasional=r["occasional"],
            )
        )
    lines: dict[repo.TripleKey, list[WorkerLine]] = defaultdict(list)
    for r in await repo.lines_of(conn, keys):
        line_key = tuple(r[c] for c in repo.LINE_COLUMNS[:5])
        lines[(r["employer_nsso"], r["quarter"], r["insz"])].append(
            WorkerLine(
                worker_code=r["worker_code"],
                employer_class=r["employer_class"],
                needs_dimona=r["needs_dimona"],
                occupations=tuple(occupations.get(line_key, ())),
                student_hours=r["student_hours"],
            )
        )
    periods: dict[tuple[str, str], list[Period]] = defaultdict(list)
    pairs = sorted({(k[0], k[2]) for k in keys})
    for r in await repo.periods_of(conn, pairs):
        periods[(r["employer_nsso"], r["insz"])].append(_period(r))
    return {
        key: evaluate_triple(key[1], lines.get(key, ()), periods.get((key[0], key[2]), ()), rules)
        for key in keys
    }


def _counts(row: asyncpg.Record) -> dict[Rule, int]:
    return {rule: row[rule.lower()] for rule in RULES if row[rule.lower()]}


def _rule_counts(counts: dict[Rule, int]) -> tuple[RuleCount, ...]:
    return tuple(RuleCount(rule=str(rule), count=n) for rule, n in counts.items())


@dataclass
class EvaluationReport:
    """What one evaluator transaction did."""

    touches: int = 0
    triples: int = 0
    opened: int = 0
    updated: int = 0
    resolved: int = 0


async def evaluate_pending(conn: asyncpg.Connection, deps: Deps, limit: int) -> EvaluationReport:
    """Judge the triples of up to ``limit`` queued touches and apply the transitions:
    open (published), follow, resolve (published). Run by one evaluator at a time."""
    touches = await repo.take_touches(conn, limit)
    report = EvaluationReport(touches=len(touches))
    if not touches:
        return report
    targets = await repo.expand_touches(conn, touches)
    report.triples = len(targets)
    if not targets:
        return report
    keys: list[repo.TripleKey] = [(t["employer_nsso"], t["quarter"], t["insz"]) for t in targets]
    evaluations = await judge(conn, deps.rules, keys)
    current = {
        (r["employer_nsso"], r["quarter"], r["insz"]): (
            OpenMismatch(r["id"], _counts(r), tuple(r["codes"]), r["opened_at"]),
            r,
        )
        for r in await repo.open_mismatches(conn, keys)
    }
    now = deps.clock.now()
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    resolutions: list[tuple[Any, ...]] = []
    events: list[PendingEvent] = []
    for target, key in zip(targets, keys, strict=True):
        evaluation = evaluations[key]
        instance, row = current.get(key, (None, None))
        change = transition(instance, evaluation)
        employer, quarter, insz = key
        if change == Change.OPEN:
            mismatch_id = uuid.uuid4()
            secretariat, seat = seat_of(deps.authorizer, employer, quarter)
            counts = evaluation.counts
            inserts.append(
                (
                    mismatch_id,
                    employer,
                    quarter,
                    insz,
                    *(counts.get(rule, 0) for rule in RULES),
                    list(evaluation.codes),
                    secretariat,
                    seat,
                    now,
                    target["trigger"],
                    now,
                )
            )
            events.append(
                PendingEvent(
                    TOPIC,
                    "CrosscheckMismatchOpened",
                    employer,
                    CrosscheckMismatchOpened(
                        mismatch_id=mismatch_id,
                        employer_nsso=employer,
                        insz=insz,
                        quarter=quarter,
                        rules=_rule_counts(counts),
                        codes=evaluation.codes,
                        opened_at=now,
                        opened_by=target["trigger"],
                        secretariat=secretariat,
                        seat=seat,
                    ),
                )
            )
        elif change == Change.UPDATE:
            assert instance is not None
            updates.append((instance.id, evaluation.counts, evaluation.codes))
        elif change == Change.RESOLVE:
            assert instance is not None and row is not None
            by = resolved_by(Trigger(target["trigger"]))
            life = lifetime(instance.opened_at, now)
            resolutions.append((instance.id, str(by), life.days))
            events.append(
                PendingEvent(
                    TOPIC,
                    "CrosscheckMismatchResolved",
                    employer,
                    CrosscheckMismatchResolved(
                        mismatch_id=instance.id,
                        employer_nsso=employer,
                        insz=insz,
                        quarter=quarter,
                        rules=_rule_counts(instance.counts),
                        codes=instance.codes,
                        opened_at=instance.opened_at,
                        resolved_at=now,
                        resolved_by=str(by),
                        lifetime_days=life.days,
                        lifetime_seconds=life.seconds,
                        secretariat=row["secretariat"],
                        seat=row["seat_id"],
                    ),
                )
            )
    await repo.resolve_mismatches(conn, resolutions, now)
    await repo.update_mismatches(conn, updates, now)
    await repo.insert_mismatches(conn, inserts)
    await deps.outbox.publish_many(conn, events)
    report.opened, report.updated, report.resolved = len(inserts), len(updates), len(resolutions)
    return report


async def evaluate_now(
    conn: asyncpg.Connection, deps: Deps, employer_nsso: str, quarter: int, insz: str
) -> Evaluation:
    """The triple judged on the current read models, without recording anything."""
    return (await judge(conn, deps.rules, [(employer_nsso, quarter, insz)]))[
        (employer_nsso, quarter, insz)
    ]


@dataclass(frozen=True)
class QuarterSummary:
    """An employer's quarter as the cross-check sees it now."""

    declared: bool
    triples: int
    mismatching: int
    dmfa_workers: int
    dimona_workers: int
    per_rule: dict[Rule, int]
    declaration_codes: tuple[str, ...]


async def quarter_summary(
    conn: asyncpg.Connection, deps: Deps, employer_nsso: str, quarter: int
) -> QuarterSummary:
    """Every triple of (employer, quarter) judged now: the DMFAWorkersNbr and
    DIMONAWorkersNbr counts and the once-per-declaration codes in the configured
    ``count_mode``."""
    declared = await repo.declaration(conn, employer_nsso, quarter)
    if declared is None or not declared["complete"]:
        return QuarterSummary(False, 0, 0, 0, 0, {}, ())
    persons = await repo.persons_of(conn, employer_nsso, quarter)
    evaluations = list(
        (await judge(conn, deps.rules, [(employer_nsso, quarter, p) for p in persons])).values()
    )
    present = [e for e in evaluations if e.present]
    per_rule = {rule: n for rule in RULES if (n := sum(1 for e in present if rule in e.counts))}
    return QuarterSummary(
        declared=True,
        triples=len(present),
        mismatching=sum(e.failing for e in present),
        dmfa_workers=sum(e.in_dmfa for e in present),
        dimona_workers=sum(e.in_dimona for e in present),
        per_rule=per_rule,
        declaration_codes=declaration_codes(present, deps.rules),
    )


# -- the yearly recomputation ----------------------------------------------------------------


@dataclass(frozen=True)
class YearlyReport:
    year: int
    employer_quarters: int
    triples: int
    mismatching: int
    per_rule: dict[str, int]
    disagreements: int
    provisional: bool
    evaluation_date: date
    duration_ms: int
    seats_published: int = 0


async def run_year(
    conn: asyncpg.Connection, deps: Deps, year: int, evaluation_date: date
) -> YearlyReport:
    """Recompute every triple of ``year`` with set-based SQL over the read models, store
    the mismatching triples and the counts per seat, and compare with the incremental
    instances. Before ``evaluation_date`` the result is provisional."""
    started = time.perf_counter()  # a duration for operators, not a business time
    pairs = await repo.declared_employer_quarters(conn, year)
    # One mandate lookup per employer and quarter, not per triple.
    await repo.replace_seat_map(
        conn,
        year,
        [(year, e, q, *seat_of(deps.authorizer, e, q)) for e, q in pairs],
    )
    await repo.compute_year(conn, year, deps.rules)
    computed_at = deps.clock.now()
    seat_counts = await publish_year_counts(conn, deps, year, computed_at)
    totals = await repo.year_totals(conn, year)
    disagreements = await repo.count_disagreements(conn, year)
    provisional = deps.clock.today() < evaluation_date
    duration_ms = int((time.perf_counter() - started) * 1000)
    rules = deps.rules
    await repo.save_run(
        conn,
        {
            "year": year,
            "computed_at": computed_at,
            "evaluation_date": evaluation_date,
            "provisional": provisional,
            "employer_quarters": totals["employer_quarters"],
            "triples": totals["triples"],
            "mismatching": totals["mismatching"],
            **{f"c{i}": totals[f"c{i}"] for i in range(1, 7)},
            "disagreements": disagreements,
            "duration_ms": duration_ms,
            "settings": {
                "grace_days": rules.grace_days,
                "count_mode": rules.count_mode,
                "student_hours_mode": rules.student_hours_mode,
                "joint_committees": sorted(rules.joint_committees),
                "excluded_worker_types": sorted(rules.excluded_worker_types),
                "ignored_worker_codes": sorted(rules.ignored_worker_codes),
                "student_worker_codes": sorted(rules.student_worker_codes),
            },
        },
    )
    return YearlyReport(
        year=year,
        employer_quarters=totals["employer_quarters"],
        triples=totals["triples"],
        mismatching=totals["mismatching"],
        per_rule={f"C{i}": totals[f"c{i}"] for i in range(1, 7)},
        disagreements=disagreements,
        provisional=provisional,
        evaluation_date=evaluation_date,
        duration_ms=duration_ms,
        seats_published=seat_counts,
    )


async def publish_year_counts(
    conn: asyncpg.Connection, deps: Deps, year: int, computed_at: datetime
) -> int:
    """One ``CrosscheckYearCounted`` per seat of the year's counts, through the outbox in
    the run's transaction (key: the seat, so a seat's runs stay in order; the consumer keeps
    the latest). Re-running the year publishes the new counts again."""
    rows = await repo.yearly_seat_counts_with_secretariat(conn, year)
    events = [
        PendingEvent(
            TOPIC,
            "CrosscheckYearCounted",
            r["seat_id"] or NO_SEAT_KEY,
            CrosscheckYearCounted(
                year=year,
                seat=r["seat_id"],
                secretariat=r["secretariat"],
                employers=r["employers"],
                triples=r["triples"],
                mismatching=r["mismatching"],
                rules=tuple(
                    RuleCount(rule=f"C{i}", count=r[f"c{i}"]) for i in range(1, 7) if r[f"c{i}"]
                ),
                computed_at=computed_at,
            ),
        )
        for r in rows
    ]
    await deps.outbox.publish_many(conn, events)
    return len(events)
