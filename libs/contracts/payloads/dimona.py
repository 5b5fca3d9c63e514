"""Payloads of the dimona service's topics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from socsec.contracts.events import register
from socsec.contracts.identifiers import Insz, NssoNumber

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class DimonaDeclarationReceived(BaseModel):
    """A declaration was recorded by the REST API and waits for processing."""

    model_config = _FROZEN
    declaration_id: int
    kind: str = Field(pattern="^(IN|OUT|UPDATE|CANCEL)$")
    channel: str = "REST"
    declarant: str


class PeriodState(BaseModel):
    """A Dimona period as the personnel file holds it."""

    model_config = _FROZEN
    id: int
    employer_nsso: NssoNumber
    insz: Insz
    worker_type: str
    joint_commission: str | None = None
    sub_entity: int | None = None
    using_employer: dict[str, Any] | None = None
    start_date: date
    end_date: date | None = None
    start_hour: str | None = None
    end_hour: str | None = None
    planned_hours: int | None = None
    is_cancelled: bool = False
    is_late: bool = False


class DimonaPeriodChanged(BaseModel):
    """A declaration changed the personnel file: the period before and after."""

    model_config = _FROZEN
    declaration_id: int
    kind: str = Field(pattern="^(IN|OUT|UPDATE|CANCEL)$")
    before: PeriodState | None = None
    after: PeriodState
    changed_at: datetime
    simulation: bool = False


class NotificationAnomaly(BaseModel):
    model_config = _FROZEN
    code: str
    severity: str
    tag: str | None = None
    value: str | None = None
    description_fr: str | None = None
    description_nl: str | None = None
    label_fr: str | None = Field(
        default=None, description="Annex-30 label of the generic code (the NOTI AnomalyLabel)."
    )
    label_nl: str | None = Field(default=None, description="Annex-30 label, in Dutch.")
    quota_type: str | None = Field(
        default=None, description="90017-369: the quota exceeded (STUDENT, ART17)."
    )
    quota_exceeding: int | None = Field(
        default=None, description="90017-369: by how much the quota is exceeded (max 999)."
    )
    quota_unit: str | None = Field(
        default=None, description="90017-369: unit of quota_exceeding, hours or days."
    )


class DimonaNotified(BaseModel):
    """The notification of one processed declaration: positive (A, W), negative (B) or
    provisional (S, always followed by a final one)."""

    model_config = _FROZEN
    declaration_id: int
    kind: str
    result: str = Field(pattern="^(A|W|B|S)$")
    final: bool
    employer_nsso: str | None = None
    insz: str | None = None
    period_id: int | None = None
    anomalies: tuple[NotificationAnomaly, ...] = ()
    channel: str = "REST"
    declarant: str
    recipients: tuple[str, ...] = Field(description="Organisations the notification goes to.")
    batch_ticket: str | None = None
    batch_position: int | None = None
    notified_at: datetime
    contest_deadline: date | None = None
    before: PeriodState | None = None
    after: PeriodState | None = None


class IdentificationRequested(BaseModel):
    """A worker was declared without an INSZ the register knows: identify them."""

    model_config = _FROZEN
    request_id: str
    requested_by: str
    insz: Insz | None = None
    family_name: str | None = None
    given_name: str | None = None
    birth_date: date | None = None
    sex: int | None = None
    nationality: int | None = None


register(
    event_type="DimonaDeclarationReceived",
    topic="dimona.declarations.v1",
    model=DimonaDeclarationReceived,
    description="A Dimona declaration was received over REST and waits for processing.",
)
register(
    event_type="DimonaPeriodChanged",
    topic="dimona.periods.v1",
    model=DimonaPeriodChanged,
    description="An accepted declaration opened, closed, changed or cancelled a period.",
)
register(
    event_type="DimonaNotified",
    topic="dimona.notifications.v1",
    model=DimonaNotified,
    description="A Dimona declaration was processed: positive, negative or provisional.",
)
register(
    event_type="IdentificationRequested",
    topic="dimona.identification-requests.v1",
    model=IdentificationRequested,
    description="A worker declared without a known INSZ must be identified.",
)
