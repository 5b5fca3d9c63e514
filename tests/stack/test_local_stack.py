"""The local stack really runs here: Kafka and PostgreSQL start, are set up, and stop cleanly.

No mocks: this is what `socsec stack up` relies on, so it starts the real processes (Kafka
jars come from the user's Maven cache, PostgreSQL from the Debian binaries).
"""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import pytest

from socsec.stack import kafka, postgres, processes


@dataclass(frozen=True)
class _Topic:
    name: str
    partitions: int
    compacted: bool
    retention_ms: int | None = None


def _running(proc: psutil.Process) -> bool:
    """Running and not merely a zombie waiting for init (or us) to collect it."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def _cross_schema_checks(dsns: dict[str, str]) -> None:
    owner = await asyncpg.connect(dsns["beta"])
    try:
        # Unqualified: the role's search_path puts it in its own schema.
        await owner.execute("CREATE TABLE secrets (id int PRIMARY KEY)")
        await owner.execute("INSERT INTO secrets VALUES (1)")
        assert await owner.fetchval("SELECT count(*) FROM beta.secrets") == 1
    finally:
        await owner.close()

    intruder = await asyncpg.connect(dsns["alpha"])
    try:
        assert await intruder.fetchval("SELECT current_schema()") == "alpha"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await intruder.fetch("SELECT * FROM beta.secrets")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await intruder.execute("CREATE TABLE public.squatter (id int)")
    finally:
        await intruder.close()


def test_local_stack_starts_provisions_and_stops(tmp_path: Path) -> None:
    # tmp_path and its parents are 0700: the mode a real user's home folder may have too.
    os.chmod(tmp_path, stat.S_IRWXU)
    jars = kafka.ensure_jars()
    node = kafka.KafkaNode(
        tmp_path / "kafka",
        port=processes.free_port(),
        controller_port=processes.free_port(),
        jars=jars,
        log_path=tmp_path / "logs" / "kafka.log",
    )
    cluster = postgres.PostgresCluster(
        tmp_path / "postgres" / "data",
        port=processes.free_port(),
        log_path=tmp_path / "logs" / "postgres.log",
    )
    kafka_record: processes.ProcessRecord | None = None
    pg_record: processes.ProcessRecord | None = None
    procs: list[psutil.Process] = []
    try:
        # Kafka boots in the background while PostgreSQL is initialised.
        kafka_record = node.start()
        procs.append(psutil.Process(kafka_record.pid))
        pg_record = cluster.start()
        procs.append(psutil.Process(pg_record.pid))
        assert stat.S_IMODE(cluster.password_file.stat().st_mode) == 0o600
        # Records survive the JSON round trip the CLI puts them through.
        assert processes.ProcessRecord.from_dict(kafka_record.to_dict()) == kafka_record
        cluster.wait_ready(pg_record, timeout=60)
        node.wait_ready(kafka_record, timeout=90)

        specs = [
            _Topic("test.state.v1", partitions=2, compacted=True),
            _Topic("test.events.v1", partitions=3, compacted=False, retention_ms=3_600_000),
        ]
        assert sorted(kafka.create_topics(node.bootstrap, specs)) == sorted(s.name for s in specs)
        assert kafka.create_topics(node.bootstrap, specs) == []  # idempotent
        configs = kafka.describe_topic_configs(node.bootstrap, [s.name for s in specs])
        assert configs["test.state.v1"]["cleanup.policy"] == "compact"
        assert configs["test.events.v1"]["cleanup.policy"] == "delete"
        assert configs["test.events.v1"]["retention.ms"] == "3600000"

        roles = {"alpha": "alpha-pw", "beta": "beta-'pw\\"}
        dsns = postgres.provision_database(cluster.admin_url, "socsec", roles)
        assert postgres.provision_database(cluster.admin_url, "socsec", roles) == dsns
        assert dsns["alpha"].startswith(
            f"postgresql://socsec_alpha:alpha-pw@127.0.0.1:{cluster.port}/"
        )
        asyncio.run(_cross_schema_checks(dsns))
        children = procs[1].children(recursive=True)
        assert children  # the PostgreSQL checkpointer, WAL writer...
        procs += children
    finally:
        # By their records only, as `socsec stack down` does from its JSON state file.
        if pg_record is not None:
            cluster.stop(pg_record, timeout=30)
        if kafka_record is not None:
            node.stop(kafka_record, timeout=30)

    assert kafka_record is not None
    assert pg_record is not None
    assert not processes.is_alive(kafka_record)
    assert not processes.is_alive(pg_record)
    assert not [p for p in procs if _running(p)]
    assert processes.stop(kafka_record) is False  # a second stop finds nothing to do
