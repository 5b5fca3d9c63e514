"""What every scenario shares: the infrastructure, a private database and topic prefix per
run, CPU accounting, results and their output.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import psutil
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from socsec.catalog import SERVICES
from socsec.kit import migrator
from socsec.stack import kafka, postgres
from socsec.stack.local import LocalStack, StackConfig, StackState, create_topics

console = Console()

#: The schema whose kit tables (outbox, processed_messages) the scenarios use.
SERVICE = "dimona"


@dataclass(frozen=True)
class BenchOptions:
    """The knobs of one run (command-line options)."""

    messages: int = 50_000
    payload_bytes: int = 1024
    keys: int = 1000
    writers: int = 4
    tx_size: int = 100
    consumer_batch: int = 500
    linger_ms: int = 5
    timeout_s: float = 180.0


@dataclass(frozen=True)
class Infrastructure:
    """Where Kafka and PostgreSQL are, and the processes whose CPU we may account for."""

    kafka_bootstrap: str
    admin_url: str
    passwords: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)
    private: bool = True


@dataclass(frozen=True)
class BenchEnv:
    """One run's own corner of the infrastructure: a database and a topic prefix."""

    infra: Infrastructure
    database: str
    prefix: str
    dsns: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.infra.kafka_bootstrap

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"


@dataclass(frozen=True)
class Goal:
    description: str
    met: bool
    value: str


@dataclass
class ScenarioReport:
    """What a scenario hands back: JSON-able results, goals and a table to print."""

    scenario: str
    results: dict[str, Any]
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "results": self.results,
            "goals": [asdict(g) for g in self.goals],
            "notes": self.notes,
        }


# -- logging and output ----------------------------------------------------------------


