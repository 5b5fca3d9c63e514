"""The AsyncAPI 3.0 document of every Kafka contract, generated from the code.

The topic registry (:data:`socsec.contracts.topics.TOPICS`), the envelope and the event
catalogue (:mod:`socsec.contracts.events`) are the truth; this module turns them into one
AsyncAPI document. ``docs/asyncapi.json`` is that document committed, and a test compares
it with :func:`render`, so a contract cannot change without the committed document (and
therefore the review) showing it. ``socsec contracts asyncapi --write`` regenerates it.

The output is deterministic: no timestamps, keys sorted when rendered.
"""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import socsec
from socsec.contracts.envelope import Envelope
from socsec.contracts.events import EVENTS, EventSpec, events_on
from socsec.contracts.topics import TOPICS, TopicSpec

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SCHEMAS = "#/components/schemas/"
MESSAGES = "#/components/messages/"
# The one place that knows where the committed document lives: two folders above this
# package in the source tree (libs/contracts -> repository root).
DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"

_HEADERS_SCHEMA: dict[str, Any] = {
    "title": "KafkaHeaders",
    "description": (
        "Kafka record headers the outbox relay sets on every event. The envelope stays the "
        "contract; headers let tools route and trace without parsing the value."
    ),
    "type": "object",
    "properties": {
        "event_type": {
            "type": "string",
            "description": "Copy of the envelope's event_type.",
        },
        "traceparent": {
            "type": "string",
            "description": "W3C trace context of the code that published the event.",
        },
        "tracestate": {
            "type": "string",
            "description": "W3C trace state, when the publishing trace had one.",
        },
    },
    "required": ["event_type"],
}


def _collect(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """``model``'s JSON schema; the models it uses go to ``schemas`` (components).

    Two different models with the same class name would silently overwrite each other in
    ``components/schemas``, so that is refused: rename one of them.
    """
    schema = model.model_json_schema(ref_template=SCHEMAS + "{model}")
    for name, definition in schema.pop("$defs", {}).items():
        _add(schemas, name, definition)
    return schema


def _add(schemas: dict[str, Any], name: str, definition: dict[str, Any]) -> None:
    if name in schemas and schemas[name] != definition:
        raise ValueError(
            f"two different schemas are named {name!r}; give one model another name so "
            "both can live in components/schemas"
        )
    schemas[name] = definition


def _model_ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """Add ``model`` to ``schemas`` under its class name; return the $ref to it."""
    _add(schemas, model.__name__, _collect(model, schemas))
    return {"$ref": SCHEMAS + model.__name__}


def _message(spec: EventSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    """One event type: the envelope, its ``payload`` replaced by the event's model."""
    payload = _collect(Envelope, schemas)
    payload["title"] = f"{spec.event_type} envelope"
    properties = payload["properties"]
    properties["event_type"] = {
        "const": spec.event_type,
        "title": "Event Type",
        "type": "string",
    }
    properties["schema_version"] = {
        "description": (
            f"Version of the payload schema; this contract reads versions 1 to "
            f"{spec.schema_version}."
        ),
        "maximum": spec.schema_version,
        "minimum": 1,
        "title": "Schema Version",
        "type": "integer",
    }
    properties["payload"] = _model_ref(spec.model, schemas)
    return {
        "name": spec.event_type,
        "title": spec.event_type,
        "description": spec.description,
        "contentType": "application/json",
        "headers": {"$ref": SCHEMAS + "KafkaHeaders"},
        "payload": payload,
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": spec.topic_spec.key},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-topic": spec.topic,
    }


def _channel(spec: TopicSpec) -> dict[str, Any]:
    """One topic; the ``x-`` fields carry what the registry knows beyond AsyncAPI core."""
    configuration: dict[str, Any] = {
        "cleanup.policy": ["compact"] if spec.compacted else ["delete"],
    }
    if spec.retention_ms is not None:
        configuration["retention.ms"] = spec.retention_ms
    if spec.max_message_bytes is not None:
        configuration["max.message.bytes"] = spec.max_message_bytes
    return {
        "address": spec.name,
        "description": spec.description,
        "messages": {
            event.event_type: {"$ref": MESSAGES + event.event_type}
            for event in events_on(spec.name)
        },
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": spec.partitions,
                "topicConfiguration": configuration,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-key": spec.key,
        "x-partitions": spec.partitions,
        "x-compacted": spec.compacted,
        "x-dead-letter-topic": spec.dlt,
    }


def build_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document: a channel per topic, a message per event type."""
    schemas: dict[str, Any] = {"KafkaHeaders": copy.deepcopy(_HEADERS_SCHEMA)}
    _model_ref(Envelope, schemas)
    messages = {name: _message(spec, schemas) for name, spec in sorted(EVENTS.items())}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "socsec",
            "version": socsec.__version__,
            "description": (
                "Kafka contracts of socsec: every topic with its key rule, partitions, "
                "compaction and dead-letter topic, and every event type in its envelope. "
                "Generated from socsec.contracts by `socsec contracts asyncapi --write`; "
                "do not edit by hand."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {spec.name: _channel(spec) for spec in TOPICS},
        "components": {"schemas": schemas, "messages": messages},
    }


def render() -> str:
    """The document as committed: indented, keys sorted, one trailing newline."""
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"


def diff_summary(committed: str, current: str, *, max_lines: int = 20) -> list[str]:
    """What changed between the committed document and the generated one, briefly.

    Names the channels, messages and schemas added, removed or changed, then the first
    ``max_lines`` lines of the text diff; empty when both are the same.
    """
    if committed == current:
        return []
    lines: list[str] = []
    try:
        old, new = json.loads(committed), json.loads(current)
    except ValueError:
        old = new = None
        lines.append("the committed document is not valid JSON")
    if isinstance(old, dict) and isinstance(new, dict):
        sections = {
            "channel": ("channels",),
            "message": ("components", "messages"),
            "schema": ("components", "schemas"),
        }
        for label, path in sections.items():
            before, after = _section(old, path), _section(new, path)
            for name in sorted(before.keys() | after.keys()):
                if name not in before:
                    lines.append(f"{label} {name}: added")
                elif name not in after:
                    lines.append(f"{label} {name}: removed")
                elif before[name] != after[name]:
                    lines.append(f"{label} {name}: changed")
        if old.get("info") != new.get("info"):
            lines.append("info: changed")
    diff = list(
        difflib.unified_diff(
            committed.splitlines(),
            current.splitlines(),
            "committed",
            "generated",
            lineterm="",
            n=1,
        )
    )
    lines.extend(diff[:max_lines])
    if len(diff) > max_lines:
        lines.append(f"... {len(diff) - max_lines} more diff lines")
    return lines


def _section(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = document
    for key in path:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}
