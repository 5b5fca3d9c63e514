"""OpenTelemetry, set up once per process.

Traces go to an OTLP exporter configured by the standard ``OTEL_*`` variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_TRACES_EXPORTER``...). Every exported span passes
through :class:`RedactingSpanExporter`, which replaces INSZ numbers in attribute values and
event attributes by their keyed pseudonym: nothing that reaches a tracing backend carries
an INSZ in clear text, whatever a library chose to record.

Spans that concern a declaration carry its identifiers as attributes, so an operator finds
every trace of it in the tracing UI: ``socsec.declaration_id`` (a Dimona declaration's id, a
DmfA declaration's ticket) and ``socsec.ticket`` (the ticket of a batch file).
:func:`declaration_attributes` reads them from an event's payload; the idempotent consumer
puts them on its span, the outbox passes them in Kafka headers (:data:`TRACE_HEADERS`) to the
producer span of :class:`KafkaTracingMiddleware`, and an HTTP route that creates a
declaration calls :func:`tag_declaration`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faststream.kafka.opentelemetry.provider import (
    BatchKafkaTelemetrySettingsProvider,
    KafkaTelemetrySettingsProvider,
)
from faststream.opentelemetry.middleware import TelemetryMiddleware
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from socsec.kit.pseudonym import Pseudonymizer

DECLARATION_ID = "socsec.declaration_id"
TICKET = "socsec.ticket"
#: Kafka header of each attribute, set by the outbox, read back for the producer span.
TRACE_HEADERS = {DECLARATION_ID: "x-socsec-declaration-id", TICKET: "x-socsec-ticket"}


def declaration_attributes(
    payload: Mapping[str, Any], producer: str | None = None
) -> dict[str, str | int]:
    """The span attributes that identify the declaration an event is about.

    ``declaration_id`` (Dimona) and ``batch_ticket`` keep their meaning in every payload;
    ``ticket`` is the batch file's ticket in the batch service's events and the declaration's
    own ticket (its identifier) in the DmfA service's.
    """
    out: dict[str, str | int] = {}
    declaration_id = payload.get("declaration_id")
    if isinstance(declaration_id, (int, str)) and declaration_id != "":
        out[DECLARATION_ID] = declaration_id
    batch_ticket = payload.get("batch_ticket")
    if isinstance(batch_ticket, str) and batch_ticket:
        out[TICKET] = batch_ticket
    ticket = payload.get("ticket")
    if isinstance(ticket, str) and ticket:
        if producer == "batch":
            out[TICKET] = ticket
        else:
            out.setdefault(DECLARATION_ID, ticket)
    return out


def trace_headers(attributes: Mapping[str, str | int]) -> dict[str, str]:
    """The Kafka headers that carry ``attributes`` (see :data:`TRACE_HEADERS`)."""
    return {TRACE_HEADERS[k]: str(v) for k, v in attributes.items() if k in TRACE_HEADERS}


def tag_declaration(*, declaration_id: int | str | None = None, ticket: str | None = None) -> None:
    """Name the declaration (or batch ticket) the current span works on."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    if declaration_id is not None:
        span.set_attribute(DECLARATION_ID, declaration_id)
    if ticket:
        span.set_attribute(TICKET, ticket)


def _from_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for attribute, header in TRACE_HEADERS.items():
        value = (headers or {}).get(header)
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if value:
            out[attribute] = str(value)
    return out


class _Provider(KafkaTelemetrySettingsProvider):
    def get_publish_attrs_from_cmd(self, cmd: Any) -> dict[str, Any]:
        return {**super().get_publish_attrs_from_cmd(cmd), **_from_headers(cmd.headers)}


class _BatchProvider(BatchKafkaTelemetrySettingsProvider):
    def get_publish_attrs_from_cmd(self, cmd: Any) -> dict[str, Any]:
        return {**super().get_publish_attrs_from_cmd(cmd), **_from_headers(cmd.headers)}


def _provider_factory(
    msg: Any,
) -> KafkaTelemetrySettingsProvider | BatchKafkaTelemetrySettingsProvider:
    return _BatchProvider() if isinstance(msg, Sequence) else _Provider()


class KafkaTracingMiddleware(TelemetryMiddleware[Any]):
    """FastStream's Kafka telemetry, with the declaration attributes on producer spans."""

    def __init__(self, *, tracer_provider: Any = None) -> None:
        super().__init__(
            settings_provider_factory=_provider_factory,
            tracer_provider=tracer_provider,
            include_messages_counters=True,
        )


class RedactingSpanExporter(SpanExporter):
    """Wraps an exporter; rewrites string attributes that contain an INSZ."""

    def __init__(self, inner: SpanExporter, pseudonymizer: Pseudonymizer) -> None:
        self._inner = inner
        self._p = pseudonymizer

    def _attrs(self, attributes: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (attributes or {}).items():
            if isinstance(value, bytes):
                # Message keys arrive as bytes; OTLP only carries text, so decode them.
                value = value.decode(errors="replace")
            if isinstance(value, str):
                out[key] = self._p.redact(value)
            elif isinstance(value, (tuple, list)):
                out[key] = tuple(self._p.redact(v) if isinstance(v, str) else v for v in value)
            else:
                out[key] = value
        return out

    def _span(self, span: ReadableSpan) -> ReadableSpan:
        events = [Event(e.name, self._attrs(e.attributes), e.timestamp) for e in span.events]
        return ReadableSpan(
            name=self._p.redact(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attrs(span.attributes),
            events=events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([self._span(s) for s in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _otlp_wanted() -> bool:
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "")
    if exporter == "none":
        return False
    return bool(
        exporter == "otlp"
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


@dataclass(frozen=True)
class Tracing:
    """What :func:`setup_tracing` installed: the provider, and whether spans go anywhere."""

    provider: Any
    enabled: bool


_tracing: Tracing | None = None


def setup_tracing(
    service_name: str,
    pseudonymizer: Pseudonymizer,
    *,
    exporter: SpanExporter | None = None,
    synchronous: bool = False,
    trace_sql: bool | None = None,
) -> Tracing:
    """Install the process-wide tracer provider (first call wins, later calls reuse it).

    ``exporter`` replaces the OTLP exporter (tests pass an in-memory one); ``synchronous``
    exports each span as it ends instead of in batches. Without any exporter (no ``OTEL_*``
    configuration) nothing is installed: the API's no-op provider costs next to nothing,
    where a recording SDK provider would build every span for nobody. SQL statements become
    spans (asyncpg instrumentation) while tracing is on, unless ``SOCSEC_TRACE_SQL=false``.
    """
    global _tracing
    if _tracing is not None:
        return _tracing
    if exporter is None and _otlp_wanted():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    if exporter is None:
        _tracing = Tracing(trace.get_tracer_provider(), enabled=False)
        return _tracing
    resource = Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", f"socsec-{service_name}")}
    )
    provider = TracerProvider(resource=resource)  # honours OTEL_TRACES_SAMPLER
    wrapped = RedactingSpanExporter(exporter, pseudonymizer)
    processor = SimpleSpanProcessor(wrapped) if synchronous else BatchSpanProcessor(wrapped)
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _tracing = Tracing(trace.get_tracer_provider(), enabled=True)
    if trace_sql is None:
        trace_sql = os.environ.get("SOCSEC_TRACE_SQL", "true").lower() not in ("0", "false", "no")
    if trace_sql:
        _instrument_asyncpg(_tracing.provider)
    return _tracing


def _instrument_asyncpg(provider: Any) -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


def tracer(name: str = "socsec") -> trace.Tracer:
    return trace.get_tracer(name)
