"""The whole local stack: Kafka, PostgreSQL, topics, database roles, migrations, services.

State lives in the data folder (``.socsec/`` by default):

- ``stack.json``: what runs where (``kafka_bootstrap``, ``database_url``, ``services`` name ->
  base URL) and the records of the processes this stack started, so ``down`` stops exactly
  those;
- ``secrets.json`` (0600): the generated password of every service's database role;
- ``kafka/``, ``postgres/``: the data of each server; ``logs/``: one log file per process.

With tracing (``socsec stack up --tracing``) a Zipkin server and its OTLP endpoint run too
(:mod:`socsec.stack.tracing`); every service started afterwards exports its spans there.

When ``KAFKA_BOOTSTRAP_SERVERS`` or ``DATABASE_URL`` (an administrator's DSN) is given, that
server is used instead of starting one; everything else is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from socsec.catalog import SERVICES, ServiceInfo
from socsec.contracts.topics import physical_topics
from socsec.kit import migrator
from socsec.stack import kafka, postgres, processes
from socsec.stack import tracing as tracing_ui
from socsec.stack.processes import ProcessRecord

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(".socsec")
DATABASE = "socsec"


@dataclass
class StackConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    postgres_port: int = 15432
    kafka_bootstrap: str | None = None  # external Kafka
    admin_database_url: str | None = None  # external PostgreSQL (administrator DSN)
    database: str = DATABASE
    topic_prefix: str = ""
    kafka_heap: str = "384m"
    service_ports: dict[str, int] = field(default_factory=dict)  # default: the catalogue's
    tracing: bool = False  # also run the tracing UI (Zipkin) and its OTLP endpoint
    # Topics on an external cluster: at least this many partitions, this replication factor.
    topic_partitions: int | None = None
    topic_replication: int = 1
    zipkin_port: int = tracing_ui.DEFAULT_ZIPKIN_PORT
    otlp_port: int = tracing_ui.DEFAULT_OTLP_PORT

    @classmethod
    def from_env(cls, data_dir: Path | None = None, **overrides: Any) -> StackConfig:
        cfg = cls(
            data_dir=Path(data_dir or os.environ.get("SOCSEC_DATA_DIR", DEFAULT_DATA_DIR)),
            kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            admin_database_url=os.environ.get("DATABASE_URL") or None,
            topic_partitions=_int_env("SOCSEC_TOPIC_PARTITIONS"),
            topic_replication=_int_env("SOCSEC_TOPIC_REPLICATION_FACTOR") or 1,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(cfg, key, value)
        return cfg

    @classmethod
    def free_ports(cls, data_dir: Path, **overrides: Any) -> StackConfig:
        """A private stack on ports nobody uses (tests)."""
        ports: dict[str, Any] = {
            "kafka_port": processes.free_port(),
            "kafka_controller_port": processes.free_port(),
            "postgres_port": processes.free_port(),
            "zipkin_port": processes.free_port(),
            "otlp_port": processes.free_port(),
            "service_ports": {name: processes.free_port() for name in SERVICES},
        }
        return cls.from_env(data_dir, **{**ports, **overrides})


@dataclass
class StackState:
    kafka_bootstrap: str
    database_url: str
    database: str
    topic_prefix: str = ""
    services: dict[str, str] = field(default_factory=dict)
    service_database_urls: dict[str, str] = field(default_factory=dict)
    external: dict[str, bool] = field(default_factory=dict)
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    tracing: dict[str, str] = field(default_factory=dict)  # TracingInfo.to_json()

    def to_json(self) -> dict[str, Any]:
        return {
            "kafka_bootstrap": self.kafka_bootstrap,
            "database_url": self.database_url,
            "database": self.database,
            "topic_prefix": self.topic_prefix,
            "services": self.services,
            "service_database_urls": self.service_database_urls,
            "external": self.external,
            "processes": self.processes,
            "status": self.status,
            "tracing": self.tracing,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StackState:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def record(self, name: str) -> ProcessRecord | None:
        raw = self.processes.get(name)
        return ProcessRecord.from_dict(raw) if raw else None

    def service_env(self, service: str) -> dict[str, str]:
        """The environment one service process runs with."""
        info = SERVICES[service]
        env = {
            "DATABASE_URL": self.service_database_urls[service],
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "SOCSEC_HTTP_PORT": str(info.port),
            "SOCSEC_TOPIC_PREFIX": self.topic_prefix,
        }
        base = self.services.get(service)
        if base:
            env["SOCSEC_HTTP_PORT"] = base.rsplit(":", 1)[-1]
        registry = self.services.get("registry")
        if registry:
            # Tokens name the registry as issuer; the others fetch its keys (any port).
            env["SOCSEC_AUTH_ISSUER"] = registry
            if service != "registry":
                env["SOCSEC_AUTH_JWKS_URL"] = f"{registry}/.well-known/jwks.json"
        if self.tracing:
            env["OTEL_TRACES_EXPORTER"] = "otlp"
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = self.tracing["otlp_endpoint"]
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
        return env


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir.absolute()
        self.state_path = self.data_dir / "stack.json"
        self.logs = self.data_dir / "logs"

    # -- state -------------------------------------------------------------------------

    def load(self) -> StackState | None:
        if not self.state_path.exists():
            return None
        return StackState.from_json(json.loads(self.state_path.read_text()))

    def save(self, state: StackState) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state.to_json(), indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.state_path)

    def _passwords(self, services: Iterable[str]) -> dict[str, str]:
        path = self.data_dir / "secrets.json"
        known = json.loads(path.read_text()) if path.exists() else {}
        for name in services:
            known.setdefault(name, secrets.token_urlsafe(18))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(known, indent=2))
        path.chmod(0o600)
        return {name: known[name] for name in services}

    # -- infrastructure ----------------------------------------------------------------

    def up(self, *, services: Iterable[str] = (), timeout: float = 120) -> StackState:
        """Start (or find running) Kafka and PostgreSQL, provision, migrate, start services."""
        cfg = self.config
        self.data_dir.mkdir(parents=True, exist_ok=True)
        previous = self.load()
        state = StackState(
            kafka_bootstrap="",
            database_url="",
            database=cfg.database,
            topic_prefix=cfg.topic_prefix,
            processes=dict(previous.processes) if previous else {},
            services=dict(previous.services) if previous else {},
            tracing=dict(previous.tracing) if previous else {},
        )

        if cfg.kafka_bootstrap:
            state.kafka_bootstrap = cfg.kafka_bootstrap
            state.external["kafka"] = True
            kafka.wait_kafka(cfg.kafka_bootstrap, timeout)
        else:
            state.external["kafka"] = False
            state.kafka_bootstrap = self._up_kafka(state, previous, timeout)

        if cfg.admin_database_url:
            state.database_url = cfg.admin_database_url
            state.external["postgres"] = True
            postgres.wait_postgres(cfg.admin_database_url, timeout)
        else:
            state.external["postgres"] = False
            state.database_url = self._up_postgres(state, previous, timeout)
        self.save(state)

        self.provision(state)
        self.save(state)
        if cfg.tracing:
            self._up_tracing(state, timeout)
        elif state.tracing and not all(
            (record := state.record(name)) is not None and processes.is_alive(record)
            for name in ("zipkin", "otlp")
        ):
            state.tracing = {}  # it stopped: services started now must not export there
            self.save(state)
        wanted = list(services)
        if wanted:
            self.start_services(state, wanted, timeout=timeout)
        return state

    def _up_kafka(self, state: StackState, previous: StackState | None, timeout: float) -> str:
        cfg = self.config
        old = previous.record("kafka") if previous else None
        if old and processes.is_alive(old) and previous is not None:
            return previous.kafka_bootstrap
        node = kafka.KafkaNode(
            self.data_dir / "kafka",
            cfg.kafka_port,
            cfg.kafka_controller_port,
            kafka.ensure_jars(),
            heap=cfg.kafka_heap,
            log_path=self.logs / "kafka.log",
        )
        record = node.start()
        state.processes["kafka"] = record.to_dict()
        self.save(state)
        node.wait_ready(record, timeout)
        return node.bootstrap

    def _up_tracing(self, state: StackState, timeout: float) -> tracing_ui.TracingInfo:
        """Start Zipkin and its OTLP endpoint, or find them running; record where they are."""
        cfg = self.config
        zipkin_rec, otlp_rec = state.record("zipkin"), state.record("otlp")
        if (
            state.tracing
            and zipkin_rec
            and otlp_rec
            and processes.is_alive(zipkin_rec)
            and processes.is_alive(otlp_rec)
        ):
            return tracing_ui.TracingInfo.from_json(state.tracing)
        for record in (otlp_rec, zipkin_rec):
            if record is not None:
                processes.stop(record, timeout=20)
        info = tracing_ui.TracingInfo.local(cfg.zipkin_port, cfg.otlp_port)
        server = tracing_ui.ZipkinServer(
            cfg.zipkin_port, tracing_ui.ensure_zipkin_jar(), log_path=self.logs / "zipkin.log"
        )
        record = server.start()
        state.processes["zipkin"] = record.to_dict()
        self.save(state)
        bridge = tracing_ui.OtlpBridge(
            cfg.otlp_port, server.base_url, log_path=self.logs / "otlp.log"
        )
        otlp = bridge.start()
        state.processes["otlp"] = otlp.to_dict()
        self.save(state)
        server.wait_ready(record, timeout)
        bridge.wait_ready(otlp, timeout)
        state.tracing = info.to_json()
        self.save(state)
        return info

    def _up_postgres(self, state: StackState, previous: StackState | None, timeout: float) -> str:
        cfg = self.config
        postgres.ensure_installed()
        cluster = postgres.PostgresCluster(
            self.data_dir / "postgres" / "data", cfg.postgres_port, self.logs / "postgres.log"
        )
        old = previous.record("postgres") if previous else None
        if old and processes.is_alive(old) and previous is not None:
            return previous.database_url
        cluster.init()
        record = cluster.start()
        state.processes["postgres"] = record.to_dict()
        self.save(state)
        cluster.wait_ready(record, timeout)
        return cluster.admin_url

    def provision(self, state: StackState, database: str | None = None) -> dict[str, str]:
        """Database, roles, schemas, topics and migrations of every service; idempotent."""
        names = list(SERVICES)
        dsns = postgres.provision_database(
            state.database_url, database or state.database, self._passwords(names)
        )
        state.service_database_urls = dsns
        create_topics(
            state.kafka_bootstrap,
            state.topic_prefix,
            partitions=self.config.topic_partitions,
            replication=self.config.topic_replication,
        )
        asyncio.run(migrate_all(dsns))
        return dsns

    # -- services ----------------------------------------------------------------------

    def start_services(self, state: StackState, names: list[str], *, timeout: float = 90) -> None:
        records: dict[str, ProcessRecord] = {}
        starting = []
        for name in names:
            old = state.record(name)
            if old and processes.is_alive(old) and name in state.services:
                continue
            port = self.config.service_ports.get(name, SERVICES[name].port)
            state.services[name] = f"http://127.0.0.1:{port}"
            starting.append(name)
        # Every URL is known before the first start: a service's environment names the
        # registry's (token issuer).
        for name in starting:
            env = {**os.environ, **state.service_env(name)}
            env.setdefault("OTEL_SERVICE_NAME", f"socsec-{name}")
            # ``socsec run`` reads the stack of its data folder: this one, not the default.
            env["SOCSEC_DATA_DIR"] = str(self.data_dir)
            records[name] = processes.spawn(
                name,
                [sys.executable, "-m", "socsec", "run", name],
                log_path=self.logs / f"{name}.log",
                env=env,
            )
            state.processes[name] = records[name].to_dict()
        self.save(state)
        deadline = time.monotonic() + timeout
        for name, record in records.items():
            self._wait_service(name, state.services[name], record, deadline)

    def _wait_service(self, name: str, base: str, record: ProcessRecord, deadline: float) -> None:
        last = "no answer"
        while time.monotonic() < deadline:
            if not processes.is_alive(record):
                raise processes.StackProcessError(
                    f"service {name} exited while starting; last lines of {record.log_path}:\n"
                    f"{processes.tail(record.log_path)}"
                )
            try:
                response = httpx.get(f"{base}/readyz", timeout=3)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise processes.StackProcessError(
            f"service {name} was not ready in time ({last}); last lines of {record.log_path}:\n"
            f"{processes.tail(record.log_path)}"
        )

    # -- status and shutdown -----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        state = self.load()
        if state is None:
            return {"running": False, "data_dir": str(self.data_dir)}
        out: dict[str, Any] = {
            "data_dir": str(self.data_dir),
            "kafka_bootstrap": state.kafka_bootstrap,
            "database_url": _redact_url(state.database_url),
            "services": state.services,
            "components": {},
        }
        for name in ("kafka", "postgres"):
            record = state.record(name)
            if state.external.get(name):
                out["components"][name] = {"external": True, "healthy": _probe_infra(name, state)}
            else:
                alive = bool(record and processes.is_alive(record))
                out["components"][name] = {
                    "pid": record.pid if record else None,
                    "healthy": alive and _probe_infra(name, state),
                }
        if state.tracing:
            for name, url, probe in (
                ("zipkin", state.tracing["ui"], state.tracing["api"] + "/services"),
                (
                    "otlp",
                    state.tracing["otlp_endpoint"],
                    state.tracing["otlp_endpoint"] + "/healthz",
                ),
            ):
                record = state.record(name)
                out["components"][name] = {
                    "url": url,
                    "pid": record.pid if record else None,
                    "healthy": bool(record and processes.is_alive(record)) and _answers(probe),
                }
            out["tracing"] = state.tracing
        for name, base in state.services.items():
            record = state.record(name)
            entry: dict[str, Any] = {
                "url": base,
                "docs": f"{base}/docs",
                "pid": record.pid if record else None,
            }
            try:
                response = httpx.get(f"{base}/readyz", timeout=3)
                entry["healthy"] = response.status_code == 200
                entry["checks"] = response.json().get("checks")
            except (httpx.HTTPError, ValueError):
                entry["healthy"] = False
            out["components"][name] = entry
        state.status = {"checked_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **out["components"]}
        self.save(state)
        return out

    def down(self, *, reset: bool = False) -> list[str]:
        """Stop what this stack started (services first), by PID; optionally wipe the data."""
        state = self.load()
        stopped: list[str] = []
        if state is not None:
            # Services first (they flush their last spans), then tracing, Kafka, PostgreSQL.
            last = ("otlp", "zipkin", "kafka", "postgres")
            order = [n for n in state.processes if n not in last]
            order += [n for n in last if n in state.processes]
            for name in order:
                record = state.record(name)
                if record is None:
                    continue
                if processes.is_alive(record):
                    sig = postgres.STOP_SIGNAL if name == "postgres" else kafka.STOP_SIGNAL
                    processes.stop(record, timeout=45, sig=sig)
                    stopped.append(name)
                state.processes.pop(name, None)
            state.services = {}
            state.tracing = {}
            self.save(state)
        if reset and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        return stopped


def create_topics(
    bootstrap: str, prefix: str = "", *, partitions: int | None = None, replication: int = 1
) -> list[str]:
    """Create every contract topic and its dead-letter topic that does not exist yet.

    ``partitions`` raises the partition count of every multi-partition topic to at least
    that many (a cluster running more instances per consumer group wants more); topics of a
    single partition (the business clock, dead letters) keep one, since their order matters
    more than their throughput.
    """
    specs = physical_topics(prefix)
    if partitions:
        specs = [
            dataclasses.replace(s, partitions=max(s.partitions, partitions))
            if s.partitions > 1
            else s
            for s in specs
        ]
    return kafka.create_topics(bootstrap, specs, replication_factor=replication)


async def migrate_all(dsns: dict[str, str]) -> dict[str, list[str]]:
    """Run every service's migrations, each as its own database role."""
    results = {}
    for name, info in SERVICES.items():
        results[name] = await migrator.migrate(dsns[name], name, info.migrations_package)
    return results


def _redact_url(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _int_env(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise processes.StackProcessError(
            f"{name} must be a whole number of at least 1, not {raw!r}"
        )
    return int(raw)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _probe_infra(name: str, state: StackState) -> bool:
    with contextlib.suppress(Exception):
        if name == "kafka":
            kafka.wait_kafka(state.kafka_bootstrap, 5)
        else:
            postgres.wait_postgres(state.database_url, 5)
        return True
    return False


def service_infos(names: Iterable[str]) -> list[ServiceInfo]:
    out = []
    for name in names:
        if name == "all":
            return list(SERVICES.values())
        out.append(SERVICES[name])
    return out