#: Tracing settings the services under test take from the bench's environment when traced.
TRACING_VARIABLES = ("OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "SOCSEC_TRACE_SQL")


def tracing_env() -> dict[str, str]:
    """The tracing variables of a service under test: no exporter, so no spans recorded
    (the default), or OTLP/HTTP to the endpoint of ``--otlp-endpoint``, with the sampler
    and ``SOCSEC_TRACE_SQL`` of the bench's environment."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if os.environ.get("OTEL_TRACES_EXPORTER") != "otlp" or not endpoint:
        return {"OTEL_TRACES_EXPORTER": "none"}
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        **{name: os.environ[name] for name in TRACING_VARIABLES if name in os.environ},
    }


def quiet_logging() -> None:
    """WARNING and above only: per-message INFO lines would be measured along with the rest."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("aiokafka", "faststream", "socsec", "asyncpg"):
        logging.getLogger(name).setLevel(logging.WARNING)


class _DropBelowCritical(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL


@contextlib.contextmanager
def quiet_kafka_client() -> Iterator[None]:
    """Silence aiokafka's ERROR lines for the expected hiccups of a fresh topic or group
    (metadata not yet propagated, offsets topic being created); it retries them itself."""
    quiet = _DropBelowCritical()
    # A filter applies to records of its own logger only, not to those of its children.
    names = (
        "aiokafka",
        "aiokafka.cluster",
        "aiokafka.conn",
        "aiokafka.consumer.fetcher",
        "aiokafka.consumer.group_coordinator",
        "aiokafka.producer.sender",
    )
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def rate(count: int, seconds: float | None) -> float | None:
    if not seconds or seconds <= 0:
        return None
    return count / seconds


def fmt_rate(value: float | None, unit: str = "msg/s") -> str:
    return "—" if value is None else f"{value:,.0f} {unit}"


def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    tmp.replace(path)


def goals_table(reports: list[ScenarioReport]) -> Table:
    table = Table(title="Goals", title_justify="left")
    table.add_column("scenario")
    table.add_column("goal")
    table.add_column("measured", justify="right")
    table.add_column("status")
    for report in reports:
        for goal in report.goals:
            status = "[green]met[/]" if goal.met else "[red]not met[/]"
            table.add_row(report.scenario, goal.description, goal.value, status)
    return table


# -- CPU accounting --------------------------------------------------------------------


class CpuMeter:
    """Cores used by this process, Kafka and PostgreSQL (with its backends) over a span.

    On 2 cores this is what tells whether a figure is bound by Python, the broker or the
    database. Processes we may not inspect (a running stack of another user) are left out.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self._procs: dict[str, psutil.Process] = {}
        for name, pid in pids.items():
            with contextlib.suppress(psutil.Error):
                self._procs[name] = psutil.Process(pid)
        self._start: dict[str, float] = {}
        self._wall = 0.0

    def _cpu(self, proc: psutil.Process, with_children: bool) -> float:
        total = 0.0
        family = [proc, *(proc.children(recursive=True) if with_children else [])]
        for member in family:
            with contextlib.suppress(psutil.Error):
                times = member.cpu_times()
                total += times.user + times.system
        return total

    def _sample(self) -> dict[str, float]:
        sample = {"bench": sum(os.times()[:2])}
        for name, proc in self._procs.items():
            with contextlib.suppress(psutil.Error):
                sample[name] = self._cpu(proc, with_children=name == "postgres")
        machine = psutil.cpu_times()
        sample["machine"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return sample

    def start(self) -> None:
        self._start = self._sample()
        self._wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        """Cores used on average since :meth:`start`, by process name, and by everything
        else on the machine (``other``: a shared machine skews every figure)."""
        wall = max(time.perf_counter() - self._wall, 1e-9)
        end = self._sample()
        cores = {name: (end[name] - self._start.get(name, 0.0)) / wall for name in end}
        busy = cores.pop("machine")
        cores["other"] = max(0.0, busy - sum(cores.values()))
        return {name: round(value, 2) for name, value in cores.items()}


# -- infrastructure --------------------------------------------------------------------


def _passwords(state: StackState) -> dict[str, str]:
    """The passwords the stack already gave the service roles.

    Provisioning sets a role's password every time: reusing the stack's own keeps a
    running stack's services able to connect.
    """
    out = {}
    for name in SERVICES:
        dsn = state.service_database_urls.get(name)
        password = urlsplit(dsn).password if dsn else None
        out[name] = unquote(password) if password else f"bench-{uuid.uuid4().hex}"
    return out


def _pids(state: StackState) -> dict[str, int]:
    pids = {}
    for name in ("kafka", "postgres"):
        record = state.record(name)
        if record is not None and not state.external.get(name):
            pids[name] = record.pid
    return pids


@contextlib.contextmanager
def infrastructure(
    workdir: Path, *, use_running: bool, data_dir: Path, timeout: float = 180
) -> Iterator[Infrastructure]:
    """A private stack in ``workdir`` (stopped and wiped on the way out, whatever happens),
    or the stack described by ``data_dir/stack.json``."""
    if use_running:
        state = LocalStack(StackConfig(data_dir=data_dir)).load()
        if state is None or not state.kafka_bootstrap or not state.database_url:
            raise RuntimeError(
                f"no running stack in {data_dir} (no stack.json); start one with "
                "`socsec stack up` or run without --use-running"
            )
        kafka.wait_kafka(state.kafka_bootstrap, 15)
        postgres.wait_postgres(state.database_url, 15)
        yield Infrastructure(
            state.kafka_bootstrap, state.database_url, _passwords(state), _pids(state), False
        )
        return
    stack = LocalStack(StackConfig.free_ports(workdir / "stack"))
    try:
        with console.status("starting a private Kafka and PostgreSQL…"):
            state = stack.up(timeout=timeout)
        yield Infrastructure(
            state.kafka_bootstrap, state.database_url, _passwords(state), _pids(state), True
        )
    finally:
        with uninterrupted(), console.status("stopping the private stack…"):
            stack.down(reset=True)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while cleaning up: an interrupted cleanup is what leaves
    servers running. Each step of the cleanup is bounded in time."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def prepare(infra: Infrastructure) -> BenchEnv:
    """A fresh database (every service role, the dimona schema migrated) and topic prefix."""
    tag = uuid.uuid4().hex[:10]
    database = f"bench_{tag}"
    prefix = f"bench{tag}."
    dsns = postgres.provision_database(infra.admin_url, database, infra.passwords)
    env = BenchEnv(infra, database, prefix, dsns)
    try:
        create_topics(infra.kafka_bootstrap, prefix)
        asyncio.run(migrator.migrate(dsns[SERVICE], SERVICE, f"socsec.{SERVICE}.migrations"))
    except BaseException:
        discard(env)
        raise
    return env


def discard(env: BenchEnv) -> None:
    """Drop the run's database and delete its topics (best effort: a private stack is wiped
    anyway; on a running stack nothing of the run should stay behind)."""

    async def drop() -> None:
        conn = await asyncpg.connect(env.infra.admin_url, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{env.database}" WITH (FORCE)')
        finally:
            await conn.close()

    async def delete_topics() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=env.bootstrap, client_id="socsec-bench", request_timeout_ms=10000
        )
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if t.startswith(env.prefix)]
            if names:
                await admin.delete_topics(names, timeout_ms=10000)
        finally:
            await admin.close()

    try:
        with uninterrupted():
            asyncio.run(drop())
            if not env.infra.private:
                asyncio.run(delete_topics())
    except Exception as exc:  # cleanup must not hide the run's own outcome
        console.print(f"[yellow]cleanup of {env.database} / {env.prefix}* incomplete:[/] {exc}")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
