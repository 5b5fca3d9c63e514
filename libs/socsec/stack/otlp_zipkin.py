"""OTLP/HTTP in, Zipkin out: how the local Zipkin server receives the services' traces.

The services export traces over OTLP (``OTEL_EXPORTER_OTLP_ENDPOINT``), as they would to
Jaeger or an OpenTelemetry Collector. Zipkin's server only reads Zipkin's own formats, and
neither its OTLP module nor a Collector with a Zipkin exporter can be installed from the
package registries this project may use, so this small process takes the OTLP requests
(``POST /v1/traces``, protobuf or JSON, optionally gzip-compressed), turns every span back
into an OpenTelemetry SDK span and hands it to OpenTelemetry's own Zipkin exporter, which
owns the OTLP-to-Zipkin mapping (kinds, tags, annotations, error status).

Run it with ``python -m socsec.stack.otlp_zipkin --port 4318 --zipkin http://127.0.0.1:9411``;
``socsec stack up --tracing`` does.
"""

from __future__ import annotations

import argparse
import gzip
import logging
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.exporter.zipkin.json.v2 import JsonV2Encoder
from opentelemetry.exporter.zipkin.node_endpoint import NodeEndpoint
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

__all__ = ["OtlpToZipkin", "ZipkinRefused", "serve", "spans_of"]

log = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"

# OTLP numbers span kinds from 1 (0 is "unspecified", read as internal); the SDK from 0.
_KINDS = {
    trace_pb2.Span.SPAN_KIND_UNSPECIFIED: SpanKind.INTERNAL,
    trace_pb2.Span.SPAN_KIND_INTERNAL: SpanKind.INTERNAL,
    trace_pb2.Span.SPAN_KIND_SERVER: SpanKind.SERVER,
    trace_pb2.Span.SPAN_KIND_CLIENT: SpanKind.CLIENT,
    trace_pb2.Span.SPAN_KIND_PRODUCER: SpanKind.PRODUCER,
    trace_pb2.Span.SPAN_KIND_CONSUMER: SpanKind.CONSUMER,
}
_STATUS = {
    trace_pb2.Status.STATUS_CODE_UNSET: StatusCode.UNSET,
    trace_pb2.Status.STATUS_CODE_OK: StatusCode.OK,
    trace_pb2.Status.STATUS_CODE_ERROR: StatusCode.ERROR,
}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        # Zipkin tags are flat strings: a nested map becomes its JSON text.
        return json_format.MessageToJson(value.kvlist_value, indent=None)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else None


def _attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        assert isinstance(item, KeyValue)
        value = _value(item.value)
        if value is not None:
            out[item.key] = value
    return out


def _context(trace_id: bytes, span_id: bytes) -> SpanContext:
    return SpanContext(
        trace_id=int.from_bytes(trace_id, "big"),
        span_id=int.from_bytes(span_id, "big"),
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )


def spans_of(request: ExportTraceServiceRequest) -> Iterator[list[ReadableSpan]]:
    """The spans of an OTLP request as SDK spans, one list per resource (one service)."""
    for resource_spans in request.resource_spans:
        resource = Resource(_attributes(resource_spans.resource.attributes))
        batch: list[ReadableSpan] = []
        for scope_spans in resource_spans.scope_spans:
            # Zipkin refuses a null tag, and the encoder writes the version as a tag.
            scope = InstrumentationScope(scope_spans.scope.name, scope_spans.scope.version)
            for span in scope_spans.spans:
                parent = (
                    _context(span.trace_id, span.parent_span_id) if span.parent_span_id else None
                )
                batch.append(
                    ReadableSpan(
                        name=span.name,
                        context=_context(span.trace_id, span.span_id),
                        parent=parent,
                        resource=resource,
                        attributes=_attributes(span.attributes),
                        events=[
                            Event(e.name, _attributes(e.attributes), e.time_unix_nano)
                            for e in span.events
                        ],
                        kind=_KINDS.get(span.kind, SpanKind.INTERNAL),
                        status=Status(
                            _STATUS.get(span.status.code, StatusCode.UNSET),
                            span.status.message or None,
                        ),
                        start_time=span.start_time_unix_nano,
                        end_time=span.end_time_unix_nano,
                        instrumentation_scope=scope,
                    )
                )
        if batch:
            yield batch


