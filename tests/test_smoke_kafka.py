"""The broker works with aiokafka the way the kit relies on it."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


async def _consume(bootstrap: str, topic: str, group: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        while len(values) < count:
            batch = await consumer.getmany(timeout_ms=10_000, max_records=count - len(values))
            assert batch, "no message arrived within 10 s"
            for records in batch.values():
                values.extend(r.value for r in records)
        await consumer.commit()
        return values
    finally:
        await consumer.stop()


async def test_idempotent_produce_group_consume_commit_and_resume(env) -> None:
    topic = env.topic("dimona.declarations.v1")
    producer = AIOKafkaProducer(
        bootstrap_servers=env.bootstrap, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, f"m{i}".encode(), key=b"123456749")
    finally:
        await producer.stop()

    group = f"smoke-{uuid.uuid4().hex}"
    first = await _consume(env.bootstrap, topic, group, 4)
    assert first == [b"m0", b"m1", b"m2", b"m3"]

    # A new consumer in the same group resumes after the committed offset.
    rest = await _consume(env.bootstrap, topic, group, 6)
    assert rest == [f"m{i}".encode() for i in range(4, 10)]

    probe = AIOKafkaConsumer(bootstrap_servers=env.bootstrap, group_id=group)
    await probe.start()
    try:
        partitions = probe.partitions_for_topic(topic) or {0, 1, 2}
        committed = [await probe.committed(TopicPartition(topic, p)) or 0 for p in partitions]
    finally:
        await probe.stop()
    assert sum(committed) == 10
