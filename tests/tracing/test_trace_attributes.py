"""Which identifiers a span carries, and how the OTLP endpoint answers what it cannot forward.

The first part is what an operator's search in the tracing UI relies on: a Dimona
declaration id, a DmfA declaration's ticket and a batch file's ticket each land in the
attribute documented for it (docs/tracing.md), and never an INSZ.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1 import trace_pb2

from socsec.kit.telemetry import (
    DECLARATION_ID,
    TICKET,
    TRACE_HEADERS,
    declaration_attributes,
    trace_headers,
)
from socsec.stack import otlp_zipkin
from socsec.stack.processes import free_port


def test_dimona_events_carry_the_declaration_id_and_batch_ticket() -> None:
    notified = {
        "declaration_id": 700000000145,
        "insz": "85073003328",
        "batch_ticket": "38000000000AB",
        "employer_nsso": "123456749",
    }
    assert declaration_attributes(notified, "dimona") == {
        DECLARATION_ID: 700000000145,
        TICKET: "38000000000AB",
    }
    assert declaration_attributes({"declaration_id": 7, "kind": "IN"}, "dimona") == {
        DECLARATION_ID: 7
    }


def test_a_batch_forms_ticket_is_the_files_ticket() -> None:
    form = {"ticket": "38000000000AB", "position": 3, "file_type": "DIMN"}
    assert declaration_attributes(form, "batch") == {TICKET: "38000000000AB"}


def test_a_dmfa_ticket_is_the_declarations_own_identifier() -> None:
    notified = {"ticket": "DMFA-2026-000123", "batch_ticket": "38000000000AC", "result": "ACCEPTED"}
    assert declaration_attributes(notified, "dmfa") == {
        DECLARATION_ID: "DMFA-2026-000123",
        TICKET: "38000000000AC",
    }


def test_events_about_no_declaration_carry_nothing_and_headers_mirror_attributes() -> None:
    assert declaration_attributes({"nsso_number": "123456749"}, "registry") == {}
    assert declaration_attributes({"declaration_id": None, "ticket": ""}, "dmfa") == {}
    attributes = {DECLARATION_ID: 42, TICKET: "38000000000AB"}
    assert trace_headers(attributes) == {
        TRACE_HEADERS[DECLARATION_ID]: "42",
        TRACE_HEADERS[TICKET]: "38000000000AB",
    }


@pytest.fixture
def bridge_to_nowhere() -> Iterator[str]:
    """The OTLP endpoint, in this process, in front of a Zipkin address nobody listens on."""
    server = otlp_zipkin.serve("127.0.0.1", free_port(), f"http://127.0.0.1:{free_port()}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attribute = resource_spans.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "socsec-probe"
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(16)), bytes(range(8)), "probe"
    span.kind = trace_pb2.Span.SPAN_KIND_SERVER
    span.start_time_unix_nano, span.end_time_unix_nano = 1_000_000_000, 2_000_000_000
    return request


def test_unreadable_requests_are_refused_and_an_absent_zipkin_asks_for_a_retry(
    bridge_to_nowhere,
) -> None:
    url = f"{bridge_to_nowhere}/v1/traces"
    protobuf = {"Content-Type": "application/x-protobuf"}
    garbage = httpx.post(url, content=b"\xff\x00 not protobuf", headers=protobuf)
    assert garbage.status_code == 400
    assert "not an OTLP trace request" in garbage.text

    # A readable request (protobuf, gzip-compressed, or JSON) that Zipkin cannot take yet:
    # 503, which OTLP exporters retry.
    body = _request().SerializeToString()
    plain = httpx.post(url, content=body, headers=protobuf)
    zipped = httpx.post(
        url, content=gzip.compress(body), headers={**protobuf, "Content-Encoding": "gzip"}
    )
    as_json = httpx.post(
        url,
        content=json.dumps(
            {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "probe"}]}]}]}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert [plain.status_code, zipped.status_code, as_json.status_code] == [503, 503, 503]
    assert "Zipkin unreachable" in plain.text

    assert httpx.get(f"{bridge_to_nowhere}/healthz").status_code == 200
    assert httpx.post(f"{bridge_to_nowhere}/v1/metrics", content=b"").status_code == 404


def test_otlp_spans_keep_their_ids_kind_and_service() -> None:
    [batch] = list(otlp_zipkin.spans_of(_request()))
    [span] = batch
    assert span.context.trace_id == int.from_bytes(bytes(range(16)), "big")
    assert span.context.span_id == int.from_bytes(bytes(range(8)), "big")
    assert span.parent is None
    assert span.kind.name == "SERVER"
    assert span.resource.attributes["service.name"] == "socsec-probe"
    assert (span.start_time, span.end_time) == (1_000_000_000, 2_000_000_000)
