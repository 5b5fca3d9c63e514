"""Wiring of the scoring service. Nothing runs at import time."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime
from socsec.scoring import api, consumers
from socsec.scoring.domain import catalogue as catalogue_file
from socsec.scoring.service import ScoringService, register_catalogue
from socsec.scoring.settings import ScoringSettings

DESCRIPTION = "Quality barometer scores per social-secretariat seat in the six control domains."


class ScoringRuntime(ServiceRuntime):
    """Starts like every runtime, then records the catalogue's versions: a version already
    used whose content changed stops the start."""

    async def start(self) -> None:
        await super().start()
        service: ScoringService = self.state["scoring"]
        try:
            async with self.db.transaction() as conn:
                await register_catalogue(conn, service.catalogue, self.clock.now())
        except Exception:
            await self.stop()
            raise


def build_runtime(settings: ScoringSettings, **runtime_options: Any) -> ServiceRuntime:
    """The runtime with the validated catalogue and the service (app and command line)."""
    catalogue = catalogue_file.load(settings.scoring_catalogue_path)
    runtime = ScoringRuntime(
        settings, migrations_package="socsec.scoring.migrations", **runtime_options
    )
    runtime.state["scoring"] = ScoringService(runtime, catalogue)
    return runtime


def create_app(settings: ScoringSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or ScoringSettings(**overrides)
    runtime = build_runtime(settings)
    service: ScoringService = runtime.state["scoring"]
    runtime.every(settings.scoring_completion_poll_seconds, service.complete, "completion")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec scoring",
        description=DESCRIPTION,
        routers=[api.router],
    )
