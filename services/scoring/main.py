"""Wiring of the scoring service. Nothing runs at import time."""

from typing import Any

from fastapi import FastAPI

from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime
from socsec.scoring import api, consumers
from socsec.scoring.settings import ScoringSettings

DESCRIPTION = "Quality barometer scores per social-secretariat seat in the six control domains."


def create_app(settings: ScoringSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or ScoringSettings(**overrides)
    runtime = ServiceRuntime(settings, migrations_package="socsec.scoring.migrations")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec scoring",
        description=DESCRIPTION,
        routers=[api.router],
    )
