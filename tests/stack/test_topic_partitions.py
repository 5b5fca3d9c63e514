"""`socsec stack up` on a cluster: SOCSEC_TOPIC_PARTITIONS raises the partitions of the
topics it creates (so more instances of a service share the work), never those of topics
that must stay in one order (the business clock, dead letters). Every topic gets the
message limit of its spec, also one that existed before."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

from aiokafka.admin import AIOKafkaAdminClient

from socsec.contracts.topics import DEFAULT_MESSAGE_BYTES, FORM_MESSAGE_BYTES, TOPICS, topic
from socsec.stack import kafka
from socsec.stack.local import create_topics


async def _partitions(bootstrap: str, names: list[str]) -> dict[str, int]:
    """Partitions per topic, once the broker's metadata lists all of them (a topic just
    created shows none for a moment)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            described = await admin.describe_topics(names)
            counts = {t["topic"]: len(t["partitions"]) for t in described}
            if all(counts.get(n) for n in names) or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def test_more_partitions_for_multi_partition_topics_only(infra) -> None:
    prefix = f"p{uuid.uuid4().hex[:8]}."
    created = create_topics(infra.kafka_bootstrap, prefix, partitions=6)
    assert len(created) == 2 * len(TOPICS)
    names = [prefix + s.name for s in TOPICS] + [prefix + s.dlt for s in TOPICS]
    counts = asyncio.run(_partitions(infra.kafka_bootstrap, names))
    for spec in TOPICS:
        expected = max(spec.partitions, 6) if spec.partitions > 1 else 1
        assert counts[prefix + spec.name] == expected, spec.name
        assert counts[prefix + spec.dlt] == 1, spec.dlt
    assert counts[prefix + "system.clock.v1"] == 1
    assert counts[prefix + "dimona.declarations.v1"] == 6
    # Existing topics are left as they are.
    assert create_topics(infra.kafka_bootstrap, prefix, partitions=12) == []
    again = asyncio.run(_partitions(infra.kafka_bootstrap, [prefix + "dimona.declarations.v1"]))
    assert again == {prefix + "dimona.declarations.v1": 6}


def test_topics_get_their_message_limit_even_when_they_already_exist(infra) -> None:
    prefix = f"m{uuid.uuid4().hex[:8]}."
    forms, dead, plain = (
        prefix + n for n in ("batch.forms.v1", "batch.forms.v1.dlt", "dmfa.silent.v1")
    )
    # A stack created before the limit was declared: the forms topic has the broker default.
    old = dataclasses.replace(topic("batch.forms.v1"), name=forms, max_message_bytes=None)
    assert kafka.create_topics(infra.kafka_bootstrap, [old]) == [forms]

    created = create_topics(infra.kafka_bootstrap, prefix)
    assert forms not in created and dead in created
    # The broker applies a configuration change a moment after acknowledging it.
    deadline = time.monotonic() + 15
    while True:
        configs = kafka.describe_topic_configs(infra.kafka_bootstrap, [forms, dead, plain])
        if (
            configs[forms]["max.message.bytes"] == str(FORM_MESSAGE_BYTES)
            or time.monotonic() > deadline
        ):
            break
        time.sleep(0.2)
    assert configs[forms]["max.message.bytes"] == str(FORM_MESSAGE_BYTES)
    assert configs[dead]["max.message.bytes"] == str(FORM_MESSAGE_BYTES)
    assert int(configs[plain]["max.message.bytes"]) < 2 * DEFAULT_MESSAGE_BYTES
    # The other settings of the topic survive (AlterConfigs replaces the whole set).
    assert configs[forms]["cleanup.policy"] == "delete"
