"""The HTTP side of a service: FastAPI app with health, readiness, metrics and tracing.

Every service also serves its contracts: the OpenAPI document of its HTTP API at
``/openapi.json`` (FastAPI) and the AsyncAPI document of the Kafka topics it publishes and
reads at ``/asyncapi.json`` (:func:`service_asyncapi`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import socsec
from socsec.contracts.asyncapi import build_document
from socsec.kit.auth import AuthError, auth_error_response
from socsec.kit.runtime import ServiceRuntime


async def get_runtime(request: Request) -> ServiceRuntime:
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
        # FastAPI's own OpenTelemetry support: one server span a request, named after its
        # route, current while the endpoint runs (so tag_declaration reaches it). Metrics
        # are Prometheus' below; exceptions go to the service's log.
        telemetry={
            "tracing": runtime.tracing.enabled,
            "tracer_provider": runtime.tracer_provider if runtime.tracing.enabled else None,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "exclude": _untraced,
        },
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

    app.add_middleware(_MetricsMiddleware, requests=requests, latency=latency)

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

    asyncapi: dict[str, Any] = {}

    @app.get(
        "/asyncapi.json",
        tags=["contracts"],
        summary="AsyncAPI 3.0 document of the Kafka topics this service publishes and reads",
    )
    async def asyncapi_document() -> JSONResponse:
        if not asyncapi:  # built on first use: every consumer is registered by then
            asyncapi.update(service_asyncapi(runtime))
        return JSONResponse(asyncapi)

    for router in routers:
        app.include_router(router)

    return app


def _untraced(scope: Scope) -> bool:
    """The operations routes, polled by orchestrators and Prometheus: no spans."""
    return scope.get("path") in ("/healthz", "/readyz", "/metrics")


def service_asyncapi(runtime: ServiceRuntime) -> dict[str, Any]:
    """The project's AsyncAPI document cut down to one service, with its operations.

    The service sends to the topics named after it (``dimona.*`` for dimona: a topic is
    named after the one service that publishes it) and receives from the topics of its
    consumers and followers.
    """
    document = copy.deepcopy(build_document())
    prefix = runtime.settings.topic_prefix
    read = {topic.removeprefix(prefix) for topic in runtime.followed_topics}
    read |= {consumer.topic.removeprefix(prefix) for consumer in runtime.consumers}
    channels = document["channels"]
    sent = {name for name in channels if name.split(".", 1)[0] == runtime.name}
    operations: dict[str, Any] = {}
    for action, names in (("send", sent), ("receive", read)):
        for name in sorted(names & set(channels)):
            operations[f"{action}-{name}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{name}"},
                "messages": [
                    {"$ref": f"#/channels/{name}/messages/{event_type}"}
                    for event_type in sorted(channels[name]["messages"])
                ],
            }
    kept = {name: channels[name] for name in sorted((sent | read) & set(channels))}
    used = {event_type for channel in kept.values() for event_type in channel["messages"]}
    components = document["components"]
    components["messages"] = {k: v for k, v in components["messages"].items() if k in used}
    document["channels"] = kept
    document["operations"] = operations
    document["info"]["title"] = f"socsec {runtime.name}"
    document["info"]["description"] = (
        f"The Kafka topics the {runtime.name} service publishes (send) and reads (receive); "
        "the whole system's document is docs/asyncapi.json."
    )
    return document


def next_page_url(request: Request, page: int, page_size: int, more: bool) -> str | None:
    """The ``next`` link of a paged list: the same URL and query with the following page,
    or ``None`` on the last page."""
    if not more:
        return None
    params = dict(request.query_params) | {"page": str(page + 1), "pageSize": str(page_size)}
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{str(request.base_url).rstrip('/')}{request.url.path}?{query}"


class _MetricsMiddleware:
    """Request count and latency per route template, as a plain ASGI middleware (Starlette's
    ``BaseHTTPMiddleware`` costs about 0.2 ms a request)."""

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - start)
            self.requests.labels(scope["method"], route, str(status[0])).inc()
