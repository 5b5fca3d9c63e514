"""`socsec demo` on a small world: the whole year through every service, then a second run.

The stack code starts all seven services as processes on the session's Kafka and PostgreSQL
(a private database and topic prefix); the demo runs as the command a user types. The first
run must end with the barometer of every seat and reports for them; the second must repeat
nothing: every step is skipped and the stores hold exactly what they held.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from testenv import service_stack

from socsec.catalog import SERVICES
from socsec.demo.world import MANDATARIES
from socsec.stack.local import StackState

ARGS = ["--employers", "12", "--workers", "160", "--seed", "11", "--pace", "2"]


@pytest.fixture(scope="module")
def demo_stack(infra, tmp_path_factory) -> Iterator[tuple[Path, StackState]]:
    data_dir = tmp_path_factory.mktemp("demo-stack")
    with service_stack(infra, data_dir, SERVICES) as (_, state):
        yield data_dir, state


def _demo(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "socsec", "demo", *ARGS],
        env={**os.environ, "SOCSEC_DATA_DIR": str(data_dir), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=2400,
    )


async def _stored(state: StackState) -> dict[str, int]:
    """How many declarations, periods, DmfA declarations and reports the stores hold."""
    queries = {
        "dimona declarations": ("dimona", "SELECT count(*) FROM declarations"),
        "dimona periods": ("dimona", "SELECT count(*) FROM periods"),
        "dmfa declarations": ("dmfa", "SELECT count(*) FROM declarations"),
        "dmfa anomalies": ("dmfa", "SELECT count(*) FROM anomalies"),
        "batch files": ("batch", "SELECT count(*) FROM file_sets"),
        "reports": ("reports", "SELECT count(*) FROM reports"),
    }
    out = {}
    for label, (service, sql) in queries.items():
        conn = await asyncpg.connect(state.service_database_urls[service])
        try:
            await conn.execute(f'SET search_path TO "{service}"')
            out[label] = int(await conn.fetchval(sql))
        finally:
            await conn.close()
    return out


@pytest.mark.timeout(3000)
def test_the_demo_year_then_a_second_run_that_repeats_nothing(demo_stack) -> None:
    data_dir, state = demo_stack
    first = _demo(data_dir)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    out = first.stdout
    assert "quality barometer 2025" in out
    # Every seat of the world is in the barometer, with a year score.
    barometer = out[out.index("quality barometer 2025") :]
    for _, _, seat, _, _, _ in MANDATARIES:
        line = next(ln for ln in barometer.splitlines() if seat in ln)
        assert any(band in line for band in ("GOOD", "LESS_GOOD", "BAD")), line
    [journal_path] = (data_dir / "demo").glob("journal-*.json")
    journal = json.loads(journal_path.read_text())["steps"]
    assert journal["dimona-2025-1-in"]["A"] > 0
    assert journal["crosscheck-2025"]["disagreements"] == 0
    stored = asyncio.run(_stored(state))
    assert stored["dimona declarations"] > 150 and stored["dmfa declarations"] > 30
    assert stored["reports"] > len(MANDATARIES) * 4  # domain reports of every seat

    second = _demo(data_dir)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    assert "✓" not in second.stdout  # no step ran again
    assert second.stdout.count("done in an earlier run") == len(journal)
    assert asyncio.run(_stored(state)) == stored
