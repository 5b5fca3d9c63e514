"""Helpers shared by the command groups: where the stack is, console output."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from socsec.stack.local import DEFAULT_DATA_DIR, LocalStack, StackConfig, StackState

console = Console()
err = Console(stderr=True)

DataDir = typer.Option(
    None,
    "--data-dir",
    envvar="SOCSEC_DATA_DIR",
    help="The stack's data folder (default .socsec).",
    show_default=False,
)


def stack_for(data_dir: Path | None) -> LocalStack:
    return LocalStack(StackConfig.from_env(data_dir or DEFAULT_DATA_DIR))


def state_or_env(data_dir: Path | None) -> StackState:
    """The running stack's coordinates, or those of the environment when there is none."""
    state = stack_for(data_dir).load()
    if state is not None:
        return state
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        err.print(
            "[red]No stack found[/] (no .socsec/stack.json) and KAFKA_BOOTSTRAP_SERVERS is not set."
            " Run [bold]socsec stack up[/] first."
        )
        raise typer.Exit(2)
    return StackState(
        kafka_bootstrap=bootstrap,
        database_url=os.environ.get("DATABASE_URL", ""),
        database="socsec",
        topic_prefix=os.environ.get("SOCSEC_TOPIC_PREFIX", ""),
    )
