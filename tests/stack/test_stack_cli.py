"""`socsec stack up --services`, `status` and `down`, as an operator runs them.

The stack under test uses the session's Kafka and PostgreSQL through KAFKA_BOOTSTRAP_SERVERS
and DATABASE_URL (the external-infrastructure mode) and starts all seven services on free
ports in the background.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from socsec.catalog import SERVICES


def socsec(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "socsec", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_stack_up_with_services_status_and_down_leaves_nothing_behind(infra, tmp_path: Path):
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "DATABASE_URL": infra.admin_url,
        "OTEL_TRACES_EXPORTER": "none",
    }
    data_dir = tmp_path / "stack"
    up = socsec("stack", "up", "--services", "--free-ports", "--data-dir", str(data_dir), env=env)
    assert up.returncode == 0, up.stderr + up.stdout
    try:
        state = json.loads((data_dir / "stack.json").read_text())
        assert state["kafka_bootstrap"] == infra.kafka_bootstrap
        assert set(state["services"]) == set(SERVICES)
        pids = {name: state["processes"][name]["pid"] for name in SERVICES}

        status = socsec("stack", "status", "--json", "--data-dir", str(data_dir), env=env)
        assert status.returncode == 0, status.stderr
        components = json.loads(status.stdout)["components"]
        assert components["kafka"]["healthy"] and components["postgres"]["healthy"]
        for name in SERVICES:
            assert components[name]["healthy"], (name, components[name])
            assert components[name]["checks"] == {"postgres": True, "kafka": True}

        for name, base in state["services"].items():
            docs = httpx.get(f"{base}/openapi.json", timeout=5).json()
            assert docs["info"]["title"] == f"socsec {name}"
            metrics = httpx.get(f"{base}/metrics", timeout=5).text
            assert "http_requests_total" in metrics
    finally:
        down = socsec("stack", "down", "--data-dir", str(data_dir), env=env)
    assert down.returncode == 0, down.stderr
    for name, pid in pids.items():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie", name
    # External servers are left alone.
    assert "kafka" not in down.stdout and "postgres" not in down.stdout


def test_run_one_service_in_the_foreground_stops_on_sigterm(infra, env, tmp_path: Path):
    from socsec.stack.processes import free_port

    port = free_port()
    process_env = {**env.process_env("scoring"), "SOCSEC_HTTP_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "socsec", "run", "scoring", "--data-dir", str(tmp_path / "none")],
        env=process_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,  # a few log lines: read once the process has ended
    )
    try:
        import time

        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, proc.stderr
        assert ready.json()["service"] == "scoring"
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal for the parent to see.
    assert proc.returncode in (0, -15)
    assert b"Application shutdown complete" in stderr
