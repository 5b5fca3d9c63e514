"""The HTTP side of a service: FastAPI app with health, readiness, metrics and tracing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

import socsec
from socsec.kit.auth import AuthError, auth_error_response
from socsec.kit.runtime import ServiceRuntime


def get_runtime(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the runtime of the service handling the request."""
    return request.app.state.runtime


def create_http_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str = "",
    routers: Iterable[APIRouter] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version=socsec.__version__,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    # 401/403 of socsec.kit.auth in the project's problem shape {"title", "status", "detail"}.
    app.add_exception_handler(AuthError, auth_error_response)

    requests = Counter(
        "http_requests_total",
        "HTTP requests by route and status.",
        ["method", "route", "status"],
        registry=runtime.metrics,
    )
    latency = Histogram(
        "http_request_duration_seconds",
        "HTTP request duration by route.",
        ["method", "route"],
        registry=runtime.metrics,
    )

    @app.middleware("http")
    async def _metrics(request: Request, call_next):  # type: ignore[no-untyped-def]
        with latency.labels(request.method, _route(request)).time():
            response = await call_next(request)
        requests.labels(request.method, _route(request), str(response.status_code)).inc()
        return response

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @app.get("/readyz", tags=["operations"], summary="Readiness: PostgreSQL and Kafka answer")
    async def readyz() -> JSONResponse:
        checks = await runtime.ready()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "service": runtime.name, "checks": checks},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(runtime.metrics), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=runtime.tracer_provider, excluded_urls="healthz,readyz,metrics"
    )
    return app


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")
