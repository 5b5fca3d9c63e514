"""Apache Kafka for the local stack: one KRaft node (broker and controller), loopback only.

There is no Docker on the machines this runs on, so Kafka runs as a plain JVM process from
the jars of Maven Central, resolved once by ``mvn`` (deploy/kafka/pom.xml) into a cache
folder. The same module also creates topics, against this node or an external cluster.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code

from socsec.stack import maven, processes
from socsec.stack.processes import ProcessRecord, StackProcessError

__all__ = [
    "DEFAULT_VERSION",
    "STOP_SIGNAL",
    "KafkaError",
    "KafkaNode",
    "TopicSpecLike",
    "create_topics",
    "default_jar_cache",
    "deploy_dir",
    "describe_topic_configs",
    "ensure_jars",
    "wait_kafka",
]

log = logging.getLogger(__name__)

DEFAULT_VERSION = "3.9.1"
SCALA_VERSION = "2.13"
#: SIGTERM makes Kafka run its orderly shutdown (flush, close the metadata log).
STOP_SIGNAL = signal.SIGTERM
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class KafkaError(StackProcessError):
    """Kafka could not be fetched, formatted, started, reached or configured."""


class TopicSpecLike(Protocol):
    """What :func:`create_topics` reads from a topic spec (``socsec.contracts`` has one)."""

    name: str
    partitions: int
    compacted: bool


def deploy_dir() -> Path:
    """The ``deploy`` folder of the source checkout this package runs from."""
    return maven.deploy_dir()


def default_jar_cache(version: str = DEFAULT_VERSION) -> Path:
    """Where the Kafka jars are cached: shared by every checkout and every stack of a user."""
    return maven.cache_root() / f"kafka-{version}" / "libs"


def _kafka_jar(libs: Path, version: str) -> Path:
    return libs / f"kafka_{SCALA_VERSION}-{version}.jar"


def ensure_jars(
    cache_dir: Path | None = None, version: str = DEFAULT_VERSION, pom: Path | None = None
) -> Path:
    """Return a folder with every jar Kafka ``version`` needs, downloading them the first time."""
    libs = Path(cache_dir) if cache_dir is not None else default_jar_cache(version)
    return maven.copy_dependencies(
        Path(pom) if pom is not None else deploy_dir() / "kafka" / "pom.xml",
        libs,
        _kafka_jar(libs, version).name,
        properties={"kafka.version": version},
        what=f"Kafka {version}",
        error=KafkaError,
    )


def _new_cluster_id() -> str:
    """A cluster id as ``kafka-storage random-uuid`` makes it, without starting a JVM for it.

    That is a random UUID in URL-safe base64 without padding; like Kafka, avoid ids starting
    with '-', which command lines would take for an option.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cid.startswith("-"):
            return cid


