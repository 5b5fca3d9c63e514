"""``socsec stack``: the local Kafka, PostgreSQL and services."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from socsec.catalog import SERVICES
from socsec.cli.common import DataDir, console, err, stack_for
from socsec.stack import processes
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
    tracing: bool = typer.Option(
        False,
        "--tracing/--no-tracing",
        help="Also run the tracing UI (Zipkin, http://127.0.0.1:9411/zipkin/) and its OTLP "
        "endpoint (127.0.0.1:4318); services started with it export their spans there.",
    ),
    zipkin_port: int | None = typer.Option(None, help="Tracing UI port (default 9411)."),
    otlp_port: int | None = typer.Option(None, help="OTLP/HTTP endpoint port (default 4318)."),
) -> None:
    """Start Kafka (KRaft) and PostgreSQL 15 as local processes, create topics, database
    roles and schemas, run migrations; with --services, start every service too; with
    --tracing, the tracing UI as well (the first time, mvn fetches the Zipkin server).

    KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (an administrator DSN) point the stack at
    existing servers instead of starting its own.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    overrides: dict[str, Any] = {
        "kafka_port": kafka_port,
        "postgres_port": postgres_port,
        "zipkin_port": zipkin_port,
        "otlp_port": otlp_port,
    }
    if kafka_port:
        overrides["kafka_controller_port"] = kafka_port + 1
    try:
        if free_ports:
            config = StackConfig.free_ports(data_dir or DEFAULT_DATA_DIR, tracing=tracing)
        else:
            config = StackConfig.from_env(data_dir, tracing=tracing, **overrides)
    except StackProcessError as exc:
        err.print(f"[red]stack up failed:[/] {exc}")
        raise typer.Exit(2) from exc
    stack = LocalStack(config)
    running = stack.load()
    already = [
        name
        for name in (running.services if running else {})
        if (record := running.record(name)) is not None and processes.is_alive(record)
    ]
    try:
        what = "Kafka, PostgreSQL and the tracing UI" if tracing else "Kafka and PostgreSQL"
        with console.status(f"Starting {what}..."):
            state = stack.up(timeout=timeout)
        if services:
            with console.status("Starting services..."):
                stack.start_services(state, list(SERVICES), timeout=timeout)
    except StackProcessError as exc:
        err.print(f"[red]stack up failed:[/] {exc}")
        raise typer.Exit(1) from exc
    if tracing and already and running is not None and not running.tracing:
        err.print(
            f"[yellow]{', '.join(already)} already ran without tracing and keep doing so;[/] "
            "restart them (socsec stack down, then up --services --tracing) to see their spans."
        )
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
        elif name == "otlp":
            where = f"{comp['url']} (OTLP/HTTP)"
        else:
            where = comp["url"]
        ok = bool(comp.get("healthy"))
        healthy &= ok
        pid = "external" if comp.get("external") else str(comp.get("pid") or "-")
        docs = comp.get("docs", "")
        table.add_row(name, where, docs, pid, "[green]yes[/]" if ok else "[red]no[/]")
    console.print(table)
    if info.get("tracing"):
        console.print(
            f"Traces: {info['tracing']['ui']} (search "
            "[bold]socsec.declaration_id=<id>[/] or [bold]socsec.ticket=<ticket>[/])",
            highlight=False,
        )
    return healthy
