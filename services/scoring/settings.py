"""Settings of the scoring service (environment variables, ``SOCSEC_`` prefix)."""

from __future__ import annotations

from pydantic import Field

from socsec.kit.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    service_name: str = "scoring"
    http_port: int = 8106

    scoring_catalogue_path: str | None = Field(
        default=None,
        description="The indicator catalogue (YAML); empty = the shipped default "
        "(services/scoring/catalogue/default.yaml).",
    )
    scoring_completion_poll_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often the completion job looks for periods whose scores became final.",
    )
    scoring_max_ledger_rows: int = Field(
        default=200_000, ge=1, description="Rows one ledger CSV import may hold."
    )
