"""The authorisation read model follows the registry's compacted topics on the real broker."""

from __future__ import annotations

from datetime import date

from authz.tests_authz_data import EXEMPLUM_EVENT, mandate_event
from kit.conftest import eventually

from socsec.contracts.payloads.registry import MandateChanged, Scope
from socsec.kit.runtime import ServiceRuntime

D = date(2025, 3, 1)


async def publish(registry: ServiceRuntime, topic: str, key: str, event_type: str, payload) -> None:
    async with registry.db.transaction() as conn:
        await registry.outbox.publish(conn, topic, event_type=event_type, key=key, payload=payload)


async def test_mandate_change_reaches_another_service_and_survives_its_restart(env) -> None:
    registry = ServiceRuntime(
        env.settings("registry"), migrations_package="socsec.registry.migrations",
        follow_clock=False, configure_logging=False,
    )  # fmt: skip
    await registry.start()
    dimona = ServiceRuntime(
        env.settings("dimona"), follow_clock=False, configure_logging=False, authorization=True
    )
    try:
        await publish(registry, "registry.secretariats.v1", "M-EXEMPLUM", "MandataryChanged",
                      EXEMPLUM_EVENT)  # fmt: skip
        await dimona.start()
        authz = dimona.authorizer
        assert not authz.may_act("B-EXEMPLUM-GENT", "155555504", Scope.DIMONA, D)

        mandate = mandate_event("MD-000031", valid_to=None)
        await publish(registry, "registry.mandates.v1", mandate.id, "MandateChanged", mandate)
        await eventually(
            lambda: _async(authz.may_act("B-EXEMPLUM-GENT", "155555504", Scope.DIMONA, D)),
            timeout=5,
            what="the new mandate in the dimona service",
        )

        ended = mandate_event("MD-000031", valid_to=date(2025, 2, 28))
        await publish(registry, "registry.mandates.v1", ended.id, "MandateChanged", ended)
        await eventually(
            lambda: _async(not authz.may_act("B-EXEMPLUM-GENT", "155555504", Scope.DIMONA, D)),
            timeout=5,
            what="the ended mandate refused",
        )
        await dimona.stop()

        # A fresh instance rebuilds the same model from the compacted topics.
        dimona = ServiceRuntime(
            env.settings("dimona"), follow_clock=False, configure_logging=False, authorization=True
        )
        await dimona.start()
        rebuilt = dimona.authorizer
        assert rebuilt.mandate_count == 1
        assert rebuilt.may_act("B-EXEMPLUM-GENT", "155555504", Scope.DIMONA, date(2025, 2, 28))
        assert not rebuilt.may_act("B-EXEMPLUM-GENT", "155555504", Scope.DIMONA, D)
        assert isinstance(rebuilt.mandate_for("155555504", Scope.DIMONA, date(2025, 1, 1)),
                          MandateChanged)  # fmt: skip
    finally:
        await dimona.stop()
        await registry.stop()


async def _async(value: object) -> object:
    return value
