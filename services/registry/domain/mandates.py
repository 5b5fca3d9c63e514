"""Mandates (mandat / mandaat): an employer lets a mandatary declare for it.

A mandate is *usable* on a day when the day lies in ``[valid_from, valid_to]`` and the
proxy is registered at the NSSO (``proxy_registered_on`` on or before that day). At most
one usable mandate per employer and scope on any day (default); contribution collection
only through an approved secretariat. The mandatary ends a mandate with an end notice, due
at the latest 15 calendar days (default) before the effective end; a later notice is
recorded and flagged ``late`` for the inspection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from socsec.contracts.payloads.registry import MandataryKind, NotificationRouting, Scope
from socsec.registry.domain.errors import Code, refusal
from socsec.registry.domain.mandataries import Mandatary, seat_of
from socsec.registry.domain.rules import Rules
from socsec.registry.domain.validity import intersects

_SCOPE_ORDER = {scope: index for index, scope in enumerate(Scope)}


@dataclass(frozen=True)
class EndNotice:
    """The mandatary's notice of the end of a mandate, as received."""

    notified_on: date
    effective_end: date
    reason: str
    late: bool


@dataclass(frozen=True)
class Mandate:
    """One mandate; ``seat_id`` is the seat its affiliation point counts for."""

    id: str
    employer_nsso: str
    mandatary_id: str
    affiliation_point: str
    seat_id: str
    scopes: tuple[Scope, ...]
    proxy_registered_on: date
    valid_from: date
    notification_routing: NotificationRouting
    valid_to: date | None = None
    written_mandate_ref: str | None = None
    signed_on: date | None = None
    end_notice: EndNotice | None = None

    @property
    def usable_from(self) -> date:
        """The first day the mandate is usable: valid and the proxy registered."""
        return max(self.valid_from, self.proxy_registered_on)

    @property
    def ever_usable(self) -> bool:
        """Whether at least one day is usable (the proxy may come after the end)."""
        return self.valid_to is None or self.usable_from <= self.valid_to

    def usable_on(self, day: date) -> bool:
        """Whether the mandatary may use the mandate on ``day``."""
        return self.usable_from <= day and (self.valid_to is None or day <= self.valid_to)


def scopes_of(scopes: Iterable[Scope | str]) -> tuple[Scope, ...]:
    """The scopes without duplicates, in the order of :class:`Scope`."""
    return tuple(sorted({Scope(s) for s in scopes}, key=_SCOPE_ORDER.__getitem__))


def default_routing(kind: MandataryKind, rules: Rules) -> NotificationRouting:
    """Where Dimona notifications go when the mandate does not say (registry.md §6)."""
    if kind == MandataryKind.APPROVED_SECRETARIAT:
        return rules.routing_approved
    return rules.routing_provider


def check_mandate(mandate: Mandate, mandatary: Mandatary) -> None:
    """Refuse a mandate that breaks a rule on its own or against its mandatary.

    The scopes are not empty; the period is not reversed; the affiliation point is the
    mandatary's seat or one of its branches and ``seat_id`` is the seat it counts for;
    ``CONTRIBUTION_COLLECTION`` only for an approved secretariat whose approval is in force
    on the first usable day.
    """
    if not mandate.scopes:
        raise refusal(Code.SCOPES_REQUIRED, "a mandate needs at least one scope", field="scopes")
    if mandate.valid_to is not None and mandate.valid_to < mandate.valid_from:
        raise refusal(
            Code.INVALID_PERIOD,
            f"valid_to {mandate.valid_to} is before valid_from {mandate.valid_from}",
            field="valid_to",
        )
    if mandate.mandatary_id != mandatary.id:
        raise ValueError(f"mandate {mandate.id} is checked against the wrong mandatary")
    seat = seat_of(mandatary, mandate.affiliation_point)
    if seat != mandate.seat_id:
        raise ValueError(f"mandate {mandate.id}: seat {mandate.seat_id} is not {seat}")
    if Scope.CONTRIBUTION_COLLECTION in mandate.scopes:
        if not mandatary.is_approved_secretariat:
            raise refusal(
                Code.COLLECTION_REQUIRES_APPROVAL,
                f"{mandatary.id} is a non-approved social service provider: only an approved "
                "social secretariat may hold the CONTRIBUTION_COLLECTION scope",
                field="scopes",
            )
        if not mandatary.approved_on(mandate.usable_from):
            raise refusal(
                Code.COLLECTION_REQUIRES_APPROVAL,
                f"the approval of {mandatary.id} is not in force on {mandate.usable_from}: "
                "only an approved social secretariat may hold the CONTRIBUTION_COLLECTION scope",
                field="scopes",
            )


