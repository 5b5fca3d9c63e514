"""``python -m bench``: run benchmark scenarios against a private stack (or a running one)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from bench.common import (
    BenchEnv,
    BenchOptions,
    ScenarioReport,
    console,
    discard,
    goals_table,
    infrastructure,
    machine,
    now_iso,
    prepare,
    quiet_logging,
    write_json,
)
from socsec.stack.local import DEFAULT_DATA_DIR

#: Scenario name -> module with ``async def run(env, options) -> ScenarioReport``. A module
#: that sets ``NEEDS_STACK = False`` (pure CPU work) gets ``env=None`` and no stack is started
#: for it.
SCENARIOS: dict[str, str] = {
    "messaging": "bench.messaging",
    "security": "bench.security",
    "dimona": "bench.dimona",
    "batch": "bench.batch",
    "crosscheck": "bench.crosscheck",
    "dmfa": "bench.dmfa",
    "scoring": "bench.scoring",
}

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if loop == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if loop == "uvloop":
            raise
        return None
    return uvloop.new_event_loop


def _run_async(coro: Coroutine[Any, Any, ScenarioReport], loop: str) -> ScenarioReport:
    with asyncio.Runner(loop_factory=_loop_factory(loop)) as runner:
        return runner.run(coro)


def _sigterm_as_interrupt() -> None:
    """A SIGTERM unwinds like Ctrl-C, so the private stack is stopped either way."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


@app.command()
def main(
    scenario: str = typer.Option(
        "all", "--scenario", "-s", help=f"One of: {', '.join(SCENARIOS)}, or 'all'."
    ),
    messages: int = typer.Option(
        50_000, "--messages", "-n", min=100, help="Messages (rows, events) per scenario."
    ),
    writers: int = typer.Option(4, min=1, help="Concurrent writer tasks of the kit scenario."),
    tx_size: int = typer.Option(100, min=1, help="Events per writer transaction."),
    consumer_batch: int = typer.Option(
        500, min=1, help="Records per poll of the raw consumer (the kit's default is 500)."
    ),
    linger_ms: int = typer.Option(5, min=0, help="linger.ms of the raw producer."),
    timeout: float = typer.Option(
        180, min=10, help="Seconds any one measured phase may take before it is abandoned."
    ),
    loop: str = typer.Option(
        "auto", help="Event loop: auto (uvloop when installed, as under uvicorn), uvloop, asyncio."
    ),
    use_running: bool = typer.Option(
        False, "--use-running", help="Use the stack of `socsec stack up` instead of a private one."
    ),
    data_dir: Path = typer.Option(
        DEFAULT_DATA_DIR,
        "--data-dir",
        envvar="SOCSEC_DATA_DIR",
        help="Data folder of the running stack (with --use-running).",
    ),
    json_path: Path | None = typer.Option(
        None, "--json", help="Write the results here (default: results.json in the work folder)."
    ),
    otlp_endpoint: str | None = typer.Option(
        None,
        "--otlp-endpoint",
        help="Trace the services under test, exporting their spans over OTLP/HTTP here "
        "(e.g. the `otlp` process of `socsec stack up --tracing`, http://127.0.0.1:4318). "
        "Default: no exporter, no spans recorded.",
    ),
) -> None:
    """Measure throughput; see docs/benchmarks.md."""
    names = list(SCENARIOS) if scenario == "all" else [scenario]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        console.print(f"[red]unknown scenario {scenario!r}[/]; known: {', '.join(SCENARIOS)}, all")
        raise typer.Exit(2)
    if loop not in ("auto", "uvloop", "asyncio"):
        console.print(f"[red]unknown loop {loop!r}[/]; use auto, uvloop or asyncio")
        raise typer.Exit(2)
    options = BenchOptions(
        messages=messages,
        writers=writers,
        tx_size=tx_size,
        consumer_batch=consumer_batch,
        linger_ms=linger_ms,
        timeout_s=timeout,
    )
    quiet_logging()
    # No exporter, so no spans are recorded (the API's no-op provider), unless asked for.
    os.environ["OTEL_TRACES_EXPORTER"] = "otlp" if otlp_endpoint else "none"
    if otlp_endpoint:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    else:
        os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    _sigterm_as_interrupt()

    workdir = Path(tempfile.mkdtemp(prefix="socsec-bench-"))
    json_path = json_path or workdir / "results.json"
    payload: dict[str, Any] = {
        "date": now_iso(),
        "machine": machine(),
        "options": {**asdict(options), "loop": loop, "otlp_endpoint": otlp_endpoint},
        "stack": "running" if use_running else "private",
        "scenarios": {},
    }
    started = time.perf_counter()
    try:
        reports, failed = _run_all(names, options, loop, use_running, data_dir, workdir, payload)
    except KeyboardInterrupt:
        stack = "the running stack was left as it was" if use_running else "the stack was stopped"
        console.print(f"[yellow]interrupted; {stack}[/]")
        raise typer.Exit(130) from None
    except Exception as exc:  # the stack did not start, or could not be reached
        console.print(f"[red]benchmark setup failed:[/] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    finally:
        with contextlib.suppress(OSError):
            workdir.rmdir()  # only when empty: nothing but the results is kept there
    payload["duration_s"] = round(time.perf_counter() - started, 1)
    if reports:
        console.print(goals_table(reports))
    write_json(json_path, payload)
    console.print(f"results: {json_path} (in {payload['duration_s']:.0f} s)")
    if failed:
        raise typer.Exit(1)


def _run_all(
    names: list[str],
    options: BenchOptions,
    loop: str,
    use_running: bool,
    data_dir: Path,
    workdir: Path,
    payload: dict[str, Any],
) -> tuple[list[ScenarioReport], bool]:
    """Run each scenario in its own database and topic prefix; a failure does not stop the
    others."""
    reports: list[ScenarioReport] = []
    failed = False
    modules = {name: importlib.import_module(SCENARIOS[name]) for name in names}
    needs_stack = {name: getattr(module, "NEEDS_STACK", True) for name, module in modules.items()}
    stack = (
        infrastructure(workdir, use_running=use_running, data_dir=data_dir)
        if any(needs_stack.values())
        else contextlib.nullcontext()
    )
    with stack as infra:
        for name, module in modules.items():
            env: BenchEnv | None = prepare(infra) if needs_stack[name] else None
            try:
                report = _run_async(module.run(env, options), loop)
            except Exception as exc:
                failed = True
                console.print(f"[red]scenario {name} failed:[/] {type(exc).__name__}: {exc}")
                console.print(traceback.format_exc(), markup=False, highlight=False)
                payload["scenarios"][name] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            finally:
                if env is not None:
                    discard(env)
            reports.append(report)
            payload["scenarios"][name] = report.to_json()
            for table in report.tables:
                console.print(table)
            for note in report.notes:
                console.print(f"[dim]{note}[/]")
    return reports, failed


if __name__ == "__main__":
    sys.exit(app())
