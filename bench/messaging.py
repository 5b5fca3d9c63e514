"""Messaging throughput: what the kit's outbox → relay → consumer path costs against the raw
clients it is built on.

(a) raw Kafka: aiokafka's idempotent producer (acks=all) and a consumer group committing per
    batch, running concurrently; (b) raw PostgreSQL: one binary COPY of outbox-shaped rows;
(c) the kit without HTTP: writer tasks ``Outbox.publish_many`` in transactions, the
    ``OutboxRelay`` sends, an ``IdempotentConsumer`` writes one effect row per event.

The goal is (c) end-to-end at least 30 % of (a) end-to-end.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.table import Table

from bench.common import (
    SERVICE,
    BenchEnv,
    BenchOptions,
    CpuMeter,
    Goal,
    ScenarioReport,
    console,
    fmt_rate,
    fmt_s,
    quiet_kafka_client,
    rate,
)
from socsec.contracts.topics import TopicSpec
from socsec.dimona.settings import DimonaSettings
from socsec.kit.consumer import IdempotentConsumer, Message
from socsec.kit.outbox import OutboxRelay, PendingEvent
from socsec.kit.runtime import ServiceRuntime
from socsec.stack import kafka

NAME = "messaging"
GOAL_RATIO = 0.30
#: The raw clients' end-to-end topic; the kit uses a contract topic.
RAW_TOPIC = "bench.raw.v1"
KIT_TOPIC = "dimona.declarations.v1"
EVENT_TYPE = "BenchEventRecorded"
#: Events sent through the kit before the clock starts: connections, group join, metadata.
WARMUP_EVENTS = 200
#: Messages through the raw clients before the clock starts (JIT of a fresh broker).
WARMUP_RAW = 5000


def _keys(count: int) -> list[str]:
    # Shaped like NSSO registration numbers, the key of most contract topics.
    return [f"{100_000_000 + i:010d}" for i in range(count)]


# -- (a) raw Kafka ---------------------------------------------------------------------


def _raw_consumer(env: BenchEnv, topic: str, group: str, opts: BenchOptions) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=env.bootstrap,
        client_id="socsec-bench",
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=opts.consumer_batch,
    )


async def _assigned(consumer: AIOKafkaConsumer) -> None:
    """Wait for the group join, which is not what is measured."""
    async with asyncio.timeout(30):
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka has no join event
            await asyncio.sleep(0.02)


async def _consume_all(consumer: AIOKafkaConsumer, count: int, batch: int) -> tuple[float, int]:
    """Read ``count`` records, committing after every batch; when the last commit returned,
    and how many batches it took."""
    seen = batches = 0
    while seen < count:
        fetched = await consumer.getmany(timeout_ms=500, max_records=batch)
        if fetched:
            seen += sum(len(records) for records in fetched.values())
            batches += 1
            await consumer.commit()
    return time.perf_counter(), batches


async def _produce_all(
    producer: AIOKafkaProducer, topic: str, keys: list[bytes], values: list[bytes]
) -> float:
    """Send everything without waiting per message, then every acknowledgement."""
    futures = []
    for i, value in enumerate(values):
        futures.append(await producer.send(topic, value, key=keys[i % len(keys)]))
    await asyncio.gather(*futures)
    return time.perf_counter()


async def _raw_topics(env: BenchEnv, names: list[str]) -> list[str]:
    """Topics of the raw clients, shaped like the contract topics (3 partitions)."""
    specs = [
        TopicSpec(env.topic(name), key="NSSO number", description="bench", partitions=3)
        for name in names
    ]
    await asyncio.to_thread(kafka.create_topics, env.bootstrap, specs)
    return [spec.name for spec in specs]


async def _produce_and_consume(
    env: BenchEnv,
    producer: AIOKafkaProducer,
    topic: str,
    values: list[bytes],
    opts: BenchOptions,
    cpu: CpuMeter | None = None,
) -> dict[str, Any]:
    """Produce ``values`` while a consumer group reads them: the end-to-end round."""
    n = len(values)
    keys = [k.encode() for k in _keys(opts.keys)]
    await producer.partitions_for(topic)  # metadata, before the clock starts
    consumer = _raw_consumer(env, topic, f"{topic}.e2e", opts)
    await consumer.start()
    try:
        await _assigned(consumer)
        if cpu is not None:
            cpu.start()
        t0 = time.perf_counter()
        async with asyncio.timeout(opts.timeout_s):
            produced = asyncio.create_task(_produce_all(producer, topic, keys, values))
            t_consumed, batches = await _consume_all(consumer, n, opts.consumer_batch)
            t_produced = await produced
        cores = cpu.stop() if cpu is not None else {}
    finally:
        await consumer.stop()
    return {
        "end_to_end_s": round(t_consumed - t0, 3),
        "end_to_end_per_s": rate(n, t_consumed - t0),
        "produce_while_consuming_s": round(t_produced - t0, 3),
        "consumer_batches": batches,
        "cpu_cores": cores,
    }


async def raw_kafka(env: BenchEnv, opts: BenchOptions, cpu: CpuMeter) -> dict[str, Any]:
    n = opts.messages
    filler = bytes(opts.payload_bytes - 8)
    values = [seq.to_bytes(8, "big") + filler for seq in range(n)]
    keys = [k.encode() for k in _keys(opts.keys)]
    producer = AIOKafkaProducer(
        bootstrap_servers=env.bootstrap,
        client_id="socsec-bench",
        enable_idempotence=True,
        acks="all",
        linger_ms=opts.linger_ms,
    )
    warmup, produce_topic, topic = await _raw_topics(
        env, ["bench.warmup.v1", "bench.produce.v1", RAW_TOPIC]
    )
    await producer.start()
    try:
        # Untimed: a fresh JVM compiles its hot paths, the first group creates the offsets
        # topic, partition leaders settle; (c) gets the same through its warm-up events.
        with quiet_kafka_client():
            await _produce_and_consume(env, producer, warmup, values[:WARMUP_RAW], opts)
            await producer.partitions_for(produce_topic)
            await producer.partitions_for(topic)

        t0 = time.perf_counter()
        async with asyncio.timeout(opts.timeout_s):
            t_produced = await _produce_all(producer, produce_topic, keys, values)

        e2e = await _produce_and_consume(env, producer, topic, values, opts, cpu)
    finally:
        await producer.stop()

    # A second group reads the full topic on its own: the consumer without a producer.
    catchup = _raw_consumer(env, topic, f"{topic}.catchup", opts)
    await catchup.start()
    try:
        await _assigned(catchup)
        t1 = time.perf_counter()
        async with asyncio.timeout(opts.timeout_s):
            t_caught_up, batches = await _consume_all(catchup, n, opts.consumer_batch)
    finally:
        await catchup.stop()

    return {
        "messages": n,
        "value_bytes": opts.payload_bytes,
        "linger_ms": opts.linger_ms,
        "produce_s": round(t_produced - t0, 3),
        "produce_per_s": rate(n, t_produced - t0),
        "consume_s": round(t_caught_up - t1, 3),
        "consume_per_s": rate(n, t_caught_up - t1),
        "consume_batches": batches,
        **e2e,
    }


# -- (b) raw COPY ----------------------------------------------------------------------

_COPY_TABLE = """CREATE TABLE bench_copy (
    event_id uuid NOT NULL, topic text NOT NULL, key bytea, value bytea NOT NULL,
    headers jsonb NOT NULL)"""


async def raw_copy(env: BenchEnv, opts: BenchOptions) -> dict[str, Any]:
    n = opts.messages
    topic = env.topic(KIT_TOPIC)
    keys = [k.encode() for k in _keys(opts.keys)]
    filler = bytes(opts.payload_bytes - 8)
    headers = json.dumps({"event_type": EVENT_TYPE})
    rows = [
        (uuid.uuid4(), topic, keys[i % len(keys)], i.to_bytes(8, "big") + filler, headers)
        for i in range(n)
    ]
    conn = await asyncpg.connect(env.dsns[SERVICE])
    try:
        await conn.execute(_COPY_TABLE)
        t0 = time.perf_counter()
        async with asyncio.timeout(opts.timeout_s):
            await conn.copy_records_to_table(
                "bench_copy", records=rows, columns=["event_id", "topic", "key", "value", "headers"]
            )
        elapsed = time.perf_counter() - t0
        copied = await conn.fetchval("SELECT count(*) FROM bench_copy")
    finally:
        await conn.close()
    if copied != n:
        raise RuntimeError(f"COPY wrote {copied} rows instead of {n}")
    return {"rows": n, "copy_s": round(elapsed, 3), "rows_per_s": rate(n, elapsed)}


# -- (c) the kit -----------------------------------------------------------------------


@dataclass
class RelayBatch:
    start: float
    first_publish: float | None = None
    publish_s: float = 0.0
    last_publish_end: float | None = None
    mark_start: float | None = None
    end: float = 0.0
    rows: int = 0


@dataclass
class ConsumerBatch:
    start: float
    end: float = 0.0
    rows: int = 0
    handler_s: float = 0.0


@dataclass
class KitProbe:
    """Times the relay and the consumer from the outside.

    It wraps methods of these very instances (the kit calls them through ``self``), so
    the kit runs unchanged; the wrappers cost a clock read per call.
    """

    target: int = 0
    relay: list[RelayBatch] = field(default_factory=list)
    consumer: list[ConsumerBatch] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    done_at: float | None = None

    def reset(self, target: int) -> None:
        self.relay.clear()
        self.consumer.clear()
        self.target = target
        self.done.clear()
        self.done_at = None

    def attach(self, relay: OutboxRelay, consumer: IdempotentConsumer) -> None:
        relay_once = relay.relay_once
        mark_sent = relay._mark_sent
        publish = relay.broker.publish
        handle_batch = consumer._handle_batch
        call = consumer._call
        current: list[RelayBatch] = []
        batch_now: list[ConsumerBatch] = []

        async def timed_relay_once(conn: asyncpg.Connection) -> int:
            batch = RelayBatch(start=time.perf_counter())
            current[:] = [batch]
            batch.rows = await relay_once(conn)
            batch.end = time.perf_counter()
            if batch.rows:
                self.relay.append(batch)
            return batch.rows

        async def timed_publish(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await publish(*args, **kwargs)
            finally:
                if current:
                    end = time.perf_counter()
                    batch = current[0]
                    if batch.first_publish is None:
                        batch.first_publish = start
                    batch.publish_s += end - start
                    batch.last_publish_end = end

        async def timed_mark_sent(conn: asyncpg.Connection, ids: list[int]) -> None:
            if current:
                current[0].mark_start = time.perf_counter()
            await mark_sent(conn, ids)

        async def timed_handle_batch(items: list[Any]) -> None:
            batch = ConsumerBatch(start=time.perf_counter(), rows=len(items))
            batch_now[:] = [batch]
            await handle_batch(items)
            batch.end = time.perf_counter()
            self.consumer.append(batch)
            if self.done_at is None and consumer.stats.handled >= self.target:
                self.done_at = batch.end
                self.done.set()

        async def timed_call(*args: Any) -> None:
            start = time.perf_counter()
            try:
                await call(*args)
            finally:
                if batch_now:
                    batch_now[0].handler_s += time.perf_counter() - start

        relay.relay_once = timed_relay_once  # type: ignore[method-assign]
        relay._mark_sent = timed_mark_sent  # type: ignore[method-assign]
        relay.broker.publish = timed_publish  # type: ignore[method-assign]
        consumer._handle_batch = timed_handle_batch  # type: ignore[method-assign]
        consumer._call = timed_call  # type: ignore[method-assign]


_EFFECTS_TABLE = """CREATE TABLE IF NOT EXISTS bench_effects (
    event_id uuid NOT NULL, key text, seq integer NOT NULL)"""


async def _effect(conn: asyncpg.Connection, message: Message) -> None:
    """The consumer's effect: one row per event, in the kit's transaction."""
    await conn.execute(
        "INSERT INTO bench_effects (event_id, key, seq) VALUES ($1, $2, $3)",
        message.envelope.event_id,
        message.key,
        message.payload["seq"],
    )


def _event_factory(runtime: ServiceRuntime, opts: BenchOptions) -> Callable[[int], PendingEvent]:
    keys = _keys(opts.keys)
    bare = runtime.outbox.envelope(EVENT_TYPE, {"seq": 0, "employer": keys[0], "filler": ""})
    filler = "x" * max(0, opts.payload_bytes - len(bare.to_bytes()))

    def make(seq: int) -> PendingEvent:
        key = keys[seq % len(keys)]
        payload = {"seq": seq, "employer": key, "filler": filler}
        return PendingEvent(topic=KIT_TOPIC, event_type=EVENT_TYPE, key=key, payload=payload)

    return make


async def _write(
    runtime: ServiceRuntime, first: int, last: int, tx_size: int, make: Callable[[int], Any]
) -> float:
    """Publish events ``first..last-1`` through the outbox, ``tx_size`` per transaction."""
    for start in range(first, last, tx_size):
        events = [make(seq) for seq in range(start, min(start + tx_size, last))]
        async with runtime.db.transaction() as conn:
            await runtime.outbox.publish_many(conn, events)
    return time.perf_counter()


async def _write_all(
    runtime: ServiceRuntime, first: int, count: int, opts: BenchOptions, make: Callable[[int], Any]
) -> float:
    share = -(-count // opts.writers)
    writers: list[Awaitable[float]] = [
        _write(runtime, start, min(start + share, first + count), opts.tx_size, make)
        for start in range(first, first + count, share)
    ]
    return max(await asyncio.gather(*writers))


def _sum(values: list[float]) -> float:
    return round(sum(values), 3)


def _breakdown(probe: KitProbe) -> dict[str, Any]:
    relay = probe.relay
    consumer = probe.consumer
    out: dict[str, Any] = {}
    if relay:
        window = relay[-1].end - relay[0].start
        fetch = [(b.first_publish or b.end) - b.start for b in relay]
        acks = [
            (b.mark_start or b.end) - (b.last_publish_end or b.start)
            for b in relay
            if b.last_publish_end
        ]
        mark = [b.end - b.mark_start for b in relay if b.mark_start]
        busy = sum(b.end - b.start for b in relay)
        out["relay"] = {
            "batches": len(relay),
            "mean_batch": round(sum(b.rows for b in relay) / len(relay), 1),
            "window_s": round(window, 3),
            "busy_s": round(busy, 3),
            "fetch_s": _sum(fetch),
            "publish_calls_s": _sum([b.publish_s for b in relay]),
            "publish_us_per_msg": round(
                1e6 * sum(b.publish_s for b in relay) / sum(b.rows for b in relay), 1
            ),
            "await_acks_s": _sum(acks),
            "mark_sent_s": _sum(mark),
            "idle_s": round(window - busy, 3),
        }
    if consumer:
        window = consumer[-1].end - consumer[0].start
        busy = sum(b.end - b.start for b in consumer)
        handler = sum(b.handler_s for b in consumer)
        rows = sum(b.rows for b in consumer)
        # The relay and the consumer share this process's one core while both run.
        relay_end = relay[-1].end if relay else consumer[0].start
        during = sum(b.rows for b in consumer if b.end <= relay_end)
        after = [b for b in consumer if b.end > relay_end]
        after_s = after[-1].end - max(relay_end, after[0].start) if after else None
        out["consumer"] = {
            "per_s_while_relay_runs": rate(during, relay_end - consumer[0].start),
            "per_s_after_relay_done": rate(sum(b.rows for b in after), after_s),
            "batches": len(consumer),
            "mean_batch": round(rows / len(consumer), 1),
            "max_batch": max(b.rows for b in consumer),
            "window_s": round(window, 3),
            "transactions_s": round(busy, 3),
            "handler_calls_s": round(handler, 3),
            "handler_us_per_msg": round(1e6 * handler / rows, 1) if rows else None,
            "tracking_and_commit_s": round(busy - handler, 3),
            "between_batches_s": round(window - busy, 3),
        }
    return out


async def kit_path(env: BenchEnv, opts: BenchOptions, cpu: CpuMeter) -> dict[str, Any]:
    n = opts.messages
    settings = DimonaSettings(
        database_url=env.dsns[SERVICE],
        kafka_bootstrap_servers=env.bootstrap,
        topic_prefix=env.prefix,
        log_level="WARNING",
        log_json=False,
    )
    runtime = ServiceRuntime(settings, follow_clock=False, configure_logging=False)
    conn = await asyncpg.connect(env.dsns[SERVICE])
    try:
        await conn.execute(_EFFECTS_TABLE)
    finally:
        await conn.close()
    consumer = runtime.subscribe(KIT_TOPIC, _effect, name="bench")
    probe = KitProbe()
    probe.attach(runtime.relay, consumer)
    make = _event_factory(runtime, opts)
    value_bytes = len(runtime.outbox.envelope(EVENT_TYPE, make(0).payload).to_bytes())

    await runtime.start()
    try:
        probe.reset(WARMUP_EVENTS)
        with quiet_kafka_client():
            await _write_all(runtime, 0, WARMUP_EVENTS, opts, make)
            async with asyncio.timeout(60):
                await probe.done.wait()

        probe.reset(WARMUP_EVENTS + n)
        cpu.start()
        t0 = time.perf_counter()
        t_written = await _write_all(runtime, WARMUP_EVENTS, n, opts, make)
        try:
            async with asyncio.timeout(max(1.0, opts.timeout_s - (t_written - t0))):
                await probe.done.wait()
        except TimeoutError:
            raise RuntimeError(
                f"the kit processed {consumer.stats.handled - WARMUP_EVENTS} of {n} events "
                f"within {opts.timeout_s:.0f} s (relay sent {runtime.relay.sent})"
            ) from None
        cores = cpu.stop()
        t_done = probe.done_at or time.perf_counter()
        breakdown = _breakdown(probe)
        stats = consumer.stats
    finally:
        await runtime.stop()

    conn = await asyncpg.connect(env.dsns[SERVICE])
    try:
        tracked = await conn.fetchval(
            "SELECT count(*) FROM processed_messages WHERE consumer = $1", consumer.name
        )
        effects = await conn.fetchval("SELECT count(*) FROM bench_effects")
        unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    finally:
        await conn.close()
    expected = WARMUP_EVENTS + n
    if tracked != expected or effects != expected or unsent:
        raise RuntimeError(
            f"inconsistent end state: {tracked} tracking records and {effects} effects for "
            f"{expected} events, {unsent} unsent in the outbox"
        )

    relay = probe.relay
    relay_s = relay[-1].end - relay[0].start if relay else None
    consumer_s = probe.consumer[-1].end - probe.consumer[0].start if probe.consumer else None
    return {
        "messages": n,
        "value_bytes": value_bytes,
        "writers": opts.writers,
        "tx_size": opts.tx_size,
        "relay_batch_size": runtime.relay.batch_size,
        "consumer_batch_size": consumer.batch_size,
        "write_s": round(t_written - t0, 3),
        "write_per_s": rate(n, t_written - t0),
        "relay_s": round(relay_s, 3) if relay_s else None,
        "relay_per_s": rate(n, relay_s),
        "consumer_s": round(consumer_s, 3) if consumer_s else None,
        "consumer_per_s": rate(n, consumer_s),
        "end_to_end_s": round(t_done - t0, 3),
        "end_to_end_per_s": rate(n, t_done - t0),
        "lag_after_last_insert_s": round(t_done - t_written, 3),
        "skipped": stats.skipped,
        "retried": stats.retried,
        "dead_lettered": stats.dead_lettered,
        "cpu_cores": cores,
        "breakdown": breakdown,
    }


# -- the scenario ----------------------------------------------------------------------


def _table(a: dict[str, Any], b: dict[str, Any], c: dict[str, Any], ratio: float | None) -> Table:
    table = Table(title=f"Messaging, {a['messages']:,} messages of ~1 KiB", title_justify="left")
    table.add_column("scenario")
    table.add_column("figure")
    table.add_column("rate", justify="right")
    table.add_column("time", justify="right")
    table.add_row(
        "(a) raw Kafka",
        "produce alone (idempotent, acks=all)",
        fmt_rate(a["produce_per_s"]),
        fmt_s(a["produce_s"]),
    )
    table.add_row(
        "",
        "consume alone (group, commit per batch)",
        fmt_rate(a["consume_per_s"]),
        fmt_s(a["consume_s"]),
    )
    table.add_row(
        "",
        "[bold]end-to-end[/] (produce and consume at once)",
        f"[bold]{fmt_rate(a['end_to_end_per_s'])}[/]",
        fmt_s(a["end_to_end_s"]),
    )
    table.add_row(
        "(b) raw PostgreSQL",
        "COPY into a plain table",
        fmt_rate(b["rows_per_s"], "rows/s"),
        fmt_s(b["copy_s"]),
    )
    table.add_row(
        "(c) kit",
        f"outbox inserts ({c['writers']} writers, {c['tx_size']}/tx)",
        fmt_rate(c["write_per_s"]),
        fmt_s(c["write_s"]),
    )
    table.add_row("", "relay", fmt_rate(c["relay_per_s"]), fmt_s(c["relay_s"]))
    table.add_row("", "idempotent consumer", fmt_rate(c["consumer_per_s"]), fmt_s(c["consumer_s"]))
    table.add_row(
        "",
        "[bold]end-to-end[/]",
        f"[bold]{fmt_rate(c['end_to_end_per_s'])}[/]",
        fmt_s(c["end_to_end_s"]),
    )
    table.add_row(
        "", "last event processed after last insert", "", fmt_s(c["lag_after_last_insert_s"])
    )
    table.add_row("(c) / (a)", "end-to-end", "—" if ratio is None else f"[bold]{ratio:.1%}[/]", "")
    return table


def _cores(cores: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in cores.items())


def _breakdown_table(a: dict[str, Any], c: dict[str, Any]) -> Table:
    table = Table(title="Where (c) spends its time", title_justify="left")
    table.add_column("part")
    table.add_column("measure")
    table.add_column("value", justify="right")
    relay = c["breakdown"].get("relay")
    if relay:
        table.add_row(
            "relay",
            f"{relay['batches']} batches, mean {relay['mean_batch']:.0f} events",
            fmt_s(relay["window_s"]),
        )
        table.add_row("", "SELECT of the batch", fmt_s(relay["fetch_s"]))
        table.add_row(
            "",
            f"broker.publish calls ({relay['publish_us_per_msg']:.0f} µs/event)",
            fmt_s(relay["publish_calls_s"]),
        )
        table.add_row("", "waiting for the acknowledgements", fmt_s(relay["await_acks_s"]))
        table.add_row("", "UPDATE … SET sent_at", fmt_s(relay["mark_sent_s"]))
        table.add_row("", "waiting for work", fmt_s(relay["idle_s"]))
    consumer = c["breakdown"].get("consumer")
    if consumer:
        table.add_row(
            "consumer",
            f"{consumer['batches']} batches, mean {consumer['mean_batch']:.0f} "
            f"(max {consumer['max_batch']})",
            fmt_s(consumer["window_s"]),
        )
        table.add_row(
            "",
            f"handler calls ({consumer['handler_us_per_msg']:.0f} µs/event)",
            fmt_s(consumer["handler_calls_s"]),
        )
        table.add_row(
            "", "duplicate check, tracking rows, COMMIT", fmt_s(consumer["tracking_and_commit_s"])
        )
        table.add_row(
            "", "fetch, parse, offset commit, waiting", fmt_s(consumer["between_batches_s"])
        )
        table.add_row("", "rate while the relay runs", fmt_rate(consumer["per_s_while_relay_runs"]))
        table.add_row(
            "", "rate once the relay is done", fmt_rate(consumer["per_s_after_relay_done"])
        )
    table.add_row("CPU (cores)", "during (a) end-to-end", _cores(a["cpu_cores"]))
    table.add_row("", "during (c) end-to-end", _cores(c["cpu_cores"]))
    return table


async def run(env: BenchEnv, opts: BenchOptions) -> ScenarioReport:
    cpu = CpuMeter(env.infra.pids)
    with console.status(f"(a) raw Kafka, {opts.messages:,} messages…"):
        a = await raw_kafka(env, opts, cpu)
    with console.status(f"(b) raw PostgreSQL COPY, {opts.messages:,} rows…"):
        b = await raw_copy(env, opts)
    with console.status(f"(c) kit outbox → relay → consumer, {opts.messages:,} events…"):
        c = await kit_path(env, opts, cpu)
    ratio = None
    if a["end_to_end_per_s"] and c["end_to_end_per_s"]:
        ratio = c["end_to_end_per_s"] / a["end_to_end_per_s"]
    goal = Goal(
        description=f"(c) end-to-end ≥ {GOAL_RATIO:.0%} of (a) end-to-end",
        met=ratio is not None and ratio >= GOAL_RATIO,
        value="—" if ratio is None else f"{ratio:.1%}",
    )
    return ScenarioReport(
        scenario=NAME,
        results={"raw_kafka": a, "raw_copy": b, "kit": c, "kit_over_raw_kafka": ratio},
        goals=[goal],
        tables=[_table(a, b, c, ratio), _breakdown_table(a, c)],
    )
