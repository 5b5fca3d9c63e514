"""``socsec clock``: the business clock every service reads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import typer

from socsec.cli.common import DataDir, console, err, state_or_env
from socsec.kit.clock import (
    BRUSSELS,
    CLOCK_TOPIC,
    ClockState,
    parse_duration,
    parse_instant,
    read_clock_state,
    write_clock_state,
)

app = typer.Typer(
    help="Show, set or advance the business clock of the whole stack.", no_args_is_help=True
)


def _coords(data_dir: Path | None) -> tuple[str, str]:
    state = state_or_env(data_dir)
    return state.kafka_bootstrap, f"{state.topic_prefix}{CLOCK_TOPIC}"


def _show(state: ClockState) -> None:
    now = state.business_now(datetime.now(UTC)).astimezone(BRUSSELS)
    mode = "frozen" if state.frozen_at else ("simulated" if state.simulated else "wall clock")
    console.print(f"business time: [bold]{now:%Y-%m-%d %H:%M:%S %Z}[/] ({mode})")


@app.command()
def show(data_dir: Path | None = DataDir) -> None:
    """The current business time."""
    bootstrap, topic = _coords(data_dir)
    _show(asyncio.run(read_clock_state(bootstrap, topic)))


@app.command("set")
def set_(
    when: str = typer.Argument(..., help="A date (09:00 Brussels) or ISO date-time."),
    frozen: bool = typer.Option(False, "--frozen", help="Stop the clock at that instant."),
    data_dir: Path | None = DataDir,
) -> None:
    """Set the business time; it runs on from there unless --frozen."""
    try:
        target = parse_instant(when)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    bootstrap, topic = _coords(data_dir)
    state = ClockState().set_to(target, wall=datetime.now(UTC), frozen=frozen)
    asyncio.run(write_clock_state(bootstrap, state, topic))
    _show(state)


@app.command()
def advance(
    by: str = typer.Argument(..., help="A duration: 15d, 2w, 1d12h, 90m."),
    data_dir: Path | None = DataDir,
) -> None:
    """Move the business time forward (or back with a leading '-')."""
    try:
        delta = parse_duration(by)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    bootstrap, topic = _coords(data_dir)
    state = asyncio.run(read_clock_state(bootstrap, topic)).advanced(delta)
    asyncio.run(write_clock_state(bootstrap, state, topic))
    _show(state)


@app.command()
def reset(data_dir: Path | None = DataDir) -> None:
    """Back to the wall clock."""
    bootstrap, topic = _coords(data_dir)
    asyncio.run(write_clock_state(bootstrap, ClockState(), topic))
    _show(ClockState())
