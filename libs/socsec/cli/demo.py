"""``socsec demo``: a synthetic year pushed through the running stack, end to end."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Column, Table

from socsec.cli.common import DataDir, console, err, stack_for


def demo_command(
    seed: int = typer.Option(2025, help="Seed of the synthetic world (same seed, same year)."),
    year: int = typer.Option(2025, min=2018, max=2099, help="The year to play."),
    employers: int = typer.Option(2000, min=4, help="Employers (the four of §5 included)."),
    workers: int = typer.Option(50_000, min=10, help="Workers over all employers."),
    pace: float = typer.Option(
        6.0, min=0.5, help="Seconds the stack must stay idle before the next step."
    ),
    data_dir: Path | None = DataDir,
) -> None:
    """Play a realistic year on the running stack (socsec stack up first): the registry's
    secretariats, employers and workers; Dimona over REST and in batch files; quarterly DmfA
    files with anomalies, late and silent employers and corrections; the business clock
    through every deadline; then the barometer per seat and the state of every report.
    A second run with the same arguments repeats nothing."""
    from socsec.demo import world as world_module
    from socsec.demo.runner import Demo, DemoError, Journal
    from socsec.registry.settings import RegistrySettings

    local = stack_for(data_dir)
    state = local.load()
    if state is None or not state.services:
        err.print("[red]No running stack.[/] Run [bold]make up[/] (or socsec stack up) first.")
        raise typer.Exit(2)
    started = time.monotonic()
    with console.status("drawing the synthetic world"):
        world = world_module.build(seed, employers, workers, year)
    console.print(
        f"world of seed {seed}: {len(world.employers)} employers, {len(world.workers)} workers, "
        f"year {year}"
    )
    journal = Journal.open(
        local.config.data_dir / "demo" / f"journal-{seed}-{year}-{employers}-{workers}.json"
    )
    client_seed = RegistrySettings.model_fields["demo_client_seed"].default.get_secret_value()
    demo = Demo(state, world, journal, console, client_seed=client_seed)
    demo.pace = pace
    try:
        asyncio.run(demo.run())
    except DemoError as exc:
        err.print(f"[red]demo stopped:[/] {exc}")
        raise typer.Exit(1) from None
    totals: Counter[str] = Counter()
    for step, result in journal.done.items():
        if isinstance(result, dict):
            kind = step.split("-", 1)[0]
            for key, value in result.items():
                if isinstance(value, int):
                    totals[f"{kind} {key}"] += value
    table = Table("what", "count", title=f"the year {year}")
    for key, value in sorted(totals.items()):
        table.add_row(key, str(value))
    console.print(table)
    print_barometer(demo.result, year)
    console.print(f"demo finished in {time.monotonic() - started:.0f} s")


DOMAINS = ("S", "T", "F", "AP", "ANP", "C")


def print_barometer(result: dict, year: int) -> None:
    """The barometer per seat for the year, then the reports by kind and state."""
    table = Table(
        Column("seat", no_wrap=True),
        "kind",
        *(Column(d, justify="right") for d in DOMAINS),
        Column("year", justify="right"),
        Column("band", no_wrap=True),
        title=f"quality barometer {year}",
    )
    for seat in result.get("seats", []):
        total = (seat.get("year") or {}).get("total") or {}
        domains = total.get("domains") or {}
        cells = [
            "n/a" if d == "F" and not seat["approved"] else _score(domains.get(d)) for d in DOMAINS
        ]
        kind = "SSA" if seat["approved"] else "SSP"
        table.add_row(
            seat["seat"], kind, *cells, _score(total.get("score")), total.get("band") or "-"
        )
    # Wide enough for every seat and score, whatever the terminal (it wraps what is beyond).
    wide = Console(width=max(console.width, 110), soft_wrap=False)
    wide.print(table)
    console.print(
        "SSA approved social secretariat, SSP social service provider (no F domain); "
        "bands: GOOD ≥ 80, LESS_GOOD ≥ 60, BAD < 60"
    )
    states: Counter[tuple[str, str]] = Counter(
        (r["kind"], r["state"]) for r in result.get("reports", [])
    )
    reports = Table("report", "state", "count", title="reports")
    for (kind, state), count in sorted(states.items()):
        reports.add_row(kind, state, str(count))
    console.print(reports)


def _score(value: object) -> str:
    return "-" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]
