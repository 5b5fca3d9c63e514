"""The evaluator: drains the queue of touched triples, one instance at a time.

The consumers write the read models and queue what a change touches, in their own
transactions; the evaluator judges the queued triples in transactions of its own, after
those commit. Several service instances may run: they compete for a PostgreSQL advisory
lock and only the holder evaluates, so evaluations never interleave and the last
evaluation of a triple sees every committed change (the same scheme as the outbox relay).
A trigger on ``touches`` sends ``NOTIFY`` when a consumer's transaction commits; the
evaluator listens and wakes at once, and falls back to a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from socsec.crosscheck import handlers
from socsec.crosscheck import repository as repo
from socsec.kit.db import Database

log = logging.getLogger(__name__)


@dataclass
class EvaluatorStats:
    touches: int = 0
    triples: int = 0
    opened: int = 0
    updated: int = 0
    resolved: int = 0

    def add(self, report: handlers.EvaluationReport) -> None:
        self.touches += report.touches
        self.triples += report.triples
        self.opened += report.opened
        self.updated += report.updated
        self.resolved += report.resolved


class Evaluator:
    """Judges queued triples while the service runs (see the module docstring)."""

    def __init__(
        self, db: Database, deps: handlers.Deps, *, batch: int = 2000, idle_poll_s: float = 1.0
    ) -> None:
        self.db = db
        self.deps = deps
        self.batch = batch
        self.idle_poll_s = idle_poll_s
        self.stats = EvaluatorStats()
        self.channel = f"socsec_crosscheck_touches_{db.schema}"
        self._wake = asyncio.Event()

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def drain_once(self) -> handlers.EvaluationReport:
        """One transaction: up to ``batch`` queued touches judged and applied."""
        async with self.db.transaction() as conn:
            report = await handlers.evaluate_pending(conn, self.deps, self.batch)
        self.stats.add(report)
        return report

    async def drain(self) -> EvaluatorStats:
        """Until the queue is empty (command line, tests and benchmarks)."""
        drained = EvaluatorStats()
        while True:
            report = await self.drain_once()
            drained.add(report)
            if report.touches == 0:
                return drained

    async def run(self) -> None:
        """Lead and evaluate until cancelled (``ServiceRuntime.every`` restarts it after an
        error)."""
        async with self.db.connection() as conn:
            # Another instance evaluates while it holds the lock; take over when it goes.
            while not await repo.try_lead(conn, self.db.schema):  # noqa: ASYNC110
                await asyncio.sleep(2.0)
            await conn.add_listener(self.channel, self._notified)
            try:
                while True:
                    self._wake.clear()
                    report = await self.drain_once()
                    if report.touches < self.batch:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self.idle_poll_s)
            finally:
                with contextlib.suppress(Exception):
                    await conn.remove_listener(self.channel, self._notified)
                    await repo.stop_leading(conn, self.db.schema)
