"""A generated year of Dimona changes and DmfA declarations with mismatches of every rule
injected, in a shuffled arrival order, with corrections from both sides afterwards."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from crosscheck.crosscheck_fixtures import (
    EMPLOYER_B,
    EMPLOYER_C,
    changed,
    declaration,
    lines_part,
    occ,
    state,
    wline,
)

from socsec.contracts.identifiers import nsso_number_from
from socsec.contracts.payloads.dimona import DimonaPeriodChanged
from socsec.contracts.payloads.dmfa import DmfaWorkerLine
from socsec.crosscheck.domain.quarters import bounds
from socsec.registry.domain.workers import insz_number

#: An employer without a DmfA mandate: its triples count for no seat.
EMPLOYER_SELF = nsso_number_from(1_234_560)
EMPLOYERS = (EMPLOYER_B, EMPLOYER_C, EMPLOYER_SELF)

PROFILES = (
    "ok",
    "ok_open_since_long",
    "ok_two_periods",
    "late_start",
    "short_gap",
    "jc_listed_dmfa",
    "jc_listed_dimona",
    "student_ok",
    "student_hours",
    "student_no_stu",
    "student_no_planned",
    "stu_no_student_line",
    "flexi_ok",
    "flexi_uncovered",
    "flexi_no_flx",
    "flx_no_flexi",
    "ext_ok",
    "ext_days",
    "occasional_no_ext",
    "ext_no_occasional",
    "dmfa_only",
    "dimona_only",
    "dwd_with_line",
    "dwd_only",
    "cancelled_with_line",
    "special_line_only",
    "special_line_and_period",
    "two_occupations_one_uncovered",
    "occupation_outside_quarter",
    "no_dimona_need",
)


@dataclass
class Year:
    """What to publish: the changes of each period in order, the declarations of each
    employer and quarter (original, then modifications), in an arrival order."""

    arrivals: list[object] = field(default_factory=list)
    periods: int = 0
    declarations: int = 0


def _day(first: date, offset: int) -> date:
    return first + timedelta(days=offset)


@dataclass
class Person:
    """One generated person at one employer in one quarter, and the period streams it adds."""

    insz: str
    employer: str
    first: date
    ids: Iterator[int]
    streams: list[list[DimonaPeriodChanged]]

    def period(
        self, worker_type: str = "OTH", start: date | None = None, end: date | None = None, **kw
    ) -> list[DimonaPeriodChanged]:
        after = state(
            next(self.ids),
            self.insz,
            worker_type,
            start or self.first,
            end,
            employer=self.employer,
            **kw,
        )
        stream = [changed("IN", after)]
        self.streams.append(stream)
        return stream


def person_lines(p: Person, profile: str, last: date, rng: random.Random, fixes: list) -> list:
    """The worker lines of one person for a profile; its periods go to ``p.streams``; the
    corrections to make later go to ``fixes``."""
    first = p.first
    insz = p.insz
    match profile:
        case "ok":
            p.period(end=last)
            return [wline(insz, "495", occ())]
        case "ok_open_since_long":
            p.period(start=date(2019, 3, 4))
            return [wline(insz, "015", occ(jc="218"))]
        case "ok_two_periods":
            p.period(end=_day(first, 30))
            p.period(start=_day(first, 31))
            return [wline(insz, "495", occ())]
        case "late_start":
            stream = p.period(start=_day(first, 20))
            if rng.random() < 0.5:  # the employer corrects its Dimona later
                fixes.append(("period", (stream, {"start_date": first})))
            return [wline(insz, "495", occ(start=first))]
        case "short_gap":
            p.period(end=_day(first, 9))
            p.period(start=_day(first, 12))
            return [wline(insz, "495", occ())]
        case "jc_listed_dmfa":
            p.period(start=date(2010, 1, 1), jc="XXX")
            if rng.random() < 0.5:  # the secretariat corrects the DmfA
                fixes.append(("line", wline(insz, "015", occ(jc="200"))))
            return [wline(insz, "015", occ(jc="302"))]
        case "jc_listed_dimona":
            p.period(jc="144")
            return [wline(insz, "015", occ(jc="200"))]
        case "student_ok":
            p.period("STU", first, last, hours=100, jc=None)
            return [wline(insz, "841", occ(jc="200"), hours=90)]
        case "student_hours":
            p.period("STU", first, last, hours=80, jc=None)
            return [wline(insz, "840", occ(jc="200"), hours=120)]
        case "student_no_stu":
            p.period("OTH")
            return [wline(insz, "841", occ(), hours=40)]
        case "student_no_planned":
            p.period("STU", first, last, jc=None)
            return [wline(insz, "841", hours=30)]
        case "stu_no_student_line":
            p.period("STU", first, _day(first, 40), hours=50, jc=None)
            return [wline(insz, "495", occ(end=_day(first, 40)))]
        case "flexi_ok":
            day = _day(first, 5)
            p.period("FLX", day, day, jc="302")
            return [wline(insz, "015", occ(jc="302", start=day, end=day, flexi=True, days=100))]
        case "flexi_uncovered":
            day = _day(first, 5)
            p.period("FLX", day, day, jc="302")
            o = occ(jc="302", start=day, end=_day(day, 3), flexi=True, days=400)
            return [wline(insz, "015", o)]
        case "flexi_no_flx":
            p.period("OTH", jc="302")
            return [wline(insz, "015", occ(jc="302", flexi=True))]
        case "flx_no_flexi":
            p.period("FLX", first, last, jc="302")
            return [wline(insz, "015", occ(jc="302"))]
        case "ext_ok":
            day = _day(first, 10)
            p.period("EXT", day, _day(day, 1), jc="302")
            o = occ(jc="302", start=day, end=_day(day, 1), occasional=True, days=200)
            return [wline(insz, "015", o)]
        case "ext_days":
            day = _day(first, 10)
            p.period("EXT", day, day, jc="302")
            o = occ(jc="302", start=day, end=day, occasional=True, days=300)
            return [wline(insz, "015", o)]
        case "occasional_no_ext":
            p.period("OTH", jc="302")
            return [wline(insz, "015", occ(jc="302", occasional=True, days=200))]
        case "ext_no_occasional":
            day = _day(first, 2)
            p.period("EXT", day, day, jc="302")
            return [wline(insz, "015", occ(jc="302", start=day, end=day, days=100))]
        case "dmfa_only":
            return [wline(insz, "495", occ())]
        case "dimona_only":
            stream = p.period(start=_day(first, 15))
            if rng.random() < 0.5:  # the employer cancels it later
                fixes.append(("period", (stream, {"is_cancelled": True})))
            return []
        case "dwd_with_line":
            p.period("DWD", first, first)
            return [wline(insz, "495", occ())]
        case "dwd_only":
            p.period("DWD", first, first)
            return []
        case "cancelled_with_line":
            p.period(start=date(2024, 6, 1), cancelled=True)
            return [wline(insz, "495", occ())]
        case "special_line_only":
            return [wline(insz, "879", occ())]
        case "special_line_and_period":
            p.period()
            return [wline(insz, "879", occ())]
        case "two_occupations_one_uncovered":
            p.period(end=_day(first, 29))
            two = (occ(end=_day(first, 29), seq=1), occ(start=_day(first, 45), seq=2))
            return [wline(insz, "495", *two)]
        case "occupation_outside_quarter":
            p.period(start=_day(first, -30), end=_day(first, -1))
            return [wline(insz, "495", occ(start=_day(first, -30), end=_day(first, -1)))]
        case "no_dimona_need":
            return [wline(insz, "495", needs_dimona=False)]
    raise ValueError(profile)


def generate(year: int = 2025, persons: int = 14, seed: int = 7) -> Year:
    """Every profile, plus ``persons`` consistent ones, per employer and quarter."""
    rng = random.Random(seed)
    born = iter(range(100_000))
    period_ids = iter(range(1_000_000, 10_000_000))
    out = Year()
    period_streams: list[list[DimonaPeriodChanged]] = []
    declaration_streams: list[list[object]] = []
    for employer in EMPLOYERS:
        for q in range(1, 5):
            quarter = year * 10 + q
            first, last = bounds(quarter)
            lines: list[DmfaWorkerLine] = []
            fixes: list[tuple[str, object]] = []
            extra = [rng.choice(["ok", "ok_open_since_long"]) for _ in range(persons)]
            for profile in [*PROFILES, *extra]:
                n = next(born)
                insz = insz_number(date(1970, 1, 1) + timedelta(days=n), 1 + n % 997)
                person = Person(insz, employer, first, period_ids, period_streams)
                lines += person_lines(person, profile, last, rng, fixes)
            rng.shuffle(lines)
            parts = 2 if len(lines) > 20 and rng.random() < 0.5 else 1
            size = -(-len(lines) // parts)
            original = declaration(lines[:size], employer=employer, quarter=quarter, parts=parts)
            stream: list[object] = [original]
            if parts > 1:
                stream.append(lines_part(original, 2, lines[size:]))
            for kind, fix in fixes:
                if kind == "line":
                    stream.append(
                        declaration([fix], kind="UPDATE", employer=employer, quarter=quarter)
                    )
                else:
                    periods, update = fix
                    before = periods[-1].after
                    after = before.model_copy(update=update)
                    periods.append(
                        changed("CANCEL" if update.get("is_cancelled") else "UPDATE", after, before)
                    )
            declaration_streams.append(stream)
    # Arrival: each stream keeps its own order (one key, one partition), streams interleave.
    streams: list[list[object]] = [list(s) for s in period_streams + declaration_streams]
    out.periods = sum(len(s) for s in period_streams)
    out.declarations = sum(len(s) for s in declaration_streams)
    while streams:
        pick = rng.randrange(len(streams))
        out.arrivals.append(streams[pick].pop(0))
        if not streams[pick]:
            streams.pop(pick)
    return out
