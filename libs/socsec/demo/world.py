"""The demo's population, drawn from a seed: who works where, when and how during one year.

Everything here is plain data computed from ``(seed, employers, workers, year)``: the same
arguments give the same world, which is what makes a second run of the demo repeat nothing.
The fixed reference set of the registry (``shared/domain/README.md`` §5: three approved
secretariats with their seats and branches, two providers, employers A to D) is kept, and the
generated employers are spread over its five mandataries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from socsec.contracts.identifiers import nsso_number_from
from socsec.registry.demo import enterprise_number, reference_data
from socsec.registry.domain.workers import insz_number

#: (mandatary, approved?, seat, affiliation points, sender number of the seat, share of
#: the generated employers). PayPro declares its Dimona over REST; the others send files.
MANDATARIES: tuple[tuple[str, bool, str, tuple[str, ...], str, float], ...] = (
    (
        "M-EXEMPLUM",
        True,
        "S-EXEMPLUM-BXL",
        ("S-EXEMPLUM-BXL", "B-EXEMPLUM-GENT", "B-EXEMPLUM-LIEGE"),
        "054321",
        0.32,
    ),
    ("M-HORIZON", True, "S-HORIZON-NAMUR", ("S-HORIZON-NAMUR",), "061001", 0.22),
    (
        "M-NOORDERLICHT",
        True,
        "S-NOORDERLICHT-ANTWERPEN",
        ("S-NOORDERLICHT-ANTWERPEN",),
        "062001",
        0.22,
    ),
    ("M-PAYPRO", False, "S-PAYPRO-BXL", ("S-PAYPRO-BXL",), "012345", 0.12),
    ("M-LOONWERK", False, "S-LOONWERK-LEUVEN", ("S-LOONWERK-LEUVEN",), "071001", 0.12),
)
REST_MANDATARIES = frozenset({"M-PAYPRO"})

_TRADES = (
    "Bakery",
    "Garage",
    "Bistro",
    "Logistics",
    "Cleaning",
    "Printing",
    "Dental",
    "Florist",
    "Construction",
    "Software",
    "Hotel",
    "Brasserie",
    "Pharmacy",
    "Studio",
)
_TOWNS = ("Brussel", "Antwerpen", "Gent", "Liège", "Namur", "Leuven", "Mons", "Brugge")
_FAMILY = (
    "Mertens",
    "Willems",
    "Jacobs",
    "Goossens",
    "Martin",
    "Simon",
    "Lemaire",
    "Hermans",
    "Peeters",
    "Dubois",
    "Lambert",
    "Claes",
    "Maes",
    "Wouters",
)
_GIVEN = (
    "Noah",
    "Louis",
    "Arthur",
    "Jules",
    "Victor",
    "Olivia",
    "Louise",
    "Mila",
    "Alice",
    "Juliette",
    "Emma",
    "Lucas",
    "Lina",
    "Adam",
)

#: The largest employer of the world: its DmfA declaration (about 3 MB) is larger than a
#: default Kafka message and well under the 24 MiB a batch form may hold.
MAX_EMPLOYER_SIZE = 2500

#: Worker kinds and their shares of the population.
KINDS = (("WHITE", 0.46), ("BLUE", 0.30), ("STUDENT", 0.16), ("FLEXI", 0.04), ("EXTRA", 0.04))


@dataclass
class Employer:
    nsso: str
    enterprise: str
    name: str
    mandatary: str
    seat: str
    affiliation: str
    sender: str
    approved: bool
    employer_class: str = "000"
    #: Per quarter (1..4): what the employer does wrong with its DmfA.
    silent: set[int] = field(default_factory=set)
    late: set[int] = field(default_factory=set)
    workers: list[Worker] = field(default_factory=list)

    @property
    def rest(self) -> bool:
        return self.mandatary in REST_MANDATARIES


@dataclass
class Worker:
    insz: str
    family_name: str
    given_name: str
    sex: str
    kind: str
    employer: Employer
    #: OTH (WHITE, BLUE): the period of the year; STUDENT: per quarter its planned hours;
    #: FLEXI / EXTRA: per quarter the days worked.
    start: date | None = None
    end: date | None = None
    student_hours: dict[int, int] = field(default_factory=dict)
    days: dict[int, list[date]] = field(default_factory=dict)
    #: As declared in Dimona (``XXX``: a committee outside the Dimona list, 200 in DmfA).
    joint_committee: str = "XXX"
    #: What the demo gets wrong on purpose (cross-check and DmfA anomalies).
    cancelled: bool = False  # the IN is cancelled: no period, no DmfA line
    updated: bool = False  # the OUT's end is corrected by an UPDATE
    wrong_contribution: set[int] = field(default_factory=set)  # quarters, fixed by a DMWA
    too_many_days: set[int] = field(default_factory=set)  # quarters (90015-096)
    no_dimona: bool = False  # declared in DmfA without any Dimona (C1)
    missing_in_dmfa: set[int] = field(default_factory=set)  # Dimona but no line (C2)
    hours_over_dimona: set[int] = field(default_factory=set)  # students, C6 90017-502
    pay: int = 0  # monthly pay, cents


@dataclass
class World:
    seed: int
    year: int
    employers: list[Employer]
    workers: list[Worker]

    def by_mandatary(self, mandatary: str) -> list[Employer]:
        return [e for e in self.employers if e.mandatary == mandatary]

    def registry_data(self) -> dict[str, list[dict[str, Any]]]:
        """The reference data of the registry in its import format: the fixed set plus the
        generated employers, their mandates and every worker of the identification register."""
        data = reference_data()
        known = {e["nsso_number"] for e in data["employers"]}
        for e in self.employers:
            if e.nsso in known:
                continue
            data["employers"].append(
                {
                    "nsso_number": e.nsso,
                    "enterprise_number": e.enterprise,
                    "name": e.name,
                    "language": "nl" if e.mandatary in ("M-NOORDERLICHT", "M-LOONWERK") else "fr",
                    "registered_from": f"{self.year - 5}-01-01",
                    "employer_classes": [
                        {
                            "employer_class": e.employer_class,
                            "from_quarter": (self.year - 5) * 10 + 1,
                        }
                    ],
                }
            )
            data["mandates"].append(
                {
                    "id": f"MD-DEMO-{e.nsso}",
                    "employer_nsso": e.nsso,
                    "mandatary_id": e.mandatary,
                    "affiliation_point": e.affiliation,
                    "scopes": ["DIMONA", "DMFA"]
                    + (["CONTRIBUTION_COLLECTION"] if e.approved else []),
                    "written_mandate_ref": f"DEMO-{e.nsso}",
                    "signed_on": f"{self.year - 2}-11-20",
                    "proxy_registered_on": f"{self.year - 2}-11-25",
                    "valid_from": f"{self.year - 1}-01-01",
                }
            )
        known_workers = {w["inss"] for w in data["workers"]}
        for w in self.workers:
            if w.insz not in known_workers:
                data["workers"].append(
                    {
                        "inss": w.insz,
                        "family_name": w.family_name,
                        "given_name": w.given_name,
                        "sex": w.sex,
                        "nationality": "150",
                        "flexi_eligible": w.kind == "FLEXI",
                    }
                )
        return data


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * quarter - 2, 1)
    end = (date(year, 3 * quarter + 1, 1) if quarter < 4 else date(year + 1, 1, 1)) - timedelta(1)
    return start, end


def _weekdays(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def build(seed: int, employers: int, workers: int, year: int) -> World:
    """The world of ``seed``: ``employers`` employers (the four of the reference set
    included) and ``workers`` workers."""
    rng = random.Random(seed)
    reference = reference_data()
    fixed_mandates = {
        m.get("employer_nsso") or m["employer"]["nsso_number"]: m for m in reference["mandates"]
    }
    by_id = {m[0]: m for m in MANDATARIES}
    staff: list[Employer] = []
    for e in reference["employers"][: max(0, employers)]:
        mandate = fixed_mandates[e["nsso_number"]]
        mandatary, approved, seat, _, sender, _ = by_id[mandate["mandatary_id"]]
        staff.append(
            Employer(
                e["nsso_number"],
                e["enterprise_number"],
                e["name"],
                mandatary,
                seat,
                mandate["affiliation_point"],
                sender,
                approved,
            )
        )
    shares = [m[5] for m in MANDATARIES]
    for i in range(employers - len(staff)):
        mandatary, approved, seat, points, sender, _ = rng.choices(MANDATARIES, shares)[0]
        staff.append(
            Employer(
                nsso=nsso_number_from(1_600_000 + i),
                enterprise=enterprise_number(4_000_000 + i * 7),
                name=f"{rng.choice(_TRADES)} {rng.choice(_FAMILY)} {rng.choice(_TOWNS)}",
                mandatary=mandatary,
                seat=seat,
                affiliation=rng.choice(points),
                sender=sender,
                approved=approved,
            )
        )
    # The few employers who stay silent or declare late in a quarter.
    for e in staff[4:]:
        for q in range(1, 5):
            draw = rng.random()
            if draw < 0.02:
                e.silent.add(q)
            elif draw < 0.07:
                e.late.add(q)
    # Employer sizes: a long tail, every employer at least one worker.
    weights = [rng.paretovariate(1.3) for _ in staff]
    total = sum(weights)
    kinds, kind_weights = zip(*KINDS, strict=True)
    people: list[Worker] = []
    taken: set[str] = set()
    sizes = [min(MAX_EMPLOYER_SIZE, max(1, round(workers * w / total))) for w in weights]
    # What the cap took from the largest goes to the others, largest first.
    room = sorted(range(len(staff)), key=lambda i: -weights[i])
    while sum(sizes) < workers and any(sizes[i] < MAX_EMPLOYER_SIZE for i in room):
        for i in room:
            if sum(sizes) >= workers:
                break
            if sizes[i] < MAX_EMPLOYER_SIZE:
                sizes[i] += 1
    for e, count in zip(staff, sizes, strict=True):
        for _ in range(count):
            if len(people) >= workers:
                break
            kind = rng.choices(kinds, kind_weights)[0]
            born = (
                (date(2003, 1, 1) + timedelta(days=rng.randrange(2000)))
                if kind == "STUDENT"
                else date(1965, 1, 1) + timedelta(days=rng.randrange(12000))
            )
            insz = insz_number(born, rng.randrange(1, 999))
            while insz in taken:
                insz = insz_number(born, rng.randrange(1, 999))
            taken.add(insz)
            sex = rng.choice("MF")
            w = Worker(
                insz=insz,
                family_name=rng.choice(_FAMILY),
                given_name=rng.choice(_GIVEN),
                sex=sex,
                kind=kind,
                employer=e,
            )
            _plan(rng, w, year)
            e.workers.append(w)
            people.append(w)
    return World(seed, year, staff, people)


def _plan(rng: random.Random, w: Worker, year: int) -> None:
    """What happens to ``w`` during the year, and what its employer gets wrong."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    if w.kind in ("WHITE", "BLUE"):
        w.joint_committee = "XXX" if w.kind == "WHITE" else rng.choice(("124", "140", "302"))
        w.pay = rng.randrange(240_000, 520_000) // 100 * 100
        w.start = first if rng.random() < 0.8 else first + timedelta(days=rng.randrange(20, 300))
        if rng.random() < 0.08:
            w.end = min(last, w.start + timedelta(days=rng.randrange(30, 200)))
            w.updated = rng.random() < 0.25
        w.cancelled = rng.random() < 0.006
        for q in range(1, 5):
            draw = rng.random()
            if draw < 0.03:
                w.wrong_contribution.add(q)
            elif draw < 0.04:
                w.too_many_days.add(q)
            elif draw < 0.045:
                w.missing_in_dmfa.add(q)
        w.no_dimona = not w.cancelled and rng.random() < 0.004
    elif w.kind == "STUDENT":
        w.joint_committee = rng.choice(("XXX", "302"))
        for q in range(1, 5):
            if rng.random() < (0.8 if q == 3 else 0.45):
                w.student_hours[q] = rng.randrange(16, 140)
                if rng.random() < 0.03:
                    w.hours_over_dimona.add(q)
        if not w.student_hours:
            w.student_hours[3] = rng.randrange(16, 140)
    else:  # FLEXI, EXTRA: a few days here and there, in the horeca
        w.joint_committee = "302"
        for q in range(1, 5):
            if rng.random() < 0.6:
                start, end = quarter_bounds(year, q)
                days = sorted(rng.sample(_weekdays(start, end), rng.randrange(1, 4)))
                w.days[q] = days
        if not w.days:
            start, end = quarter_bounds(year, 2)
            w.days[2] = [rng.choice(_weekdays(start, end))]
        w.pay = 1500 * 100  # per day, cents
