"""Forward-only SQL migrations, one folder of numbered ``.sql`` files per package.

Every service schema first receives the kit's own tables (outbox, processed messages),
then the service's migrations. Applied files are recorded with a checksum: editing a
migration that has already run is refused rather than silently ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from socsec.kit.db import connect_once

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
KIT_MIGRATIONS = "socsec.kit.migrations"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    source: str
    filename: str
    sql: str

    @property
    def id(self) -> str:
        return f"{self.source}/{self.filename}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(source: str, package: str) -> list[Migration]:
    """The migrations of a package in order; file names must be ``NNNN_words.sql``."""
    found = []
    for entry in resources.files(package).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        if not _NAME.match(entry.name):
            raise MigrationError(
                f"{package}: migration file name {entry.name!r} is not NNNN_name.sql"
            )
        found.append(Migration(source, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.filename)


def plan(service: str, package: str) -> list[Migration]:
    return load("kit", KIT_MIGRATIONS) + load(service, package)


async def apply(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is missing in one transaction under an advisory lock; return the ids applied."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"socsec-migrate:{schema}")
        if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   id text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["id"]: r["checksum"]
            for r in await conn.fetch("SELECT id, checksum FROM schema_migrations")
        }
        for migration in migrations:
            if migration.id in done:
                if done[migration.id] != migration.checksum:
                    raise MigrationError(
                        f"{schema}: migration {migration.id} changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            try:
                await conn.execute(migration.sql)
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"{schema}: {migration.id} failed: {exc}") from exc
            await conn.execute(
                "INSERT INTO schema_migrations (id, checksum) VALUES ($1, $2)",
                migration.id,
                migration.checksum,
            )
            applied_now.append(migration.id)
    return applied_now


async def migrate(dsn: str, service: str, package: str, schema: str | None = None) -> list[str]:
    """Bring one service schema up to date; safe to run concurrently and repeatedly."""
    conn = await connect_once(dsn)
    try:
        return await apply(conn, schema or service, plan(service, package))
    finally:
        await conn.close()
