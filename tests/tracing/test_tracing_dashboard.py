"""`socsec stack up --tracing`: an operator finds a declaration's whole trace in Zipkin.

The stack code starts the real tracing backend (the Zipkin server from Maven Central and its
OTLP endpoint) and the registry, dimona and batch services as separate processes, on the
session's Kafka and PostgreSQL with a private database and topic prefix. A Dimona declaration
goes through the REST API with a real token; the test then asks Zipkin's HTTP API for the
traces tagged with the declaration id, as the tracing UI's search does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from testenv import service_stack

from socsec.registry import clients
from socsec.stack.local import LocalStack, StackState

SERVICES = ["registry", "dimona", "batch"]
INSZ = "85073003328"
#: Demo reference data: PayPro (sender 012345) holds the DIMONA mandate of employer 123456749.
DECLARANT, SENDER, EMPLOYER = "M-PAYPRO", "012345", 123456749


@pytest.fixture(scope="module")
def traced_stack(infra, tmp_path_factory) -> Iterator[tuple[LocalStack, StackState]]:
    data_dir = tmp_path_factory.mktemp("traced-stack")
    with service_stack(infra, data_dir, SERVICES, tracing=True) as (stack, state):
        seeded = subprocess.run(
            [sys.executable, "-m", "socsec", "registry", "seed-demo", "--employers", "0"],
            env={**os.environ, "SOCSEC_DATA_DIR": str(data_dir), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert seeded.returncode == 0, seeded.stderr + seeded.stdout
        yield stack, state


def _token(registry: str) -> dict[str, str]:
    client_id = clients.demo_client_id(DECLARANT, SENDER)
    secret = clients.demo_client_secret(client_id, "socsec-demo-clients")
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(
            f"{registry}/REST/oauth/v5/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
            timeout=10,
        )
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # the seeded client reaches the registry's table at once; be patient
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _declare(dimona: str, headers: dict[str, str]) -> int:
    body = {
        "employer": {"employerId": EMPLOYER},
        "worker": {"ssin": INSZ},
        "dimonaIn": {
            "startDate": "2026-09-01",
            "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
        },
    }
    # The dimona service learns the mandates from the registry's topics: retry a 403 until
    # the seeded mandate has arrived.
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(
            f"{dimona}/REST/dimona/v2/declarations", json=body, headers=headers, timeout=10
        )
        if response.status_code != 403 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[-1])


def _wait_processed(dimona: str, headers: dict[str, str], declaration_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = httpx.get(
            f"{dimona}/REST/dimona/v2/declarations/{declaration_id}", headers=headers, timeout=10
        ).json()
        if body.get("declarationStatus", {}).get("result"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"declaration {declaration_id} was not processed: {body}")


def _find_trace(api: str, declaration_id: int, wanted: dict[str, Any]) -> list[dict[str, Any]]:
    """The trace Zipkin returns for ``socsec.declaration_id=<id>``, once every wanted span is in
    (services export in batches, a few seconds apart)."""
    deadline = time.monotonic() + 60
    traces: list[list[dict[str, Any]]] = []
    while time.monotonic() < deadline:
        traces = httpx.get(
            f"{api}/traces",
            params={"annotationQuery": f"socsec.declaration_id={declaration_id}", "limit": 10},
            timeout=10,
        ).json()
        if len(traces) == 1 and all(any(w(s) for s in traces[0]) for w in wanted.values()):
            return traces[0]
        time.sleep(1)
    summary = [
        [(s["localEndpoint"]["serviceName"], s.get("kind"), s["name"]) for s in t] for t in traces
    ]
    raise AssertionError(f"no single trace with {sorted(wanted)} for {declaration_id}: {summary}")


def _is(service: str, kind: str, name: str):  # type: ignore[no-untyped-def]
    def check(span: dict[str, Any]) -> bool:
        return (
            span["localEndpoint"]["serviceName"] == service
            and span.get("kind") == kind
            and name in span["name"]
        )

    return check


def test_a_declarations_whole_trace_is_found_by_its_id(traced_stack) -> None:
    stack, state = traced_stack
    assert set(state.tracing) == {"ui", "api", "otlp_endpoint"}
    headers = _token(state.services["registry"])
    declaration_id = _declare(state.services["dimona"], headers)
    result = _wait_processed(state.services["dimona"], headers, declaration_id)
    assert result["declarationStatus"]["result"] in ("A", "W"), result

    trace = _find_trace(
        state.tracing["api"],
        declaration_id,
        {
            "API": _is("socsec-dimona", "SERVER", "post /rest/dimona/v2/declarations"),
            "processor": _is("socsec-dimona", "CONSUMER", "handle dimonadeclarationreceived"),
            "notification sent": _is("socsec-dimona", "PRODUCER", "dimona.notifications.v1"),
            "notification received": _is("socsec-batch", "CONSUMER", "handle dimonanotified"),
        },
    )
    assert len({span["traceId"] for span in trace}) == 1
    tagged = {
        (s["localEndpoint"]["serviceName"], s.get("kind"))
        for s in trace
        if s.get("tags", {}).get("socsec.declaration_id") == str(declaration_id)
    }
    # The id is on the API's span, the consumers' spans and the relay's producer spans.
    assert {
        ("socsec-dimona", "SERVER"),
        ("socsec-dimona", "CONSUMER"),
        ("socsec-dimona", "PRODUCER"),
        ("socsec-batch", "CONSUMER"),
    } <= tagged
    # Traces never carry an INSZ in clear text (the worker's INSZ was in the request body).
    assert INSZ not in json.dumps(trace)

    # The UI is served where the stack says, and `status` reports the tracing processes.
    ui = httpx.get(state.tracing["ui"], timeout=10)
    assert ui.status_code == 200 and "zipkin" in ui.text.lower()
    status = stack.status()["components"]
    assert status["zipkin"]["healthy"] and status["otlp"]["healthy"]


def test_stack_down_stops_the_tracing_processes(traced_stack, tmp_path: Path) -> None:
    stack, state = traced_stack
    pids = {name: state.processes[name]["pid"] for name in ("zipkin", "otlp")}
    assert all(psutil.pid_exists(pid) for pid in pids.values())
    stopped = stack.down()
    assert {"zipkin", "otlp", *SERVICES} <= set(stopped)
    for name, pid in pids.items():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie", name
    assert stack.load().tracing == {}
