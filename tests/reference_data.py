"""The shared synthetic reference data of shared/domain/README.md §5, as registry events.

Test data only: the services never hard-code it; tests publish it on the registry's topics
(or feed it to an in-memory model) like the registry would.
"""

from __future__ import annotations

from datetime import date

from socsec.contracts.payloads.registry import (
    Approval,
    Branch,
    MandataryChanged,
    MandataryKind,
    Seat,
)

EXEMPLUM = MandataryChanged(
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
PAYPRO = MandataryChanged(
    id="M-PAYPRO",
    kind=MandataryKind.SERVICE_PROVIDER,
    legal_name="PayPro Services SRL",
    enterprise_number="0456789133",
    seat=Seat(id="S-PAYPRO", address="Avenue Louise 54, 1050 Bruxelles"),
)
