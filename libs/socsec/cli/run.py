"""``socsec run``: services in the foreground."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import typer

from socsec.catalog import SERVICES
from socsec.cli.common import DataDir, err, stack_for


def run(
    services: list[str] = typer.Argument(..., help="Service names, or 'all'."),
    data_dir: Path | None = DataDir,
) -> None:
    """Run services in the foreground; Ctrl-C stops them."""
    names = list(SERVICES) if "all" in services else services
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        err.print(f"[red]unknown service(s):[/] {', '.join(unknown)}; known: {', '.join(SERVICES)}")
        raise typer.Exit(2)
    state = stack_for(data_dir).load()
    if len(names) == 1:
        _run_one(names[0], state.service_env(names[0]) if state else {})
        return
    # One port per service: a port given for one process must not reach all of them.
    child_env = {k: v for k, v in os.environ.items() if k != "SOCSEC_HTTP_PORT"}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "socsec", "run", name, *_data_dir_args(data_dir)], env=child_env
        )
        for name in names
    ]

    def _forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    codes = [child.wait() for child in children]
    raise typer.Exit(max(codes, default=0))


def _data_dir_args(data_dir: Path | None) -> list[str]:
    return ["--data-dir", str(data_dir)] if data_dir else []


def _run_one(name: str, stack_env: dict[str, str]) -> None:
    import uvicorn

    # The stack's coordinates for this service; SOCSEC_DATABASE_URL still wins if given.
    os.environ.update(
        {
            k: v
            for k, v in stack_env.items()
            if k != "SOCSEC_HTTP_PORT" or "SOCSEC_HTTP_PORT" not in os.environ
        }
    )
    app = SERVICES[name].create_app()
    app.state.runtime.tune_gc = True  # this process runs this one service until it stops
    settings = app.state.runtime.settings
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None)
