"""The shared synthetic reference data of shared/domain/README.md §5, as registry events.

Test data only: the services never hard-code it; tests publish it on the registry's topics
(or feed it to an in-memory model) like the registry would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from socsec.contracts.payloads.registry import (
    Approval,
    Branch,
    EmployerChanged,
    EmployerClass,
    MandataryChanged,
    MandataryKind,
    MandateChanged,
    NotificationRouting,
    Scope,
    Seat,
    WorkerChanged,
)
from socsec.kit import migrator
from socsec.kit.runtime import ServiceRuntime

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


#: NSSO -> (KBO, mandatary, affiliation point, routing): employers A to D of README §5.
EMPLOYERS = {
    "123456749": ("0123456749", "M-PAYPRO", "S-PAYPRO", NotificationRouting.SENDER),
    "187654356": ("0876543270", "M-PAYPRO", "S-PAYPRO", NotificationRouting.SENDER),
    "155555504": ("0555555523", "M-EXEMPLUM", "B-EXEMPLUM-GENT", NotificationRouting.MANDATARY),
    "111111171": ("0812345603", "M-EXEMPLUM", "S-EXEMPLUM-BXL", NotificationRouting.MANDATARY),
}


async def publish_registry_events(
    env: Any,
    employers: dict[str, tuple[str, str, str, NotificationRouting]],
    workers: Iterable[str],
    *,
    language: Callable[[str], str] = lambda nsso: "fr",
    employer_classes: tuple[EmployerClass, ...] = (),
) -> None:
    """Publish the secretariats, ``employers`` with their Dimona and DmfA mandates and the
    known ``workers`` through an outbox of the test's registry schema, and wait until the
    relay has sent them: the services build their read models from Kafka as in production."""
    conn = await env.connect("registry")
    try:
        await migrator.apply(conn, "registry", migrator.load("kit", migrator.KIT_MIGRATIONS))
    finally:
        await conn.close()
    registry = ServiceRuntime(env.settings("registry"), follow_clock=False, configure_logging=False)
    await registry.start()
    try:
        async with registry.db.transaction() as conn:
            out = registry.outbox
            for m in (EXEMPLUM, PAYPRO):
                await out.publish(
                    conn,
                    "registry.secretariats.v1",
                    event_type="MandataryChanged",
                    key=m.id,
                    payload=m,
                )
            for i, (nsso, (kbo, mandatary, point, routing)) in enumerate(employers.items()):
                employer = EmployerChanged(
                    nsso_number=nsso,
                    enterprise_number=kbo,
                    name=f"Employer {nsso}",
                    language=language(nsso),
                    registered_from=date(2010, 1, 1),
                    employer_classes=employer_classes,
                )
                await out.publish(
                    conn,
                    "registry.employers.v1",
                    event_type="EmployerChanged",
                    key=nsso,
                    payload=employer,
                )
                mandate = MandateChanged(
                    id=f"MD-{i:06d}",
                    employer_nsso=nsso,
                    mandatary_id=mandatary,
                    affiliation_point=point,
                    seat_id="S-EXEMPLUM-BXL" if mandatary == "M-EXEMPLUM" else "S-PAYPRO",
                    scopes=(Scope.DIMONA, Scope.DMFA),
                    proxy_registered_on=date(2015, 1, 1),
                    valid_from=date(2015, 1, 1),
                    notification_routing=routing,
                )
                await out.publish(
                    conn,
                    "registry.mandates.v1",
                    event_type="MandateChanged",
                    key=mandate.id,
                    payload=mandate,
                )
            for insz in workers:
                await out.publish(
                    conn,
                    "registry.workers.v1",
                    event_type="WorkerChanged",
                    key=insz,
                    payload=WorkerChanged(insz=insz, kind="nn"),
                )
        deadline = time.monotonic() + 30
        while await registry.db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            assert time.monotonic() < deadline, "registry events were not relayed"
            await asyncio.sleep(0.1)
    finally:
        await registry.stop()
