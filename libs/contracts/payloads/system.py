"""Payloads of the ``system`` topics: what the whole stack shares about itself."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from socsec.contracts.events import register


class ClockChanged(BaseModel):
    """The business clock was set, advanced, frozen or reset; every service now reads it.

    Business time is wall time plus ``offset_seconds``, unless ``frozen_at`` stops it at
    one instant. The fields mirror ``socsec.kit.clock.ClockState.to_json``, the form the
    clock state is stored in, so the two cannot drift apart unnoticed (a test compares
    them); the defaults are the wall clock.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    offset_seconds: float = Field(
        default=0.0,
        allow_inf_nan=False,
        description="Seconds added to the wall clock (negative goes back); ignored while frozen.",
    )
    # Aware only: a naive instant would mean a different time in each service's zone.
    frozen_at: AwareDatetime | None = Field(
        default=None,
        description="The instant the clock is stopped at, with its UTC offset; null when it runs.",
    )


register(
    event_type="ClockChanged",
    topic="system.clock.v1",
    model=ClockChanged,
    description=(
        "The business clock of the whole stack changed (socsec clock set/advance/reset). "
        "The topic is compacted with one key, so its last record is the current clock."
    ),
)
