"""Wiring of the dmfa service. Nothing runs at import time."""

from typing import Any

from fastapi import FastAPI

from socsec.dmfa import api, consumers
from socsec.dmfa.settings import DmfASettings
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "Quarterly DmfA declarations, their anomaly checks, corrections, lateness and silent employers."
)


def create_app(settings: DmfASettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or DmfASettings(**overrides)
    runtime = ServiceRuntime(settings, migrations_package="socsec.dmfa.migrations")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec dmfa",
        description=DESCRIPTION,
        routers=[api.router],
    )
