"""Session infrastructure for the whole suite: a real Kafka broker and a real PostgreSQL.

By default a private stack (``socsec.stack.local``) is started on free ports in a temporary
folder and stopped at the end. With ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` (an
administrator DSN) set, those servers are used instead.

Every test gets its own topic prefix, consumer groups and database (see ``env``), so tests
never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from testenv import TEST_PSEUDONYM_KEY, Infra, TestEnv

from socsec.catalog import SERVICES
from socsec.kit.pseudonym import Pseudonymizer
from socsec.kit.telemetry import setup_tracing
from socsec.stack import kafka, postgres
from socsec.stack.local import LocalStack, StackConfig, create_topics


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    """Every span of this test process, exported synchronously (cleared per test)."""
    exporter = InMemorySpanExporter()
    setup_tracing("tests", Pseudonymizer(TEST_PSEUDONYM_KEY), exporter=exporter, synchronous=True)
    return exporter


@pytest.fixture(autouse=True)
def _clear_spans(span_exporter: InMemorySpanExporter) -> None:
    span_exporter.clear()


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    admin_url = os.environ.get("DATABASE_URL")
    stack: LocalStack | None = None
    if not (bootstrap and admin_url):
        data_dir = tmp_path_factory.mktemp("stack")
        stack = LocalStack(StackConfig.free_ports(data_dir))
        state = stack.up(timeout=180)
        bootstrap, admin_url = state.kafka_bootstrap, state.database_url
    else:
        kafka.wait_kafka(bootstrap, 60)
        postgres.wait_postgres(admin_url, 60)
    passwords = {name: f"pw-{uuid.uuid4().hex}" for name in SERVICES}
    try:
        yield Infra(bootstrap, admin_url, stack, passwords)
    finally:
        if stack is not None:
            stack.down(reset=True)


@pytest.fixture
def env(infra: Infra) -> Iterator[TestEnv]:
    tag = uuid.uuid4().hex[:10]
    database = f"t_{tag}"
    dsns = postgres.provision_database(infra.admin_url, database, infra.passwords)
    create_topics(infra.kafka_bootstrap, f"t{tag}.")
    yield TestEnv(infra, f"t{tag}.", database, dsns)
    asyncio.run(_drop_database(infra.admin_url, database))


async def _drop_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
