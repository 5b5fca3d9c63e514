"""Dead-letter topics: inspect what could not be handled and put it back once fixed.

``<topic>.dlt`` holds the original message (value, key, headers) plus ``x-dlt-*`` headers
with the error, the attempt count and the origin. Replaying sends the original back to its
origin topic without the ``x-dlt-*`` headers; the consumer group ``socsec-dlt-replay``
remembers how far a dead-letter topic has been replayed, so nothing is replayed twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from socsec.contracts.topics import FORM_MESSAGE_BYTES
from socsec.kit.consumer import DLT_HEADERS, record_headers
from socsec.kit.follower import behind, refresh_metadata

REPLAY_GROUP = "socsec-dlt-replay"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str]
    replayed: bool

    @property
    def error(self) -> str:
        return self.headers.get("x-dlt-error", "")

    @property
    def attempts(self) -> int:
        return int(self.headers.get("x-dlt-attempts", "0"))

    @property
    def origin(self) -> str:
        h = self.headers
        topic, partition = h.get("x-dlt-origin-topic"), h.get("x-dlt-origin-partition")
        return f"{topic}[{partition}]@{h.get('x-dlt-origin-offset')}"

    @property
    def event_type(self) -> str:
        return self.headers.get("event_type", "?")


def dlt_name(topic: str) -> str:
    return topic if topic.endswith(".dlt") else f"{topic}.dlt"


async def _read_all(bootstrap: str, dlt: str) -> tuple[list[DeadLetter], dict[TopicPartition, int]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=REPLAY_GROUP, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await refresh_metadata(consumer)
        partitions = consumer.partitions_for_topic(dlt)
        if not partitions:
            raise LookupError(f"dead-letter topic {dlt!r} does not exist")
        tps = [TopicPartition(dlt, p) for p in sorted(partitions)]
        consumer.assign(tps)
        committed = {tp: (await consumer.committed(tp)) or 0 for tp in tps}
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        letters: list[DeadLetter] = []
        while await behind(consumer, end):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for r in records:
                    if r.offset >= end[tp]:
                        continue
                    letters.append(
                        DeadLetter(
                            partition=r.partition,
                            offset=r.offset,
                            key=r.key.decode(errors="replace") if r.key else None,
                            value=r.value,
                            headers=record_headers(r),
                            replayed=r.offset < committed[tp],
                        )
                    )
        return sorted(letters, key=lambda d: (d.partition, d.offset)), committed
    finally:
        await consumer.stop()


async def list_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    letters, _ = await _read_all(bootstrap, dlt_name(topic))
    return letters


async def replay(
    bootstrap: str, topic: str, *, offsets: set[int] | None = None
) -> list[DeadLetter]:
    """Send not-yet-replayed dead letters (or only ``offsets``) back to their origin topic."""
    dlt = dlt_name(topic)
    letters, committed = await _read_all(bootstrap, dlt)
    chosen = [
        d for d in letters if (d.offset in offsets if offsets is not None else not d.replayed)
    ]
    if not chosen:
        return []
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        # A dead letter is as large as the message it holds: a form can be.
        max_request_size=FORM_MESSAGE_BYTES + 1024 * 1024,
    )
    await producer.start()
    try:
        futures = []
        for d in chosen:
            origin = d.headers.get("x-dlt-origin-topic") or dlt.removesuffix(".dlt")
            headers = [(k, v.encode()) for k, v in d.headers.items() if k not in DLT_HEADERS]
            futures.append(
                await producer.send(
                    origin, d.value, key=d.key.encode() if d.key else None, headers=headers
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    # Advance the replay position past every replayed letter that is contiguous with it.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=REPLAY_GROUP, enable_auto_commit=False
    )
    await consumer.start()
    try:
        new_positions: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, position in committed.items():
            done = {
                d.offset
                for d in letters
                if d.partition == tp.partition and (d.replayed or d in chosen)
            }
            while position in done:
                position += 1
            if position != committed[tp]:
                new_positions[tp] = OffsetAndMetadata(position, "")
        if new_positions:
            consumer.assign(list(new_positions))
            await consumer.commit(new_positions)
    finally:
        await consumer.stop()
    return chosen
