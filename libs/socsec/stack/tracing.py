"""The tracing dashboard of the local stack: a Zipkin server fed over OTLP, no Docker.

Two processes, both bound to 127.0.0.1:

- ``zipkin``: the Zipkin server from its executable jar on Maven Central (resolved once by
  ``mvn``, deploy/zipkin/pom.xml, into ``~/.cache/socsec/zipkin-<version>/``), with in-memory
  storage: the UI at ``/zipkin/`` and the query API at ``/api/v2/``;
- ``otlp``: :mod:`socsec.stack.otlp_zipkin`, the OTLP/HTTP endpoint the services export to
  (``OTEL_EXPORTER_OTLP_ENDPOINT``), which hands every span to Zipkin.

Traces live as long as the Zipkin process (at most ``max_spans`` spans, oldest dropped).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from socsec.stack import maven, processes
from socsec.stack.processes import ProcessRecord, StackProcessError

__all__ = [
    "ZIPKIN_VERSION",
    "OtlpBridge",
    "TracingError",
    "TracingInfo",
    "ZipkinServer",
    "ensure_zipkin_jar",
]

ZIPKIN_VERSION = "3.5.1"
DEFAULT_ZIPKIN_PORT = 9411
DEFAULT_OTLP_PORT = 4318


class TracingError(StackProcessError):
    """The tracing UI or its OTLP endpoint could not be fetched, started or reached."""


def _zipkin_jar_name(version: str) -> str:
    return f"zipkin-server-{version}-exec.jar"


def default_zipkin_cache(version: str = ZIPKIN_VERSION) -> Path:
    return maven.cache_root() / f"zipkin-{version}"


def ensure_zipkin_jar(
    cache_dir: Path | None = None, version: str = ZIPKIN_VERSION, pom: Path | None = None
) -> Path:
    """The Zipkin server's executable jar, downloaded with Maven the first time."""
    folder = maven.copy_dependencies(
        Path(pom) if pom is not None else maven.deploy_dir() / "zipkin" / "pom.xml",
        Path(cache_dir) if cache_dir is not None else default_zipkin_cache(version),
        _zipkin_jar_name(version),
        properties={"zipkin.version": version},
        what=f"the Zipkin server {version}",
        error=TracingError,
    )
    return folder / _zipkin_jar_name(version)


@dataclass(frozen=True)
class TracingInfo:
    """Where the tracing dashboard answers; kept in stack.json under ``tracing``."""

    ui: str
    api: str
    otlp_endpoint: str

    def to_json(self) -> dict[str, str]:
        return {"ui": self.ui, "api": self.api, "otlp_endpoint": self.otlp_endpoint}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TracingInfo:
        return cls(ui=data["ui"], api=data["api"], otlp_endpoint=data["otlp_endpoint"])

    @classmethod
    def local(cls, zipkin_port: int, otlp_port: int) -> TracingInfo:
        base = f"http://127.0.0.1:{zipkin_port}"
        return cls(
            ui=f"{base}/zipkin/",
            api=f"{base}/api/v2",
            otlp_endpoint=f"http://127.0.0.1:{otlp_port}",
        )


def _wait_http(what: str, url: str, record: ProcessRecord, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not processes.is_alive(record):
            raise TracingError(
                f"{what} (pid {record.pid}) exited while starting; last lines of {log_path}:\n"
                f"{processes.tail(log_path)}"
            )
        try:
            response = httpx.get(url, timeout=3)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise TracingError(
        f"{what} did not answer {url} within {timeout:.0f} s ({last}); "
        f"last lines of {log_path}:\n{processes.tail(log_path)}"
    )


class ZipkinServer:
    """One Zipkin server with in-memory storage, only reachable on 127.0.0.1."""

    def __init__(
        self,
        port: int,
        jar: Path,
        *,
        log_path: Path,
        heap: str = "256m",
        max_spans: int = 200_000,
    ) -> None:
        self.port = port
        self.jar = Path(jar)
        self.log_path = Path(log_path)
        self.heap = heap
        self.max_spans = max_spans

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise TracingError("Java 17 is needed to run Zipkin: apt-get install -y openjdk-17-jre")
        return [
            java, f"-Xmx{self.heap}", "-Xms64m", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true", "-jar", str(self.jar),
            # The listener on loopback only (Zipkin listens on every interface by default).
            "--armeria.ports[0].ip=127.0.0.1", f"--armeria.ports[0].port={self.port}",
            "--armeria.ports[0].protocols[0]=http",
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        """A clean environment: Zipkin reads its options from variables, and some of ours
        would switch on its collectors (``KAFKA_BOOTSTRAP_SERVERS`` starts a Kafka consumer)."""
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "JAVA_HOME", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            STORAGE_TYPE="mem",
            MEM_MAX_SPANS=str(self.max_spans),
            SELF_TRACING_ENABLED="false",
            COLLECTOR_GRPC_ENABLED="false",
            QUERY_LOOKBACK=str(7 * 24 * 3600 * 1000),  # the UI's search window, in ms
        )
        return env

    def start(self) -> ProcessRecord:
        if not self.jar.is_file():
            raise TracingError(f"{self.jar} does not exist; call ensure_zipkin_jar() first")
        return processes.spawn(
            "zipkin", self.argv(), log_path=self.log_path, env=self.env(), cwd=self.jar.parent
        )

    def wait_ready(self, record: ProcessRecord, timeout: float = 90) -> None:
        _wait_http("Zipkin", f"{self.base_url}/health", record, self.log_path, timeout)


class OtlpBridge:
    """The OTLP/HTTP endpoint (:mod:`socsec.stack.otlp_zipkin`) in front of Zipkin."""

    def __init__(self, port: int, zipkin_url: str, *, log_path: Path) -> None:
        self.port = port
        self.zipkin_url = zipkin_url
        self.log_path = Path(log_path)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "socsec.stack.otlp_zipkin",
            "--host", "127.0.0.1", "--port", str(self.port), "--zipkin", self.zipkin_url,
        ]  # fmt: skip

    def start(self) -> ProcessRecord:
        # Its own spans must not be traced: they would loop back into the bridge.
        env = {**os.environ, "OTEL_TRACES_EXPORTER": "none", "OTEL_SDK_DISABLED": "true"}
        return processes.spawn("otlp", self.argv(), log_path=self.log_path, env=env)

    def wait_ready(self, record: ProcessRecord, timeout: float = 30) -> None:
        _wait_http("the OTLP endpoint", f"{self.endpoint}/healthz", record, self.log_path, timeout)
