"""Helpers of the kit tests: worker processes, the kit_effects table and the command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

WORKER = Path(__file__).with_name("worker.py")
TOPIC = "dimona.declarations.v1"


class Worker:
    """A worker process; ``kill()`` is SIGKILL, ``stop()`` a clean SIGTERM."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._out,
        )

    def wait_ready(self, timeout: float = 60) -> Worker:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.strip() == b"ready":
                return self
            if self.proc.poll() is not None:
                break
        raise AssertionError(f"worker did not start; log:\n{self.log.read_text()[-3000:]}")

    def wait_exit(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()


@pytest.fixture
def workers(env, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(*args: str, bootstrap: str | None = None, ready: bool = True) -> Worker:
        process_env = env.process_env("dimona")
        process_env["KIT_CRASH_MARKER"] = str(tmp_path / "crash.marker")
        if bootstrap:
            process_env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        worker = Worker(list(args), process_env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker.wait_ready() if ready else worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
async def db(env) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the dimona role, with the kit's tables and the test's own."""
    from socsec.kit import migrator

    await migrator.migrate(env.dsns["dimona"], "dimona", "socsec.dimona.migrations")
    conn = await env.connect("dimona")
    await conn.execute(
        """CREATE TABLE kit_effects (
               id bigserial PRIMARY KEY, event_id uuid NOT NULL, key text, seq int NOT NULL);
           CREATE TABLE kit_fixes (key text PRIMARY KEY);"""
    )
    yield conn
    await conn.close()


async def eventually(check: Callable[[], object], timeout: float = 30, what: str = "") -> object:
    """Poll an async check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = await check()  # type: ignore[misc]
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last={last!r}")


def run_cli(env, *args: str, data_dir: Path, **variables: str) -> str:
    """``socsec ARGS --data-dir DATA_DIR`` as a separate process, as an operator runs it, on
    the test's Kafka and topic prefix (plus ``variables``); its output, once it succeeded."""
    process_env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": env.bootstrap,
        "SOCSEC_TOPIC_PREFIX": env.prefix,
        "COLUMNS": "250",
        **variables,
    }
    result = subprocess.run(
        [sys.executable, "-m", "socsec", *args, "--data-dir", str(data_dir)],
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
