"""``socsec crosscheck``: the yearly Dimona–DmfA cross-check (barometer domain C).

``socsec crosscheck run --year 2025`` recomputes every triple (employer, INSZ, quarter) of
the year with set-based SQL over the crosscheck read models, stores the mismatching triples
and the counts per secretariat seat, and reports how far the result differs from the
instances the running service keeps incrementally (0 when both agree). The seat of each
employer comes from the registry's mandates, read from Kafka. The database is the stack's
(``.socsec/stack.json``) or, without a stack, ``DATABASE_URL`` (the crosscheck role's DSN)
with ``KAFKA_BOOTSTRAP_SERVERS`` and ``SOCSEC_TOPIC_PREFIX``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from socsec.cli.common import DataDir, console, err, stack_for

app = typer.Typer(help="The Dimona-DmfA cross-check.", no_args_is_help=True)


def crosscheck_settings(data_dir: Path | None) -> Any:
    from socsec.crosscheck.settings import CrosscheckSettings

    state = stack_for(data_dir).load()
    if state is not None and state.service_database_urls.get("crosscheck"):
        return CrosscheckSettings(
            database_url=state.service_database_urls["crosscheck"],
            kafka_bootstrap_servers=state.kafka_bootstrap,
            topic_prefix=state.topic_prefix,
            log_json=False,
        )
    if not (os.environ.get("SOCSEC_DATABASE_URL") or os.environ.get("DATABASE_URL")):
        err.print(
            "[red]No stack found[/] (no .socsec/stack.json) and DATABASE_URL is not set."
            " Run [bold]socsec stack up[/] first, or set DATABASE_URL to the crosscheck DSN."
        )
        raise typer.Exit(2)
    return CrosscheckSettings(log_json=False)


async def run_year(settings: Any, year: int) -> tuple[Any, int, list[Any]]:
    from socsec.crosscheck import handlers
    from socsec.crosscheck import repository as repo
    from socsec.crosscheck.main import build_runtime

    runtime = build_runtime(settings, run_relay=False, configure_logging=False)
    await runtime.start()
    try:
        deps: handlers.Deps = runtime.state["crosscheck_deps"]
        async with runtime.db.transaction() as conn:
            report = await handlers.run_year(conn, deps, year, settings.evaluation_date(year))
            pending = await repo.pending_touches(conn)
            seats = await repo.yearly_seats(conn, year)
    finally:
        await runtime.stop()
    return report, pending, seats


@app.command()
def run(
    year: int = typer.Option(..., "--year", min=2003, max=9999, help="Calendar year N."),
    data_dir: Path | None = DataDir,
) -> None:
    """Recompute every triple of a year and store the counts per seat (domain C)."""
    settings = crosscheck_settings(data_dir)
    report, pending, seats = asyncio.run(run_year(settings, year))
    table = Table("seat", "employers", "triples", "mismatching", "C1", "C2", "C3", "C4", "C5", "C6")
    for s in seats:
        table.add_row(
            s["seat_id"] or "(no DmfA mandate)",
            str(s["employers"]),
            str(s["triples"]),
            str(s["mismatching"]),
            *(str(s[f"c{i}"]) for i in range(1, 7)),
        )
    console.print(table)
    console.print(
        f"{year}: {report.triples} triples over {report.employer_quarters} declared "
        f"employer-quarters, {report.mismatching} mismatching "
        f"({', '.join(f'{r} {n}' for r, n in report.per_rule.items())}); "
        f"{report.duration_ms / 1000:.1f} s"
    )
    if report.provisional:
        console.print(
            f"[yellow]provisional[/]: the evaluation date is {report.evaluation_date.isoformat()}"
        )
    if report.disagreements:
        console.print(
            f"[yellow]{report.disagreements} triple(s) judged otherwise by the incremental path[/]"
            + (f" ({pending} re-evaluation(s) still queued)" if pending else "")
        )
    else:
        console.print("the incremental instances agree")
