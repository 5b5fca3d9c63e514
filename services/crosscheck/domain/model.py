"""Values of the cross-check: the two sides of a triple and what judging it found.

A triple is (employer NSSO number, INSZ, quarter). The DmfA side is the worker lines of the
accepted declaration at its latest version; the Dimona side is the person's periods at the
employer. Both are plain frozen values here, whatever channel brought them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Rule(StrEnum):
    """The matching rules of crosscheck.md §2 (default, configurable)."""

    C1 = "C1"  # DmfA without Dimona
    C2 = "C2"  # Dimona without DmfA
    C3 = "C3"  # occupation dates outside the Dimona periods
    C4 = "C4"  # joint committee
    C5 = "C5"  # worker type
    C6 = "C6"  # quantity: student hours, occasional days


RULES: tuple[Rule, ...] = tuple(Rule)


class Code(StrEnum):
    """Official NSSO codes a finding carries into the NOTI (DmfA glossary 2023/3, annex 30)."""

    MORE_WORKERS_IN_DMFA = "90007-262"
    FEWER_WORKERS_IN_DMFA = "90007-263"
    OCCASIONAL_WITHOUT_EXT = "90015-456"
    FLEXI_NOT_COVERED = "90015-485"
    OCCASIONAL_DAYS = "90017-429"
    STUDENT_HOURS = "90017-502"
    STUDENT_WITHOUT_STU = "90017-504"


# Dimona worker types the rules name (dimona.md): the vocabulary is Dimona's, not a setting.
STUDENT = "STU"
FLEXI = "FLX"
OCCASIONAL = "EXT"
#: A Dimona period "without joint committee": matches every JC outside the C4 list.
ANY_JOINT_COMMITTEE = "XXX"


@dataclass(frozen=True, slots=True)
class Period:
    """A Dimona period of the personnel file, as the read model keeps it."""

    id: int
    worker_type: str
    start: date
    end: date | None = None
    joint_commission: str | None = None
    planned_hours: int | None = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class Occupation:
    """An occupation of a DmfA worker line (block 90015).

    ``days`` is Σ ServiceNbrDays in hundredths of days; ``flexi`` and ``occasional`` are the
    markers the dmfa service read (flexi pay code, ``HorecaExtra``).
    """

    sequence: int
    joint_commission: str
    start: date | None = None
    end: date | None = None
    days: int = 0
    flexi: bool = False
    occasional: bool = False


@dataclass(frozen=True, slots=True)
class WorkerLine:
    """A worker line of the accepted DmfA at its latest version (block 90012)."""

    worker_code: str
    employer_class: str = ""
    needs_dimona: bool = True
    occupations: tuple[Occupation, ...] = ()
    student_hours: int | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One failure of one rule; ``code`` is the official code it raises, if any."""

    rule: Rule
    code: Code | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What judging a triple found.

    ``present`` is false when neither side has anything after the exclusions: the triple
    is not in the denominator (§3). A present triple with findings is one mismatch,
    whatever the number of findings.
    """

    present: bool
    findings: tuple[Finding, ...] = ()
    #: The person has a worker line needing a Dimona (DMFAWorkersNbr).
    in_dmfa: bool = False
    #: The person has a qualifying period (DIMONAWorkersNbr).
    in_dimona: bool = False

    @property
    def failing(self) -> bool:
        """Whether the triple counts as a mismatch."""
        return bool(self.findings)

    @property
    def counts(self) -> dict[Rule, int]:
        """Findings per failing rule, in rule order (what reports count per rule)."""
        counted = Counter(f.rule for f in self.findings)
        return {rule: counted[rule] for rule in RULES if counted[rule]}

    @property
    def codes(self) -> tuple[str, ...]:
        """The distinct official codes raised, sorted."""
        return tuple(sorted({str(f.code) for f in self.findings if f.code is not None}))


ABSENT = Evaluation(present=False)