def check_change(current: Mandate, new: Mandate) -> None:
    """Refuse a change of the parties: another employer or mandatary is another mandate."""
    for name in ("employer_nsso", "mandatary_id"):
        if getattr(current, name) != getattr(new, name):
            raise refusal(
                Code.MANDATE_PARTIES_IMMUTABLE,
                f"mandate {current.id} is between {current.employer_nsso} and "
                f"{current.mandatary_id}; create another mandate for other parties",
                field=name,
            )


def overlap(mandate: Mandate, others: Iterable[Mandate]) -> tuple[Mandate, Scope] | None:
    """The first other mandate of the same employer usable on a common day for a common
    scope, with that scope; ``None`` when there is none."""
    if not mandate.ever_usable:
        return None
    for other in sorted(others, key=lambda m: m.id):
        if other.id == mandate.id or other.employer_nsso != mandate.employer_nsso:
            continue
        if not other.ever_usable:
            continue
        common = [s for s in mandate.scopes if s in other.scopes]
        if common and intersects(
            mandate.usable_from, mandate.valid_to, other.usable_from, other.valid_to
        ):
            return other, common[0]
    return None


def check_overlap(mandate: Mandate, others: Iterable[Mandate], rules: Rules) -> None:
    """Refuse a second usable mandate for the same employer and scope on a common day.

    For ``CONTRIBUTION_COLLECTION`` this is "at most one collecting secretariat per
    employer at a time". Applies when ``rules.one_mandate_per_scope``.
    """
    if not rules.one_mandate_per_scope:
        return
    found = overlap(mandate, others)
    if found is not None:
        other, scope = found
        until = other.valid_to.isoformat() if other.valid_to else "open end"
        raise refusal(
            Code.MANDATE_OVERLAP,
            f"employer {mandate.employer_nsso} already has mandate {other.id} for "
            f"{scope.value} usable from {other.usable_from} to {until}; at most one usable "
            "mandate per employer and scope on any date",
            field="scopes",
            conflicting_mandate_id=other.id,
            scope=scope.value,
        )


def is_late(notified_on: date, effective_end: date, rules: Rules) -> bool:
    """Whether an end notice came later than ``rules.end_notice_days`` calendar days
    before the effective end: ``notified_on > effective_end - days``."""
    return notified_on > effective_end - timedelta(days=rules.end_notice_days)


def end(
    mandate: Mandate, *, notified_on: date, effective_end: date, reason: str, rules: Rules
) -> Mandate:
    """The mandate after an end notice: valid until ``effective_end`` inclusive, with the
    notice recorded and flagged ``late`` when it came too late."""
    if effective_end < mandate.valid_from:
        raise refusal(
            Code.INVALID_PERIOD,
            f"effective_end {effective_end} is before the start {mandate.valid_from} of "
            f"mandate {mandate.id}",
            field="effective_end",
        )
    notice = EndNotice(
        notified_on=notified_on,
        effective_end=effective_end,
        reason=reason,
        late=is_late(notified_on, effective_end, rules),
    )
    return replace(mandate, valid_to=effective_end, end_notice=notice)


def with_seat(mandate: Mandate, mandatary: Mandatary) -> Mandate:
    """The mandate with ``seat_id`` resolved from its affiliation point."""
    return replace(mandate, seat_id=seat_of(mandatary, mandate.affiliation_point))
