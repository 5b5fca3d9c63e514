"""``socsec dmfa``: the dmfa service's operator commands.

``socsec dmfa silent --quarter 2025-1`` runs the silent-employer evaluation of a quarter on
demand, through the service's own handler (the one its periodic job runs): findings go to
the service's outbox (the running dmfa service relays them to ``dmfa.silent.v1``) and are
recorded once, so running it again publishes nothing new. The registry's employers and
mandates are read from Kafka as the service reads them; the business clock too. The
database is the stack's (``.socsec/stack.json``) or, without a stack, ``DATABASE_URL`` (the
dmfa role's DSN) with ``KAFKA_BOOTSTRAP_SERVERS`` and ``SOCSEC_TOPIC_PREFIX``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.table import Table

from socsec.cli.common import DataDir, console, err, stack_for

app = typer.Typer(help="DmfA: silent employers on demand.", no_args_is_help=True)


@dataclass(frozen=True)
class DmfaCoordinates:
    dsn: str
    bootstrap: str
    topic_prefix: str


def dmfa_coordinates(data_dir: Path | None) -> DmfaCoordinates:
    state = stack_for(data_dir).load()
    if state is not None and state.service_database_urls.get("dmfa") and state.kafka_bootstrap:
        return DmfaCoordinates(
            state.service_database_urls["dmfa"], state.kafka_bootstrap, state.topic_prefix
        )
    dsn = os.environ.get("SOCSEC_DATABASE_URL") or os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not dsn or not bootstrap:
        err.print(
            "[red]No stack found[/] (no .socsec/stack.json) and DATABASE_URL or "
            "KAFKA_BOOTSTRAP_SERVERS is not set. Run [bold]socsec stack up[/] first, or set "
            "DATABASE_URL to the dmfa role's DSN."
        )
        raise typer.Exit(2)
    return DmfaCoordinates(dsn, bootstrap, os.environ.get("SOCSEC_TOPIC_PREFIX", ""))


async def evaluate_silent_quarter(coords: DmfaCoordinates, quarter: int, force: bool) -> list:
    # Imported here: the service's modules are only needed by this command.
    from socsec.dmfa import handlers
    from socsec.dmfa.main import load_tables
    from socsec.dmfa.settings import DmfASettings
    from socsec.kit import migrator
    from socsec.kit.authz import AuthorizationReadModel
    from socsec.kit.calendar import WorkingDays
    from socsec.kit.clock import CLOCK_TOPIC, BusinessClock, read_clock_state
    from socsec.kit.db import connect_once
    from socsec.kit.outbox import Outbox

    settings = DmfASettings(
        database_url=coords.dsn,
        kafka_bootstrap_servers=coords.bootstrap,
        topic_prefix=coords.topic_prefix,
    )
    await migrator.migrate(coords.dsn, "dmfa", "socsec.dmfa.migrations", settings.schema)
    clock = BusinessClock(await read_clock_state(coords.bootstrap, settings.topic(CLOCK_TOPIC)))
    registry = AuthorizationReadModel(coords.bootstrap, coords.topic_prefix)
    await registry.start()
    await registry.stop()
    deps = handlers.Deps(
        outbox=Outbox(producer=settings.service_name, topic_prefix=coords.topic_prefix),
        clock=clock,
        calendar=WorkingDays(saturday_is_working_day=settings.saturday_is_working_day),
        authorizer=registry.authorizer,
        rules=handlers.rules_from(settings, load_tables(settings.tables_path)),
        settings=settings,
    )
    conn = await connect_once(coords.dsn, settings.schema)
    try:
        async with conn.transaction():
            return await handlers.evaluate_silent(conn, deps, quarter, force=force)
    finally:
        await conn.close()


@app.command("silent")
def silent(
    quarter: str = typer.Option(..., "--quarter", "-q", help="The quarter, e.g. 2025-1."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Evaluate every reason now, even before its date (list date for missing "
        "declarations, end of quarter + 6 months for incomplete and inaccurate ones).",
    ),
    data_dir: Path | None = DataDir,
) -> None:
    """Find the silent employers of a quarter and publish each finding once."""
    from socsec.dmfa.domain.quarters import parse_quarter

    try:
        q = parse_quarter(quarter)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    findings = asyncio.run(evaluate_silent_quarter(dmfa_coordinates(data_dir), q, force))
    table = Table("employer", "quarter", "reason", "published", title=f"silent employers {q}")
    for f in findings:
        table.add_row(f.employer_nsso, str(f.quarter), f.reason, "new" if f.new else "already")
    console.print(table)
    new = sum(f.new for f in findings)
    console.print(f"{len(findings)} finding(s), {new} new")
