"""``socsec dlt``: inspect and replay dead-letter topics."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from rich.table import Table

from socsec.cli.common import DataDir, console, err, state_or_env
from socsec.kit import dlt

app = typer.Typer(help="Inspect and replay dead-letter topics (<topic>.dlt).", no_args_is_help=True)


def _topic(state_prefix: str, topic: str) -> str:
    return topic if topic.startswith(state_prefix) else f"{state_prefix}{topic}"


@app.command("list")
def list_(
    topic: str = typer.Argument(..., help="The origin topic, e.g. batch.forms.v1"),
    data_dir: Path | None = DataDir,
) -> None:
    """Every dead letter of a topic: where it came from, why, after how many attempts."""
    state = state_or_env(data_dir)
    try:
        letters = asyncio.run(
            dlt.list_dead_letters(state.kafka_bootstrap, _topic(state.topic_prefix, topic))
        )
    except LookupError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    table = Table(title=f"{dlt.dlt_name(topic)}: {len(letters)} message(s)")
    for column in ("offset", "event type", "origin", "attempts", "replayed", "error"):
        table.add_column(column)
    for d in letters:
        table.add_row(
            f"{d.partition}:{d.offset}", d.event_type, d.origin, str(d.attempts),
            "yes" if d.replayed else "no", d.error[:80],
        )  # fmt: skip
    console.print(table)


@app.command()
def show(
    topic: str,
    offset: int = typer.Argument(..., help="Offset in the dead-letter topic."),
    data_dir: Path | None = DataDir,
) -> None:
    """One dead letter in full: headers and body."""
    state = state_or_env(data_dir)
    letters = asyncio.run(
        dlt.list_dead_letters(state.kafka_bootstrap, _topic(state.topic_prefix, topic))
    )
    match = [d for d in letters if d.offset == offset]
    if not match:
        err.print(f"[red]no dead letter at offset {offset}[/]")
        raise typer.Exit(2)
    d = match[0]
    try:
        body = json.loads(d.value)
    except ValueError:
        body = d.value.decode(errors="replace")
    console.print_json(
        json.dumps(
            {
                "partition": d.partition,
                "offset": d.offset,
                "key": d.key,
                "replayed": d.replayed,
                "headers": d.headers,
                "value": body,
            }
        )
    )


@app.command()
def replay(
    topic: str,
    offset: list[int] = typer.Option(None, "--offset", help="Only these offsets (repeatable)."),
    data_dir: Path | None = DataDir,
) -> None:
    """Send dead letters not replayed yet back to their origin topic."""
    state = state_or_env(data_dir)
    done = asyncio.run(
        dlt.replay(
            state.kafka_bootstrap,
            _topic(state.topic_prefix, topic),
            offsets=set(offset) if offset else None,
        )
    )
    console.print(
        f"replayed {len(done)} message(s)"
        + (": offsets " + ", ".join(str(d.offset) for d in done) if done else "")
    )
