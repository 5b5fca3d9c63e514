"""The yearly recomputation (set-based SQL) against the incremental path, on a generated
year with mismatches of every rule injected and corrections from both sides."""

from __future__ import annotations

import random
from datetime import date

from crosscheck.crosscheck_fixtures import (
    EMPLOYER_C,
    changed,
    declaration,
    occ,
    start_harness,
    state,
    wline,
)
from crosscheck.crosscheck_year import EMPLOYER_SELF, generate

from socsec.contracts.envelope import Envelope
from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.crosscheck import CrosscheckYearCounted
from socsec.contracts.payloads.dimona import DimonaPeriodChanged
from socsec.crosscheck import handlers
from socsec.crosscheck.domain.quarters import quarters_of_year


async def test_incremental_and_yearly_agree_on_a_generated_year(env) -> None:
    cc = await start_harness(env)
    try:
        year = generate(2025)
        rng = random.Random(3)
        for item in year.arrivals:
            if isinstance(item, DimonaPeriodChanged):
                await cc.period(item)
            else:
                await cc.dmfa(item)
            if rng.random() < 0.03:  # the evaluator runs while events keep arriving
                await cc.evaluate()
        await cc.evaluate()

        async with cc.db.transaction() as conn:
            report = await handlers.run_year(conn, cc.deps, 2025, date(2026, 6, 30))
            yearly = {
                (r["employer_nsso"], r["quarter"], r["insz"]): (
                    tuple(r[f"c{i}"] for i in range(1, 7)),
                    tuple(r["codes"]),
                    r["seat_id"],
                )
                for r in await conn.fetch("SELECT * FROM yearly_mismatches WHERE year = 2025")
            }
            seats = {
                r["seat_id"]: dict(r) for r in await conn.fetch("SELECT * FROM yearly_seat_counts")
            }
            resolved_by = {
                r["resolved_by"]
                for r in await conn.fetch(
                    "SELECT resolved_by FROM mismatches WHERE resolved_at IS NOT NULL"
                )
            }
            summaries = [
                await handlers.quarter_summary(conn, cc.deps, employer, quarter)
                for employer in {k[0] for k in yearly}
                for quarter in quarters_of_year(2025)
            ]
        incremental = {
            key: (tuple(r[f"c{i}"] for i in range(1, 7)), tuple(r["codes"]), r["seat_id"])
            for key, r in (await cc.open_mismatches()).items()
        }
    finally:
        await cc.close()

    assert report.disagreements == 0
    assert yearly == incremental
    # Every rule was injected and found, with every official code.
    assert all(report.per_rule[rule] > 0 for rule in ("C1", "C2", "C3", "C4", "C5", "C6"))
    codes = {c for _, found, _ in yearly.values() for c in found}
    assert codes == {
        "90007-262",
        "90007-263",
        "90015-456",
        "90015-485",
        "90017-429",
        "90017-502",
        "90017-504",
    }
    # Corrections from both sides resolved instances on the way.
    assert {"DIMONA", "DMFA_UPDATE"} <= resolved_by
    # The counts per seat add up, with the employer declaring itself under no seat.
    assert set(seats) == {"S-PAYPRO", "S-EXEMPLUM-BXL", None}
    assert seats[None]["employers"] == 1
    assert sum(s["mismatching"] for s in seats.values()) == report.mismatching == len(yearly)
    assert sum(s["triples"] for s in seats.values()) == report.triples
    assert report.triples == sum(s.triples for s in summaries)
    assert report.mismatching == sum(s.mismatching for s in summaries)
    assert report.employer_quarters == 12
    assert report.provisional  # the business clock (1 August 2025) is before 30 June 2026
    assert {k for k in yearly if k[0] == EMPLOYER_SELF}


async def _year_counts(cc) -> list[tuple[str, CrosscheckYearCounted]]:
    """The CrosscheckYearCounted events of the outbox, in order, with their Kafka key."""
    async with cc.db.connection() as conn:
        rows = await conn.fetch("SELECT key, value FROM outbox ORDER BY id")
    return [
        (bytes(r["key"]).decode(), p)
        for r in rows
        if isinstance(p := parse_payload(Envelope.from_bytes(r["value"])), CrosscheckYearCounted)
    ]


async def test_the_yearly_run_publishes_the_counts_per_seat_each_time(env) -> None:
    cc = await start_harness(env)
    try:
        anna, bert, carl = "88041212434", "92073021590", "69123103187"
        # Employer B (seat S-PAYPRO): Anna consistent, Bert without Dimona (C1).
        await cc.period(changed("IN", state(1, anna, start=date(2024, 1, 1))))
        await cc.dmfa(declaration([wline(anna, "495", occ()), wline(bert, "495", occ())]))
        # Employer C (seat S-EXEMPLUM-BXL): Carl's period starts late (C3), in Q3 too.
        late = state(2, carl, start=date(2025, 5, 15), employer=EMPLOYER_C)
        await cc.period(changed("IN", late))
        await cc.dmfa(
            declaration([wline(carl, "495", occ(start=date(2025, 4, 1)))], employer=EMPLOYER_C)
        )
        await cc.evaluate()
        async with cc.db.transaction() as conn:
            first = await handlers.run_year(conn, cc.deps, 2025, date(2026, 6, 30))
        assert first.seats_published == 2
        counted = {p.seat: p for _, p in await _year_counts(cc)}
        assert set(counted) == {"S-PAYPRO", "S-EXEMPLUM-BXL"}
        paypro = counted["S-PAYPRO"]
        assert (paypro.year, paypro.secretariat, paypro.employers) == (2025, "M-PAYPRO", 1)
        assert (paypro.triples, paypro.mismatching) == (2, 1)
        assert [(r.rule, r.count) for r in paypro.rules] == [("C1", 1)]
        exemplum = counted["S-EXEMPLUM-BXL"]
        assert (exemplum.triples, exemplum.mismatching) == (1, 1)
        assert [(r.rule, r.count) for r in exemplum.rules] == [("C3", 1)]
        assert paypro.computed_at == cc.clock.now()

        # Bert's Dimona arrives; the year is run again: every seat is published again, with
        # the new counts for S-PAYPRO and the same for S-EXEMPLUM-BXL.
        await cc.period(changed("IN", state(3, bert, start=date(2024, 1, 1))))
        await cc.evaluate()
        async with cc.db.transaction() as conn:
            await handlers.run_year(conn, cc.deps, 2025, date(2026, 6, 30))
        again = [p for _, p in await _year_counts(cc)][2:]
        latest = {p.seat: p for p in again}
        assert len(again) == 2 and set(latest) == {"S-PAYPRO", "S-EXEMPLUM-BXL"}
        assert (latest["S-PAYPRO"].triples, latest["S-PAYPRO"].mismatching) == (2, 0)
        assert latest["S-PAYPRO"].rules == ()
        assert latest["S-EXEMPLUM-BXL"].model_dump(exclude={"computed_at"}) == (
            exemplum.model_dump(exclude={"computed_at"})
        )
        # Keyed by seat, so that a seat's runs stay in order on one partition.
        assert [key for key, _ in await _year_counts(cc)] == [
            "S-EXEMPLUM-BXL",
            "S-PAYPRO",
            "S-EXEMPLUM-BXL",
            "S-PAYPRO",
        ]
    finally:
        await cc.close()
