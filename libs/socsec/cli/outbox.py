"""``socsec outbox``: the events each service's relay set aside, and putting them back."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import typer
from rich.table import Table

from socsec.cli.common import DataDir, console, err, stack_for
from socsec.kit.db import connect_once
from socsec.kit.outbox import failed_events, retry_failed

app = typer.Typer(
    help="Events the broker refused for good (e.g. above a topic's size limit): list, retry.",
    no_args_is_help=True,
)


def _databases(data_dir: Path | None, service: str | None) -> dict[str, str]:
    """The DSN of each service to look at: the stack's, or ``DATABASE_URL`` for the one
    ``service`` named when there is no stack."""
    state = stack_for(data_dir).load()
    if state is None or not state.service_database_urls:
        dsn = os.environ.get("SOCSEC_DATABASE_URL") or os.environ.get("DATABASE_URL")
        if dsn and service:
            return {service: dsn}
        err.print(
            "[red]No stack found[/] (no .socsec/stack.json). Run [bold]socsec stack up[/], or "
            "set DATABASE_URL to a service role's DSN and name the service with --service."
        )
        raise typer.Exit(2)
    urls = dict(state.service_database_urls)
    if service is None:
        return urls
    if service not in urls:
        err.print(f"[red]unknown service {service!r}[/]; known: {', '.join(sorted(urls))}")
        raise typer.Exit(2)
    return {service: urls[service]}


async def _list(urls: dict[str, str]) -> list[tuple[str, list]]:
    out = []
    for service, dsn in sorted(urls.items()):
        conn = await connect_once(dsn, service)
        try:
            out.append((service, await failed_events(conn)))
        finally:
            await conn.close()
    return out


@app.command("list")
def list_(
    service: str | None = typer.Option(None, help="Only this service (default: all)."),
    data_dir: Path | None = DataDir,
) -> None:
    """Every event set aside: its service, outbox id, topic, size and the broker's error."""
    found = asyncio.run(_list(_databases(data_dir, service)))
    table = Table(title="Events set aside by the outbox relays")
    for column in ("service", "id", "event type", "topic", "bytes", "failed at", "error"):
        table.add_column(column)
    total = 0
    for name, rows in found:
        for row in rows:
            total += 1
            table.add_row(
                name, str(row["id"]), row["event_type"] or "?", row["topic"], str(row["size"]),
                row["failed_at"].isoformat(timespec="seconds"), row["error"][:80],
            )  # fmt: skip
    console.print(table if total else "No event set aside.")


async def _retry(dsn: str, service: str, ids: list[int] | None) -> int:
    conn = await connect_once(dsn, service)
    try:
        return await retry_failed(conn, ids)
    finally:
        await conn.close()


@app.command()
def retry(
    service: str = typer.Argument(..., help="The service whose events to put back."),
    ids: list[int] = typer.Argument(None, help="Outbox ids (see list); all when omitted."),
    data_dir: Path | None = DataDir,
) -> None:
    """Put events set aside back at the end of the service's outbox, once their cause is
    fixed (a topic's limit raised); they are sent after the events already waiting."""
    dsn = _databases(data_dir, service)[service]
    count = asyncio.run(_retry(dsn, service, ids or None))
    console.print(f"{count} event(s) of {service} put back in the outbox.")
