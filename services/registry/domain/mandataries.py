"""Mandataries: approved social secretariats and non-approved social service providers.

An approved secretariat (secrétariat social agréé / erkend sociaal secretariaat) is an
ASBL/VZW approved by the Minister; only it may collect contributions. A provider
(prestataire de services sociaux / sociaal dienstverlener) has no approval and may not call
itself a social secretariat. Each has one seat (siège / zetel, its registered office) and
may have branches (succursale / bijkantoor), each belonging to that seat; scores are given
per seat and an employer affiliated through a branch counts for its seat.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from socsec.contracts.payloads.registry import MandataryKind
from socsec.registry.domain.errors import Code, refusal
from socsec.registry.domain.rules import Rules
from socsec.registry.domain.validity import within


@dataclass(frozen=True)
class Approval:
    """The ministerial approval of a secretariat: in force from ``approved_from`` until the
    day before ``withdrawn_on``."""

    number: str
    approved_from: date
    withdrawn_on: date | None = None

    def in_force_on(self, day: date) -> bool:
        """Whether the approval is in force on ``day`` (the withdrawal day is excluded)."""
        return self.approved_from <= day and (self.withdrawn_on is None or day < self.withdrawn_on)


@dataclass(frozen=True)
class Seat:
    """The registered office named in the statutes: one per mandatary."""

    id: str
    address: str


@dataclass(frozen=True)
class Branch:
    """An operating site other than the seat, communicated to the NSSO."""

    id: str
    seat_id: str
    address: str
    communicated_on: date
    active_from: date
    active_to: date | None = None

    def active_on(self, day: date) -> bool:
        """Whether the branch operates on ``day``."""
        return within(day, self.active_from, self.active_to)


@dataclass(frozen=True)
class Mandatary:
    """A secretariat or provider with its seat and branches (branches sorted by id)."""

    id: str
    kind: MandataryKind
    legal_name: str
    enterprise_number: str
    legal_form: str
    language: str
    seat: Seat
    approval: Approval | None = None
    branches: tuple[Branch, ...] = ()

    @property
    def is_approved_secretariat(self) -> bool:
        return self.kind == MandataryKind.APPROVED_SECRETARIAT

    def approved_on(self, day: date) -> bool:
        """Whether this is an approved secretariat whose approval is in force on ``day``."""
        return (
            self.is_approved_secretariat
            and self.approval is not None
            and self.approval.in_force_on(day)
        )

    def organisation_ids(self) -> tuple[str, ...]:
        """The ids that name this mandatary as an organisation: itself, its seat, branches."""
        return (self.id, self.seat.id, *(b.id for b in self.branches))


def fold(text: str) -> str:
    """Lower case without accents and with single spaces, for name comparisons."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def check_legal_name(kind: MandataryKind, legal_name: str, rules: Rules) -> None:
    """Refuse a legal name that the kind of mandatary may not bear.

    An approved secretariat's name contains one of ``rules.approved_name_patterns`` ("ASBL
    - Secrétariat Social", "Association sans but lucratif - Secrétariat social", the Dutch
    form); a provider's name contains none of ``rules.provider_forbidden_terms``
    ("secrétariat social", "sociaal secretariaat"). Case, accents and spacing are ignored.
    """
    name = fold(legal_name)
    if kind == MandataryKind.APPROVED_SECRETARIAT:
        if not any(fold(p) in name for p in rules.approved_name_patterns):
            patterns = " or ".join(f'"{p}"' for p in rules.approved_name_patterns)
            raise refusal(
                Code.MANDATARY_LEGAL_NAME,
                f"the legal name of an approved secretariat must contain {patterns}",
                field="legal_name",
            )
    else:
        for term in rules.provider_forbidden_terms:
            if fold(term) in name:
                raise refusal(
                    Code.MANDATARY_LEGAL_NAME,
                    f'a non-approved social service provider may not use "{term}" in its name',
                    field="legal_name",
                )


