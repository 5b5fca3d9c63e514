"""Whether the stack still has work in flight: unsent outbox rows or unread messages."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from socsec.stack.local import StackState


async def _count_per_service(state: StackState, query: str) -> dict[str, int]:
    """Per service, the non-zero count ``query`` gives (``{schema}`` is its schema)."""
    out: dict[str, int] = {}
    for service, dsn in state.service_database_urls.items():
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            conn = await asyncpg.connect(dsn, timeout=10)
            try:
                count = await conn.fetchval(query.format(schema=f'"{service}"'))
            finally:
                await conn.close()
            if count:
                out[service] = int(count)
    return out


async def unsent_outbox(state: StackState) -> dict[str, int]:
    """Per service, the outbox rows not yet published."""
    return await _count_per_service(
        state, "SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL"
    )


async def set_aside(state: StackState) -> dict[str, int]:
    """Per service, the events its relay set aside because the broker refused them."""
    return await _count_per_service(state, "SELECT count(*) FROM {schema}.outbox_failed")


async def consumer_lag(state: StackState) -> dict[str, int]:
    """Per consumer group of the stack, the messages its members have not committed yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=state.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=state.kafka_bootstrap)
    await admin.start()
    await consumer.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups()]
        prefix = state.topic_prefix
        lag: dict[str, int] = {}
        for group in groups:
            if prefix and not group.startswith(prefix):
                continue
            committed = await admin.list_consumer_group_offsets(group)
            parts = [tp for tp, meta in committed.items() if meta.offset >= 0]
            if not parts:
                continue
            ends = await consumer.end_offsets(parts)
            behind = sum(max(0, ends[tp] - committed[tp].offset) for tp in parts)
            if behind:
                lag[group] = behind
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def pending_work(state: StackState) -> dict[str, int]:
    outbox, lag = await asyncio.gather(unsent_outbox(state), consumer_lag(state))
    return {
        **{f"outbox {k}": v for k, v in outbox.items()},
        **{f"lag {k}": v for k, v in lag.items()},
    }
