"""The validation rules of a DmfA declaration (dmfa.md §4, §6; crosscheck.md §2).

:func:`evaluate` judges a read :class:`~socsec.dmfa.domain.model.Declaration` against
:class:`Facts` (what the registry, the DmfA store and the personnel file say, loaded by the
handler beforehand) and :class:`Rules` (the configurable defaults and tables), and returns
an :class:`~socsec.dmfa.domain.model.Outcome`: accepted (result 1) with its P/NP anomalies,
or refused (result 0) with a diagnosis. Pure functions over values; each rule is one small
function named after what it checks, with its ErrorID in the catalogue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from stdnum.be import bis, nn

from socsec.contracts.identifiers import is_valid_enterprise_number, nsso_check_ok
from socsec.dmfa.domain.catalogue import anomaly
from socsec.dmfa.domain.model import (
    Anomaly,
    Declaration,
    DimonaPeriod,
    Employer,
    Kind,
    NaturalPerson,
    Occupation,
    Outcome,
    PathItem,
    Severity,
    StoredDeclaration,
    UpdateAction,
    WorkerRecord,
)
from socsec.dmfa.domain.model import Diagnosis as D
from socsec.dmfa.domain.quarters import bounds, is_quarter, mon_sat_days, prescription_date
from socsec.dmfa.domain.tables import Tables, round_half_up


@dataclass(frozen=True)
class Rules:
    """The configurable part of the rules (dmfa.md "Defaults to make configurable")."""

    tables: Tables
    contribution_tolerance_cents: int = 100
    days_tolerance: int = 0  # whole days, 90015-096
    hours_tolerance: int = 0  # hundredths of hours, 00064-032
    line_max_daily_hours: int = 11  # whole hours per Monday-Saturday day, 90012-260
    prescription_years: int = 3
    prescription_margin_days: int = 10
    noss_check_enabled: bool = True
    unknown_inss_policy: str = "accept"  # or "refuse" (90017-151)
    max_p_line_share: float | None = None  # diagnosis 4, off by default
    max_missing_dimona_share: float | None = None  # diagnosis 1, off by default
    crosscheck: bool = True  # official Dimona cross-check codes in the NOTI
    crosscheck_grace_days: int = 0
    excluded_worker_types: frozenset[str] = frozenset({"DWD", "STG"})


@dataclass
class Facts:
    """What the rules need to know beyond the declaration, loaded up front."""

    today: date
    by_nsso: Employer | None = None
    by_enterprise: Employer | None = None
    nsso_in_registry: bool = False
    #: False: the declarant holds no DmfA mandate for the employer (00011-155); None: not
    #: checked (ex officio, or the employer is unknown and refused for that).
    mandate_ok: bool | None = None
    original_exists: bool = False
    unknown_workers: frozenset[str] = frozenset()
    stored: StoredDeclaration | None = None
    #: Qualifying Dimona periods of the employer overlapping the quarter, by INSZ; ``None``
    #: when the cross-check is not made.
    dimona: dict[str, list[DimonaPeriod]] | None = None
    #: For a modification: the worker lines of the declaration once the modification is
    #: applied, (INSZ, line), for the declaration-level cross-check.
    resulting_lines: list[tuple[str, WorkerRecord]] | None = None


@dataclass
class _Run:
    """One evaluation: where findings go, and the declaration's context."""

    declaration: Declaration
    facts: Facts
    rules: Rules
    update: bool
    quarter_ok: bool
    start: date
    end: date
    employer: Employer | None = None
    found: list[Anomaly] = field(default_factory=list)

    def add(
        self, code: str, value: object = None, path: tuple[PathItem, ...] = (), **kw: object
    ) -> None:
        self.found.append(anomaly(code, value=value, path=path, update=self.update, **kw))  # type: ignore[arg-type]


def employer_path(d: Declaration) -> tuple[PathItem, ...]:
    """The NOTI Path of the employer declaration (PathType order)."""
    return (("Quarter", str(d.quarter)), ("NOSSRegistrationNbr", d.nsso))


def person_path(base: tuple[PathItem, ...], p: NaturalPerson) -> tuple[PathItem, ...]:
    """The Path down to a natural person."""
    return (*base, ("NaturalPersonSequenceNbr", str(p.sequence)), ("INSS", p.inss))


