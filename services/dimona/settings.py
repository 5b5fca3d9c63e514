"""Settings of the dimona service (environment variables, ``SOCSEC_`` prefix)."""

from __future__ import annotations

from pydantic import Field

from socsec.kit.settings import ServiceSettings


class DimonaSettings(ServiceSettings):
    service_name: str = "dimona"
    http_port: int = 8103

    unknown_ssin_policy: str = Field(
        default="identify",
        pattern="^(identify|accept)$",
        description="A valid INSZ the worker register does not know: identify (S) or accept.",
    )
    student_quota_hours_from_2025: int = Field(
        default=650, description="Student quota per calendar year from 2025 (hours)."
    )
    contest_window_working_days: int = 5
    saturday_is_working_day: bool = False
    definitive_sweep_seconds: float = Field(
        default=60.0, description="How often periods past their contest window become definitive."
    )
