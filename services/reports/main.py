"""Wiring of the reports service. Nothing runs at import time."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime
from socsec.reports import api, consumers, handlers
from socsec.reports import repository as repo
from socsec.reports.settings import ReportsSettings

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Barometer reports: drafts, reactions, motivated answers, final, annual and global reports."
)


def build_runtime(settings: ReportsSettings, **runtime_options: Any) -> ServiceRuntime:
    """The runtime with the service's dependencies (the secretariats' mandataries come from
    the registry's read model, for the API's access checks)."""
    runtime = ServiceRuntime(
        settings,
        migrations_package="socsec.reports.migrations",
        authorization=True,
        **runtime_options,
    )
    runtime.state["reports_deps"] = handlers.Deps(
        outbox=runtime.outbox,
        clock=runtime.clock,
        rules=settings.procedure_rules(),
        bands=settings.bands(),
        weights=dict(settings.reports_domain_weights),
        default_language=settings.reports_default_language,
        issue_automatically=settings.reports_issue_draft_automatically,
        include_providers=settings.reports_global_include_providers,
        global_start=settings.global_start_date,
    )
    return runtime


class DeadlineJob:
    """Acts on every expired deadline on the business clock: the automatic final report,
    the overdue answer, the global report's start date. The timers live in PostgreSQL, so a
    restart loses none; each report is handled in its own transaction under its row lock,
    so several instances running the job act once."""

    def __init__(self, runtime: ServiceRuntime, batch: int) -> None:
        self.runtime = runtime
        self.batch = batch

    async def run(self) -> int:
        deps: handlers.Deps = self.runtime.state["reports_deps"]
        db = self.runtime.db
        acted = 0
        while True:
            async with db.connection() as conn:
                due = await repo.due_timer_reports(conn, deps.clock.now(), self.batch)
            round_acted = 0
            for report_id in due:
                async with db.transaction() as conn:
                    round_acted += await handlers.expire_report(conn, deps, report_id)
            acted += round_acted
            # A full batch that another instance is handling is left to it.
            if len(due) < self.batch or round_acted == 0:
                break
        async with db.transaction() as conn:
            acted += await handlers.start_due_global_reports(conn, deps)
        return acted


def create_app(settings: ReportsSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or ReportsSettings(**overrides)
    runtime = build_runtime(settings)
    job = DeadlineJob(runtime, settings.reports_timer_batch)
    runtime.state["reports_deadline_job"] = job
    runtime.every(settings.reports_timer_poll_seconds, job.run, "deadlines")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec reports",
        description=DESCRIPTION,
        routers=[api.router],
    )
