"""Registry events shared by the authorisation tests."""

from __future__ import annotations

from datetime import date

from reference_data import EXEMPLUM

from socsec.contracts.payloads.registry import (
    MandateChanged,
    Scope,
)

EXEMPLUM_EVENT = EXEMPLUM


def mandate_event(mandate_id: str, valid_to: date | None) -> MandateChanged:
    return MandateChanged(
        id=mandate_id,
        employer_nsso="155555504",
        mandatary_id="M-EXEMPLUM",
        affiliation_point="B-EXEMPLUM-GENT",
        seat_id="S-EXEMPLUM-BXL",
        scopes=(Scope.DIMONA, Scope.DMFA),
        proxy_registered_on=date(2021, 5, 27),
        valid_from=date(2021, 7, 1),
        valid_to=valid_to,
    )
