"""Settings of the reports service (environment variables, ``SOCSEC_`` prefix).

The defaults of reports.md ("Defaults to make configurable") live here. Tuples and maps read
JSON from the environment, e.g. ``SOCSEC_REPORTS_EXTRA_CLOSED_DAYS='["2026-12-24"]'``.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from socsec.kit.calendar import WorkingDays
from socsec.kit.settings import ServiceSettings
from socsec.reports.domain.annual import Bands
from socsec.reports.domain.deadlines import ProcedureRules


class ReportsSettings(ServiceSettings):
    service_name: str = "reports"
    http_port: int = 8107

    reports_reaction_days: int = Field(
        default=15, ge=1, description="Working days to react to a draft, from its receipt."
    )
    reports_answer_days: int = Field(
        default=15, ge=1, description="Working days for the motivated answer, from the reaction."
    )
    reports_saturday_is_working_day: bool = Field(
        default=False, description="Count Saturday as a working day (jour ouvrable)."
    )
    reports_extra_closed_days: tuple[date, ...] = Field(
        default=(), description="Extra closing days (holiday override table)."
    )
    reports_extra_open_days: tuple[date, ...] = Field(
        default=(), description="Days that are working days despite the calendar (corrections)."
    )
    reports_automatic_final: bool = Field(
        default=True, description="The draft becomes final when the reaction deadline expires."
    )
    reports_issue_draft_automatically: bool = Field(
        default=True,
        description="Issue the draft as soon as a domain score is final (or the year is "
        "complete); otherwise the NSSO issues it over the API.",
    )
    reports_default_language: str = Field(
        default="fr",
        pattern="^(fr|nl)$",
        description="Language of a report whose secretariat the registry has not told yet.",
    )
    reports_domain_weights: dict[str, float] = Field(
        default_factory=lambda: {d: 1.0 for d in ("S", "T", "F", "AP", "ANP", "C")},
        description="W_d of the year result (barometer.md §5).",
    )
    reports_band_good: float = Field(default=80.0, description="A score at least this is good.")
    reports_band_less_good: float = Field(
        default=60.0, description="A score at least this (and below good) is less good."
    )
    reports_global_start_month_day: str = Field(
        default="09-30",
        pattern=r"^\d{2}-\d{2}$",
        description="global_report_start_date: in year N+1, the global report of N starts "
        "drafting on this day even if annual reports are missing (listed).",
    )
    reports_global_include_providers: bool = Field(
        default=False, description="Include non-approved providers in the global evaluation."
    )
    reports_timer_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often expired deadlines are looked for."
    )
    reports_timer_batch: int = Field(
        default=100, ge=1, description="Expired deadlines handled per run of the deadline job."
    )

    def procedure_rules(self) -> ProcedureRules:
        """The procedure defaults as the domain takes them."""
        return ProcedureRules(
            working_days=WorkingDays(
                saturday_is_working_day=self.reports_saturday_is_working_day,
                extra_closed=self.reports_extra_closed_days,
                extra_open=self.reports_extra_open_days,
            ),
            reaction_days=self.reports_reaction_days,
            answer_days=self.reports_answer_days,
            automatic_final=self.reports_automatic_final,
        )

    def bands(self) -> Bands:
        return Bands(good=self.reports_band_good, less_good=self.reports_band_less_good)

    def global_start_date(self, year: int) -> date:
        """``global_report_start_date`` of the global report of ``year``."""
        month, day = (int(x) for x in self.reports_global_start_month_day.split("-"))
        return date(year + 1, month, day)