class ZipkinRefused(Exception):
    """Zipkin answered with an error status; ``retryable`` when trying again may help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"Zipkin answered {status}: {detail}")
        self.status = status
        self.retryable = status == 429 or status >= 500


class OtlpToZipkin:
    """Decodes OTLP trace requests and forwards their spans to a Zipkin server."""

    def __init__(self, zipkin_url: str, timeout: float = 10) -> None:
        self.spans_url = zipkin_url.rstrip("/") + "/api/v2/spans"
        self._encoder = JsonV2Encoder()
        self._http = httpx.Client(timeout=timeout)
        self.forwarded = 0

    def decode(self, body: bytes, content_type: str) -> ExportTraceServiceRequest:
        request = ExportTraceServiceRequest()
        if content_type.startswith("application/json"):
            json_format.Parse(body, request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
        return request

    def forward(self, request: ExportTraceServiceRequest) -> int:
        """Send every span of ``request`` to Zipkin, one POST per service; how many were sent.

        Raises :class:`ZipkinRefused` when Zipkin answers an error, ``httpx.HTTPError`` when
        it cannot be reached.
        """
        sent = 0
        for batch in spans_of(request):
            node = NodeEndpoint()
            node.service_name = batch[0].resource.attributes.get("service.name") or "unknown"
            response = self._http.post(
                self.spans_url,
                content=self._encoder.serialize(batch, node),
                headers={"Content-Type": self._encoder.content_type()},
            )
            if response.status_code >= 300:
                raise ZipkinRefused(response.status_code, response.text[:500])
            sent += len(batch)
        self.forwarded += sent
        return sent


def _handler(bridge: OtlpToZipkin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "socsec-otlp-zipkin"

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._reply(200, b'{"status":"ok"}', "application/json")
            else:
                self._reply(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path != TRACES_PATH:
                self._reply(404, f"only {TRACES_PATH} is served".encode(), "text/plain")
                return
            content_type = (self.headers.get("Content-Type") or "").lower()
            try:
                if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                    body = gzip.decompress(body)
                request = bridge.decode(body, content_type)
            except (OSError, DecodeError, json_format.ParseError) as exc:
                self._reply(400, f"not an OTLP trace request: {exc}".encode(), "text/plain")
                return
            try:
                bridge.forward(request)
            except ZipkinRefused as exc:
                # OTLP exporters retry 429, 502, 503 and 504 and drop the rest.
                log.warning("%s refused spans: %s", bridge.spans_url, exc)
                self._reply(503 if exc.retryable else 400, str(exc).encode(), "text/plain")
                return
            except httpx.HTTPError as exc:
                log.warning("%s cannot be reached: %s", bridge.spans_url, exc)
                self._reply(503, f"Zipkin unreachable: {exc}".encode(), "text/plain")
                return
            if content_type.startswith("application/json"):
                self._reply(200, b"{}", "application/json")
            else:
                response = ExportTraceServiceResponse().SerializeToString()
                self._reply(200, response, "application/x-protobuf")

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return Handler


def serve(host: str, port: int, zipkin_url: str) -> ThreadingHTTPServer:
    """An OTLP/HTTP receiver on ``host:port`` forwarding to ``zipkin_url`` (not started)."""
    server = ThreadingHTTPServer((host, port), _handler(OtlpToZipkin(zipkin_url)))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--zipkin", default="http://127.0.0.1:9411", help="Zipkin base URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per forwarded batch
    server = serve(args.host, args.port, args.zipkin)
    log.info("OTLP/HTTP on http://%s:%d%s -> %s", args.host, args.port, TRACES_PATH, args.zipkin)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
