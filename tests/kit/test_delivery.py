"""The reliability contract on the real broker and database, with real crashes.

Each test runs the relay and the consumer in separate processes (``worker.py``) and
kills them with SIGKILL at the worst moments.
"""

from __future__ import annotations

import asyncio
import signal
import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition
from kit.conftest import TOPIC, eventually

from socsec.contracts.envelope import Envelope
from socsec.kit.outbox import Outbox


async def publish(conn, env, key: str, seq: int, **extra) -> Envelope:
    outbox = Outbox("dimona", env.prefix)
    async with conn.transaction():
        return await outbox.publish(
            conn, TOPIC, event_type="kit.test", key=key, payload={"seq": seq, **extra}
        )


async def topic_event_ids(bootstrap: str, topic: str) -> list[uuid.UUID]:
    """Every event id on the topic, in partition order (copies included)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        ids: list[uuid.UUID] = []
        for tp in tps:
            while await consumer.position(tp) < end[tp]:
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    ids.append(Envelope.from_bytes(record.value).event_id)
        return ids
    finally:
        await consumer.stop()


async def committed_total(bootstrap: str, group: str, topic: str) -> int:
    """The sum of a group's committed offsets over the topic's partitions."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or ()
        return sum([await consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions])
    finally:
        await consumer.stop()


async def effects(db, event_id: uuid.UUID) -> int:
    return await db.fetchval("SELECT count(*) FROM kit_effects WHERE event_id = $1", event_id)


async def test_committed_event_reaches_consumer_once_rolled_back_never(env, db, workers) -> None:
    workers("--relay", "--consume")
    outbox = Outbox("dimona", env.prefix)
    rolled_back: Envelope | None = None
    try:
        async with db.transaction():
            rolled_back = await outbox.publish(
                db, TOPIC, event_type="kit.test", key="123456749", payload={"seq": 0}
            )
            raise RuntimeError("the state change fails")
    except RuntimeError:
        pass
    committed = await publish(db, env, "123456749", 1)

    await eventually(lambda: effects(db, committed.event_id), what="the committed event's effect")
    await asyncio.sleep(1.0)  # room for a wrong delivery to show up
    assert await effects(db, committed.event_id) == 1
    assert rolled_back is not None
    assert await effects(db, rolled_back.event_id) == 0
    assert await topic_event_ids(env.bootstrap, env.topic(TOPIC)) == [committed.event_id]


async def test_relay_killed_after_send_before_mark_resends_and_effect_stays_once(
    env, db, workers
) -> None:
    workers("--consume")
    event = await publish(db, env, "123456749", 1)

    crashing = workers("--relay", "--crash-after-send")
    assert crashing.wait_exit(60) == -signal.SIGKILL
    assert (
        await db.fetchval("SELECT sent_at FROM outbox WHERE event_id = $1", event.event_id) is None
    )
    await eventually(lambda: effects(db, event.event_id), what="effect of the first copy")

    workers("--relay")
    await eventually(
        lambda: db.fetchval(
            "SELECT sent_at IS NOT NULL FROM outbox WHERE event_id = $1", event.event_id
        ),
        what="the restarted relay marking the event sent",
    )
    assert await topic_event_ids(env.bootstrap, env.topic(TOPIC)) == [event.event_id] * 2
    group = f"{env.prefix}dimona.kit-test"

    async def both_copies_consumed() -> bool:
        return await committed_total(env.bootstrap, group, env.topic(TOPIC)) == 2

    await eventually(both_copies_consumed, what="the consumer committing past the duplicate")
    assert await effects(db, event.event_id) == 1


async def test_consumer_killed_mid_handler_processes_after_restart_once(env, db, workers) -> None:
    crashing = workers("--relay", "--consume")
    events = [await publish(db, env, "123456749", i, crash=(i == 3)) for i in range(1, 6)]
    assert crashing.wait_exit(60) == -signal.SIGKILL
    # The crash rolled the handler's transaction back: nothing of that batch was kept.
    assert await db.fetchval("SELECT count(*) FROM kit_effects WHERE seq = 3") == 0

    workers("--relay", "--consume")

    async def all_done() -> bool:
        return await db.fetchval("SELECT count(DISTINCT seq) FROM kit_effects") == 5

    await eventually(all_done, what="all five effects after the restart")
    await asyncio.sleep(1.0)
    for event in events:
        assert await effects(db, event.event_id) == 1
    seqs = [r["seq"] for r in await db.fetch("SELECT seq FROM kit_effects ORDER BY id")]
    assert seqs == [1, 2, 3, 4, 5]
