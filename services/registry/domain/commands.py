"""Commands of the registry: what an HTTP body or a line of an import file asks for.

They are pydantic models so that every entry point (REST, ``socsec registry import``,
``seed-demo``) parses the same way: identifiers are validated once by the shared types of
:mod:`socsec.contracts.identifiers` (a bad check digit is refused naming its field), and
unknown fields are refused. The rules of the register are then applied by the handlers.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from socsec.contracts.identifiers import (
    EnterpriseNumber,
    Insz,
    NssoNumber,
    Quarter,
    SenderNumber,
)
from socsec.contracts.payloads.registry import MandataryKind, NotificationRouting, Scope

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Language = Literal["fr", "nl", "de"]
Sex = Literal["M", "F"]
Environment = Literal["R", "T", "S"]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _id(description: str) -> Any:
    return Field(pattern=ID_PATTERN, description=description)


# -- employers ---------------------------------------------------------------------------


class EmployerClassInput(_Command):
    employer_class: str = Field(
        min_length=1, max_length=10, description="Employer category (catégorie d'employeur)."
    )
    from_quarter: Quarter
    to_quarter: Quarter | None = None


class EmployerFields(_Command):
    """An employer's data, without its NSSO number (the body of a replacement)."""

    enterprise_number: EnterpriseNumber = Field(description="KBO/BCE number, 10 digits.")
    name: str = Field(min_length=1, max_length=200)
    language: Language
    registered_from: date = Field(description="First day the employer is registered.")
    registered_to: date | None = Field(default=None, description="Last day, when ended.")
    employer_classes: list[EmployerClassInput] = Field(default_factory=list)
    public_sector: bool = False
    local_authority: bool = False


class RegisterEmployer(EmployerFields):
    """Register an employer (or, in an import, bring it up to date)."""

    nsso_number: NssoNumber = Field(description="NSSO registration number, 9 digits.")


# -- mandataries ---------------------------------------------------------------------------


class ApprovalInput(_Command):
    number: str = Field(pattern=r"^\d{3}$", description="Approval number, 3 digits.")
    approved_from: date
    withdrawn_on: date | None = Field(
        default=None, description="First day the approval is no longer in force."
    )


class SeatInput(_Command):
    id: str = _id("Seat id (registered office).")
    address: str = Field(min_length=1, max_length=300)


class BranchInput(_Command):
    id: str = _id("Branch id.")
    seat_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="The seat the branch belongs to; defaults to the mandatary's seat.",
    )
    address: str = Field(min_length=1, max_length=300)
    communicated_on: date = Field(description="When the branch was communicated to the NSSO.")
    active_from: date
    active_to: date | None = None


class MandataryFields(_Command):
    """A mandatary's data, without its id (the body of a replacement)."""

    kind: MandataryKind
    legal_name: str = Field(min_length=1, max_length=200)
    enterprise_number: EnterpriseNumber
    legal_form: str = Field(min_length=1, max_length=20, description="ASBL, VZW, SRL, BV...")
    language: Language
    approval: ApprovalInput | None = Field(default=None, description="Approved secretariats only.")
    seat: SeatInput
    branches: list[BranchInput] = Field(
        default_factory=list,
        description="Branches to add or replace; branches not listed stay "
        "(end one with active_to).",
    )


class RegisterMandatary(MandataryFields):
    """Register a secretariat or provider with its seat and branches."""

    id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="Mandatary id; issued when absent."
    )


# -- mandates ----------------------------------------------------------------------------


