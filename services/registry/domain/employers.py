"""Employers (employeur / werkgever): the parties declarations are made for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from socsec.contracts.identifiers import nsso_check_ok
from socsec.registry.domain.errors import Code, refusal
from socsec.registry.domain.rules import Rules
from socsec.registry.domain.validity import within


@dataclass(frozen=True)
class EmployerClass:
    """An employer category (catégorie d'employeur) over a range of quarters."""

    employer_class: str
    from_quarter: int
    to_quarter: int | None = None


@dataclass(frozen=True)
class Employer:
    """One employer as the register holds it; registered from/to is its valid time."""

    nsso_number: str
    enterprise_number: str
    name: str
    language: str
    registered_from: date
    registered_to: date | None = None
    employer_classes: tuple[EmployerClass, ...] = ()
    public_sector: bool = False
    local_authority: bool = False

    def registered_on(self, day: date) -> bool:
        """Whether the employer is registered (active) on ``day``."""
        return within(day, self.registered_from, self.registered_to)


def check_employer(employer: Employer, *, is_new: bool, rules: Rules) -> None:
    """Refuse an employer that breaks a rule of the register.

    The NSSO check rule applies only to numbers new to the register (and only when
    ``rules.noss_check_enabled``): a number already present is never refused, since the
    published rule does not fit every real number.
    """
    if is_new and rules.noss_check_enabled and not nsso_check_ok(employer.nsso_number):
        raise refusal(
            Code.NSSO_CHECK_DIGIT,
            f"nsso_number {employer.nsso_number} fails the NSSO check rule "
            "(the 9-digit number mod 97 must be 96)",
            field="nsso_number",
        )
    if employer.registered_to is not None and employer.registered_to < employer.registered_from:
        raise refusal(
            Code.INVALID_PERIOD,
            f"registered_to {employer.registered_to} is before registered_from "
            f"{employer.registered_from}",
            field="registered_to",
        )
    for index, klass in enumerate(employer.employer_classes):
        if klass.to_quarter is not None and klass.to_quarter < klass.from_quarter:
            raise refusal(
                Code.INVALID_PERIOD,
                f"employer class {klass.employer_class}: to_quarter {klass.to_quarter} is "
                f"before from_quarter {klass.from_quarter}",
                field=f"employer_classes.{index}.to_quarter",
            )