def line_path(base: tuple[PathItem, ...], r: WorkerRecord) -> tuple[PathItem, ...]:
    """The Path down to a worker line."""
    return (*base, ("EmployerClass", r.employer_class), ("WorkerCode", r.worker_code))


def occupation_path(base: tuple[PathItem, ...], o: Occupation) -> tuple[PathItem, ...]:
    """The Path down to an occupation."""
    return (*base, ("OccupationSequenceNbr", str(o.sequence)))


# -- employer, quarter, mandate ---------------------------------------------------------------


def check_employer(run: _Run) -> None:
    """90007-151, 00011-004, 00011-051, 00014-004, 00014-235: who the employer is."""
    d, f = run.declaration, run.facts
    path = employer_path(d)
    if not d.nsso_given and not d.company_given:
        run.add("90007-151", path=path)
        return
    registered = (
        (lambda e: e.registered_during(run.start, run.end)) if run.quarter_ok else (lambda e: True)
    )
    if d.nsso_given:
        if run.rules.noss_check_enabled and not nsso_check_ok(d.nsso) and not f.nsso_in_registry:
            run.add("00011-004", d.nsso, path)
        elif f.by_nsso is None or not registered(f.by_nsso):
            run.add("00011-051", d.nsso, path)
        else:
            run.employer = f.by_nsso
    if d.company_given:
        if not is_valid_enterprise_number(d.company_id):
            run.add("00014-004", d.company_id, path)
        elif not d.nsso_given:
            if f.by_enterprise is None or not registered(f.by_enterprise):
                run.add("00014-235", d.company_id, path)
            else:
                run.employer = f.by_enterprise
        elif f.by_nsso is not None and f.by_nsso.enterprise_number != d.company_id:
            run.add("90007-151", d.company_id, path)
            run.employer = None


def check_quarter(run: _Run) -> None:
    """00013-003 (before 20031 or not ended), 00013-313 / 90219-181 (prescribed)."""
    d, today = run.declaration, run.facts.today
    path = employer_path(d)
    if not run.quarter_ok or today <= run.end:
        run.add("00013-003", d.quarter, path)
        return
    limit = prescription_date(
        d.quarter,
        years=run.rules.prescription_years,
        margin_days=run.rules.prescription_margin_days,
    )
    if today > limit:
        if run.update:
            # A modification of a prescribed quarter is not allowed (its own code, not a twin).
            run.found.append(anomaly("90219-181", value=d.quarter, path=path))
        else:
            run.add("00013-313", d.quarter, path)


def check_mandate(run: _Run) -> None:
    """00011-155: the declarant holds no usable DmfA mandate for the employer."""
    if run.facts.mandate_ok is False:
        run.add("00011-155", run.declaration.nsso, employer_path(run.declaration))


def check_original_unique(run: _Run) -> None:
    """90007-006: an accepted original already exists for the employer and quarter."""
    if not run.update and run.facts.original_exists:
        run.add("90007-006", run.declaration.quarter, employer_path(run.declaration))


# -- uniqueness -----------------------------------------------------------------------------


def _duplicates(keys: Iterable[object]) -> set[object]:
    keys = list(keys)
    if len(keys) < 2:
        return set()
    return {k for k, n in Counter(keys).items() if n > 1}


def insz_valid(number: str) -> bool:
    """A national register or BIS number with valid check digits (python-stdnum). The
    reading has already made it 11 digits; 0 is no longer allowed (identifiers.md §1)."""
    return number.strip("0") != "" and (nn.is_valid(number) or bis.is_valid(number))


def check_persons_unique(run: _Run) -> None:
    """90017-006 (same INSZ twice), 00023-006 (same sequence number twice)."""
    d = run.declaration
    base = employer_path(d)
    for inss in sorted(_duplicates(p.inss for p in d.persons)):  # type: ignore[type-var]
        person = next(p for p in d.persons if p.inss == inss)
        run.add("90017-006", inss, person_path(base, person))
    for seq in sorted(_duplicates(p.sequence for p in d.persons)):  # type: ignore[type-var]
        run.add("00023-006", seq, base)