class MandateFields(_Command):
    """A mandate's data, without its id (the body of a replacement)."""

    employer_nsso: NssoNumber
    mandatary_id: str = _id("The mandatary (secretariat or provider).")
    affiliation_point: str = _id("The mandatary's seat or one of its branches.")
    scopes: list[Scope] = Field(min_length=1)
    written_mandate_ref: str | None = Field(default=None, max_length=100)
    signed_on: date | None = None
    proxy_registered_on: date = Field(description="When the proxy was registered at the NSSO.")
    valid_from: date
    valid_to: date | None = None
    notification_routing: NotificationRouting | None = Field(
        default=None, description="Default: MANDATARY for approved secretariats, else SENDER."
    )

    @model_validator(mode="before")
    @classmethod
    def _employer_object(cls, data: Any) -> Any:
        # The domain's examples write the employer as {"nsso_number": ..., ...}.
        if isinstance(data, dict) and isinstance(data.get("employer"), dict):
            data = dict(data)
            employer = data.pop("employer")
            data.setdefault("employer_nsso", employer.get("nsso_number"))
        return data


class RegisterMandate(MandateFields):
    """Register a mandate between an employer and a mandatary."""

    id: str | None = Field(default=None, pattern=ID_PATTERN, description="Issued when absent.")


class GiveEndNotice(_Command):
    """The mandatary tells the NSSO that a mandate ends."""

    notified_on: date = Field(description="When the termination was notified to the NSSO.")
    effective_end: date = Field(description="Last day of the mandate.")
    reason: str = Field(min_length=1, max_length=500)


# -- senders -----------------------------------------------------------------------------


class SenderFields(_Command):
    """A sender's data, without its number (the body of a replacement)."""

    holder: str = Field(
        pattern=ID_PATTERN,
        description="A seat or branch id, a mandatary id (its seat), or an employer's NSSO number.",
    )
    environments: list[Environment] = Field(default_factory=lambda: ["R", "T", "S"], min_length=1)
    certificate: str | None = Field(default=None, max_length=10_000)
    active: bool = True


class IssueSender(SenderFields):
    """Issue a sender number (the next free one when none is given)."""

    sender_number: SenderNumber | None = None


# -- workers -----------------------------------------------------------------------------


class WorkerFields(_Command):
    """A worker's data, without the INSZ (the body of a replacement)."""

    family_name: str = Field(min_length=1, max_length=100)
    given_name: str = Field(min_length=1, max_length=100)
    birth_date: date | None = Field(default=None, description="Default: taken from the INSZ.")
    sex: Sex | None = None
    nationality: str | None = Field(
        default=None,
        max_length=40,
        description="Country code of the declarations (150: Belgium); only a numeric code "
        "is published on registry.workers.v1.",
    )
    address: str | None = Field(default=None, max_length=300)
    flexi_eligible: bool | None = Field(default=None, description="Default: true.")
    replaced_by: Insz | None = Field(
        default=None, description="The national register number that replaces a BIS number."
    )


class RegisterWorker(WorkerFields):
    """Register a worker in the identification register."""

    inss: Insz = Field(
        validation_alias=AliasChoices("inss", "insz"), description="INSZ/NISS, 11 digits."
    )


# -- identification ----------------------------------------------------------------------


class RequestIdentification(_Command):
    """Ask for the INSZ of a worker declared without one; answered later."""

    requested_by: str = Field(min_length=1, max_length=100, description="Service asking.")
    reference: str = Field(
        min_length=1, max_length=100, description="The asker's reference, echoed."
    )
    family_name: str = Field(default="", max_length=100)
    given_name: str = Field(default="", max_length=100)
    birth_date: date | None = Field(default=None, description="Missing: not found.")
    sex: Sex | None = None
    nationality: str | None = Field(default=None, max_length=40)
    insz: Insz | None = Field(
        default=None, description="The INSZ the asker has, when the register did not know it."
    )


class ResolveIdentification(_Command):
    """An operator answers an identification request."""

    outcome: Literal["FOUND", "NOT_FOUND"]
    insz: Insz | None = Field(default=None, description="Required when FOUND.")
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _insz_when_found(self) -> ResolveIdentification:
        if self.outcome == "FOUND" and self.insz is None:
            raise ValueError("insz is required when the outcome is FOUND")
        return self
