"""Silent employers (dmfa.md §9): who is active, and when a declaration is missing,
incomplete or inaccurate. Pure decisions over facts the handler gathers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from socsec.dmfa.domain.model import Employer
from socsec.dmfa.domain.quarters import AddWorkingDays, add_months, bounds, legal_due_date


def list_date(quarter: int, *, working_days: int, add_working_days: AddWorkingDays) -> date:
    """The day missing declarations are listed: the legal due date plus
    ``working_days`` working days (default 20)."""
    return add_working_days(legal_due_date(quarter), working_days)


def review_date(quarter: int, *, months: int) -> date:
    """The day incomplete and inaccurate declarations are judged: end of quarter + 6
    months (default)."""
    return add_months(bounds(quarter)[1], months)


def registered_through(employer: Employer, quarter: int) -> bool:
    """Registered during the quarter and not deregistered before its end."""
    _, end = bounds(quarter)
    return employer.registered_from <= end and (
        employer.registered_to is None or employer.registered_to >= end
    )


def active_employers(
    employers: Iterable[Employer],
    quarter: int,
    *,
    with_dimona: set[str],
    with_persons_before: set[str],
) -> set[str]:
    """Employers registered through the quarter that have a qualifying Dimona period in it,
    or an accepted DmfA with at least one person for the quarter before (default)."""
    return {
        e.nsso_number
        for e in employers
        if registered_through(e, quarter)
        and (e.nsso_number in with_dimona or e.nsso_number in with_persons_before)
    }


@dataclass(frozen=True)
class Completeness:
    """An accepted declaration against the personnel file, six months after its quarter."""

    employer_nsso: str
    persons_in_dimona: int
    persons_missing: int
    original_wage_mass: int
    current_wage_mass: int

    @property
    def missing_share(self) -> float:
        return self.persons_missing / self.persons_in_dimona if self.persons_in_dimona else 0.0

    @property
    def wage_mass_change(self) -> float:
        """(wage mass after every correction − original) / original (dmfa.md §9)."""
        if not self.original_wage_mass:
            return 0.0
        return (self.current_wage_mass - self.original_wage_mass) / self.original_wage_mass


def is_incomplete(c: Completeness, threshold: float) -> bool:
    """Persons with Dimona in the quarter but no worker line are ≥ 5 % of those persons."""
    return c.persons_in_dimona > 0 and c.missing_share >= threshold


def is_inaccurate(c: Completeness, threshold: float) -> bool:
    """The corrections raised the wage mass by ≥ 5 % of the original (default computation)."""
    return c.original_wage_mass > 0 and c.wage_mass_change >= threshold
