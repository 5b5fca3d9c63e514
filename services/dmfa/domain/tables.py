"""The configurable tables of the DmfA rules: contribution rates, student quota, worker-code
lists and the priority (AP/ANP) classification.

They are data, not code (dmfa.md §3 and §7 "default, configurable"): the service loads a
versioned JSON document (``socsec/dmfa/tables.json`` by default, another file by setting)
and hands the parsed :class:`Tables` to the rules. This module only parses and answers
questions; it never reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase
from typing import Any

from socsec.dmfa.domain.model import Priority, Severity


def round_half_up(value: Decimal) -> int:
    """Amounts are rounded half up to the cent (dmfa.md §3)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class ContributionRate:
    """From ``from_quarter`` on, contribution (worker code, type) is ``rate`` times the
    worker line's pay, taken at ``pay_factor`` (1.08 for blue-collar type 1)."""

    from_quarter: int
    worker_code: str
    type: int
    rate: Decimal
    pay_factor: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class PriorityTable:
    """Which P/NP anomaly is priority (AP): by ErrorID or by zone prefix (dmfa.md §7)."""

    version: str
    priority_zones: frozenset[str]
    priority_codes: frozenset[str]
    excluded_classes: frozenset[str]
    excluded_codes: frozenset[str]

    def classify(self, rule_code: str, severity: Severity | str) -> Priority:
        """AP, ANP or EXCLUDED for an anomaly, by its rule code (original numbering)."""
        if str(severity) in self.excluded_classes or rule_code in self.excluded_codes:
            return Priority.EXCLUDED
        if rule_code in self.priority_codes or rule_code[:5] in self.priority_zones:
            return Priority.AP
        return Priority.ANP


@dataclass(frozen=True, slots=True)
class Tables:
    """Every table the rules read, with the version of the document they came from."""

    version: str
    contribution_rates: tuple[ContributionRate, ...]
    student_rates: tuple[tuple[int, Decimal], ...]  # (from quarter, rate)
    student_quota: tuple[tuple[int, int], ...]  # (from year, hours)
    worker_codes_by_class: dict[str, tuple[str, ...]]  # employer class -> code patterns
    student_codes: frozenset[str]
    flexi_remun_codes: frozenset[str]
    worker_kinds: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, code patterns)
    priority: PriorityTable
    #: Annex-2 codes known to the service: code -> kind (STUDENT, BLUE_COLLAR, ...).
    worker_codes: dict[str, str] = field(default_factory=dict)
    #: What an unknown worker code gets: "refuse" (00037-008) or "accept".
    unknown_worker_code: str = "refuse"
    #: Answers of :meth:`worker_code_allowed` and :meth:`worker_kind`, remembered (a quarter
    #: asks the same few again and again).
    _allowed: dict[tuple[str, str], bool] = field(default_factory=dict, compare=False, repr=False)
    _kinds: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def contribution_rate(
        self, quarter: int, worker_code: str, type_: int
    ) -> ContributionRate | None:
        """The rate in force for a quarter (the latest entry starting at or before it)."""
        best: ContributionRate | None = None
        for entry in self.contribution_rates:
            if entry.worker_code != worker_code or entry.type != type_:
                continue
            if entry.from_quarter <= quarter and (
                best is None or entry.from_quarter > best.from_quarter
            ):
                best = entry
        return best

    def student_rate(self, quarter: int) -> Decimal | None:
        """The student solidarity rate in force for a quarter (00077-044)."""
        found = [rate for start, rate in self.student_rates if start <= quarter]
        return found[-1] if found else None

    def student_quota_hours(self, year: int) -> int | None:
        """The yearly student quota in hours (01158-260)."""
        found = [hours for start, hours in self.student_quota if start <= year]
        return found[-1] if found else None

    def worker_code_allowed(self, employer_class: str, worker_code: str) -> bool:
        """Annex-2 compatibility of a worker code with an employer class (00037-025)."""
        key = (employer_class, worker_code)
        known = self._allowed.get(key)
        if known is None:
            patterns = self.worker_codes_by_class.get(employer_class)
            if patterns is None:
                patterns = self.worker_codes_by_class.get("*", ("*",))
            known = self._allowed[key] = any(fnmatchcase(worker_code, p) for p in patterns)
        return known

    def worker_code_known(self, worker_code: str) -> bool:
        """Whether a worker code is one of annex 2 as the table holds it (00037-008), or
        unknown codes are accepted."""
        return worker_code in self.worker_codes or self.unknown_worker_code == "accept"

    def worker_kind(self, worker_code: str) -> str:
        """A coarse kind of worker for the cross-check (STUDENT, BLUE_COLLAR, ...): the
        table's kind of a known code, else the kind its pattern gives."""
        known = self._kinds.get(worker_code) or self.worker_codes.get(worker_code)
        if known is None:
            known = next(
                (
                    kind
                    for kind, patterns in self.worker_kinds
                    if any(fnmatchcase(worker_code, p) for p in patterns)
                ),
                "OTHER",
            )
            self._kinds[worker_code] = known
        return known


def _unknown_policy(value: object) -> str:
    if value not in ("refuse", "accept"):
        raise ValueError(f"worker_codes.unknown_code must be 'refuse' or 'accept', not {value!r}")
    return str(value)


def parse_tables(data: dict[str, Any]) -> Tables:
    """Build :class:`Tables` from the JSON document (see ``socsec/dmfa/tables.json``)."""
    rates = data["contribution_rates"]
    contribution_rates = tuple(
        ContributionRate(
            from_quarter=int(r["from_quarter"]),
            worker_code=str(r["worker_code"]),
            type=int(r["type"]),
            rate=Decimal(str(r["rate"])),
            pay_factor=Decimal(str(r.get("pay_factor", "1"))),
        )
        for r in rates["entries"]
    )
    student_rates = tuple(
        sorted((int(r["from_quarter"]), Decimal(str(r["rate"]))) for r in rates["student"])
    )
    quota = tuple(
        sorted((int(q["from_year"]), int(q["hours"])) for q in data["student_quota"]["entries"])
    )
    codes = data["worker_codes"]
    priority = data["priority"]
    return Tables(
        version=str(data["version"]),
        contribution_rates=contribution_rates,
        student_rates=student_rates,
        student_quota=quota,
        worker_codes_by_class={
            str(k): tuple(v) for k, v in codes["allowed_by_employer_class"].items()
        },
        student_codes=frozenset(codes["student"]),
        flexi_remun_codes=frozenset(codes["flexi_remun_codes"]),
        worker_kinds=tuple((str(k), tuple(v)) for k, v in codes["kinds"].items()),
        worker_codes={str(c): str(v["kind"]) for c, v in codes.get("codes", {}).items()},
        unknown_worker_code=_unknown_policy(codes.get("unknown_code", "refuse")),
        priority=PriorityTable(
            version=str(priority["version"]),
            priority_zones=frozenset(priority["priority_zones"]),
            priority_codes=frozenset(priority["priority_codes"]),
            excluded_classes=frozenset(priority["excluded_classes"]),
            excluded_codes=frozenset(priority["excluded_codes"]),
        ),
    )
