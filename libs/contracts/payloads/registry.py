"""Payloads of the registry's topics: the reference data every other service reads.

The compacted topics carry the *current state* of one entity per key (a ``...Changed``
event holds the whole entity, not a diff), so a service that reads a topic from its
beginning ends with a complete copy. ``deleted=True`` withdraws an entity.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from socsec.contracts.events import register
from socsec.contracts.identifiers import EnterpriseNumber, Insz, NssoNumber, SenderNumber

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Scope(StrEnum):
    """What a mandate allows the mandatary to do for the employer."""

    DIMONA = "DIMONA"
    DMFA = "DMFA"
    CONTRIBUTION_COLLECTION = "CONTRIBUTION_COLLECTION"


class MandataryKind(StrEnum):
    APPROVED_SECRETARIAT = "APPROVED_SECRETARIAT"  # secrétariat social agréé
    SERVICE_PROVIDER = "SERVICE_PROVIDER"  # prestataire de services sociaux


class NotificationRouting(StrEnum):
    SENDER = "SENDER"
    MANDATARY = "MANDATARY"
    BOTH = "BOTH"


class EmployerClass(BaseModel):
    model_config = _FROZEN
    employer_class: str = Field(description="Employer category (catégorie d'employeur).")
    from_quarter: int
    to_quarter: int | None = None


class EmployerChanged(BaseModel):
    """The current state of one employer (key: NSSO number)."""

    model_config = _FROZEN
    nsso_number: NssoNumber
    enterprise_number: EnterpriseNumber
    name: str
    language: str = Field(pattern="^(fr|nl|de)$")
    registered_from: date
    registered_to: date | None = None
    employer_classes: tuple[EmployerClass, ...] = ()
    public_sector: bool = False
    local_authority: bool = False
    deleted: bool = False


class Approval(BaseModel):
    model_config = _FROZEN
    number: str = Field(pattern=r"^\d{3}$", description="Approval number (3 digits).")
    approved_from: date
    withdrawn_on: date | None = None


class Branch(BaseModel):
    """An operating site of a secretariat other than its seat (succursale / bijkantoor)."""

    model_config = _FROZEN
    id: str
    seat_id: str
    address: str
    communicated_on: date
    active_from: date
    active_to: date | None = None


class Seat(BaseModel):
    """The registered office (siège / zetel): barometer scores are given per seat."""

    model_config = _FROZEN
    id: str
    address: str


class MandataryChanged(BaseModel):
    """The current state of one secretariat or provider with its seat and branches."""

    model_config = _FROZEN
    id: str
    kind: MandataryKind
    legal_name: str
    enterprise_number: EnterpriseNumber
    legal_form: str = "ASBL"
    language: str = "fr"
    approval: Approval | None = None
    seat: Seat
    branches: tuple[Branch, ...] = ()
    deleted: bool = False


class EndNotice(BaseModel):
    model_config = _FROZEN
    notified_on: date
    effective_end: date
    reason: str
    late: bool = Field(description="Notified less than 15 days before the effective end.")


class MandateChanged(BaseModel):
    """The current state of one mandate employer -> mandatary (key: mandate id)."""

    model_config = _FROZEN
    id: str
    employer_nsso: NssoNumber
    employer_enterprise: EnterpriseNumber | None = None
    mandatary_id: str
    affiliation_point: str = Field(description="The seat or branch the employer belongs to.")
    seat_id: str = Field(description="The seat the employer counts for in the barometer.")
    scopes: tuple[Scope, ...]
    proxy_registered_on: date
    valid_from: date
    valid_to: date | None = None
    end_notice: EndNotice | None = None
    notification_routing: NotificationRouting = NotificationRouting.SENDER
    written_mandate_ref: str | None = Field(
        default=None, description="Reference of the written mandate the employer signed."
    )
    signed_on: date | None = Field(default=None, description="When the written mandate was signed.")
    deleted: bool = False


class SenderHolderKind(StrEnum):
    """What the holder of a sender number is."""

    SEAT = "SEAT"
    BRANCH = "BRANCH"
    EMPLOYER = "EMPLOYER"


class SenderChanged(BaseModel):
    """A batch sender number and its holder (mandatary, seat, branch or employer)."""

    model_config = _FROZEN
    sender_number: SenderNumber
    holder: str
    environments: tuple[str, ...] = ("R", "T", "S")
    active: bool = True
    holder_kind: SenderHolderKind | None = Field(
        default=None, description="Whether the holder is a seat, a branch or an employer."
    )
    mandatary_id: str | None = Field(
        default=None, description="The mandatary of the holding seat or branch."
    )
    seat_id: str | None = Field(
        default=None, description="The seat the holding seat or branch counts for."
    )
    employer_nsso: NssoNumber | None = Field(
        default=None, description="The NSSO number of the holding employer."
    )


class IdentificationOutcome(StrEnum):
    FOUND = "FOUND"
    CREATED = "CREATED"
    NOT_FOUND = "NOT_FOUND"


class IdentificationResolved(BaseModel):
    """A request to identify a worker declared without (known) INSZ was answered."""

    model_config = _FROZEN
    request_id: str
    requested_by: str = Field(description="The service and reference that asked.")
    reference: str | None = Field(
        default=None, description="The asker's own reference of the request, echoed."
    )
    outcome: IdentificationOutcome
    insz: Insz | None = None
    reason: str | None = None


register(
    event_type="EmployerChanged",
    topic="registry.employers.v1",
    model=EmployerChanged,
    description="An employer was registered, changed or withdrawn (whole current state).",
)
register(
    event_type="MandataryChanged",
    topic="registry.secretariats.v1",
    model=MandataryChanged,
    description="A secretariat or provider, its seat or its branches changed.",
)
register(
    event_type="MandateChanged",
    topic="registry.mandates.v1",
    model=MandateChanged,
    description="A mandate was created, changed, ended or withdrawn (whole current state).",
)
register(
    event_type="SenderChanged",
    topic="registry.senders.v1",
    model=SenderChanged,
    description="A batch sender number was issued or changed.",
)
register(
    event_type="IdentificationResolved",
    topic="registry.identifications.v1",
    model=IdentificationResolved,
    description="A worker identification request was resolved (found, created or not found).",
)


class WorkerChanged(BaseModel):
    """One worker of the identification register (key: INSZ). Only what the declaration
    services check is published: no address."""

    model_config = _FROZEN
    insz: Insz
    kind: str = Field(pattern="^(nn|bis)$")
    family_name: str | None = None
    given_name: str | None = None
    birth_date: date | None = None
    sex: int | None = Field(default=None, description="1 = male, 2 = female.")
    nationality: int | None = None
    flexi_eligible: bool = True
    replaced_by: Insz | None = None
    deleted: bool = False


register(
    event_type="WorkerChanged",
    topic="registry.workers.v1",
    model=WorkerChanged,
    description="A worker of the identification register was added or changed.",
)