def check_unrelated(run: _Run) -> None:
    """90002-006: the same unrelated contribution (class, worker code) twice."""
    d = run.declaration
    base = employer_path(d)
    for employer_class, worker_code in sorted(
        _duplicates((u.employer_class, u.worker_code) for u in d.unrelated)  # type: ignore[type-var]
    ):
        path = (
            *base,
            ("UnrelatedEmployerClass", employer_class),
            ("UnrelatedWorkerCode", worker_code),
        )
        run.add("90002-006", f"{employer_class}/{worker_code}", path)
    if run.update:
        for u in d.unrelated:
            if u.action == UpdateAction.UNCHANGED:
                path = (
                    *base,
                    ("UnrelatedEmployerClass", u.employer_class),
                    ("UnrelatedWorkerCode", u.worker_code),
                )
                run.found.append(anomaly("00618-174", value=9, path=path))


# -- persons and worker lines --------------------------------------------------------------


def check_person(run: _Run, p: NaturalPerson, path: tuple[PathItem, ...]) -> None:
    """00024-004 (INSZ check digits), 90017-151 (unknown INSZ, policy refuse),
    90012-006 (same line twice)."""
    if not insz_valid(p.inss):
        run.add("00024-004", p.inss, path)
    elif run.rules.unknown_inss_policy == "refuse" and p.inss in run.facts.unknown_workers:
        run.add("90017-151", p.inss, path)
    lines = [r.key for r in p.records if r.action != UpdateAction.DELETED]
    for employer_class, worker_code in sorted(_duplicates(lines)):  # type: ignore[type-var]
        run.add(
            "90012-006",
            f"{employer_class}/{worker_code}",
            (*path, ("EmployerClass", employer_class), ("WorkerCode", worker_code)),
        )


def check_line(run: _Run, r: WorkerRecord, path: tuple[PathItem, ...]) -> None:
    """00036-051, 00037-008 (worker code not in annex 2), 00037-025, 00038-034, 00039-034,
    90001-006 and the line's occupations, contributions and student block."""
    d, tables = run.declaration, run.rules.tables
    employer = run.employer
    if (
        employer is not None
        and run.quarter_ok
        and not employer.has_class(r.employer_class, d.quarter)
    ):
        run.add("00036-051", r.employer_class, path)
    if not tables.worker_code_known(r.worker_code):
        run.add("00037-008", r.worker_code, path)
    elif not tables.worker_code_allowed(r.employer_class, r.worker_code):
        run.add("00037-025", r.worker_code, path)
    if run.quarter_ok:
        if r.quarter_start is not None and r.quarter_start != run.start:
            run.add("00038-034", r.quarter_start.isoformat(), path)
        if r.quarter_end is not None and r.quarter_end != run.end:
            run.add("00039-034", r.quarter_end.isoformat(), path)
    for worker_code, type_ in sorted(_duplicates((c.worker_code, c.type) for c in r.contributions)):  # type: ignore[type-var]
        run.add(
            "90001-006",
            f"{worker_code}/{type_}",
            (*path, ("ContributionWorkerCode", worker_code), ("ContributionType", str(type_))),
        )
    for occupation in r.occupations:
        check_occupation(run, occupation, occupation_path(path, occupation))
    if run.quarter_ok:
        check_line_totals(run, r, path)
    check_contributions(run, r, path)
    check_student(run, r, path)


def check_occupation(run: _Run, o: Occupation, path: tuple[PathItem, ...]) -> None:
    """Dates (00045-014, 00044-034, 00045-034), joint committee (00046-003, 00046-314),
    uniqueness of services and pay (90018-006, 90019-006), days and hours against the
    quarter and the working-time regime (90015-095, 90015-096, 00064-032)."""
    if o.start is not None and o.end is not None and o.end < o.start:
        run.add("00045-014", o.end.isoformat(), path)
        return
    if run.quarter_ok:
        if o.start is not None and o.start > run.end:
            run.add("00044-034", o.start.isoformat(), path)
        if o.end is not None and not run.start <= o.end <= run.end:
            run.add("00045-034", o.end.isoformat(), path)
    jc = o.joint_commission
    if not _joint_committee_ok(jc):
        run.add("00046-003", jc, path)
    elif jc == "999":
        run.add("00046-314", jc, path)
    for code in sorted(_duplicates(s.code for s in o.services)):  # type: ignore[type-var]
        service = next(s for s in o.services if s.code == code)
        run.add(
            "90018-006",
            code,
            (*path, ("ServiceSequenceNbr", str(service.sequence)), ("ServiceCode", code)),
        )
    for key in sorted(_duplicates((m.code, m.frequency, m.percentage) for m in o.remuns), key=str):
        remun = next(m for m in o.remuns if (m.code, m.frequency, m.percentage) == key)
        where = [*path, ("RemunSequenceNbr", str(remun.sequence)), ("RemunCode", remun.code)]
        if remun.frequency is not None:
            where.append(("BonusPaymentFrequency", str(remun.frequency)))
        if remun.percentage is not None:
            where.append(("PercentagePaid", str(remun.percentage)))
        run.add("90019-006", remun.code, tuple(where))
    if run.quarter_ok:
        check_days(run, o, path)


