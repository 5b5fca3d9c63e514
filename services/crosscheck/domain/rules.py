"""The matching rules C1–C6 and their exclusions (crosscheck.md §1–§2), over plain values.

Every rule is a function from the two sides of one triple to its findings, so each can be
read and tested alone; :func:`evaluate_triple` applies the exclusions and then the rules.
The yearly recomputation runs the same rules as set-based SQL (``repository.compute_year``);
a test checks that both give the same mismatches on a generated year.

Conventions shared by both implementations:

- periods and occupations are clipped to the quarter; an occupation whose clipped span is
  empty (dates outside the quarter) is left out;
- C1 and C2 say everything about a person missing from one side: C3–C6 are only judged
  when both sides are present;
- C3 and C4 count failing occupations; C5 counts the failing correspondences (student,
  flexi, occasional, each direction); C6 counts the failing quantities (student hours,
  occasional days).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from socsec.crosscheck.domain.model import (
    ABSENT,
    ANY_JOINT_COMMITTEE,
    FLEXI,
    OCCASIONAL,
    STUDENT,
    Code,
    Evaluation,
    Finding,
    Occupation,
    Period,
    Rule,
    WorkerLine,
)
from socsec.crosscheck.domain.quarters import bounds

#: The Dimona list of joint committees for which Dimona carries the JC (C4, default).
DEFAULT_JOINT_COMMITTEES = frozenset({"124", "140", "144", "145", "149", "302", "320", "322"})


@dataclass(frozen=True)
class RuleSettings:
    """The configurable defaults of the rules (crosscheck.md "Defaults to make configurable").

    ``ignored_worker_codes`` are the special lines that never need a Dimona (bridge pension
    879, contributions not linked to a person 865/870); lines without occupation or student
    block are ignored too (``needs_dimona`` false: dismissed statutory staff,
    complementary indemnities).
    """

    grace_days: int = 0
    count_mode: str = "presence"  # presence | totals
    student_hours_mode: str = "exceeds"  # exceeds | differs
    joint_committees: frozenset[str] = DEFAULT_JOINT_COMMITTEES
    excluded_worker_types: frozenset[str] = frozenset({"DWD", "STG"})
    ignored_worker_codes: frozenset[str] = frozenset({"879", "865", "870"})
    student_worker_codes: frozenset[str] = frozenset({"840", "841"})

    def __post_init__(self) -> None:
        if self.count_mode not in ("presence", "totals"):
            raise ValueError(f"count_mode must be presence or totals, not {self.count_mode!r}")
        if self.student_hours_mode not in ("exceeds", "differs"):
            raise ValueError(
                f"student_hours_mode must be exceeds or differs, not {self.student_hours_mode!r}"
            )
        if self.grace_days < 0:
            raise ValueError("grace_days cannot be negative")


@dataclass(frozen=True, slots=True)
class Span:
    """A closed interval of days [start, end]."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days in the span, both ends included."""
        return (self.end - self.start).days + 1

    def overlaps(self, other: Span) -> bool:
        """Whether the two spans share at least one day."""
        return self.start <= other.end and other.start <= self.end


@dataclass(frozen=True, slots=True)
class QualifyingPeriod:
    """A qualifying period with its span clipped to the quarter."""

    period: Period
    span: Span

    @property
    def joint_committee(self) -> str:
        """The period's JC, first three digits; a period without JC counts as ``"XXX"``."""
        return (self.period.joint_commission or ANY_JOINT_COMMITTEE)[:3]


@dataclass(frozen=True, slots=True)
class ClippedOccupation:
    """An occupation of a counting line with its span clipped to the quarter."""

    occupation: Occupation
    span: Span
    line: WorkerLine = field(compare=False)

    @property
    def joint_committee(self) -> str:
        """The occupation's JC, first three digits (``302.00`` -> ``302``)."""
        return self.occupation.joint_commission[:3]


# -- exclusions (§1) -----------------------------------------------------------------------


def qualifying_periods(
    periods: Iterable[Period], quarter: int, rules: RuleSettings
) -> list[QualifyingPeriod]:
    """The periods that call for a DmfA line in the quarter: not cancelled, worker type not
    excluded (DWD, STG: no DmfA expected) and overlapping the quarter."""
    first, last = bounds(quarter)
    out = []
    for p in periods:
        if p.cancelled or p.worker_type in rules.excluded_worker_types:
            continue
        if p.start > last or (p.end is not None and p.end < first):
            continue
        out.append(QualifyingPeriod(p, Span(max(p.start, first), min(p.end or last, last))))
    return out


