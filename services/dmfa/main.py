"""Wiring of the dmfa service. Nothing runs at import time."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from socsec.dmfa import api, consumers, handlers
from socsec.dmfa.domain.tables import Tables, parse_tables
from socsec.dmfa.settings import DmfASettings
from socsec.kit.calendar import WorkingDays
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "Quarterly DmfA declarations (originals and modifications, batch and REST), their "
    "anomaly checks and lifetime, notifications with PIDs, lateness and silent employers."
)


def load_tables(path: str | None = None) -> Tables:
    """The rules' tables: the versioned document shipped with the service, or ``path``."""
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("socsec.dmfa").joinpath("tables.json").read_text(encoding="utf-8")
    return parse_tables(json.loads(text))


def build_deps(runtime: ServiceRuntime, settings: DmfASettings) -> handlers.Deps:
    return handlers.Deps(
        outbox=runtime.outbox,
        clock=runtime.clock,
        calendar=WorkingDays(saturday_is_working_day=settings.saturday_is_working_day),
        authorizer=runtime.authorizer,
        rules=handlers.rules_from(settings, load_tables(settings.tables_path)),
        settings=settings,
    )


def create_app(settings: DmfASettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or DmfASettings(**overrides)
    runtime = ServiceRuntime(
        settings, migrations_package="socsec.dmfa.migrations", authorization=True
    )
    deps = build_deps(runtime, settings)
    runtime.state["dmfa_deps"] = deps

    async def silent_employers() -> None:
        # Each quarter is judged once its dates have come; findings are recorded once, so
        # every instance of the service may run this.
        for quarter in handlers.quarters_to_review(
            runtime.clock.today(), settings.silent_lookback_quarters
        ):
            async with runtime.db.transaction() as conn:
                await handlers.evaluate_silent(conn, deps, quarter)

    runtime.every(settings.silent_check_seconds, silent_employers, "silent employers")
    consumers.register(runtime)
    return create_http_app(
        runtime, title="socsec dmfa", description=DESCRIPTION, routers=[api.router]
    )
