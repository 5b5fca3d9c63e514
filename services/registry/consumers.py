"""Kafka entry points of the registry service: translate messages into handler calls."""

from socsec.kit.runtime import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    """Subscribe the service's idempotent consumers (before the broker starts)."""
