"""The event catalogue: which event types exist, on which topic, with which payload model.

The envelope (:mod:`socsec.contracts.envelope`) carries ``payload`` as a plain dict so the
kit can move any event without knowing it. This catalogue is where an ``event_type`` gets
its meaning back: :func:`parse_payload` validates an envelope's payload against the model
registered for its type, and :mod:`socsec.contracts.asyncapi` documents every registered
event, so the committed AsyncAPI document changes whenever a contract does.

Adding the events of a service (say Dimona) is one step: create
``libs/contracts/payloads/dimona.py`` with its frozen pydantic models and, at the bottom of
that module, one :func:`register` call per event type::

    register(
        event_type="DimonaPeriodOpened",
        topic="dimona.periods.v1",
        model=DimonaPeriodOpened,
        description="A Dimona IN opened a period in the personnel file.",
    )

Every module of :mod:`socsec.contracts.payloads` is imported when this module is, so
there is no list to keep in sync; then regenerate the document with
``socsec contracts asyncapi --write``.

Rules that :func:`register` enforces, because they are cheaper to keep than to repair:

- the topic is declared in :data:`socsec.contracts.topics.TOPICS`;
- an event type is registered once (it is the message id in the AsyncAPI document);
- the model forbids unknown fields and is frozen, so a producer cannot send data the
  contract does not describe and a consumer cannot change an event it received.

A compatible change (a new optional field) keeps ``schema_version``; a field that
consumers of the previous version could not read raises it, so an old consumer rejects the
new event loudly (:class:`UnsupportedSchemaVersion`) instead of misreading it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from socsec.contracts.envelope import Envelope
from socsec.contracts.topics import TOPICS, TopicSpec
from socsec.contracts.topics import topic as topic_spec

# AsyncAPI component keys must match this pattern, and event types are message keys there.
_EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")


class ContractError(ValueError):
    """An event does not fit the catalogue; handling it again will not help."""


class UnknownEventType(ContractError, KeyError):
    """No payload model is registered for this event type."""

    def __str__(self) -> str:
        # KeyError quotes its argument; the message is already a sentence.
        return str(self.args[0]) if self.args else ""


class UnsupportedSchemaVersion(ContractError):
    """The event was written with a payload schema this code does not know."""


class InvalidPayload(ContractError):
    """The payload does not validate against its registered model."""


@dataclass(frozen=True, kw_only=True)
class EventSpec:
    """One event type of the catalogue.

    ``schema_version`` is the newest payload schema this code reads; events written with
    an older version are validated against the same model, so only compatible changes
    keep the same event type and version.
    """

    event_type: str
    topic: str
    model: type[BaseModel]
    schema_version: int = 1
    description: str

    @property
    def topic_spec(self) -> TopicSpec:
        """The topic the event is published on, with its key rule."""
        return topic_spec(self.topic)


#: Every registered event type, by name; filled when the payload modules are imported.
EVENTS: dict[str, EventSpec] = {}


def register(
    *,
    event_type: str,
    topic: str,
    model: type[BaseModel],
    description: str,
    schema_version: int = 1,
) -> EventSpec:
    """Add an event type to the catalogue; called once per event by its payload module.

    Raises ``ValueError`` for an undeclared topic, a duplicate or malformed event type or
    a version below 1, and ``TypeError`` for a model that is not a frozen pydantic model
    forbidding extra fields. Nothing is registered when it raises.
    """
    if not _EVENT_TYPE.match(event_type):
        raise ValueError(
            f"event type {event_type!r} must start with a letter and contain only letters, "
            "digits, '.', '_' and '-' (it is a message id in the AsyncAPI document)"
        )
    if event_type in EVENTS:
        raise ValueError(
            f"event type {event_type!r} is already registered "
            f"(topic {EVENTS[event_type].topic}, model {EVENTS[event_type].model.__name__})"
        )
    if topic not in {t.name for t in TOPICS}:
        raise ValueError(
            f"event type {event_type!r}: topic {topic!r} is not declared in "
            "socsec.contracts.topics.TOPICS"
        )
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"event type {event_type!r}: {model!r} is not a pydantic model")
    config = model.model_config
    if config.get("extra") != "forbid" or not config.get("frozen"):
        raise TypeError(
            f"event type {event_type!r}: {model.__name__} must be declared with "
            'ConfigDict(extra="forbid", frozen=True)'
        )
    if schema_version < 1:
        raise ValueError(f"event type {event_type!r}: schema_version must be at least 1")
    if not description.strip():
        raise ValueError(f"event type {event_type!r}: a description is required")
    spec = EventSpec(
        event_type=event_type,
        topic=topic,
        model=model,
        schema_version=schema_version,
        description=description.strip(),
    )
    EVENTS[event_type] = spec
    return spec


def event(event_type: str) -> EventSpec:
    """The registered event type ``event_type``; :class:`UnknownEventType` (a KeyError)."""
    try:
        return EVENTS[event_type]
    except KeyError:
        known = ", ".join(sorted(EVENTS)) or "none"
        raise UnknownEventType(
            f"event type {event_type!r} is not registered in socsec.contracts.events "
            f"(known: {known})"
        ) from None


def events_on(topic: str) -> list[EventSpec]:
    """The event types published on ``topic``, by name."""
    return sorted(
        (spec for spec in EVENTS.values() if spec.topic == topic), key=lambda s: s.event_type
    )


def parse_payload(envelope: Envelope) -> BaseModel:
    """The envelope's payload as an instance of the model registered for its event type.

    Every failure is a :class:`ContractError`, so a consumer can dead-letter the message
    at once: an unknown event type, a schema version newer than this code knows, or a
    payload that does not validate (missing, mistyped or unknown fields).
    """
    spec = event(envelope.event_type)
    version = envelope.schema_version
    if not 1 <= version <= spec.schema_version:
        raise UnsupportedSchemaVersion(
            f"event {envelope.event_id} ({spec.event_type}) has schema_version {version}; "
            f"this code reads versions 1 to {spec.schema_version}"
        )
    try:
        return spec.model.model_validate(envelope.payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in ('payload', *err['loc']))}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise InvalidPayload(
            f"event {envelope.event_id} ({spec.event_type} v{version}) does not match "
            f"{spec.model.__name__}: {problems}"
        ) from exc


def _load_payload_modules() -> None:
    """Import every payload module, which registers its events.

    Discovering the modules (instead of listing them) is what makes adding a service's
    payloads a one-file change; modules whose name starts with ``_`` are skipped.
    """
    from socsec.contracts import payloads

    for info in sorted(pkgutil.iter_modules(payloads.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{payloads.__name__}.{info.name}")


_load_payload_modules()