def _joint_committee_ok(jc: str) -> bool:
    parts = jc.split(".")
    return (
        1 <= len(parts) <= 3
        and len(parts[0]) == 3
        and all(p.isdigit() and p.isascii() for p in parts)
        and all(len(p) == 2 for p in parts[1:])
    )


def check_days(run: _Run, o: Occupation, path: tuple[PathItem, ...]) -> None:
    """90015-095: Σ days > Monday-Saturday days of the occupation in the quarter (calendar
    days for a 7-day regime); 90015-096: Σ days > ceil(regime × calendar days / 7) +
    tolerance; 00064-032: Σ hours > mean weekly hours × calendar days / 7 + tolerance."""
    start = max(o.start or run.start, run.start)
    end = min(o.end or run.end, run.end)
    if end < start or not o.services:
        return
    days = o.days  # hundredths
    calendar_days = (end - start).days + 1
    limit = calendar_days if o.working_days_system == 700 else mon_sat_days(start, end)
    if days > limit * 100:
        run.add("90015-095", days, path)
    regime_days = -(-o.working_days_system * calendar_days // 700)  # exact ceiling
    if days > (regime_days + run.rules.days_tolerance) * 100:
        run.add("90015-096", days, path)
    hours = o.hours
    if (
        hours
        and o.mean_hours is not None
        and hours * 7 > o.mean_hours * calendar_days + run.rules.hours_tolerance * 7
    ):
        run.add("00064-032", hours, path)


def check_line_totals(run: _Run, r: WorkerRecord, path: tuple[PathItem, ...]) -> None:
    """The worker line's occupations together (default interpretations, dmfa.md §7 lists the
    codes): 90012-192, Σ days of the line > Monday-Saturday days of the quarter (calendar
    days when an occupation has a 7-day regime); 90012-260, Σ hours of the line > the
    quarter's Monday-Saturday days × ``line_max_daily_hours``; 90012-242, an occupation
    without end date while a later occupation of the line under the same joint committee and
    working-time regime starts after it (the earlier one must have ended)."""
    occupations = r.occupations
    if not occupations:
        return
    if len(occupations) > 1:
        days = sum(o.days for o in occupations)
        seven_days = any(o.working_days_system == 700 for o in occupations)
        limit = (run.end - run.start).days + 1 if seven_days else mon_sat_days(run.start, run.end)
        if days > limit * 100:
            run.add("90012-192", days, path)
    hours = sum(o.hours for o in occupations)
    if hours > mon_sat_days(run.start, run.end) * run.rules.line_max_daily_hours * 100:
        run.add("90012-260", hours, path)
    for o in occupations:
        if o.end is not None or o.start is None:
            continue
        follows = any(
            other is not o
            and other.start is not None
            and other.start > o.start
            and other.joint_commission == o.joint_commission
            and other.working_days_system == o.working_days_system
            for other in occupations
        )
        if follows:
            run.add("90012-242", o.start.isoformat(), occupation_path(path, o))


def check_contributions(run: _Run, r: WorkerRecord, path: tuple[PathItem, ...]) -> None:
    """00084-044 / 00085-044: declared basis and contribution against the dated rate
    table (blue-collar pay taken at 108 %)."""
    if not r.contributions or not run.quarter_ok:
        return
    tables = run.rules.tables
    tolerance = run.rules.contribution_tolerance_cents
    pay = r.wage_mass if r.student is None else sum(o.wage for o in r.occupations)
    for c in r.contributions:
        rate = tables.contribution_rate(run.declaration.quarter, c.worker_code, c.type)
        if rate is None:
            continue
        basis = round_half_up(Decimal(pay) * rate.pay_factor)
        amount = round_half_up(Decimal(basis) * rate.rate)
        where = (
            *path,
            ("ContributionWorkerCode", c.worker_code),
            ("ContributionType", str(c.type)),
        )
        if c.basis is not None and abs(c.basis - basis) > tolerance:
            run.add("00084-044", c.basis, where)
        if abs(c.amount - amount) > tolerance:
            run.add("00085-044", c.amount, where)


def check_student(run: _Run, r: WorkerRecord, path: tuple[PathItem, ...]) -> None:
    """00077-044 (solidarity contribution ≠ 8.13 % of student pay), 01158-260 (student
    hours above the yearly quota)."""
    s = r.student
    if s is None or not run.quarter_ok:
        return
    tables = run.rules.tables
    rate = tables.student_rate(run.declaration.quarter)
    if rate is not None:
        expected = round_half_up(Decimal(s.remun_amount) * rate)
        if abs(s.contribution_amount - expected) > run.rules.contribution_tolerance_cents:
            run.add("00077-044", s.contribution_amount, path)
    quota = tables.student_quota_hours(run.declaration.quarter // 10)
    if s.hours is not None and quota is not None and s.hours > quota:
        run.add("01158-260", s.hours, path)


# -- totals ---------------------------------------------------------------------------------


def check_totals(run: _Run) -> None:
    """00015-007: NetOwedAmount = Σ contributions − Σ deductions; 00015-011: no employer
    category may have a negative balance."""
    d = run.declaration
    if d.kind != Kind.ORIGINAL or d.net_owed is None:
        return
    balance: Counter[str] = Counter()
    for _, r in d.lines:
        balance[r.employer_class] += r.contribution_total - r.deduction_total
    for u in d.unrelated:
        balance[u.employer_class] += u.amount
    total = sum(balance.values())
    path = employer_path(d)
    if total != d.net_owed:
        run.add("00015-007", d.net_owed, path)
    for employer_class in sorted(c for c, v in balance.items() if v < 0):
        run.add("00015-011", employer_class, path)


# -- modifications ------------------------------------------------------------------------------


def check_modification(run: _Run) -> set[tuple[str, str, str]]:
    """00534-182, 00549-176, 00548-176, 00620-180, 00610-180, 00618-174: the modification
    quotes the current state of the stored declaration. Returns the (INSZ, class, worker
    code) of the stored lines it replaces or deletes."""
    d, stored = run.declaration, run.facts.stored
    base = employer_path(d)
    replaced: set[tuple[str, str, str]] = set()
    employer_nsso = run.employer.nsso_number if run.employer else d.nsso
    if stored is None or stored.employer_nsso != employer_nsso or stored.quarter != d.quarter:
        run.found.append(anomaly("00534-182", value=d.employer_declaration_pid, path=base))
        return replaced
    for p in d.persons:
        path = person_path(base, p)
        known = stored.persons.get(p.inss)
        if known is None:
            if p.natural_person_pid is not None or p.decl_person_pid is not None:
                run.found.append(anomaly("00549-176", value=p.natural_person_pid, path=path))
        else:
            if p.natural_person_pid != known.natural_person_pid:
                run.found.append(anomaly("00549-176", value=p.natural_person_pid, path=path))
            if p.decl_person_pid is not None and p.decl_person_pid != known.decl_person_pid:
                run.found.append(anomaly("00548-176", value=p.decl_person_pid, path=path))
            if (
                p.decl_person_version is not None
                and p.decl_person_version != known.decl_person_version
            ):
                run.found.append(anomaly("00620-180", value=p.decl_person_version, path=path))
        for r in p.records:
            where = line_path(path, r)
            action, last = r.action, r.last
            if action == UpdateAction.CREATED:
                exists = (p.inss, r.employer_class, r.worker_code) in stored.lines
                if last is not None or exists:
                    run.found.append(anomaly("00618-174", value=int(action), path=where))
                continue
            if last is None:
                run.found.append(anomaly("00618-174", value=int(action or 0), path=where))
                continue
            line = stored.lines.get((p.inss, last.employer_class, last.worker_code))
            if line is None or line.version != last.version:
                run.found.append(anomaly("00610-180", value=last.version, path=where))
                continue
            if action != UpdateAction.UNCHANGED:
                replaced.add((p.inss, last.employer_class, last.worker_code))
    return replaced


# -- cross-check with Dimona -------------------------------------------------------------------


def _qualifying(periods: Iterable[DimonaPeriod], excluded: frozenset[str]) -> list[DimonaPeriod]:
    return [p for p in periods if p.worker_type not in excluded]


def _uncovered(start: date, end: date, periods: list[DimonaPeriod], grace_days: int) -> bool:
    """Whether a part of [start, end] longer than ``grace_days`` lies outside the union of
    the periods."""
    day, gap = start, 0
    spans = sorted((p.start, p.end or date.max) for p in periods)
    while day <= end:
        covering = next((e for s, e in spans if s <= day <= e), None)
        if covering is None:
            gap += 1
            if gap > grace_days:
                return True
            day += timedelta(days=1)
        else:
            gap = 0
            if covering >= end:
                return False
            day = covering + timedelta(days=1)
    return False


def _days_covered(periods: Iterable[DimonaPeriod], start: date, end: date) -> int:
    """Distinct days of [start, end] covered by the union of the periods."""
    spans = sorted(
        (max(p.start, start), min(p.end or end, end))
        for p in periods
        if p.start <= end and (p.end is None or p.end >= start)
    )
    covered, reached = 0, start - timedelta(days=1)
    for s, e in spans:
        s = max(s, reached + timedelta(days=1))
        if e >= s:
            covered += (e - s).days + 1
            reached = e
    return covered


def check_crosscheck(
    run: _Run,
    lines: list[tuple[NaturalPerson, WorkerRecord]],
    persons_in_state: set[str],
    state_lines: list[tuple[str, WorkerRecord]] | None = None,
) -> None:
    """Dimona against DmfA at processing time (crosscheck.md §2): 90007-262 (a person with a
    line needing Dimona has no qualifying period), 90007-263 (a qualifying period without a
    line), 90017-504 / 90017-502 (student line without STU planned hours / with more hours),
    90015-485 (flexi occupation not covered), 90015-456 (occasional occupation without EXT
    period), 90017-429 (occasional days declared other than the distinct days of the quarter
    the person's EXT periods cover; judged where an EXT period exists, over every current
    line of the person, ``state_lines``). Class NP, never blocking."""
    dimona = run.facts.dimona
    if dimona is None or not run.rules.crosscheck or not run.quarter_ok:
        return
    rules = run.rules
    base = employer_path(run.declaration)
    qualifying = {
        inss: q
        for inss, periods in dimona.items()
        if (q := _qualifying(periods, rules.excluded_worker_types))
    }
    if any(inss not in qualifying for inss in persons_in_state):
        run.add("90007-262", path=base)
    if any(inss not in persons_in_state for inss in qualifying):
        run.add("90007-263", path=base)
    flexi_codes = rules.tables.flexi_remun_codes
    for person, r in lines:
        periods = qualifying.get(person.inss, [])
        path = person_path(base, person)
        if r.student is not None:
            # Down to the line, so that the finding follows the line across modifications.
            where = line_path(path, r)
            stu = [p for p in periods if p.worker_type == "STU" and p.planned_hours]
            if not stu:
                run.add("90017-504", path=where)
            elif r.student.hours is not None and r.student.hours > sum(
                p.planned_hours or 0 for p in stu
            ):
                run.add("90017-502", r.student.hours, where)
        for o in r.occupations:
            where = occupation_path(line_path(path, r), o)
            if o.is_flexi(flexi_codes):
                start = max(o.start or run.start, run.start)
                end = min(o.end or run.end, run.end)
                if start <= end and _uncovered(start, end, periods, rules.crosscheck_grace_days):
                    run.add("90015-485", path=where)
            if o.horeca_extra and not any(p.worker_type == "EXT" for p in periods):
                run.add("90015-456", path=where)
    check_occasional_days(run, lines, state_lines, qualifying, base)


def check_occasional_days(
    run: _Run,
    lines: list[tuple[NaturalPerson, WorkerRecord]],
    state_lines: list[tuple[str, WorkerRecord]] | None,
    qualifying: dict[str, list[DimonaPeriod]],
    base: tuple[PathItem, ...],
) -> None:
    """90017-429 (C6, occasional): Σ ServiceNbrDays of the person's occasional occupations
    (those meeting the quarter) ≠ 100 × the distinct days of the quarter its EXT periods
    cover. On the person (block 90017, 90220 in a modification)."""
    persons = {p.inss: p for p, _ in lines}
    state = state_lines if state_lines is not None else [(p.inss, r) for p, r in lines]
    declared: Counter[str] = Counter()
    occasional: set[str] = set()
    for inss, r in state:
        if inss not in persons or not r.needs_dimona:
            continue
        for o in r.occupations:
            start = max(o.start or run.start, run.start)
            end = min(o.end or run.end, run.end)
            if o.horeca_extra and start <= end:
                occasional.add(inss)
                declared[inss] += o.days
    for inss in sorted(occasional):
        ext = [p for p in qualifying.get(inss, []) if p.worker_type == "EXT"]
        if not ext:
            continue  # 90015-456 says it
        if declared[inss] != 100 * _days_covered(ext, run.start, run.end):
            run.add("90017-429", declared[inss], person_path(base, persons[inss]))


# -- the whole declaration ------------------------------------------------------------------------


def _lines_to_check(d: Declaration) -> Iterator[tuple[NaturalPerson, WorkerRecord]]:
    for p in d.persons:
        for r in p.records:
            if r.action in (None, UpdateAction.MODIFIED, UpdateAction.CREATED):
                yield p, r


def evaluate(declaration: Declaration, facts: Facts, rules: Rules) -> Outcome:
    """Judge one declaration: every rule of §4 (and §6 for a modification), then the
    result and its diagnosis (dmfa.md §5)."""
    d = declaration
    update = d.kind == Kind.UPDATE
    quarter_ok = is_quarter(d.quarter)
    start, end = bounds(d.quarter) if quarter_ok else (date.min, date.max)
    run = _Run(d, facts, rules, update, quarter_ok, start, end)
    check_employer(run)
    check_quarter(run)
    check_mandate(run)
    check_original_unique(run)
    if update:
        check_modification(run)
    check_persons_unique(run)
    check_unrelated(run)
    base = employer_path(d)
    for person in d.persons:
        path = person_path(base, person)
        check_person(run, person, path)
        for r in person.records:
            if r.action in (None, UpdateAction.MODIFIED, UpdateAction.CREATED):
                check_line(run, r, line_path(path, r))
    check_totals(run)
    checked = list(_lines_to_check(d))
    if update and facts.resulting_lines is not None:
        in_state = {inss for inss, r in facts.resulting_lines if r.needs_dimona}
    else:
        in_state = {p.inss for p, r in d.lines if r.needs_dimona}
    state = facts.resulting_lines if update else None
    check_crosscheck(run, [(p, r) for p, r in checked if r.needs_dimona], in_state, state)
    return decide(d, run.found, facts, rules, run.employer)


def decide(
    d: Declaration,
    found: list[Anomaly],
    facts: Facts,
    rules: Rules,
    employer: Employer | None,
) -> Outcome:
    """The result code and diagnosis (dmfa.md §5) from the anomalies found."""
    anomalies = tuple(found)
    nsso = employer.nsso_number if employer else (d.nsso if d.nsso_given else None)
    if any(a.blocking for a in anomalies):
        return Outcome(False, anomalies, D.BLOCKING, nsso)
    if d.kind == Kind.ORIGINAL and not d.persons and not d.unrelated:
        return Outcome(False, anomalies, D.INCOMPLETE, nsso)
    lines = d.lines
    if rules.max_p_line_share is not None and lines:
        with_p = {
            (a.path_value("INSS"), a.path_value("EmployerClass"), a.path_value("WorkerCode"))
            for a in anomalies
            if a.severity == Severity.P and a.path_value("WorkerCode") is not None
        }
        if len(with_p) / len(lines) > rules.max_p_line_share:
            return Outcome(False, anomalies, D.TOO_MANY_ANOMALIES, nsso)
    if rules.max_missing_dimona_share is not None and facts.dimona is not None and d.persons:
        missing = [
            p
            for p in d.persons
            if not _qualifying(facts.dimona.get(p.inss, []), rules.excluded_worker_types)
        ]
        if len(missing) / len(d.persons) > rules.max_missing_dimona_share:
            return Outcome(False, anomalies, D.MISSING_DIMONA, nsso)
    return Outcome(True, anomalies, None, nsso)
