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
    role: str = Field(
        default="all",
        pattern="^(all|api|processor)$",
        description="What this process runs: all (the REST API and the processor), api (the "
        "REST API only) or processor (the Kafka consumers, the outbox relay and the periodic "
        "jobs; HTTP serves only health, readiness and metrics). An api process needs a "
        "processor process of the same service beside it.",
    )
    outbox_linger_ms: float = Field(
        default=20.0,
        ge=0,
        description="The outbox relay waits this long after being woken, so that events "
        "committed meanwhile go in the same batch (fewer statements and Kafka requests).",
    )
    processor_fetch_wait_ms: int = Field(
        default=100,
        ge=0,
        description="The processor's fetches of dimona.declarations.v1 wait this long for "
        "more declarations (0: answer at once): larger batches, fewer transactions and "
        "offset commits.",
    )
    definitive_sweep_seconds: float = Field(
        default=60.0, description="How often periods past their contest window become definitive."
    )
