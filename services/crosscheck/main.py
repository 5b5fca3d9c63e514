"""Wiring of the crosscheck service. Nothing runs at import time."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from socsec.crosscheck import api, consumers, handlers
from socsec.crosscheck.evaluator import Evaluator
from socsec.crosscheck.settings import CrosscheckSettings
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "The personnel file (Dimona) cross-checked against DmfA per employer, worker and quarter: "
    "mismatch instances with their lifetime, and the yearly counts per secretariat seat."
)


def build_runtime(settings: CrosscheckSettings, **runtime_options: Any) -> ServiceRuntime:
    """The runtime with the service's dependencies and evaluator (the app and the command
    line share it). The mandate read model gives the seat of each employer."""
    runtime = ServiceRuntime(
        settings,
        migrations_package="socsec.crosscheck.migrations",
        authorization=True,
        **runtime_options,
    )
    deps = handlers.Deps(
        outbox=runtime.outbox,
        clock=runtime.clock,
        authorizer=runtime.authorizer,
        rules=settings.rules(),
    )
    runtime.state["crosscheck_deps"] = deps
    runtime.state["crosscheck_evaluator"] = Evaluator(
        runtime.db,
        deps,
        batch=settings.crosscheck_evaluator_batch,
        idle_poll_s=settings.crosscheck_evaluator_poll_seconds,
    )
    return runtime


def create_app(settings: CrosscheckSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or CrosscheckSettings(**overrides)
    runtime = build_runtime(settings)
    evaluator: Evaluator = runtime.state["crosscheck_evaluator"]
    runtime.every(settings.crosscheck_evaluator_poll_seconds, evaluator.run, "evaluator")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec crosscheck",
        description=DESCRIPTION,
        routers=[api.router],
    )
