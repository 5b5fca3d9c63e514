"""Idempotent consumers: how a service consumes.

A handler receives the transaction's connection and one :class:`Message`; it writes its
effects through that connection. The kit records ``(consumer, event_id)`` in
``processed_messages`` in the same transaction and commits the Kafka offset only after
the transaction committed, so:

- a crash before the commit re-delivers the message and nothing of it was kept;
- a crash after the commit but before the offset commit re-delivers a message whose
  tracking record already exists, and it is skipped.

Messages are fetched in batches and handled in one transaction per batch. When a batch
fails, its messages are handled one by one, each with bounded retries and exponential
backoff; a message that still fails after ``max_attempts`` is copied to ``<topic>.dlt``
with the error, the attempt count and its origin in headers, and the partition moves on.
A message that is not a valid envelope goes to the dead-letter topic at once.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from pydantic import ValidationError

from socsec.contracts.envelope import Envelope
from socsec.kit.outbox import current_envelope
from socsec.kit.telemetry import declaration_attributes

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

    from socsec.kit.db import Database

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("socsec.kit.consumer")

_TRACK = """INSERT INTO processed_messages (consumer, event_id, topic, partition, "offset")
             VALUES ($1, $2, $3, $4, $5)"""
#: The tracking records of a whole batch in one statement (one row per event).
_TRACK_MANY = """INSERT INTO processed_messages (consumer, event_id, topic, partition, "offset")
                 SELECT $1, e.*
                   FROM unnest($2::uuid[], $3::text[], $4::integer[], $5::bigint[]) AS e"""

DLT_HEADERS = (
    "x-dlt-error",
    "x-dlt-error-type",
    "x-dlt-attempts",
    "x-dlt-consumer",
    "x-dlt-origin-topic",
    "x-dlt-origin-partition",
    "x-dlt-origin-offset",
)


@dataclass(frozen=True)
class Message:
    """One consumed event with where it came from."""

    envelope: Envelope
    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def payload(self) -> dict[str, Any]:
        return self.envelope.payload


Handler = Callable[[asyncpg.Connection, Message], Awaitable[None]]
#: Called in the batch's transaction with the messages about to be handled (those not
#: handled before), before the first of them: to load or lock what they all need in one
#: round trip instead of one per message.
BatchHook = Callable[[asyncpg.Connection, list[Message]], Awaitable[None]]
#: Called in the batch's transaction after the last handler of the batch, before its
#: tracking records and commit: to write in one statement what the handlers gathered.
AfterBatchHook = Callable[[asyncpg.Connection], Awaitable[None]]


class PoisonMessage(Exception):
    """The message can never be handled (not an envelope): dead-letter it at once."""


def record_headers(record: ConsumerRecord) -> dict[str, str]:
    return {
        k: (v.decode(errors="replace") if isinstance(v, bytes) else str(v))
        for k, v in record.headers or ()
    }


def to_message(record: ConsumerRecord) -> Message:
    try:
        envelope = Envelope.from_bytes(record.value)
    except (ValidationError, ValueError, TypeError) as exc:
        raise PoisonMessage(f"not a valid envelope: {exc}") from exc
    return Message(
        envelope=envelope,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode(errors="replace") if isinstance(record.key, bytes) else record.key,
        headers=record_headers(record),
    )


@dataclass
class ConsumerStats:
    handled: int = 0
    skipped: int = 0
    retried: int = 0
    dead_lettered: int = 0


class IdempotentConsumer:
    """Binds a handler to a topic through the broker, with the guarantees above."""

    def __init__(
        self,
        *,
        db: Database,
        broker: KafkaBroker,
        name: str,
        topic: str,
        handler: Handler,
        group_id: str,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
        batch_size: int = 1000,
        traced: bool = True,
        before_batch: BatchHook | None = None,
        after_batch: AfterBatchHook | None = None,
        fetch_wait_ms: int | None = None,
    ) -> None:
        self.db = db
        self.before_batch = before_batch
        self.after_batch = after_batch
        self.broker = broker
        self.name = name
        self.topic = topic
        self.handler = handler
        self.group_id = group_id
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.batch_size = batch_size
        self.traced = traced
        self.stats = ConsumerStats()
        self.subscriber = broker.subscriber(
            topic,
            group_id=group_id,
            batch=True,
            max_records=batch_size,
            batch_timeout_ms=100,
            # fetch_wait_ms: the broker answers a fetch once that long has passed (unless
            # a megabyte is waiting): fewer, larger batches, hence fewer transactions and
            # offset commits, for at most that much more latency.
            **(
                {"fetch_min_bytes": 1 << 20, "fetch_max_wait_ms": fetch_wait_ms}
                if fetch_wait_ms
                else {}
            ),
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            title=f"{name}:{topic}",
        )
        self.subscriber(self._on_batch)

    @property
    def dlt(self) -> str:
        return f"{self.topic}.dlt"

    async def _on_batch(self, msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records: list[ConsumerRecord] = list(raw) if isinstance(raw, (tuple, list)) else [raw]
        parsed: list[tuple[ConsumerRecord, Message]] = []
        for record in records:
            try:
                parsed.append((record, to_message(record)))
            except PoisonMessage as exc:
                await self._dead_letter(record, exc, attempts=1)
        if parsed:
            try:
                await self._handle_batch(parsed)
            except Exception:
                log.warning(
                    "%s: batch of %d failed, handling its messages one by one",
                    self.name,
                    len(parsed),
                    exc_info=True,
                )
                for record, message in parsed:
                    await self._handle_one(record, message)
        try:
            await msg.ack()
        except Exception:
            # Partitions were revoked meanwhile: the next owner re-reads these messages
            # and skips them thanks to their tracking records.
            log.warning("%s: offset commit failed", self.name, exc_info=True)

    async def _handle_batch(self, items: list[tuple[ConsumerRecord, Message]]) -> None:
        async with self.db.transaction() as conn:
            # The tracking records first, in one statement: those it inserts are the
            # messages to handle, the others were handled before. A failure rolls them
            # back with the handlers' effects.
            claimed = {
                r["event_id"]
                for r in await conn.fetch(
                    _TRACK_MANY + " ON CONFLICT DO NOTHING RETURNING event_id",
                    self.name,
                    [message.envelope.event_id for _, message in items],
                    [message.topic for _, message in items],
                    [message.partition for _, message in items],
                    [message.offset for _, message in items],
                )
            }
            todo = []
            for record, message in items:
                event_id = message.envelope.event_id
                if event_id not in claimed:
                    self.stats.skipped += 1
                    continue
                claimed.discard(event_id)  # the same event twice in a batch: handled once
                todo.append((record, message))
            if todo and self.before_batch is not None:
                await self.before_batch(conn, [message for _, message in todo])
            for record, message in todo:
                await self._call(conn, record, message)
            if todo and self.after_batch is not None:
                await self.after_batch(conn)
        self.stats.handled += len(todo)

    async def _call(
        self, conn: asyncpg.Connection, record: ConsumerRecord, message: Message
    ) -> None:
        if not self.traced:
            env_token = current_envelope.set(message.envelope)
            try:
                await self.handler(conn, message)
            finally:
                current_envelope.reset(env_token)
            return
        parent = propagate.extract(message.headers)
        links = [trace.Link(trace.get_current_span().get_span_context())]
        token = otel_context.attach(parent)
        env_token = current_envelope.set(message.envelope)
        try:
            with _tracer.start_as_current_span(
                f"handle {message.envelope.event_type}",
                kind=trace.SpanKind.CONSUMER,
                links=links,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": message.topic,
                    "messaging.kafka.destination.partition": message.partition,
                    "messaging.kafka.message.offset": message.offset,
                    "messaging.message.id": str(message.envelope.event_id),
                    "messaging.consumer.group.name": self.group_id,
                    "socsec.consumer": self.name,
                    "socsec.correlation_id": message.envelope.correlation_id or "",
                    **declaration_attributes(message.payload, message.envelope.producer),
                },
            ):
                await self.handler(conn, message)
        finally:
            current_envelope.reset(env_token)
            otel_context.detach(token)

    async def _handle_one(self, record: ConsumerRecord, message: Message) -> None:
        delay = self.backoff_initial_s
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self.db.transaction() as conn:
                    inserted = await conn.fetchval(
                        _TRACK + " ON CONFLICT DO NOTHING RETURNING 1",
                        self.name,
                        message.envelope.event_id,
                        message.topic,
                        message.partition,
                        message.offset,
                    )
                    if not inserted:
                        self.stats.skipped += 1
                        return
                    if self.before_batch is not None:
                        await self.before_batch(conn, [message])
                    await self._call(conn, record, message)
                    if self.after_batch is not None:
                        await self.after_batch(conn)
                self.stats.handled += 1
                return
            except Exception as exc:
                if attempt == self.max_attempts:
                    await self._dead_letter(record, exc, attempts=attempt)
                    return
                self.stats.retried += 1
                log.warning(
                    "%s: %s at %s[%d]@%d failed (attempt %d of %d), retrying in %.1fs: %s",
                    self.name,
                    message.envelope.event_type,
                    record.topic,
                    record.partition,
                    record.offset,
                    attempt,
                    self.max_attempts,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)

    async def _dead_letter(
        self, record: ConsumerRecord, exc: BaseException, *, attempts: int
    ) -> None:
        headers = {k: v for k, v in record_headers(record).items() if k not in DLT_HEADERS}
        headers.update(
            {
                "x-dlt-error": "".join(traceback.format_exception_only(exc)).strip()[:2000],
                "x-dlt-error-type": type(exc).__name__,
                "x-dlt-attempts": str(attempts),
                "x-dlt-consumer": self.name,
                "x-dlt-origin-topic": record.topic,
                "x-dlt-origin-partition": str(record.partition),
                "x-dlt-origin-offset": str(record.offset),
            }
        )
        await self.broker.publish(
            record.value, topic=f"{record.topic}.dlt", key=record.key, headers=headers
        )
        self.stats.dead_lettered += 1
        log.error(
            "%s: message %s[%d]@%d sent to %s.dlt after %d attempt(s): %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            record.topic,
            attempts,
            exc,
        )
