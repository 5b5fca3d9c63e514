"""The per-test corner of the infrastructure (used by ``conftest.py`` and by fixtures that
build one themselves, such as a module-wide environment)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from socsec.stack.local import LocalStack, StackConfig, StackState

TEST_PSEUDONYM_KEY = "test-pseudonym-key"


@dataclass
class Infra:
    kafka_bootstrap: str
    admin_url: str
    stack: LocalStack | None
    passwords: dict[str, str] = field(default_factory=dict)


@dataclass
class TestEnv:
    """One test's private corner of the infrastructure."""

    infra: Infra
    prefix: str
    database: str
    dsns: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.infra.kafka_bootstrap

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def settings(self, service: str, **overrides: Any) -> Any:
        """The settings class of ``service``, pointed at this test's database and topics."""
        import importlib

        module = importlib.import_module(f"socsec.{service}.settings")
        cls = next(
            v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings"
        )
        values: dict[str, Any] = {
            "database_url": self.dsns[service],
            "kafka_bootstrap_servers": self.bootstrap,
            "topic_prefix": self.prefix,
            "pseudonym_key": TEST_PSEUDONYM_KEY,
            "log_json": False,
            "consumer_backoff_initial_s": 0.05,
            "consumer_backoff_max_s": 0.2,
            "consumer_max_attempts": 3,
        }
        values.update(overrides)
        return cls(**values)

    def process_env(self, service: str) -> dict[str, str]:
        """Environment for a service (or worker) in a separate process."""
        return {
            **os.environ,
            "DATABASE_URL": self.dsns[service],
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "SOCSEC_TOPIC_PREFIX": self.prefix,
            "SOCSEC_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            "SOCSEC_CONSUMER_BACKOFF_INITIAL_S": "0.05",
            "SOCSEC_CONSUMER_BACKOFF_MAX_S": "0.2",
            "SOCSEC_CONSUMER_MAX_ATTEMPTS": "3",
            "OTEL_TRACES_EXPORTER": "none",
        }

    async def connect(self, service: str) -> asyncpg.Connection:
        """A connection as the service's role (its schema first on the search path)."""
        return await asyncpg.connect(self.dsns[service])

    def state(self) -> StackState:
        return StackState(
            kafka_bootstrap=self.bootstrap,
            database_url=self.infra.admin_url,
            database=self.database,
            topic_prefix=self.prefix,
            service_database_urls=self.dsns,
        )


@contextlib.contextmanager
def service_stack(
    infra: Infra, data_dir: Path, services: Iterable[str], **config: Any
) -> Iterator[tuple[LocalStack, StackState]]:
    """The stack code starting ``services`` as processes on the session's Kafka and
    PostgreSQL, in a private database and topic prefix, on free ports; stopped and its
    database dropped at the end."""
    tag = uuid.uuid4().hex[:10]
    stack = LocalStack(
        StackConfig.free_ports(
            data_dir,
            kafka_bootstrap=infra.kafka_bootstrap,
            admin_database_url=infra.admin_url,
            database=f"t_{tag}",
            topic_prefix=f"t{tag}.",
            **config,
        )
    )
    try:
        yield stack, stack.up(services=list(services), timeout=240)
    finally:
        stack.down()
        asyncio.run(_drop_database(infra.admin_url, f"t_{tag}"))


async def _drop_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()
