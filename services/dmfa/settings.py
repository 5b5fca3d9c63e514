"""Settings of the dmfa service (environment variables, ``SOCSEC_`` prefix).

Every "default, configurable" value of dmfa.md lives here or in the versioned tables
document (``tables_path``); none is a literal in the rules.
"""

from __future__ import annotations

from pydantic import Field

from socsec.kit.settings import ServiceSettings


class DmfASettings(ServiceSettings):
    service_name: str = "dmfa"
    http_port: int = 8104

    tables_path: str | None = Field(
        default=None,
        description="JSON document of the rate, quota, worker-code and priority tables; "
        "empty = the one shipped with the service (socsec/dmfa/tables.json).",
    )
    contribution_tolerance_cents: int = Field(default=100, ge=0)
    days_tolerance: int = Field(default=0, ge=0, description="Whole days, 90015-096.")
    hours_tolerance: int = Field(default=0, ge=0, description="Hundredths of hours, 00064-032.")
    line_max_daily_hours: int = Field(
        default=11,
        ge=1,
        le=24,
        description="90012-260: hours of a worker line above this many per Monday-Saturday "
        "day of the quarter (default interpretation).",
    )
    prescription_years: int = 3
    prescription_margin_days: int = Field(default=10, ge=0)
    noss_check_enabled: bool = True
    unknown_inss_policy: str = Field(default="accept", pattern="^(accept|refuse)$")
    max_p_line_share: float | None = Field(
        default=None, ge=0, le=1, description="Diagnosis 4 above this share (off when empty)."
    )
    max_missing_dimona_share: float | None = Field(
        default=None, ge=0, le=1, description="Diagnosis 1 above this share (off when empty)."
    )
    crosscheck_at_processing: bool = Field(
        default=True, description="Add the official Dimona cross-check codes to the NOTI."
    )
    crosscheck_grace_days: int = Field(default=0, ge=0)
    excluded_worker_types: tuple[str, ...] = ("DWD", "STG")

    secretariat_extra_working_days: int = Field(
        default=15, ge=0, description="Extra working days of approved social secretariats."
    )
    saturday_is_working_day: bool = False

    silent_list_working_days: int = Field(
        default=20,
        ge=0,
        description="Missing DmfA listed this many working days after the legal due date.",
    )
    silent_review_months: int = Field(
        default=6,
        ge=1,
        description="Incomplete and inaccurate DmfA are judged this many "
        "months after the end of the quarter.",
    )
    incomplete_threshold: float = Field(default=0.05, gt=0, le=1)
    inaccurate_threshold: float = Field(default=0.05, gt=0)
    silent_lookback_quarters: int = Field(
        default=8, ge=1, description="Quarters the periodic silent-employer job looks at."
    )
    silent_check_seconds: float = Field(
        default=300.0, gt=0, description="How often the silent-employer job runs."
    )

    notification_lines_per_event: int = Field(
        default=500,
        ge=1,
        description="Worker lines per notification event (Kafka messages "
        "stay well under the broker's 1 MiB limit).",
    )
