"""`socsec stack up` on a cluster: SOCSEC_TOPIC_PARTITIONS raises the partitions of the
topics it creates (so more instances of a service share the work), never those of topics
that must stay in one order (the business clock, dead letters)."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka.admin import AIOKafkaAdminClient

from socsec.contracts.topics import TOPICS
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
