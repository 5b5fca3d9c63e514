"""The business clock: set and advanced by an operator, seen by every service."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from kit.conftest import eventually

from socsec.kit.clock import BRUSSELS, ClockState, FixedClock, parse_duration, parse_instant
from socsec.kit.runtime import ServiceRuntime


def belgian_today() -> date:
    return datetime.now(BRUSSELS).date()


def clock_cli(env, *args: str, tmp_path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "socsec", "clock", *args, "--data-dir", str(tmp_path / "none")],
        env={
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": env.bootstrap,
            "SOCSEC_TOPIC_PREFIX": env.prefix,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_operator_sets_and_advances_the_clock_every_service_sees_it(env, tmp_path):
    runtimes = [
        ServiceRuntime(env.settings(name), configure_logging=False, run_relay=False)
        for name in ("dimona", "reports")
    ]
    for runtime in runtimes:
        await runtime.start()
    try:
        assert all(r.clock.today() == belgian_today() for r in runtimes)

        out = clock_cli(env, "set", "2025-05-01", "--frozen", tmp_path=tmp_path)
        assert "2025-05-01 09:00:00" in out and "frozen" in out

        async def all_on(day: date) -> bool:
            return all(r.clock.today() == day for r in runtimes)

        await eventually(lambda: all_on(date(2025, 5, 1)), timeout=10, what="2025-05-01 everywhere")

        clock_cli(env, "advance", "15d", tmp_path=tmp_path)
        await eventually(lambda: all_on(date(2025, 5, 16)), timeout=10, what="15 days later")
        assert "2025-05-16 09:00:00" in clock_cli(env, "show", tmp_path=tmp_path)

        clock_cli(env, "reset", tmp_path=tmp_path)
        await eventually(lambda: all_on(belgian_today()), timeout=10, what="back to the wall clock")
    finally:
        for runtime in runtimes:
            await runtime.stop()

    # A service started later reads the clock from the compacted topic at start.
    clock_cli(env, "set", "2026-01-02", "--frozen", tmp_path=tmp_path)
    late = ServiceRuntime(env.settings("scoring"), configure_logging=False, run_relay=False)
    await late.start()
    try:
        assert late.clock.today() == date(2026, 1, 2)
    finally:
        await late.stop()


def test_running_simulation_clock_keeps_ticking_from_the_set_instant() -> None:
    wall = parse_instant("2026-11-22T10:00:00")
    state = ClockState().set_to(parse_instant("2025-05-01"), wall=wall, frozen=False)
    assert state.business_now(wall + timedelta(hours=2)) == parse_instant("2025-05-01T11:00:00")
    assert state.advanced(timedelta(days=1)).business_now(wall) == parse_instant("2025-05-02")


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("15d", timedelta(days=15)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90m", timedelta(minutes=90)),
        ("-3d", timedelta(days=-3)),
    ],
)
def test_durations(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "15", "d", "15x", "1d x"])
def test_bad_durations_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"use e\.g\. 15d"):
        parse_duration(text)


def test_business_date_is_the_belgian_date() -> None:
    # 23:30 UTC on 31 March is already 1 April in Brussels (summer time).
    clock = FixedClock(parse_instant("2025-04-01T01:30:00"))
    assert clock.now().hour == 23
    assert clock.today() == date(2025, 4, 1)
