"""Wiring of the dimona service. Nothing runs at import time."""

from typing import Any

from fastapi import FastAPI

from socsec.dimona import api, consumers
from socsec.dimona.settings import DimonaSettings
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "Dimona declarations (IN, OUT, UPDATE, CANCEL) over the REST v2 API and the batch"
    " channel, their notifications and the personnel file."
)


def create_app(settings: DimonaSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or DimonaSettings(**overrides)
    runtime = ServiceRuntime(settings, migrations_package="socsec.dimona.migrations")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec dimona",
        description=DESCRIPTION,
        routers=[api.router],
    )
