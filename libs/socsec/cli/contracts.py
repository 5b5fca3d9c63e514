"""``socsec contracts``: the Kafka contracts as a document reviewers and tools can read."""

from __future__ import annotations

import typer

from socsec.cli.common import console, err
from socsec.contracts.asyncapi import DOCUMENT_PATH, diff_summary, render

app = typer.Typer(help="The Kafka message contracts (AsyncAPI document).", no_args_is_help=True)

_REGENERATE = "run [bold]socsec contracts asyncapi --write[/] and commit docs/asyncapi.json"


@app.command()
def asyncapi(
    write: bool = typer.Option(False, "--write", help="Write docs/asyncapi.json."),
    check: bool = typer.Option(
        False, "--check", help="Exit 1 when docs/asyncapi.json differs from the contracts."
    ),
) -> None:
    """Print the AsyncAPI 3.0 document generated from the contracts (or write/check it)."""
    if write and check:
        err.print("[red]--write and --check exclude each other.[/]")
        raise typer.Exit(2)
    document = render()
    if not (write or check):
        # Plain stdout, not rich: the JSON must reach a pipe byte for byte.
        typer.echo(document, nl=False)
        return
    if not DOCUMENT_PATH.parent.parent.joinpath("pyproject.toml").is_file():
        # Only a source checkout (editable install) has the committed document.
        err.print(f"[red]No source checkout around {DOCUMENT_PATH}[/]; run this from the repo.")
        raise typer.Exit(2)
    if write:
        DOCUMENT_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOCUMENT_PATH.write_text(document, encoding="utf-8")
        console.print(f"wrote {DOCUMENT_PATH}")
        return
    if not DOCUMENT_PATH.is_file():
        err.print(f"[red]{DOCUMENT_PATH} is missing[/]: {_REGENERATE}.")
        raise typer.Exit(1)
    changes = diff_summary(DOCUMENT_PATH.read_text(encoding="utf-8"), document)
    if not changes:
        console.print("docs/asyncapi.json is up to date.")
        return
    err.print("[red]docs/asyncapi.json differs from the contracts:[/]")
    for line in changes:
        err.print(f"  {line}", markup=False, highlight=False)
    err.print(f"To accept the change, {_REGENERATE}.")
    raise typer.Exit(1)
