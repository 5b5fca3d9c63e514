"""Transactional outbox: how a service publishes.

``Outbox.publish(conn, ...)`` writes the event into the service's ``outbox`` table inside
the caller's transaction, so the event exists if and only if the state change committed.
:class:`OutboxRelay` then sends unsent rows in id order with the broker's idempotent
producer (``acks=all``), waits for every acknowledgement and only then marks them sent. A
crash between sending and marking makes the relay send them again: consumers skip the
duplicates by ``event_id``. A trigger ``NOTIFY``s the relay when a transaction that wrote
to the outbox commits, so it does not poll while events are flowing.

An event the broker refuses for good (larger than its topic's ``max.message.bytes``, say)
is moved to ``outbox_failed`` with the error and logged, so one bad event cannot hold up
the events behind it; ``socsec outbox list`` shows those and ``socsec outbox retry`` puts
one back once its cause is fixed.

The W3C trace context of the publishing code is stored with the row and restored when the
relay sends it, so the trace goes on from the HTTP request (or message) that caused it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka.errors import InvalidTopicError, MessageSizeTooLargeError, RecordListTooLargeError
from opentelemetry import context as otel_context
from opentelemetry import propagate
from pydantic import BaseModel

from socsec.contracts.envelope import Envelope
from socsec.kit.telemetry import declaration_attributes, trace_headers

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

    from socsec.kit.db import Database

log = logging.getLogger(__name__)

#: The envelope being handled by the current consumer, so that events published while
#: handling it inherit its correlation id and name it as their cause.
current_envelope: contextvars.ContextVar[Envelope | None] = contextvars.ContextVar(
    "socsec_current_envelope", default=None
)

#: The columns of an outbox row, in the order of :attr:`PreparedEvent.args`.
OUTBOX_COLUMNS = "event_id, topic, key, value, headers"
#: The placeholders of one row (``headers`` is JSON text).
OUTBOX_VALUES = "($1, $2, $3, $4, $5::text::jsonb)"
_INSERT = f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES {OUTBOX_VALUES}"


@dataclass(frozen=True)
class PendingEvent:
    """An event to publish: what :meth:`Outbox.publish_many` takes."""

    topic: str
    event_type: str
    key: str | None
    payload: BaseModel | Mapping[str, Any]
    schema_version: int = 1


@dataclass(frozen=True)
class PreparedEvent:
    """An event ready to be written: its envelope and the values of its outbox row (in
    the order of :data:`OUTBOX_COLUMNS`), for a service that writes the row within a
    statement of its own (one round trip for its state change and its events)."""

    envelope: Envelope
    args: tuple[Any, ...]


class Outbox:
    """Writes events of one producer (service) into its outbox table."""

    def __init__(self, producer: str, topic_prefix: str = "") -> None:
        self.producer = producer
        self.topic_prefix = topic_prefix

    def envelope(
        self,
        event_type: str,
        payload: BaseModel | Mapping[str, Any],
        *,
        schema_version: int = 1,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
        parent = current_envelope.get()
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else dict(payload)
        env = Envelope(
            event_type=event_type,
            schema_version=schema_version,
            producer=self.producer,
            correlation_id=correlation_id or (parent.correlation_id if parent else None),
            causation_id=causation_id or (str(parent.event_id) if parent else None),
            payload=data,
        )
        if env.correlation_id is None:
            env = env.model_copy(update={"correlation_id": str(env.event_id)})
        return env

    def _row(self, topic: str, key: str | None, env: Envelope) -> tuple[Any, ...]:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        headers["event_type"] = env.event_type
        headers.update(trace_headers(declaration_attributes(env.payload, env.producer)))
        return (
            env.event_id,
            f"{self.topic_prefix}{topic}",
            key.encode() if key is not None else None,
            env.to_bytes(),
            json.dumps(headers),
        )

    def prepare(
        self,
        topic: str,
        *,
        event_type: str,
        key: str | None,
        payload: BaseModel | Mapping[str, Any],
        schema_version: int = 1,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> PreparedEvent:
        """The envelope and outbox row of one event, not yet written: the caller inserts
        ``args`` into ``outbox (OUTBOX_COLUMNS)`` in its own transaction."""
        env = self.envelope(
            event_type,
            payload,
            schema_version=schema_version,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        return PreparedEvent(env, self._row(topic, key, env))

    async def publish(
        self,
        conn: asyncpg.Connection,
        topic: str,
        *,
        event_type: str,
        key: str | None,
        payload: BaseModel | Mapping[str, Any],
        schema_version: int = 1,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
        """Record one event in the caller's transaction; it is sent after commit."""
        event = self.prepare(
            topic,
            event_type=event_type,
            key=key,
            payload=payload,
            schema_version=schema_version,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        await conn.execute(_INSERT, *event.args)
        return event.envelope

    async def publish_many(
        self, conn: asyncpg.Connection, events: Iterable[PendingEvent]
    ) -> list[Envelope]:
        """Record many events in one round trip (same ordering as given)."""
        envs: list[Envelope] = []
        rows = []
        for event in events:
            env = self.envelope(
                event.event_type, event.payload, schema_version=event.schema_version
            )
            envs.append(env)
            rows.append(self._row(event.topic, event.key, env))
        if rows:
            await conn.executemany(_INSERT, rows)
        return envs


#: Errors that sending again cannot cure: the event is set aside instead of blocking the
#: outbox (the producer's and the broker's size limits, a topic name the broker refuses).
REFUSED_FOR_GOOD: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
)