class KafkaNode:
    """One Kafka 3.9 node in KRaft combined mode, only reachable on 127.0.0.1.

    ``data_dir`` belongs to the node: configuration, cluster id and the log segments
    (``data_dir/kraft-logs``) all live there. Its log goes to ``data_dir/../logs/kafka.log``
    unless ``log_path`` is given.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        jars: Path,
        heap: str = "384m",
        *,
        log_path: Path | None = None,
        log4j_template: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.controller_port = controller_port
        self.jars = Path(jars)
        self.heap = heap
        self.log_path = Path(log_path) if log_path else self.data_dir.parent / "logs" / "kafka.log"
        self.log4j_template = log4j_template or deploy_dir() / "kafka" / "log4j.properties"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / "kraft-logs"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log4j_path(self) -> Path:
        return self.data_dir / "log4j.properties"

    @property
    def cluster_id_path(self) -> Path:
        return self.data_dir / "cluster.id"

    @property
    def is_formatted(self) -> bool:
        return (self.log_dirs / "meta.properties").is_file()

    def cluster_id(self) -> str:
        """The id of this node's cluster, generated on first use and kept in the data folder."""
        if self.cluster_id_path.is_file():
            return self.cluster_id_path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cid = _new_cluster_id()
        self.cluster_id_path.write_text(cid + "\n")
        return cid

    def server_properties(self) -> dict[str, str]:
        """The broker configuration: a single dev node, durable enough to survive restarts."""
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.log_dirs),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            # 50 partitions by default: creating them on the first consumer group costs several
            # seconds on a 2-core laptop and buys nothing on one node.
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "8",
            "group.initial.rebalance.delay.ms": "0",
            # The default 128 MiB cleaner buffer would be a third of the heap.
            "log.cleaner.dedupe.buffer.size": "2097152",
            "log.retention.hours": "168",
        }

    def write_config(self) -> Path:
        """Write server.properties and log4j.properties; rewritten on every start (ports)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lines = ["# Written by socsec.stack.kafka on every start; edits are overwritten."]
        lines += [f"{key}={value}" for key, value in self.server_properties().items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        try:
            shutil.copyfile(self.log4j_template, self.log4j_path)
        except OSError as exc:
            raise KafkaError(f"cannot copy the Kafka log4j configuration: {exc}") from exc
        return self.config_path

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise KafkaError("Java 17 is needed to run Kafka: apt-get install -y openjdk-17-jre")
        return java

    def _classpath(self) -> str:
        return f"{self.jars}/*"

    def format(self) -> bool:
        """Format the storage folder for this node's cluster id; ``False`` if it already was."""
        if self.is_formatted:
            return False
        if not self.config_path.is_file():
            self.write_config()
        argv = [
            self._java(), "-Xmx256m", f"-Dlog4j.configuration=file:{self.log4j_path}",
            "-cp", self._classpath(), "kafka.tools.StorageTool", "format",
            "-t", self.cluster_id(), "-c", str(self.config_path),
        ]  # fmt: skip
        log.info("formatting Kafka storage in %s", self.log_dirs)
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            out = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise KafkaError(f"formatting Kafka storage in {self.log_dirs} failed:\n{out}")
        return True

    def argv(self) -> list[str]:
        return [
            self._java(), f"-Xmx{self.heap}", "-Xms64m", "-XX:+UseG1GC",
            "-XX:MaxMetaspaceSize=128m", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true", f"-Dlog4j.configuration=file:{self.log4j_path}",
            "-cp", self._classpath(), "kafka.Kafka", str(self.config_path),
        ]  # fmt: skip

    def start(self) -> ProcessRecord:
        """Write the configuration, format on first use and start the node in the background.

        Returns at once; call :meth:`wait_ready` before using it.
        """
        if not any(self.jars.glob(f"kafka_{SCALA_VERSION}-*.jar")):
            raise KafkaError(f"no Kafka jars in {self.jars}; call ensure_jars() first")
        self.write_config()
        self.format()
        return processes.spawn("kafka", self.argv(), log_path=self.log_path, cwd=self.data_dir)

    def wait_ready(self, record: ProcessRecord | None = None, timeout: float = 90) -> None:
        """Wait until the broker answers Kafka requests; fail early if its process died."""

        def check_alive() -> None:
            if record is not None and not processes.is_alive(record):
                raise KafkaError(
                    f"Kafka (pid {record.pid}) exited while starting; "
                    f"last lines of {self.log_path}:\n{processes.tail(self.log_path)}"
                )

        try:
            wait_kafka(self.bootstrap, timeout, check=check_alive)
        except KafkaError as exc:
            if record is not None and not processes.is_alive(record):
                raise
            raise KafkaError(
                f"{exc}\nlast lines of {self.log_path}:\n{processes.tail(self.log_path)}"
            ) from exc

    def stop(self, record: ProcessRecord, timeout: float = 30) -> bool:
        return processes.stop(record, timeout=timeout, sig=STOP_SIGNAL)


def _admin(bootstrap: str, request_timeout_ms: int = 10000) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=request_timeout_ms,
        client_id="socsec-stack",
    )