def check_mandatary(mandatary: Mandatary, rules: Rules) -> None:
    """Refuse a mandatary that breaks a rule: legal name, approval, branches of its seat."""
    check_legal_name(mandatary.kind, mandatary.legal_name, rules)
    if mandatary.is_approved_secretariat and mandatary.approval is None:
        raise refusal(
            Code.APPROVAL_REQUIRED,
            "an approved secretariat needs its approval {number, approved_from}",
            field="approval",
        )
    if not mandatary.is_approved_secretariat and mandatary.approval is not None:
        raise refusal(
            Code.APPROVAL_NOT_ALLOWED,
            "a non-approved social service provider has no approval",
            field="approval",
        )
    approval = mandatary.approval
    if approval and approval.withdrawn_on and approval.withdrawn_on < approval.approved_from:
        raise refusal(
            Code.INVALID_PERIOD,
            f"withdrawn_on {approval.withdrawn_on} is before approved_from "
            f"{approval.approved_from}",
            field="approval.withdrawn_on",
        )
    ids = [mandatary.seat.id]
    for index, branch in enumerate(mandatary.branches):
        if branch.seat_id != mandatary.seat.id:
            raise refusal(
                Code.BRANCH_SEAT_MISMATCH,
                f"branch {branch.id} belongs to seat {branch.seat_id}, not to the seat "
                f"{mandatary.seat.id} of {mandatary.id}; a branch belongs to one seat",
                field=f"branches.{index}.seat_id",
            )
        if branch.active_to is not None and branch.active_to < branch.active_from:
            raise refusal(
                Code.INVALID_PERIOD,
                f"branch {branch.id}: active_to {branch.active_to} is before active_from "
                f"{branch.active_from}",
                field=f"branches.{index}.active_to",
            )
        if branch.id in ids:
            raise refusal(
                Code.ORGANISATION_ID_TAKEN,
                f"{branch.id} is used twice as seat or branch id",
                field=f"branches.{index}.id",
            )
        ids.append(branch.id)


def check_change(current: Mandatary, new: Mandatary) -> None:
    """Refuse a change that would rewrite history: the seat and the kind stay.

    Mandates point at the seat, and contribution collection depends on the kind; a
    secretariat that loses its approval keeps its kind and gets ``withdrawn_on``.
    """
    if new.seat.id != current.seat.id:
        raise refusal(
            Code.SEAT_IMMUTABLE,
            f"the seat of {current.id} is {current.seat.id}; a seat id does not change",
            field="seat.id",
        )
    if new.kind != current.kind:
        raise refusal(
            Code.MANDATARY_KIND_IMMUTABLE,
            f"{current.id} is a {current.kind.value}; the kind does not change "
            "(end an approval with approval.withdrawn_on)",
            field="kind",
        )


def merge_branches(current: Iterable[Branch], given: Iterable[Branch]) -> tuple[Branch, ...]:
    """The branches after a change: given ones replace or add, the others stay.

    A branch is never removed from the register (mandates and senders may point at it);
    it is ended with ``active_to``.
    """
    merged = {b.id: b for b in current}
    for branch in given:
        merged[branch.id] = branch
    return tuple(sorted(merged.values(), key=lambda b: b.id))


def approved_list(mandataries: Iterable[Mandatary], day: date) -> list[Mandatary]:
    """The approved secretariats whose approval is in force on ``day``, by approval number."""
    approved = [m for m in mandataries if m.approved_on(day)]
    return sorted(approved, key=lambda m: (m.approval.number if m.approval else "", m.id))


def seat_of(mandatary: Mandatary, affiliation_point: str) -> str:
    """The seat an affiliation point (the seat itself or one of its branches) counts for.

    Refuses a point that is neither the mandatary's seat nor one of its branches.
    """
    if affiliation_point == mandatary.seat.id:
        return mandatary.seat.id
    for branch in mandatary.branches:
        if branch.id == affiliation_point:
            return branch.seat_id
    raise refusal(
        Code.AFFILIATION_POINT_UNKNOWN,
        f"{affiliation_point} is neither the seat nor a branch of {mandatary.id}",
        field="affiliation_point",
    )
