"""Broker outage, poison messages and the dead-letter topic, on the real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaProducer
from kit.conftest import TOPIC, eventually, run_cli
from kit.test_delivery import effects, publish

from socsec.kit import dlt
from socsec.stack import kafka, processes
from socsec.stack.local import create_topics


async def test_broker_down_ten_seconds_loses_nothing_and_keeps_key_order(
    env, db, workers, tmp_path: Path
) -> None:
    # A broker of its own, so stopping it disturbs no other test.
    node = kafka.KafkaNode(
        tmp_path / "kafka",
        processes.free_port(),
        processes.free_port(),
        await asyncio.to_thread(kafka.ensure_jars),
        log_path=tmp_path / "kafka.log",
    )
    record = node.start()
    try:
        await asyncio.to_thread(node.wait_ready, record)
        await asyncio.to_thread(create_topics, node.bootstrap, env.prefix)
        workers("--relay", "--consume", bootstrap=node.bootstrap)

        keys = [f"1000000{i:02d}" for i in range(5)]
        total = 200

        async def write() -> None:
            conn = await env.connect("dimona")
            try:
                for i in range(total):
                    await publish(conn, env, keys[i % len(keys)], i)
                    await asyncio.sleep(0.05)
            finally:
                await conn.close()

        writer = asyncio.create_task(write())
        await eventually(
            lambda: db.fetchval("SELECT count(*) >= 10 FROM kit_effects"), what="first deliveries"
        )
        assert await asyncio.to_thread(node.stop, record)
        await asyncio.sleep(10)
        written_during_outage = await db.fetchval("SELECT count(*) FROM outbox")
        record = node.start()
        await asyncio.to_thread(node.wait_ready, record)
        await writer

        async def all_delivered() -> bool:
            return await db.fetchval("SELECT count(DISTINCT seq) FROM kit_effects") == total

        await eventually(all_delivered, timeout=120, what="every event after the outage")
        assert written_during_outage > 100  # events kept being written while Kafka was down
        rows = await db.fetch("SELECT key, seq FROM kit_effects ORDER BY id")
        assert len(rows) == total  # each effect once
        for key in keys:
            seqs = [r["seq"] for r in rows if r["key"] == key]
            assert seqs == sorted(seqs), f"events of key {key} applied out of order"
    finally:
        node.stop(record)


async def test_poison_message_dead_lettered_after_n_attempts_then_replayed_once_fixed(
    env, db, workers, tmp_path: Path
) -> None:
    workers("--relay", "--consume")
    key = "123456749"
    first = await publish(db, env, key, 1)
    poison = await publish(db, env, key, 2, poison=True)
    behind = await publish(db, env, key, 3)

    await eventually(lambda: effects(db, behind.event_id), what="the message behind the poison")
    assert await effects(db, first.event_id) == 1
    assert await effects(db, poison.event_id) == 0  # its failed attempts were rolled back

    letters = await eventually(
        lambda: dlt.list_dead_letters(env.bootstrap, env.topic(TOPIC)), what="a dead letter"
    )
    [letter] = letters
    assert letter.attempts == 3
    assert "cannot handle seq 2" in letter.error
    assert letter.headers["x-dlt-origin-topic"] == env.topic(TOPIC)
    assert letter.headers["x-dlt-consumer"] == "dimona.kit-test"
    assert letter.event_type == "kit.test"
    assert not letter.replayed

    listing = run_cli(env, "dlt", "list", TOPIC, data_dir=tmp_path / "no-stack")
    assert "cannot handle seq 2" in listing and "kit.test" in listing

    await db.execute("INSERT INTO kit_fixes (key) VALUES ($1)", key)
    assert "replayed 1 message" in run_cli(env, "dlt", "replay", TOPIC, data_dir=tmp_path / "x")
    await eventually(lambda: effects(db, poison.event_id), what="the replayed message's effect")

    # Replaying again sends nothing: the replay position moved past it.
    assert "replayed 0 message" in run_cli(env, "dlt", "replay", TOPIC, data_dir=tmp_path / "x")
    [letter] = await dlt.list_dead_letters(env.bootstrap, env.topic(TOPIC))
    assert letter.replayed
    await asyncio.sleep(1.0)
    assert await effects(db, poison.event_id) == 1


async def test_message_that_is_not_an_envelope_is_dead_lettered_at_once(env, db, workers) -> None:
    workers("--relay", "--consume")
    producer = AIOKafkaProducer(bootstrap_servers=env.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(env.topic(TOPIC), b"<not json>", key=b"123456749")
    finally:
        await producer.stop()
    after = await publish(db, env, "123456749", 7)
    await eventually(lambda: effects(db, after.event_id), what="the message after the junk")
    [letter] = await eventually(
        lambda: dlt.list_dead_letters(env.bootstrap, env.topic(TOPIC)), what="a dead letter"
    )
    assert letter.attempts == 1
    assert letter.headers["x-dlt-error-type"] == "PoisonMessage"
    assert letter.value == b"<not json>"
