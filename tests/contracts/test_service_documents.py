"""Each service's own contracts: its OpenAPI document (committed under docs/openapi/ and
served at /openapi.json) and its AsyncAPI document (served at /asyncapi.json).

The committed OpenAPI documents are a review gate like docs/asyncapi.json: a change to a
route, a parameter or a response model fails here until the documents are regenerated, so
the change shows up in review as a diff.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from socsec.catalog import SERVICES
from socsec.cli.contracts import OPENAPI_DIR, OPENAPI_REGENERATE, openapi_drift, render_openapi
from socsec.contracts.asyncapi import build_document

#: Written by the command line (`socsec clock`), read by every service.
CLI_TOPICS = {"system.clock.v1"}


def test_committed_openapi_documents_match_the_services() -> None:
    problems = openapi_drift()
    assert not problems, (
        "docs/openapi/ no longer matches the services' HTTP APIs. If the change is intended, "
        f"run `{OPENAPI_REGENERATE}` (from the repository root, with the venv active) and "
        "commit docs/openapi/ with it:\n" + "\n".join(problems)
    )


@pytest.fixture(scope="module")
def served() -> dict[str, dict[str, Any]]:
    """/openapi.json and /asyncapi.json of every service, read over HTTP from its app."""

    async def read(name: str) -> dict[str, Any]:
        app = SERVICES[name].create_app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
            openapi = await http.get("/openapi.json")
            asyncapi = await http.get("/asyncapi.json")
        assert openapi.status_code == 200 and asyncapi.status_code == 200, name
        return {"openapi": openapi.json(), "asyncapi": asyncapi.json()}

    return {name: asyncio.run(read(name)) for name in SERVICES}


def test_each_service_serves_the_openapi_document_committed_for_it(served) -> None:
    for name in SERVICES:
        committed = json.loads((OPENAPI_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert served[name]["openapi"] == committed, name
        assert served[name]["openapi"] == json.loads(render_openapi(name)), name
        assert served[name]["openapi"]["info"]["title"] == f"socsec {name}"


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_each_service_serves_the_asyncapi_of_what_it_sends_and_reads(served) -> None:
    whole = build_document()
    senders: dict[str, list[str]] = {name: [] for name in whole["channels"]}
    for name in SERVICES:
        document = served[name]["asyncapi"]
        assert document["asyncapi"] == "3.0.0"
        assert document["info"]["title"] == f"socsec {name}"
        for operation_id, operation in document["operations"].items():
            channel = _resolve(document, operation["channel"]["$ref"])
            assert operation_id == f"{operation['action']}-{channel['address']}"
            for message in operation["messages"]:
                resolved = _resolve(document, _resolve(document, message["$ref"])["$ref"])
                assert resolved["x-topic"] == channel["address"]
            if operation["action"] == "send":
                senders[channel["address"]].append(name)
        # Its channels are the whole document's, unchanged.
        for address, channel in document["channels"].items():
            assert channel == whole["channels"][address], (name, address)

    # Every topic has exactly one publishing service, and it is the one it is named after.
    for topic, names in senders.items():
        if topic in CLI_TOPICS:
            assert names == [], topic
        else:
            assert names == [topic.split(".", 1)[0]], (topic, names)


def test_the_dimona_service_documents_its_processing_loop(served) -> None:
    operations = served["dimona"]["asyncapi"]["operations"]
    for expected in (
        "send-dimona.declarations.v1",
        "receive-dimona.declarations.v1",
        "send-dimona.notifications.v1",
        "receive-batch.forms.v1",
        "receive-registry.mandates.v1",
        "receive-system.clock.v1",
    ):
        assert expected in operations
    assert "send-dmfa.notifications.v1" not in operations
    assert "receive-dimona.notifications.v1" in served["batch"]["asyncapi"]["operations"]
