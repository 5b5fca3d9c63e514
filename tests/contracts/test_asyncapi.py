"""The contracts: the committed AsyncAPI document, the event catalogue, payload parsing.

The first test is the compatibility gate of the architecture: a change to a topic, the
envelope or a payload model fails here until ``docs/asyncapi.json`` is regenerated, so
the change shows up in review as a diff of the document.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from socsec.cli.main import app
from socsec.contracts.asyncapi import DOCUMENT_PATH, build_document, diff_summary, render
from socsec.contracts.envelope import Envelope
from socsec.contracts.events import (
    EVENTS,
    ContractError,
    InvalidPayload,
    UnknownEventType,
    UnsupportedSchemaVersion,
    event,
    parse_payload,
    register,
)
from socsec.contracts.payloads.system import ClockChanged
from socsec.contracts.topics import TOPICS
from socsec.kit.clock import ClockState

# AsyncAPI 3.0: keys of channels and of every components map.
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def resolve(document: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer (``#/a/b``) inside ``document``; KeyError if dangling."""
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"{ref}: no {part!r}")
    return node


def refs(node: Any) -> list[str]:
    """Every ``$ref`` anywhere under ``node``."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def envelope_of(payload: BaseModel | dict[str, Any], **fields: Any) -> Envelope:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return Envelope(producer="tests", payload=data, **{"event_type": "ClockChanged", **fields})


# (1) the committed document


def test_committed_document_matches_the_contracts() -> None:
    assert DOCUMENT_PATH.is_file(), (
        f"{DOCUMENT_PATH} is missing: run `socsec contracts asyncapi --write` and commit it"
    )
    committed = DOCUMENT_PATH.read_text(encoding="utf-8")
    current = render()
    changes = "\n".join(diff_summary(committed, current))
    assert committed == current, (
        "docs/asyncapi.json no longer matches the contracts in socsec.contracts. If the "
        "change is intended, run `socsec contracts asyncapi --write` and commit the "
        f"document with it.\n{changes}"
    )


def test_render_is_deterministic() -> None:
    assert render() == render()
    assert render().endswith("}\n")


def test_cli_check_and_print_agree_with_the_committed_document() -> None:
    runner = CliRunner()
    checked = runner.invoke(app, ["contracts", "asyncapi", "--check"])
    assert checked.exit_code == 0, checked.output
    printed = runner.invoke(app, ["contracts", "asyncapi"])
    assert printed.exit_code == 0
    assert printed.stdout == render()


def test_diff_summary_names_what_changed() -> None:
    current = render()
    old = json.loads(current)
    old["channels"]["system.clock.v1"]["x-partitions"] = 7
    del old["channels"]["dmfa.silent.v1"]
    summary = diff_summary(json.dumps(old, indent=2, sort_keys=True) + "\n", current)
    assert "channel system.clock.v1: changed" in summary
    assert "channel dmfa.silent.v1: added" in summary
    assert diff_summary(current, current) == []


# (2) topics, events and channels agree


def test_every_topic_is_a_channel(document: dict[str, Any]) -> None:
    channels = document["channels"]
    assert set(channels) == {spec.name for spec in TOPICS}
    for spec in TOPICS:
        channel = channels[spec.name]
        assert channel["address"] == spec.name
        assert channel["description"] == spec.description
        assert channel["x-key"] == spec.key
        assert channel["x-partitions"] == spec.partitions
        assert channel["x-compacted"] is spec.compacted


def test_every_dead_letter_topic_is_the_topic_dot_dlt(document: dict[str, Any]) -> None:
    for name, channel in document["channels"].items():
        assert channel["x-dead-letter-topic"] == f"{name}.dlt"


def test_every_event_is_on_a_declared_topic_and_in_its_channel(document: dict[str, Any]) -> None:
    topics = {spec.name for spec in TOPICS}
    assert EVENTS, "the catalogue is empty: payload modules were not imported"
    for event_type, spec in EVENTS.items():
        assert spec.topic in topics, f"{event_type}: topic {spec.topic} is not declared"
        message_ref = document["channels"][spec.topic]["messages"][event_type]["$ref"]
        assert message_ref == f"#/components/messages/{event_type}"
    assert set(document["components"]["messages"]) == set(EVENTS)


def test_clock_changed_is_on_the_clock_topic() -> None:
    spec = event("ClockChanged")
    assert spec.topic == "system.clock.v1"
    assert spec.model is ClockChanged


def test_register_refuses_an_undeclared_topic_a_duplicate_and_a_loose_model() -> None:
    class Loose(BaseModel):
        """Accepts anything: not a contract."""

        value: int

    class Strict(BaseModel):
        """A well-formed payload."""

        model_config = ConfigDict(extra="forbid", frozen=True)
        value: int

    before = dict(EVENTS)
    with pytest.raises(ValueError, match=re.escape("not declared in socsec.contracts.topics")):
        register(event_type="Nowhere", topic="no.such.v1", model=Strict, description="x")
    with pytest.raises(ValueError, match="already registered"):
        register(event_type="ClockChanged", topic="system.clock.v1", model=Strict, description="x")
    with pytest.raises(TypeError, match='extra="forbid", frozen=True'):
        register(event_type="Loose", topic="system.clock.v1", model=Loose, description="x")
    with pytest.raises(ValueError, match="must start with a letter"):
        register(event_type="bad type", topic="system.clock.v1", model=Strict, description="x")
    assert before == EVENTS


# (3) payload parsing


def test_parse_payload_round_trips_a_clock_change() -> None:
    change = ClockChanged(frozen_at=datetime(2025, 5, 1, 7, 0, tzinfo=UTC))
    received = Envelope.from_bytes(envelope_of(change).to_bytes())
    parsed = parse_payload(received)
    assert isinstance(parsed, ClockChanged)
    assert parsed == change


def test_clock_changed_mirrors_the_clock_state_record() -> None:
    for state in (
        ClockState(),
        ClockState(offset_seconds=-86400.5),
        ClockState(frozen_at=datetime(2025, 5, 1, 7, 0, tzinfo=UTC)),
    ):
        parsed = parse_payload(envelope_of(state.to_json()))
        assert isinstance(parsed, ClockChanged)
        assert (parsed.offset_seconds, parsed.frozen_at) == (state.offset_seconds, state.frozen_at)
    assert set(ClockChanged.model_fields) == set(ClockState().to_json())


def test_parse_payload_rejects_an_unknown_event_type() -> None:
    with pytest.raises(UnknownEventType, match="'NoSuchEvent' is not registered") as caught:
        parse_payload(envelope_of(ClockChanged(), event_type="NoSuchEvent"))
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, ContractError)
    with pytest.raises(KeyError, match=r"known: .*ClockChanged"):
        event("NoSuchEvent")


def test_parse_payload_rejects_an_extra_field() -> None:
    with pytest.raises(
        InvalidPayload, match=re.escape("payload.leap_second: Extra inputs are not permitted")
    ):
        parse_payload(envelope_of({"offset_seconds": 0.0, "frozen_at": None, "leap_second": 1}))


def test_parse_payload_rejects_a_naive_or_mistyped_payload() -> None:
    with pytest.raises(InvalidPayload, match=re.escape("payload.frozen_at")):
        parse_payload(envelope_of({"frozen_at": "2025-05-01T09:00:00"}))
    with pytest.raises(InvalidPayload, match=re.escape("payload.offset_seconds")):
        parse_payload(envelope_of({"offset_seconds": "soon"}))


def test_parse_payload_rejects_a_newer_schema_version() -> None:
    with pytest.raises(UnsupportedSchemaVersion, match="schema_version 2; this code reads"):
        parse_payload(envelope_of(ClockChanged(), schema_version=2))


def test_payloads_are_frozen() -> None:
    change = ClockChanged(offset_seconds=timedelta(days=1).total_seconds())
    with pytest.raises(ValueError, match="frozen"):
        change.offset_seconds = 0.0  # type: ignore[misc]


# (4) AsyncAPI 3.0 structure


def test_document_is_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "socsec"
    assert isinstance(document["info"]["version"], str)
    assert set(document) <= {
        "asyncapi",
        "id",
        "info",
        "servers",
        "defaultContentType",
        "channels",
        "operations",
        "components",
    }
    for name, channel in document["channels"].items():
        assert COMPONENT_KEY.match(name), name
        assert isinstance(channel["address"], str)
        assert isinstance(channel["messages"], dict)
    for section, entries in document["components"].items():
        for name in entries:
            assert COMPONENT_KEY.match(name), f"components/{section}/{name}"
    for message in document["components"]["messages"].values():
        assert message["payload"]["type"] == "object"
        assert "$defs" not in message["payload"], "definitions belong in components/schemas"


def test_every_ref_resolves_inside_the_document(document: dict[str, Any]) -> None:
    found = refs(document)
    assert any(ref.startswith("#/components/messages/") for ref in found)
    for ref in found:
        resolve(document, ref)


def test_message_payload_is_the_envelope_around_the_event_model(
    document: dict[str, Any],
) -> None:
    envelope = document["components"]["schemas"]["Envelope"]
    for event_type, spec in EVENTS.items():
        payload = document["components"]["messages"][event_type]["payload"]
        assert set(payload["properties"]) == set(envelope["properties"])
        assert payload["properties"]["event_type"]["const"] == event_type
        model = resolve(document, payload["properties"]["payload"]["$ref"])
        assert model["title"] == spec.model.__name__
        assert model["additionalProperties"] is False
