"""Wiring of the batch service. Nothing runs at import time."""

from typing import Any

from fastapi import FastAPI

from socsec.batch import api, consumers
from socsec.batch.settings import BatchSettings
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "The transfer point of the batch channel: declaration files in, ticket "
    "acknowledgements (ACRF) and notifications (NOTI) out."
)


def create_app(settings: BatchSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or BatchSettings(**overrides)
    runtime = ServiceRuntime(settings, migrations_package="socsec.batch.migrations")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec batch",
        description=DESCRIPTION,
        routers=[api.router],
    )
