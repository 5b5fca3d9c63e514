"""``socsec contracts``: the contracts as documents reviewers and tools can read.

``asyncapi``: the Kafka contracts of the whole system (docs/asyncapi.json). ``openapi``: the
HTTP API of every service (docs/openapi/<service>.json), as each service serves it at
``/openapi.json``.
"""

from __future__ import annotations

import json

import typer

from socsec.catalog import SERVICES
from socsec.cli.common import console, err
from socsec.contracts.asyncapi import DOCUMENT_PATH, diff_summary, render

app = typer.Typer(
    help="The contracts: Kafka messages (AsyncAPI) and each service's HTTP API (OpenAPI).",
    no_args_is_help=True,
)

#: Where the OpenAPI documents of the services are committed, one file per service.
OPENAPI_DIR = DOCUMENT_PATH.parent / "openapi"
OPENAPI_REGENERATE = "socsec contracts openapi --write"

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


def render_openapi(service: str) -> str:
    """The OpenAPI document ``service`` serves at /openapi.json, as committed."""
    app_ = SERVICES[service].create_app()
    return json.dumps(app_.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def openapi_drift() -> list[str]:
    """What differs between docs/openapi/ and the services' current OpenAPI documents."""
    problems = []
    for name in SERVICES:
        path = OPENAPI_DIR / f"{name}.json"
        if not path.is_file():
            problems.append(f"{path.name}: missing")
        elif path.read_text(encoding="utf-8") != render_openapi(name):
            current = json.loads(render_openapi(name))
            committed = json.loads(path.read_text(encoding="utf-8"))
            paths = sorted(set(current.get("paths", {})) ^ set(committed.get("paths", {})))
            changed = sorted(
                p
                for p in set(current.get("paths", {})) & set(committed.get("paths", {}))
                if current["paths"][p] != committed["paths"][p]
            )
            detail = "; ".join(
                part
                for part in (
                    f"paths added or removed: {', '.join(paths)}" if paths else "",
                    f"paths changed: {', '.join(changed)}" if changed else "",
                )
                if part
            )
            problems.append(f"{path.name}: differs ({detail or 'schemas or info'})")
    known = {f"{name}.json" for name in SERVICES}
    if OPENAPI_DIR.is_dir():
        problems += [
            f"{p.name}: no such service"
            for p in sorted(OPENAPI_DIR.glob("*.json"))
            if p.name not in known
        ]
    return problems


@app.command()
def openapi(
    service: str | None = typer.Argument(None, help="One service; all of them by default."),
    write: bool = typer.Option(False, "--write", help="Write docs/openapi/<service>.json."),
    check: bool = typer.Option(
        False, "--check", help="Exit 1 when docs/openapi/ differs from the services."
    ),
) -> None:
    """Print a service's OpenAPI document, or write/check those of every service."""
    if write and check:
        err.print("[red]--write and --check exclude each other.[/]")
        raise typer.Exit(2)
    if service is not None and service not in SERVICES:
        err.print(f"[red]unknown service {service!r}[/]; known: {', '.join(SERVICES)}")
        raise typer.Exit(2)
    if not (write or check):
        for name in [service] if service else list(SERVICES):
            typer.echo(render_openapi(name), nl=False)
        return
    if not DOCUMENT_PATH.parent.parent.joinpath("pyproject.toml").is_file():
        err.print(f"[red]No source checkout around {OPENAPI_DIR}[/]; run this from the repo.")
        raise typer.Exit(2)
    if write:
        OPENAPI_DIR.mkdir(parents=True, exist_ok=True)
        for name in [service] if service else list(SERVICES):
            path = OPENAPI_DIR / f"{name}.json"
            path.write_text(render_openapi(name), encoding="utf-8")
            console.print(f"wrote {path}")
        return
    problems = openapi_drift()
    if not problems:
        console.print("docs/openapi/ is up to date.")
        return
    err.print("[red]docs/openapi/ differs from the services' HTTP APIs:[/]")
    for line in problems:
        err.print(f"  {line}", markup=False, highlight=False)
    err.print(f"To accept the change, run [bold]{OPENAPI_REGENERATE}[/] and commit docs/openapi/.")
    raise typer.Exit(1)