def counting_lines(lines: Iterable[WorkerLine], rules: RuleSettings) -> list[WorkerLine]:
    """The worker lines that need a Dimona: with an occupation or a student block, and not
    a special line (bridge pension, contributions not linked to a person)."""
    return [
        line
        for line in lines
        if line.needs_dimona and line.worker_code not in rules.ignored_worker_codes
    ]


def clipped_occupations(lines: Iterable[WorkerLine], quarter: int) -> list[ClippedOccupation]:
    """The occupations of the lines over their part of the quarter (an occupation declares
    its end only when it falls in the quarter, so open bounds are the quarter's)."""
    first, last = bounds(quarter)
    out = []
    for line in lines:
        for o in line.occupations:
            start = max(o.start or first, first)
            end = min(o.end or last, last)
            if start <= end:
                out.append(ClippedOccupation(o, Span(start, end), line))
    return out


def is_student_line(line: WorkerLine, rules: RuleSettings) -> bool:
    """A student line: worker code 840 or 841 (annex 2)."""
    return line.worker_code in rules.student_worker_codes


# -- the rules (§2) ------------------------------------------------------------------------


def c1_dmfa_without_dimona(
    lines: Sequence[WorkerLine], periods: Sequence[QualifyingPeriod]
) -> list[Finding]:
    """C1: a worker line needing a Dimona and no qualifying period (90007-262)."""
    if lines and not periods:
        return [Finding(Rule.C1, Code.MORE_WORKERS_IN_DMFA)]
    return []


def c2_dimona_without_dmfa(
    lines: Sequence[WorkerLine], periods: Sequence[QualifyingPeriod]
) -> list[Finding]:
    """C2: a qualifying period and no worker line (90007-263)."""
    if periods and not lines:
        return [Finding(Rule.C2, Code.FEWER_WORKERS_IN_DMFA)]
    return []


def longest_gap(span: Span, cover: Iterable[Span]) -> int:
    """The longest run of days of ``span`` outside the union of ``cover`` (0 if covered)."""
    longest, day = 0, span.start
    for c in sorted(cover, key=lambda s: s.start):
        if c.end < day:
            continue
        if c.start > span.end:
            break
        if c.start > day:
            longest = max(longest, (c.start - day).days)
        day = max(day, c.end + timedelta(days=1))
        if day > span.end:
            return longest
    return max(longest, (span.end - day).days + 1)


def c3_dates_outside_dimona(
    occupations: Sequence[ClippedOccupation],
    periods: Sequence[QualifyingPeriod],
    rules: RuleSettings,
) -> list[Finding]:
    """C3: a part of an occupation longer than ``grace_days`` lies outside the union of the
    qualifying periods; a flexi occupation raises 90015-485, any other no code."""
    cover = [p.span for p in periods]
    return [
        Finding(Rule.C3, Code.FLEXI_NOT_COVERED if o.occupation.flexi else None)
        for o in occupations
        if longest_gap(o.span, cover) > rules.grace_days
    ]


def joint_committees_match(period_jc: str, dmfa_jc: str, listed: frozenset[str]) -> bool:
    """Whether a period's JC fits the DmfA's (first three digits): equal, or both outside
    the Dimona list (``"XXX"`` matches every JC outside it)."""
    return period_jc == dmfa_jc or (period_jc not in listed and dmfa_jc not in listed)


def c4_joint_committee(
    occupations: Sequence[ClippedOccupation],
    periods: Sequence[QualifyingPeriod],
    rules: RuleSettings,
) -> list[Finding]:
    """C4: the DmfA JC is on the Dimona list and no covering period has it, or a covering
    period has a listed JC the DmfA does not declare. No official code."""
    listed = rules.joint_committees
    findings = []
    for o in occupations:
        covering = [p for p in periods if p.span.overlaps(o.span)]
        dmfa_jc = o.joint_committee
        if any(joint_committees_match(p.joint_committee, dmfa_jc, listed) for p in covering):
            continue
        if covering or dmfa_jc in listed:
            findings.append(Finding(Rule.C4))
    return findings


def c5_worker_type(
    lines: Sequence[WorkerLine],
    occupations: Sequence[ClippedOccupation],
    periods: Sequence[QualifyingPeriod],
    rules: RuleSettings,
) -> list[Finding]:
    """C5: STU period ⇔ student line (840/841), FLX period ⇔ flexi occupation, EXT period ⇔
    occasional occupation. A student line without STU period with planned hours raises
    90017-504, an occasional occupation without EXT period 90015-456, a flexi occupation
    without FLX period 90015-485; the other direction has no code."""
    types = {p.period.worker_type for p in periods}
    stu_planned = any(p.period.worker_type == STUDENT and p.period.planned_hours for p in periods)
    student = any(is_student_line(line, rules) for line in lines)
    flexi = any(o.occupation.flexi for o in occupations)
    occasional = any(o.occupation.occasional for o in occupations)
    findings = []
    if student and not stu_planned:
        findings.append(Finding(Rule.C5, Code.STUDENT_WITHOUT_STU))
    if STUDENT in types and not student:
        findings.append(Finding(Rule.C5))
    if flexi and FLEXI not in types:
        findings.append(Finding(Rule.C5, Code.FLEXI_NOT_COVERED))
    if FLEXI in types and not flexi:
        findings.append(Finding(Rule.C5))
    if occasional and OCCASIONAL not in types:
        findings.append(Finding(Rule.C5, Code.OCCASIONAL_WITHOUT_EXT))
    if OCCASIONAL in types and not occasional:
        findings.append(Finding(Rule.C5))
    return findings


