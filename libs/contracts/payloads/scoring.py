"""Payloads of the scoring service's topic ``scoring.scores.v1`` (key: seat id).

A :class:`DomainScoreFinal` is published once per seat, control domain and period, when every
partial control of that domain for the period is in (barometer.md §4, reports.md §1.3): the
quarter's evaluation date has passed on the business clock and the service has processed all
its inputs up to it. The reports service starts its draft report from it. A published score
is never rewritten: a new catalogue version applies to later periods only.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from socsec.contracts.events import register

_FROZEN = ConfigDict(extra="forbid", frozen=True)

DOMAIN_PATTERN = "^(S|T|F|AP|ANP|C)$"
PERIOD_PATTERN = r"^\d{4}[1-4]?$"


class IndicatorValue(BaseModel):
    """One indicator of the catalogue as it entered the score."""

    model_config = _FROZEN
    code: str = Field(description="Indicator code of the catalogue, e.g. S1, F3.")
    label_fr: str = Field(description="Label in French.")
    label_nl: str = Field(description="Label in Dutch.")
    label_en: str = Field(description="Label in English.")
    numerator: float = Field(description="Failing units (wpu) or failures n_i (wfr).")
    denominator: int = Field(ge=0, description="Population N (wpu) or N_i (wfr).")
    rate: float | None = Field(default=None, description="numerator / denominator; None if 0.")
    weight: float = Field(description="Weight of the indicator in the catalogue version.")


class BranchScore(BaseModel):
    """Informative breakdown of a seat's score per seat or branch (barometer.md §2)."""

    model_config = _FROZEN
    unit: str = Field(description="The seat id or the branch id.")
    kind: str = Field(pattern="^(SEAT|BRANCH)$")
    population: int = Field(ge=0)
    score: float | None = Field(default=None, description="None when not applicable.")


class ScoreFinding(BaseModel):
    """One irregularity behind the score: the draft report's observations list it."""

    model_config = _FROZEN
    indicator: str = Field(description="The indicator the unit failed under (its heaviest).")
    employer_nsso: str | None = Field(default=None, description="The employer concerned.")
    subject: str = Field(
        description="What failed: an employer, a worker line (pseudonymised INSZ), an "
        "anomaly or mismatch id, a ledger item."
    )
    detail: str = Field(description="Human-readable reason, e.g. 'NO_DMFA', 'paid 12 days late'.")
    weight: float = Field(description="The weight the unit counted with.")


class DomainScoreFinal(BaseModel):
    """The final score of one control domain for one seat and period."""

    model_config = _FROZEN
    score_id: UUID = Field(description="Stable id: uuid5 of (seat, domain, period).")
    provider: str = Field(description="The secretariat or provider (mandatary id).")
    provider_kind: str = Field(pattern="^(APPROVED_SECRETARIAT|SERVICE_PROVIDER)$")
    seat: str = Field(description="The seat id the score is for.")
    domain: str = Field(pattern=DOMAIN_PATTERN, description="S, T, F, AP, ANP or C.")
    period: str = Field(pattern=PERIOD_PATTERN, description="YYYYQ (quarterly) or YYYY (yearly).")
    period_kind: str = Field(pattern="^(QUARTER|YEAR)$")
    applicable: bool = Field(description="False when the population is empty (no score).")
    score: float | None = Field(
        default=None, ge=0, le=100, description="In [0, 100], one decimal, rounded half up."
    )
    band: str | None = Field(
        default=None, pattern="^(GOOD|LESS_GOOD|BAD)$", description="Band of the score."
    )
    catalogue_version: str = Field(description="The indicator catalogue version used.")
    formula_id: str = Field(description="wpu, wfr, anomalies or crosscheck.")
    components: dict[str, float] = Field(
        default_factory=dict, description="Named parts of the score, e.g. s_drop, s_life."
    )
    indicators: tuple[IndicatorValue, ...] = ()
    population: int = Field(ge=0, description="Units the score is computed over.")
    branch_breakdown: tuple[BranchScore, ...] = ()
    findings: tuple[ScoreFinding, ...] = Field(
        default=(), description="The irregularities found (at most 500, heaviest first)."
    )
    findings_total: int = Field(default=0, ge=0, description="All irregularities found.")
    evaluation_date: date = Field(description="When the period became evaluable.")
    computed_at: datetime = Field(description="Business time of the computation.")
    input_snapshot_id: str = Field(
        description="Digest of the facts the score was computed from (recomputable)."
    )


register(
    event_type="DomainScoreFinal",
    topic="scoring.scores.v1",
    model=DomainScoreFinal,
    description="A control domain's score for a secretariat seat and period is final: every "
    "partial control is in. The reports service issues the draft report from it.",
)