def _done() -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


class OutboxRelay:
    """Sends the outbox of one schema to Kafka; one active relay per schema at a time.

    Several instances of a service may run: they compete for a PostgreSQL advisory lock
    and only the holder relays, which keeps the order of events with the same key.
    """

    def __init__(
        self,
        db: Database,
        broker: KafkaBroker,
        *,
        batch_size: int = 1000,
        idle_poll_s: float = 1.0,
        retention: str = "1 day",
        traced: bool = True,
        linger_s: float = 0.0,
    ) -> None:
        #: After a wake-up, wait this long before reading the outbox: fewer, larger
        #: batches (fewer statements and produce requests) for this much more latency.
        self.linger_s = linger_s
        self.db = db
        self.broker = broker
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self.retention = retention
        self.traced = traced
        self.sent = 0
        #: Events moved to ``outbox_failed`` since the start.
        self.set_aside = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.channel = f"socsec_outbox_{db.schema}"

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay:{self.db.schema}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            try:
                async with self.db.connection() as conn:
                    await self._lead(conn)
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "outbox relay of %s failed; restarting in %.1fs", self.db.schema, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _lead(self, conn: asyncpg.Connection) -> None:
        lock = f"socsec-outbox-relay:{self.db.schema}"
        # Another instance holds the lock while it relays; take over when it goes away.
        while not await conn.fetchval(  # noqa: ASYNC110
            "SELECT pg_try_advisory_lock(hashtext($1))", lock
        ):
            await asyncio.sleep(2.0)
        await conn.add_listener(self.channel, self._notified)
        # Marking rows sent need not wait for the WAL flush: a mark lost in a crash only
        # makes the relay send those events again, which consumers skip by event_id (as
        # after a crash between sending and marking). One fsync less per relayed batch.
        await conn.execute("SET synchronous_commit = off")
        try:
            last_purge = 0.0
            while not self._stopping:
                self._wake.clear()
                sent = await self.relay_once(conn)
                if time.monotonic() - last_purge > 60:
                    await conn.execute(
                        f"DELETE FROM outbox WHERE sent_at < now() - interval '{self.retention}'"
                    )
                    last_purge = time.monotonic()
                if sent < self.batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.idle_poll_s)
                    if self.linger_s and self._wake.is_set():
                        # Let the commits of the next few moments join this batch.
                        await asyncio.sleep(self.linger_s)
        finally:
            await conn.remove_listener(self.channel, self._notified)
            await conn.execute("RESET synchronous_commit")
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        """Send one batch of unsent events and mark them sent; return how many."""
        rows = await conn.fetch(
            """SELECT id, event_id::text AS event_id, topic, key, value, headers::text AS headers
                 FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1""",
            self.batch_size,
        )
        if not rows:
            return 0
        futures: list[asyncio.Future[Any]] = []
        refused: dict[int, BaseException] = {}
        for row in rows:
            try:
                futures.append(await self._send(row))
            except REFUSED_FOR_GOOD as exc:  # the producer's own size check
                refused[row["id"]] = exc
                futures.append(_done())
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, REFUSED_FOR_GOOD):
                refused[row["id"]] = outcome
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, REFUSED_FOR_GOOD):
                # Worth another try (broker away, leader moving): send the batch again.
                await self._set_aside(conn, refused)
                raise outcome
        await self._set_aside(conn, refused)
        await self._mark_sent(conn, [row["id"] for row in rows if row["id"] not in refused])
        self.sent += len(rows) - len(refused)
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[Any]:
        """Hand one row to the producer; the future of its acknowledgement."""
        carrier = json.loads(row["headers"])
        # The message's correlation id (a header of FastStream's) is the event's id: found
        # in the logs of both sides, and no id to generate per message.
        message = {
            "topic": row["topic"],
            "key": row["key"],
            "headers": carrier,
            "correlation_id": row["event_id"],
            "no_confirm": True,
        }
        if not self.traced:
            # The stored context travels on unchanged, for a traced consumer downstream.
            return await self.broker.publish(row["value"], **message)
        token = otel_context.attach(propagate.extract(carrier))
        try:
            # The telemetry middleware injects the new producer span's context.
            for name in ("traceparent", "tracestate"):
                carrier.pop(name, None)
            return await self.broker.publish(row["value"], **message)
        finally:
            otel_context.detach(token)

    async def _set_aside(
        self, conn: asyncpg.Connection, refused: Mapping[int, BaseException]
    ) -> None:
        """Move events the broker refused for good to ``outbox_failed``, with the reason, so
        that the events behind them go on (``socsec outbox retry`` puts one back)."""
        if not refused:
            return
        ids = list(refused)
        errors = [f"{type(exc).__name__}: {exc}"[:2000] for exc in refused.values()]
        async with conn.transaction():
            moved = await conn.fetch(
                """WITH gone AS (DELETE FROM outbox WHERE id = ANY($1::bigint[])
                                 RETURNING id, event_id, topic, key, value, headers, created_at)
                   INSERT INTO outbox_failed
                          (id, event_id, topic, key, value, headers, created_at, error)
                   SELECT gone.id, event_id, topic, key, value, headers, created_at, e.error
                     FROM gone JOIN unnest($1::bigint[], $2::text[]) AS e(id, error)
                          ON e.id = gone.id
                   RETURNING id, event_id, topic, length(value) AS size, error""",
                ids,
                errors,
            )
        self.set_aside += len(moved)
        for row in moved:
            log.error(
                "outbox of %s: event %s (outbox id %d, %d bytes) for %s refused by the broker "
                "and set aside in outbox_failed: %s",
                self.db.schema,
                row["event_id"],
                row["id"],
                row["size"],
                row["topic"],
                row["error"],
            )

    async def _mark_sent(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        # Only after every acknowledgement: a crash before this line re-sends, never loses.
        await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", ids)


async def failed_events(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The events of this schema's outbox that the broker refused for good, oldest first."""
    return await conn.fetch(
        """SELECT id, event_id, topic, length(value) AS size, headers->>'event_type' AS event_type,
                  created_at, failed_at, error
             FROM outbox_failed ORDER BY id"""
    )


async def retry_failed(conn: asyncpg.Connection, ids: Iterable[int] | None = None) -> int:
    """Put events set aside back at the end of the outbox (all of them when ``ids`` is
    ``None``); the relay sends them again. How many were put back."""
    chosen = None if ids is None else list(ids)
    async with conn.transaction():
        return len(
            await conn.fetch(
                f"""WITH back AS (DELETE FROM outbox_failed
                                   WHERE $1::bigint[] IS NULL OR id = ANY($1::bigint[])
                                  RETURNING id, event_id, topic, key, value, headers, created_at)
                    INSERT INTO outbox ({OUTBOX_COLUMNS}, created_at)
                    SELECT {OUTBOX_COLUMNS}, created_at FROM back ORDER BY id
                    RETURNING id""",
                chosen,
            )
        )
