"""PostgreSQL access through an asyncpg pool bound to the service's own schema.

Handlers never open transactions themselves: the entry point (HTTP request, Kafka
message) opens one with :meth:`Database.transaction` and commits once at the end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _no_reset(conn: asyncpg.Connection) -> None:
    return None


class Database:
    """A connection pool whose sessions see the service schema first on their search path."""

    def __init__(self, dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.schema = schema
        self._min = min_size
        self._max = max_size
        self._pool: asyncpg.Pool | None = None

    async def connect(self) -> Database:
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self._min,
            max_size=self._max,
            init=_init_connection,
            # Every entry point closes its transaction and the relay unlistens and unlocks
            # itself, so the per-release RESET round trip buys nothing.
            reset=_no_reset,
            server_settings={
                "search_path": f"{self.schema},public",
                "application_name": f"socsec-{self.schema}",
            },
        )
        return self

    async def close(self, grace_s: float = 10.0) -> None:
        """Close the pool; connections still held after ``grace_s`` are terminated."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), grace_s)
            except TimeoutError:
                pool.terminate()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("Database.connect() has not been awaited")
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """One connection, one transaction; commits on exit, rolls back on error."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """One connection of the pool, for ``async with`` (the pool's own context manager:
        no generator in between on the hot paths)."""
        return self.pool.acquire()  # type: ignore[return-value]

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def ping(self) -> bool:
        try:
            return await self.fetchval("SELECT 1") == 1
        except (OSError, asyncpg.PostgresError, RuntimeError):
            return False


async def connect_once(dsn: str, schema: str | None = None) -> asyncpg.Connection:
    """A single connection (for migrations and command-line tools)."""
    settings = {"search_path": f"{schema},public"} if schema else {}
    conn = await asyncpg.connect(dsn, server_settings=settings)
    await _init_connection(conn)
    return conn
