"""Wiring of the reports service. Nothing runs at import time."""

from typing import Any

from fastapi import FastAPI

from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime
from socsec.reports import api, consumers
from socsec.reports.settings import ReportsSettings

DESCRIPTION = (
    "Barometer reports: drafts, reactions, motivated answers, final, annual and global reports."
)


def create_app(settings: ReportsSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or ReportsSettings(**overrides)
    runtime = ServiceRuntime(settings, migrations_package="socsec.reports.migrations")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec reports",
        description=DESCRIPTION,
        routers=[api.router],
    )
