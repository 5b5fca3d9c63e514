"""``socsec registry``: load the registry's reference data in bulk, or the demo set.

Both commands write straight into the registry's schema through the registry's own
handlers (the same path as its REST API), in one transaction: the history gets its rows
and the events go to the registry's outbox, which the running registry service relays to
Kafka (events wait in the outbox until it runs). The database is the stack's
(``.socsec/stack.json``) or, without a stack, ``DATABASE_URL`` (the registry role's DSN);
the business clock is read from Kafka when it can be.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from socsec.cli.common import DataDir, console, err, stack_for
from socsec.kit import migrator
from socsec.kit.clock import CLOCK_TOPIC, BusinessClock, Clock, SystemClock, read_clock_state
from socsec.kit.db import connect_once
from socsec.kit.outbox import Outbox

app = typer.Typer(
    help="The registry's reference data: bulk import and the demo set.", no_args_is_help=True
)


@dataclass(frozen=True)
class Coordinates:
    dsn: str
    bootstrap: str | None
    topic_prefix: str


def _coordinates(data_dir: Path | None) -> Coordinates:
    state = stack_for(data_dir).load()
    if state is not None and state.service_database_urls.get("registry"):
        return Coordinates(
            state.service_database_urls["registry"], state.kafka_bootstrap, state.topic_prefix
        )
    dsn = os.environ.get("SOCSEC_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not dsn:
        err.print(
            "[red]No stack found[/] (no .socsec/stack.json) and DATABASE_URL is not set."
            " Run [bold]socsec stack up[/] first, or set DATABASE_URL to the registry's DSN."
        )
        raise typer.Exit(2)
    return Coordinates(
        dsn,
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        os.environ.get("SOCSEC_TOPIC_PREFIX", ""),
    )


async def _business_clock(coords: Coordinates) -> Clock:
    """The stack's business clock; the wall clock when Kafka cannot be read."""
    if not coords.bootstrap:
        return SystemClock()
    try:
        state = await asyncio.wait_for(
            read_clock_state(coords.bootstrap, f"{coords.topic_prefix}{CLOCK_TOPIC}"), 20
        )
    except Exception as exc:
        err.print(f"[yellow]business clock not readable ({exc}); using the wall clock[/]")
        return SystemClock()
    return BusinessClock(state)


async def load_reference_data(
    coords: Coordinates, data: dict[str, Any], actor: str, *, demo_clients: bool
) -> tuple[Any, list[dict[str, Any]]]:
    # Imported here: the registry's modules are only needed by these two commands.
    from socsec.registry import importer
    from socsec.registry.handlers import Context
    from socsec.registry.settings import RegistrySettings

    settings = RegistrySettings(database_url=coords.dsn, topic_prefix=coords.topic_prefix)
    await migrator.migrate(
        coords.dsn, settings.service_name, "socsec.registry.migrations", settings.schema
    )
    ctx = Context(
        outbox=Outbox(producer=settings.service_name, topic_prefix=coords.topic_prefix),
        clock=await _business_clock(coords),
        rules=settings.rules(),
        actor=actor,
    )
    clients: list[dict[str, Any]] = []
    conn = await connect_once(coords.dsn, settings.schema)
    try:
        async with conn.transaction():
            report = await importer.import_entries(data, conn, ctx)
            if demo_clients:
                clients = await _seed_clients(conn, data, settings)
    finally:
        await conn.close()
    return report, clients


async def _seed_clients(conn: Any, data: dict[str, Any], settings: Any) -> list[dict[str, Any]]:
    """One declarant API client per demo organisation, and the operator's client."""
    from socsec.registry import clients, demo

    organisations, senders = demo.client_organisations(data)
    seed = settings.demo_client_seed.get_secret_value()
    seeded = await clients.seed_demo_clients(conn, organisations, seed=seed, senders=senders)
    seeded.append(await clients.seed_operator_client(conn, seed=seed))
    return seeded


def _refused(what: str, exc: Exception) -> None:
    # The reason names entries and codes in brackets: never markup, never wrapped.
    err.print(f"[red]{what}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)


def _print_report(report: Any) -> None:
    table = Table("kind", "created", "updated", "unchanged")
    for kind, created, updated, unchanged in report.as_rows():
        table.add_row(kind, str(created), str(updated), str(unchanged))
    console.print(table)
    if report.changed == 0:
        console.print("nothing changed")


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A .json or .csv file."
    ),
    kind: str | None = typer.Option(
        None,
        "--kind",
        help="What a CSV holds: employers, mandataries, branches, mandates, senders, workers "
        "(default: from the file name).",
    ),
    actor: str | None = typer.Option(
        None, "--actor", help="Who the history records (default import:<file name>)."
    ),
    data_dir: Path | None = DataDir,
) -> None:
    """Load reference data in bulk; importing the same file again changes nothing."""
    from socsec.registry import importer

    coords = _coordinates(data_dir)
    try:
        data = importer.read_file(file, kind)
        report, _ = asyncio.run(
            load_reference_data(coords, data, actor or f"import:{file.name}", demo_clients=False)
        )
    except (importer.ImportFailed, json.JSONDecodeError, UnicodeDecodeError) as exc:
        _refused("import refused, nothing was changed", exc)
        raise typer.Exit(1) from None
    _print_report(report)


@app.command("seed-demo")
def seed_demo(
    employers: int = typer.Option(50, "--employers", min=0, help="Generated employers."),
    data_dir: Path | None = DataDir,
) -> None:
    """Load the demo reference data (README §5 and generated employers) and API clients."""
    from socsec.registry import demo, importer

    coords = _coordinates(data_dir)
    try:
        report, clients = asyncio.run(
            load_reference_data(
                coords, demo.demo_dataset(employers), "seed-demo", demo_clients=True
            )
        )
    except importer.ImportFailed as exc:
        _refused("demo data refused, nothing was changed", exc)
        raise typer.Exit(1) from None
    _print_report(report)
    table = Table("client_id", "organisation", "client_secret", "new", title="demo API clients")
    for client in clients:
        table.add_row(
            client["client_id"],
            client["organisation"],
            client["client_secret"],
            "yes" if client["created"] else "",
        )
    console.print(table)
