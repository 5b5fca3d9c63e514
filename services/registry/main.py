"""Wiring of the registry service. Nothing runs at import time."""

from typing import Any

from fastapi import FastAPI

from socsec.kit.clock import Clock
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime
from socsec.registry import api, consumers, tokens
from socsec.registry.domain.errors import RegistryError
from socsec.registry.settings import RegistrySettings

DESCRIPTION = (
    "Employers, social secretariats (seats and branches), mandates, batch senders, "
    "API clients and the worker identification register."
)


def create_app(
    settings: RegistrySettings | None = None, *, clock: Clock | None = None, **overrides: Any
) -> FastAPI:
    """The registry's app; ``clock`` replaces the business clock (tests pass a FixedClock)."""
    settings = settings or RegistrySettings(**overrides)
    runtime = ServiceRuntime(settings, migrations_package="socsec.registry.migrations", clock=clock)
    consumers.register(runtime)
    app = create_http_app(
        runtime,
        title="socsec registry",
        description=DESCRIPTION,
        routers=[api.router, tokens.router],
    )
    app.add_exception_handler(RegistryError, api.registry_error_response)
    return app
