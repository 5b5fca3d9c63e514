"""Payloads of the batch service's topics."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from socsec.contracts.events import register
from socsec.contracts.identifiers import SenderNumber

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class BatchFormSubmitted(BaseModel):
    """One form of an accepted batch file, to be processed exactly as if it came through
    REST. ``(ticket, position)`` identifies it: processing it twice changes nothing."""

    model_config = _FROZEN
    ticket: str = Field(
        pattern=r"^[0-9A-Z]{13}$", description="Ticket of the file (13 characters, base 36)."
    )
    position: int = Field(ge=1, description="Index of the form in the file, from 1.")
    file_type: str = Field(
        pattern="^(DIMN|DMFA|DMWA)$",
        description="DIMN Dimona, DMFA DmfA original, DMWA DmfA modification.",
    )
    environment: str = Field(
        pattern="^(R|S)$",
        description="R production, S simulation (processed in full, nothing reaches the "
        "production personnel file or DmfA store). Test (T) files are never published.",
    )
    sender: SenderNumber = Field(description="Sender number of the file (6 digits).")
    declarant: str = Field(
        description="The organisation holding the sender number (mandatary, seat, branch or "
        "employer): whose mandate is checked for the form's employer."
    )
    go_file_name: str = Field(description="Name of the GO file that started processing.")
    received_at: datetime = Field(
        description="When the file was received (its GO), on the business clock."
    )
    form_xml: str = Field(description="The Form element, as an XML string.")


register(
    event_type="BatchFormSubmitted",
    topic="batch.forms.v1",
    model=BatchFormSubmitted,
    description="A form of an accepted batch file (DIMN, DMFA or DMWA), with ticket and "
    "position, for the dimona or dmfa service.",
)
