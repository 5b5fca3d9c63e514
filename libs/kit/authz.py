"""May this organisation act for employer E with scope S on date D?

Answered in-process from a read model of the registry's compacted topics
(``registry.employers.v1``, ``registry.mandates.v1``, ``registry.secretariats.v1``): no network
call per request. Every instance of a service keeps the whole model, rebuilt from the topics
at start (:class:`AuthorizationReadModel`), so a restart loses nothing and a registry change
reaches every service within the follower's poll interval.

Rules (``shared/domain/registry.md`` §3 and §5):

- an employer may always act for itself;
- otherwise the organisation (a mandatary, its seat or one of its branches) needs a *usable*
  mandate of its mandatary for that employer and scope on that date: ``valid_from <= d <=
  valid_to`` (open end allowed) and the proxy registered at the NSSO (``proxy_registered_on
  <= d``); a branch acts within its mandatary's mandates;
- contribution collection also needs the mandatary to be an approved secretariat whose
  approval is in force on that date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from socsec.contracts.envelope import Envelope
from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.registry import (
    EmployerChanged,
    MandataryChanged,
    MandataryKind,
    MandateChanged,
    Scope,
)
from socsec.kit.follower import TopicFollower

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord

log = logging.getLogger(__name__)

AUTHZ_TOPICS = ("registry.secretariats.v1", "registry.employers.v1", "registry.mandates.v1")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    mandate_id: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


_SELF = Decision(True, "the employer acts for itself")


class Authorizer:
    """The in-memory model and the question it answers."""

    def __init__(self) -> None:
        self.employers: dict[str, EmployerChanged] = {}
        self.by_enterprise: dict[str, str] = {}  # enterprise number -> NSSO number
        self.mandataries: dict[str, MandataryChanged] = {}
        self._organisation: dict[str, str] = {}  # mandatary, seat or branch id -> mandatary id
        self._by_employer: dict[str, dict[str, MandateChanged]] = {}
        self._employer_of: dict[str, str] = {}  # mandate id -> employer

    # -- feeding -----------------------------------------------------------------------

    def apply_employer(self, employer: EmployerChanged) -> None:
        old = self.employers.pop(employer.nsso_number, None)
        if old is not None:
            self.by_enterprise.pop(old.enterprise_number, None)
        if not employer.deleted:
            self.employers[employer.nsso_number] = employer
            self.by_enterprise[employer.enterprise_number] = employer.nsso_number

    def apply_mandatary(self, mandatary: MandataryChanged) -> None:
        old = self.mandataries.pop(mandatary.id, None)
        if old is not None:
            for org in _organisations(old):
                self._organisation.pop(org, None)
        if mandatary.deleted:
            return
        self.mandataries[mandatary.id] = mandatary
        for org in _organisations(mandatary):
            self._organisation[org] = mandatary.id

    def apply_mandate(self, mandate: MandateChanged) -> None:
        self.remove_mandate(mandate.id)
        if mandate.deleted:
            return
        self._by_employer.setdefault(mandate.employer_nsso, {})[mandate.id] = mandate
        self._employer_of[mandate.id] = mandate.employer_nsso

    def remove_mandate(self, mandate_id: str) -> None:
        employer = self._employer_of.pop(mandate_id, None)
        if employer is not None:
            mandates = self._by_employer.get(employer)
            if mandates is not None:
                mandates.pop(mandate_id, None)
                if not mandates:
                    del self._by_employer[employer]

    @property
    def mandate_count(self) -> int:
        return len(self._employer_of)

    # -- questions ---------------------------------------------------------------------

    def mandatary_of(self, organisation: str) -> str | None:
        """The mandatary an organisation id (mandatary, seat or branch) belongs to."""
        return self._organisation.get(organisation)

    def may_act(self, organisation: str, employer: str, scope: Scope | str, on: date) -> Decision:
        """Whether ``organisation`` may act for ``employer`` with ``scope`` on date ``on``."""
        if organisation == employer:
            return _SELF
        mandatary = self._organisation.get(organisation)
        if mandatary is None:
            return Decision(False, f"organisation {organisation} is not a known mandatary")
        for mandate in self._by_employer.get(employer, {}).values():
            if mandate.mandatary_id != mandatary or scope not in mandate.scopes:
                continue
            if not _usable(mandate, on):
                continue
            if scope == Scope.CONTRIBUTION_COLLECTION and not self._collects(mandatary, on):
                continue
            return Decision(True, "usable mandate", mandate.id)
        return Decision(False, f"no usable {scope} mandate of {mandatary} for {employer} on {on}")

    def mandate_for(self, employer: str, scope: Scope | str, on: date) -> MandateChanged | None:
        """The usable mandate of an employer for a scope on a date (at most one by rule)."""
        for mandate in self._by_employer.get(employer, {}).values():
            if scope in mandate.scopes and _usable(mandate, on):
                return mandate
        return None

    def employers_of(self, organisation: str, scope: Scope | str, on: date) -> list[str]:
        """The employers an organisation may act for with ``scope`` on ``on`` (listing reads)."""
        mandatary = self._organisation.get(organisation)
        if mandatary is None:
            return [organisation] if organisation in self.employers else []
        return sorted(
            employer
            for employer, mandates in self._by_employer.items()
            if any(
                m.mandatary_id == mandatary and scope in m.scopes and _usable(m, on)
                for m in mandates.values()
            )
        )

    def _collects(self, mandatary_id: str, on: date) -> bool:
        mandatary = self.mandataries.get(mandatary_id)
        if mandatary is None or mandatary.kind != MandataryKind.APPROVED_SECRETARIAT:
            return False
        approval = mandatary.approval
        return (
            approval is not None
            and approval.approved_from <= on
            and (approval.withdrawn_on is None or on < approval.withdrawn_on)
        )


def _usable(mandate: MandateChanged, on: date) -> bool:
    return (
        mandate.valid_from <= on
        and (mandate.valid_to is None or on <= mandate.valid_to)
        and mandate.proxy_registered_on <= on
    )


def _organisations(mandatary: MandataryChanged) -> Iterable[str]:
    yield mandatary.id
    yield mandatary.seat.id
    for branch in mandatary.branches:
        yield branch.id


class AuthorizationReadModel:
    """Keeps an :class:`Authorizer` in step with the registry's compacted topics."""

    def __init__(
        self, bootstrap: str, topic_prefix: str = "", authorizer: Authorizer | None = None
    ):
        self.authorizer = authorizer or Authorizer()
        self._followers = [
            TopicFollower(bootstrap, f"{topic_prefix}{name}", self._on_record, name=f"authz:{name}")
            for name in AUTHZ_TOPICS
        ]

    def _on_record(self, record: ConsumerRecord) -> None:
        if record.value is None:  # tombstone
            key = record.key.decode() if record.key else ""
            if record.topic.endswith("registry.mandates.v1"):
                self.authorizer.remove_mandate(key)
            elif record.topic.endswith("registry.employers.v1"):
                old = self.authorizer.employers.pop(key, None)
                if old is not None:
                    self.authorizer.by_enterprise.pop(old.enterprise_number, None)
            return
        try:
            payload: Any = parse_payload(Envelope.from_bytes(record.value))
        except ValueError:
            log.exception("ignoring unreadable record on %s@%d", record.topic, record.offset)
            return
        if isinstance(payload, MandateChanged):
            self.authorizer.apply_mandate(payload)
        elif isinstance(payload, EmployerChanged):
            self.authorizer.apply_employer(payload)
        elif isinstance(payload, MandataryChanged):
            self.authorizer.apply_mandatary(payload)

    async def start(self) -> None:
        # Mandataries first, so that mandates find their organisations resolved.
        for follower in self._followers:
            await follower.start()

    async def stop(self) -> None:
        for follower in self._followers:
            await follower.stop()
