"""The catalogue of services: name, default HTTP port, where its wiring lives.

The command line and the local stack read this; services never import each other.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    title: str

    @property
    def module(self) -> str:
        return f"socsec.{self.name}.main"

    @property
    def migrations_package(self) -> str:
        return f"socsec.{self.name}.migrations"

    def create_app(self, settings: object | None = None, **settings_overrides: object) -> FastAPI:
        """Import the service's wiring lazily and build its ASGI app."""
        module = importlib.import_module(self.module)
        return module.create_app(settings, **settings_overrides)


SERVICES: dict[str, ServiceInfo] = {
    s.name: s
    for s in (
        ServiceInfo("registry", 8101, "Registry: employers, secretariats, mandates, clients"),
        ServiceInfo("batch", 8102, "Batch channel: transfer point, ACRF and NOTI"),
        ServiceInfo("dimona", 8103, "Dimona: REST v2 API and personnel file"),
        ServiceInfo("dmfa", 8104, "DmfA: quarterly declarations and anomalies"),
        ServiceInfo("crosscheck", 8105, "Cross-check: personnel file against DmfA"),
        ServiceInfo("scoring", 8106, "Quality barometer scores"),
        ServiceInfo("reports", 8107, "Barometer reports and their procedure"),
    )
}


def service(name: str) -> ServiceInfo:
    try:
        return SERVICES[name]
    except KeyError:
        known = ", ".join(SERVICES)
        raise KeyError(f"unknown service {name!r}; known services: {known}") from None
