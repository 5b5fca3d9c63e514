"""Wiring of the registry service. Nothing runs at import time."""

from typing import Any

from fastapi import FastAPI

from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime
from socsec.registry import api, consumers
from socsec.registry.settings import RegistrySettings

DESCRIPTION = (
    "Employers, social secretariats (seats and branches), mandates, batch senders, "
    "API clients and the worker identification register."
)


def create_app(settings: RegistrySettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or RegistrySettings(**overrides)
    runtime = ServiceRuntime(settings, migrations_package="socsec.registry.migrations")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec registry",
        description=DESCRIPTION,
        routers=[api.router],
    )
