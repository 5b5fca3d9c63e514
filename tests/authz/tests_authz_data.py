"""Registry events shared by the authorisation tests."""

from __future__ import annotations

from datetime import date

from socsec.contracts.payloads.registry import (
    Approval,
    Branch,
    MandataryChanged,
    MandataryKind,
    MandateChanged,
    Scope,
    Seat,
)

EXEMPLUM_EVENT = MandataryChanged(
    id="M-EXEMPLUM",
    kind=MandataryKind.APPROVED_SECRETARIAT,
    legal_name="ASBL - Secrétariat Social Exemplum",
    enterprise_number="0412345614",
    approval=Approval(number="950", approved_from=date(2017, 1, 1)),
    seat=Seat(id="S-EXEMPLUM-BXL", address="Rue de la Loi 1, 1000 Bruxelles"),
    branches=(
        Branch(
            id="B-EXEMPLUM-GENT",
            seat_id="S-EXEMPLUM-BXL",
            address="Veldstraat 1, 9000 Gent",
            communicated_on=date(2020, 3, 2),
            active_from=date(2020, 4, 1),
        ),
    ),
)


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
