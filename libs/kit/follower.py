"""Follow a compacted topic from its beginning: the way a service rebuilds a read model.

Every instance reads every partition (no consumer group), so each keeps a complete copy.
:meth:`TopicFollower.start` returns once everything that was on the topic when it started
has been applied, then keeps applying new records in the background.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

log = logging.getLogger(__name__)


async def refresh_metadata(consumer: AIOKafkaConsumer) -> None:
    """Load the cluster metadata into the consumer's own client.

    ``AIOKafkaConsumer.topics()`` fetches metadata into a throw-away object, so
    ``partitions_for_topic`` would still not know a topic the consumer never saw; the
    client's own refresh is the only way (stable across aiokafka releases).
    """
    await consumer._client.force_metadata_update()


async def behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    """Whether the consumer has not yet reached ``end`` on some partition."""
    for tp, offset in end.items():
        if await consumer.position(tp) < offset:
            return True
    return False


OnRecord = Callable[[ConsumerRecord], Awaitable[None] | None]


class TopicFollower:
    def __init__(self, bootstrap: str, topic: str, on_record: OnRecord, *, name: str = "") -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._on_record = on_record
        self._name = name or topic
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    async def _apply(self, record: ConsumerRecord) -> None:
        result = self._on_record(record)
        if inspect.isawaitable(result):
            await result
        self.applied += 1

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
        )
        await consumer.start()
        self._consumer = consumer
        try:
            partitions = None
            for _ in range(int(timeout * 10)):
                partitions = consumer.partitions_for_topic(self.topic)
                if partitions:
                    break
                await refresh_metadata(consumer)
                await asyncio.sleep(0.1)
            if not partitions:
                raise RuntimeError(f"topic {self.topic!r} does not exist on {self.bootstrap}")
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            async with asyncio.timeout(timeout):
                while await behind(consumer, end):
                    batch = await consumer.getmany(timeout_ms=200)
                    for records in batch.values():
                        for record in records:
                            await self._apply(record)
        except BaseException:
            await consumer.stop()
            self._consumer = None
            raise
        self._task = asyncio.create_task(self._follow(), name=f"follow:{self._name}")

    async def _follow(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batch = await self._consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        await self._apply(record)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following %s failed; retrying", self.topic)
                await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
