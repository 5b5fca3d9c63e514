"""Payloads of the reports service's topic ``reports.events.v1`` (key: report id).

Every state transition of a barometer report is published once, in the transaction that
made it (reports.md §3 and §4): a domain report per seat, control domain and period, the
annual report per seat and year, and the global evaluation report per year. Acts that keep
the state (a concertation meeting, a comment, a late reaction, an overdue answer) are
published too, with ``from_state == to_state``, so a reader of the topic sees the whole
procedure. An ``ANSWER_OVERDUE`` event is the alert to NSSO management.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from socsec.contracts.events import register

_FROZEN = ConfigDict(extra="forbid", frozen=True)

REPORT_STATES = (
    "^(COLLECTING|READY_FOR_DRAFT|DRAFT_SENT|REACTION_RECEIVED|FINAL_SENT"
    "|WAITING|DRAFTING|IN_CONSULTATION|ADOPTED|DISCUSSED)$"
)


class ReportTransitioned(BaseModel):
    """One transition (or state-keeping act) of a report's procedure."""

    model_config = _FROZEN
    report_id: UUID = Field(description="Stable id of the report.")
    kind: str = Field(pattern="^(DOMAIN|ANNUAL|GLOBAL)$")
    provider: str | None = Field(
        default=None, description="The secretariat or provider (mandatary id); None for GLOBAL."
    )
    provider_kind: str | None = Field(
        default=None, pattern="^(APPROVED_SECRETARIAT|SERVICE_PROVIDER)$"
    )
    seat: str | None = Field(default=None, description="The seat id; None for GLOBAL.")
    domain: str | None = Field(
        default=None, pattern="^(S|T|F|AP|ANP|C)$", description="Control domain (DOMAIN only)."
    )
    period: str = Field(pattern=r"^\d{4}[1-4]?$", description="YYYYQ or YYYY.")
    language: str = Field(pattern="^(fr|nl)$", description="Language of the documents.")
    event: str = Field(
        description="What happened: SCORE_FINAL, DRAFT_ISSUED, CONCERTATION_HELD, ACCEPTED, "
        "CONTESTED, REACTION_DEADLINE_EXPIRED, LATE_REACTION, ANSWERED, ANSWER_OVERDUE, "
        "COMMENTED, YEAR_COMPLETE, DRAFTING_STARTED, CONSULTATION_OPENED, ADOPTED, DISCUSSED."
    )
    from_state: str = Field(pattern=REPORT_STATES)
    to_state: str = Field(pattern=REPORT_STATES)
    at: datetime = Field(description="Business time of the transition.")
    actor: str = Field(description="Who acted: the organisation, the NSSO, or 'system'.")
    draft_received_on: date | None = Field(
        default=None, description="Day the draft was available in the secretariat's inbox."
    )
    reaction_deadline: date | None = Field(
        default=None, description="Last day (23:59:59 Europe/Brussels) to react."
    )
    reaction_received_on: date | None = None
    answer_deadline: date | None = Field(
        default=None, description="Last day for the NSSO's motivated answer."
    )
    score: float | None = Field(
        default=None, description="Score of the draft (domain score or the annual total)."
    )
    final_score: float | None = Field(
        default=None, description="Score of the final report (revised or the draft's)."
    )
    band: str | None = Field(default=None, pattern="^(GOOD|LESS_GOOD|BAD)$")
    flags: tuple[str, ...] = Field(
        default=(), description="Lasting marks of the report: ANSWER_OVERDUE, LATE_REACTION."
    )
    document_version: int | None = Field(
        default=None, description="The document version this transition produced, if any."
    )


register(
    event_type="ReportTransitioned",
    topic="reports.events.v1",
    model=ReportTransitioned,
    description="A barometer report (domain, annual or global) moved in its procedure: draft "
    "issued, accepted, contested, final by deadline expiry, answered, answer overdue, late "
    "reaction, global report drafted, consulted, adopted or discussed.",
)
