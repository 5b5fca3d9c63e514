"""Wiring of the dimona service. Nothing runs at import time."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from socsec.dimona import api, consumers, handlers
from socsec.dimona import repository as repo
from socsec.dimona.domain.rules import RuleSettings, student_quota_table
from socsec.dimona.settings import DimonaSettings
from socsec.kit.calendar import WorkingDays
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "Dimona declarations (IN, OUT, UPDATE, CANCEL) over the REST v2 API and the batch "
    "channel, their notifications and the personnel file."
)


def create_app(settings: DimonaSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or DimonaSettings(**overrides)
    processor = settings.role in ("all", "processor")
    runtime = ServiceRuntime(
        settings,
        migrations_package="socsec.dimona.migrations",
        authorization=True,
        # The processor relays the outbox (the API's events too): the two roles of a split
        # service each get one core's worth of work.
        run_relay=processor,
    )
    runtime.relay.linger_s = settings.outbox_linger_ms / 1000
    calendar = WorkingDays(saturday_is_working_day=settings.saturday_is_working_day)
    runtime.state["dimona_deps"] = handlers.Deps(
        outbox=runtime.outbox,
        clock=runtime.clock,
        calendar=calendar,
        authorizer=runtime.authorizer,
        rules=RuleSettings(
            unknown_ssin_policy=settings.unknown_ssin_policy,
            student_quota=student_quota_table(settings.student_quota_hours_from_2025),
        ),
        contest_window_days=settings.contest_window_working_days,
    )

    async def sweep_definitive() -> None:
        async with runtime.db.transaction() as conn:
            await repo.mark_definitive(conn, runtime.clock.today())

    if processor:
        runtime.every(settings.definitive_sweep_seconds, sweep_definitive, "definitive periods")
        consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec dimona",
        description=DESCRIPTION,
        routers=[api.router] if settings.role in ("all", "api") else [],
    )