def covered_days(spans: Iterable[Span]) -> int:
    """Distinct days in the union of ``spans``."""
    total, day = 0, date.min
    for s in sorted(spans, key=lambda s: s.start):
        start = max(s.start, day)
        if start <= s.end:
            total += (s.end - start).days + 1
            day = s.end + timedelta(days=1)
    return total


def c6_quantity(
    lines: Sequence[WorkerLine],
    occupations: Sequence[ClippedOccupation],
    periods: Sequence[QualifyingPeriod],
    rules: RuleSettings,
) -> list[Finding]:
    """C6: student hours above (or, ``differs``, other than) the planned hours of the
    quarter's STU periods (90017-502); occasional days declared other than the distinct
    days the EXT periods cover (90017-429). Judged only where C5 found the matching period."""
    findings = []
    student_lines = [line for line in lines if is_student_line(line, rules)]
    stu = [p for p in periods if p.period.worker_type == STUDENT]
    if student_lines and any(p.period.planned_hours for p in stu):
        hours = sum(line.student_hours or 0 for line in student_lines)
        planned = sum(p.period.planned_hours or 0 for p in stu)
        too_many = hours > planned if rules.student_hours_mode == "exceeds" else hours != planned
        if too_many:
            findings.append(Finding(Rule.C6, Code.STUDENT_HOURS))
    occasional = [o for o in occupations if o.occupation.occasional]
    ext = [p.span for p in periods if p.period.worker_type == OCCASIONAL]
    if occasional and ext:
        declared = sum(o.occupation.days for o in occasional)  # hundredths of days
        if declared != 100 * covered_days(ext):
            findings.append(Finding(Rule.C6, Code.OCCASIONAL_DAYS))
    return findings


# -- one triple ------------------------------------------------------------------------


def evaluate_triple(
    quarter: int,
    lines: Iterable[WorkerLine],
    periods: Iterable[Period],
    rules: RuleSettings,
) -> Evaluation:
    """Judge one (employer, INSZ, quarter): the person's worker lines in the accepted DmfA
    of the quarter and the person's periods at the employer (any quarter: the exclusions
    keep those that qualify)."""
    counting = counting_lines(lines, rules)
    qualifying = qualifying_periods(periods, quarter, rules)
    if not counting and not qualifying:
        return ABSENT
    presence = {"in_dmfa": bool(counting), "in_dimona": bool(qualifying)}
    missing = c1_dmfa_without_dimona(counting, qualifying) + c2_dimona_without_dmfa(
        counting, qualifying
    )
    if missing:
        return Evaluation(True, tuple(missing), **presence)
    occupations = clipped_occupations(counting, quarter)
    findings = (
        c3_dates_outside_dimona(occupations, qualifying, rules)
        + c4_joint_committee(occupations, qualifying, rules)
        + c5_worker_type(counting, occupations, qualifying, rules)
        + c6_quantity(counting, occupations, qualifying, rules)
    )
    return Evaluation(True, tuple(findings), **presence)


def declaration_codes(evaluations: Iterable[Evaluation], rules: RuleSettings) -> tuple[str, ...]:
    """The once-per-declaration codes 90007-262/263 of an employer's quarter (§2,
    ``count_mode``): ``presence`` raises them when one C1 / C2 person exists, ``totals``
    when the DmfA counts more / fewer persons than Dimona."""
    judged = [e for e in evaluations if e.present]
    if rules.count_mode == "presence":
        rules_found = {f.rule for e in judged for f in e.findings}
        more, fewer = Rule.C1 in rules_found, Rule.C2 in rules_found
    else:
        in_dmfa = sum(e.in_dmfa for e in judged)
        in_dimona = sum(e.in_dimona for e in judged)
        more, fewer = in_dmfa > in_dimona, in_dmfa < in_dimona
    codes = []
    if more:
        codes.append(str(Code.MORE_WORKERS_IN_DMFA))
    if fewer:
        codes.append(str(Code.FEWER_WORKERS_IN_DMFA))
    return tuple(codes)
