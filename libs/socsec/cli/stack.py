"""``socsec stack``: the local Kafka, PostgreSQL and services."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer
from rich.table import Table

from socsec.catalog import SERVICES
from socsec.cli.common import DataDir, console, err, stack_for
from socsec.stack.local import DEFAULT_DATA_DIR, LocalStack, StackConfig
from socsec.stack.processes import StackProcessError

app = typer.Typer(help="Start, inspect and stop the local stack.", no_args_is_help=True)


@app.command()
def up(
    data_dir: Path | None = DataDir,
    services: bool = typer.Option(
        False, "--services/--no-services", help="Also start every service in the background."
    ),
    kafka_port: int | None = typer.Option(None, help="Kafka listener port (default 19092)."),
    postgres_port: int | None = typer.Option(None, help="PostgreSQL port (default 15432)."),
    timeout: float = typer.Option(180, help="Seconds to wait for each part to be ready."),
    free_ports: bool = typer.Option(
        False, "--free-ports", help="Pick unused ports for Kafka, PostgreSQL and the services."
    ),
) -> None:
    """Start Kafka (KRaft) and PostgreSQL 15 as local processes, create topics, database
    roles and schemas, run migrations; with --services, start every service too.

    KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (an administrator DSN) point the stack at
    existing servers instead of starting its own.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    overrides = {"kafka_port": kafka_port, "postgres_port": postgres_port}
    if kafka_port:
        overrides["kafka_controller_port"] = kafka_port + 1
    if free_ports:
        config = StackConfig.free_ports(data_dir or DEFAULT_DATA_DIR)
    else:
        config = StackConfig.from_env(data_dir, **overrides)
    stack = LocalStack(config)
    try:
        with console.status("Starting Kafka and PostgreSQL..."):
            state = stack.up(timeout=timeout)
        if services:
            with console.status("Starting services..."):
                stack.start_services(state, list(SERVICES), timeout=timeout)
    except StackProcessError as exc:
        err.print(f"[red]stack up failed:[/] {exc}")
        raise typer.Exit(1) from exc
    _print_status(stack)


@app.command()
def status(
    data_dir: Path | None = DataDir,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """What runs where, and whether it is healthy. Also written to <data-dir>/stack.json."""
    stack = stack_for(data_dir)
    if as_json:
        console.print_json(json.dumps(stack.status()))
        return
    if not _print_status(stack):
        raise typer.Exit(1)


@app.command()
def down(
    data_dir: Path | None = DataDir,
    reset: bool = typer.Option(False, "--reset", help="Also delete the data folder."),
) -> None:
    """Stop exactly the processes this stack started (services, Kafka, PostgreSQL)."""
    stack = stack_for(data_dir)
    stopped = stack.down(reset=reset)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    if reset:
        console.print(f"removed {stack.data_dir}")


def _print_status(stack: LocalStack) -> bool:
    info = stack.status()
    if "components" not in info:
        console.print(f"No stack in {info['data_dir']}: run [bold]socsec stack up[/].")
        return False
    table = Table(title=f"socsec stack ({info['data_dir']})")
    table.add_column("component")
    table.add_column("where")
    table.add_column("API docs")
    table.add_column("pid")
    table.add_column("healthy")
    healthy = True
    for name, comp in info["components"].items():
        if name == "kafka":
            where = info["kafka_bootstrap"]
        elif name == "postgres":
            where = info["database_url"]
        else:
            where = comp["url"]
        ok = bool(comp.get("healthy"))
        healthy &= ok
        pid = "external" if comp.get("external") else str(comp.get("pid") or "-")
        docs = comp.get("docs", "")
        table.add_row(name, where, docs, pid, "[green]yes[/]" if ok else "[red]no[/]")
    console.print(table)
    return healthy