class _DropBelowCritical(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL


@contextlib.contextmanager
def _quiet_aiokafka() -> Iterator[None]:
    """Silence aiokafka while polling: it logs an ERROR for every refused connection, which
    is the expected answer while the broker boots, and the real failure is reported anyway."""
    quiet = _DropBelowCritical()
    loggers = [logging.getLogger(name) for name in ("aiokafka", "aiokafka.conn")]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


async def _probe(bootstrap: str) -> None:
    admin = _admin(bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        await admin.describe_cluster()
    finally:
        await admin.close()


def wait_kafka(
    bootstrap: str, timeout: float = 90, check: Callable[[], None] | None = None
) -> None:
    """Wait until the cluster at ``bootstrap`` answers a metadata request.

    A listening port is not enough: a KRaft broker accepts connections before it has caught
    up with the metadata log. ``check`` is called between attempts and may raise to give up
    early (for instance when the local process died).
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        if check is not None:
            check()
        try:
            with _quiet_aiokafka():
                asyncio.run(_probe(bootstrap))
            log.info("Kafka at %s is ready", bootstrap)
            return
        except Exception as exc:  # any failure means "not yet": retried until the deadline
            last = exc
        if time.monotonic() >= deadline:
            raise KafkaError(
                f"Kafka at {bootstrap} did not answer within {timeout:.0f} s "
                f"(last error: {type(last).__name__}: {last})"
            )
        time.sleep(0.5)


def _topic_configs(spec: Any) -> dict[str, str]:
    configs: dict[str, str] = {}
    if getattr(spec, "compacted", False):
        configs["cleanup.policy"] = "compact"
    retention_ms = getattr(spec, "retention_ms", None)
    if retention_ms is not None:
        configs["retention.ms"] = str(int(retention_ms))
    max_message_bytes = getattr(spec, "max_message_bytes", None)
    if max_message_bytes is not None:
        configs["max.message.bytes"] = str(int(max_message_bytes))
    return configs


async def _raise_message_limits(admin: AIOKafkaAdminClient, specs: list[Any]) -> None:
    """Give existing topics the ``max.message.bytes`` of their spec (a stack created before
    the limit was declared would otherwise refuse the large messages)."""
    wanted = {s.name: s for s in specs if getattr(s, "max_message_bytes", None) is not None}
    if not wanted:
        return
    current = await _configs(admin, list(wanted))
    stale = [
        spec
        for name, spec in wanted.items()
        if current[name].get("max.message.bytes") != str(spec.max_message_bytes)
    ]
    if stale:
        # AlterConfigs replaces the topic's whole configuration: send all of it.
        responses = await admin.alter_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, s.name, configs=_topic_configs(s))
                for s in stale
            ]
        )
        for response in responses:
            for code, message, _, name in response.resources:
                if code != 0:
                    raise KafkaError(
                        f"setting max.message.bytes of {name}: {for_code(code).__name__} {message}"
                    )
        log.info("raised max.message.bytes of %s", ", ".join(s.name for s in stale))


async def _create_topics(
    bootstrap: str, specs: list[Any], replication_factor: int, timeout_s: float
) -> list[str]:
    admin = _admin(bootstrap)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        if missing:
            created = await _create_missing(admin, missing, replication_factor, timeout_s)
        # Those that existed, also those created by someone else in between.
        await _raise_message_limits(admin, [s for s in specs if s.name not in created])
        return created
    finally:
        await admin.close()


async def _create_missing(
    admin: AIOKafkaAdminClient, missing: list[Any], replication_factor: int, timeout_s: float
) -> list[str]:
    new = [
        NewTopic(
            name=s.name,
            num_partitions=int(s.partitions),
            replication_factor=replication_factor,
            topic_configs=_topic_configs(s),
        )
        for s in missing
    ]
    response = await admin.create_topics(new, timeout_ms=int(timeout_s * 1000))
    created: list[str] = []
    failures: list[str] = []
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        if code == 0:
            created.append(name)
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:
            continue  # created by someone else in between: exactly what we wanted
        failures.append(f"{name}: {error.__name__} {message or ''}".rstrip())
    if failures:
        raise KafkaError("creating topics failed: " + "; ".join(failures))
    return created


def create_topics(
    bootstrap: str,
    specs: Iterable[TopicSpecLike],
    *,
    replication_factor: int = 1,
    timeout: float = 30,
) -> list[str]:
    """Create the topics of ``specs`` that do not exist yet; return the names created.

    Topics that exist keep their partitions and configuration, except ``max.message.bytes``,
    which is set to the spec's, so running this at every start is safe. A spec needs
    ``name``, ``partitions`` and ``compacted``; an optional ``retention_ms`` sets
    ``retention.ms`` and an optional ``max_message_bytes`` sets ``max.message.bytes``.
    """
    spec_list = list(specs)
    if not spec_list:
        return []
    try:
        created = asyncio.run(_create_topics(bootstrap, spec_list, replication_factor, timeout))
    except KafkaError:
        raise
    except Exception as exc:
        raise KafkaError(f"creating topics on {bootstrap} failed: {exc!r}") from exc
    if created:
        log.info("created topics %s", ", ".join(created))
    return created


async def _configs(
    admin: AIOKafkaAdminClient, topics: list[str], wait_s: float = 15
) -> dict[str, dict[str, str]]:
    """The configuration of each topic; a topic just created is unknown to the broker for a
    moment, so an unknown topic is asked again for up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics]
        )
        result: dict[str, dict[str, str]] = {}
        failures: list[str] = []
        unknown = False
        for response in responses:
            for resource in response.resources:
                code, message, name, entries = resource[0], resource[1], resource[3], resource[4]
                if code == 0:
                    result[name] = {entry[0]: entry[1] for entry in entries}
                    continue
                error = for_code(code)
                unknown = unknown or error is UnknownTopicOrPartitionError
                failures.append(f"describing topic {name}: {error.__name__} {message or ''}")
        if not failures:
            return result
        if not unknown or time.monotonic() > deadline:
            raise KafkaError("; ".join(failures))
        await asyncio.sleep(0.2)


async def _describe(bootstrap: str, topics: list[str]) -> dict[str, dict[str, str]]:
    admin = _admin(bootstrap)
    try:
        await admin.start()
        return await _configs(admin, topics)
    finally:
        await admin.close()


def describe_topic_configs(bootstrap: str, topics: Iterable[str]) -> dict[str, dict[str, str]]:
    """The effective configuration (defaults included) of each topic, by topic name."""
    names = list(topics)
    if not names:
        return {}
    try:
        return asyncio.run(_describe(bootstrap, names))
    except KafkaError:
        raise
    except Exception as exc:
        raise KafkaError(f"describing topics on {bootstrap} failed: {exc!r}") from exc
