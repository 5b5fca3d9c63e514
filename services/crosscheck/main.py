"""Wiring of the crosscheck service. Nothing runs at import time."""

from typing import Any

from fastapi import FastAPI

from socsec.crosscheck import api, consumers
from socsec.crosscheck.settings import CrosscheckSettings
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "The personnel file (Dimona) cross-checked against DmfA per employer, worker and quarter."
)


def create_app(settings: CrosscheckSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or CrosscheckSettings(**overrides)
    runtime = ServiceRuntime(settings, migrations_package="socsec.crosscheck.migrations")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec crosscheck",
        description=DESCRIPTION,
        routers=[api.router],
    )
