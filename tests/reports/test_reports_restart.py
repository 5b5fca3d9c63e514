"""A deadline survives a restart: the reports service runs as its own process, is stopped in
the middle of the reaction window, the business clock moves past the deadline while it is
down, and the started service sends the final report by itself (timers live in
PostgreSQL, not in memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dimona.dimona_fixtures import publish_reference_data, set_clock
from reports.reports_fixtures import (
    EXEMPLUM,
    domain_score,
    eventually,
    publisher,
    report_events,
    transitions,
)

from socsec.stack.processes import free_port


class ServiceProcess:
    """``socsec run reports`` in a child process, as an operator runs it."""

    def __init__(self, env, log: Path) -> None:
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        # An empty data folder: the test's servers come from the environment, never from a
        # local stack someone runs in the default folder.
        no_stack = log.parent / "no-stack"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "socsec", "run", "reports", "--data-dir", str(no_stack)],
            env={
                **env.process_env("reports"),
                "SOCSEC_HTTP_PORT": str(free_port()),
                "SOCSEC_REPORTS_TIMER_POLL_SECONDS": "0.2",
                "SOCSEC_LOG_JSON": "false",
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode


async def test_restart_in_the_middle_of_the_reaction_window(env, tmp_path: Path) -> None:
    await publish_reference_data(env)
    await set_clock(env, "2026-03-02T09:00:00")
    scoring = await publisher(env, "scoring")
    service = ServiceProcess(env, tmp_path / "reports-1.log")
    conn = await env.connect("reports")
    try:

        async def state(wanted: str):
            async def check():
                try:
                    row = await conn.fetchrow(
                        "SELECT id, state FROM reports WHERE kind = 'DOMAIN' AND seat = $1",
                        "S-EXEMPLUM-BXL",
                    )
                except Exception:  # the service has not created its schema yet
                    return None
                return row if row and row["state"] == wanted else None

            return await eventually(check, 60, f"the report in {wanted}")

        async with scoring.db.transaction() as tx:
            await scoring.outbox.publish(
                tx,
                "scoring.scores.v1",
                event_type="DomainScoreFinal",
                key="S-EXEMPLUM-BXL",
                payload=domain_score(EXEMPLUM, "S", "20261", 81.0),
            )
        drafted = await state("DRAFT_SENT")
        report_id = str(drafted["id"])
        timer = await conn.fetchrow(
            "SELECT * FROM deadline_timers WHERE report_id = $1", drafted["id"]
        )
        assert (str(timer["deadline"]), timer["fired_at"]) == ("2026-03-23", None)

        # Ten days into the window the service stops.
        await set_clock(env, "2026-03-12T09:00:00")
        service.stop()
        assert "Application shutdown complete" in (tmp_path / "reports-1.log").read_text()

        # While it is down the deadline passes; nothing acts on it.
        await set_clock(env, "2026-03-24T08:00:00")
        assert (await conn.fetchrow("SELECT state FROM reports"))["state"] == "DRAFT_SENT"

        # Started again, it finds the expired timer in PostgreSQL and sends the final report.
        service = ServiceProcess(env, tmp_path / "reports-2.log")
        final = await state("FINAL_SENT")
        assert str(final["id"]) == report_id
        row = await conn.fetchrow("SELECT * FROM reports WHERE id = $1", final["id"])
        assert (str(row["final_sent_on"]), row["final_score"]) == ("2026-03-24", 81.0)
        fired = await conn.fetchval(
            "SELECT fired_at FROM deadline_timers WHERE report_id = $1", final["id"]
        )
        assert fired is not None
        events = await report_events(env, report_id, 3)
        assert transitions(events)[-1] == ("REACTION_DEADLINE_EXPIRED", "DRAFT_SENT", "FINAL_SENT")
        assert events[-1]["at"].startswith("2026-03-24")
    finally:
        service.stop()
        await conn.close()
        await scoring.stop()
