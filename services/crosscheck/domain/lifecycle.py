"""The life of a mismatch instance (crosscheck.md §3): opened, kept, resolved.

An instance opens when a re-evaluation first finds the triple failing and is resolved when
a later one finds it consistent (or gone); a later failure opens a new instance. What
caused the re-evaluation names who resolved it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from socsec.crosscheck.domain.model import Evaluation, Rule

BRUSSELS = ZoneInfo("Europe/Brussels")


class Trigger(StrEnum):
    """What made the service re-evaluate a triple (§3 re-evaluation triggers)."""

    DIMONA = "DIMONA"  # an accepted IN, OUT, UPDATE or CANCEL changed a period
    DMFA_ORIGINAL = "DMFA_ORIGINAL"  # the accepted original of the quarter arrived
    DMFA_UPDATE = "DMFA_UPDATE"  # an accepted modification (DMWA)
    EX_OFFICIO = "EX_OFFICIO"  # a declaration drawn up or corrected by the NSSO
    WORKER_REGISTER = "WORKER_REGISTER"  # an INSZ change (BIS replaced by national number)


class ResolvedBy(StrEnum):
    """Who corrected the side that made the triple consistent again."""

    DMFA_UPDATE = "DMFA_UPDATE"
    EX_OFFICIO = "EX_OFFICIO"
    DIMONA = "DIMONA"
    WORKER_REGISTER = "WORKER_REGISTER"


def resolved_by(trigger: Trigger) -> ResolvedBy:
    """The resolution a re-evaluation caused by ``trigger`` records. An original cannot
    resolve anything (nothing is evaluated before it); should one replace another, it
    counts as a DmfA correction."""
    if trigger == Trigger.DIMONA:
        return ResolvedBy.DIMONA
    if trigger == Trigger.EX_OFFICIO:
        return ResolvedBy.EX_OFFICIO
    if trigger == Trigger.WORKER_REGISTER:
        return ResolvedBy.WORKER_REGISTER
    return ResolvedBy.DMFA_UPDATE


@dataclass(frozen=True, slots=True)
class OpenMismatch:
    """The open instance of a triple, as stored."""

    id: UUID
    counts: dict[Rule, int]
    codes: tuple[str, ...]
    opened_at: datetime


class Change(StrEnum):
    """What a re-evaluation does to the triple's instance."""

    NONE = "NONE"  # consistent and nothing open, or failing the same way as stored
    OPEN = "OPEN"  # failing, nothing open: a new instance (published)
    UPDATE = "UPDATE"  # still failing, other rules or counts: the open instance follows
    RESOLVE = "RESOLVE"  # consistent (or gone) again: the open instance ends (published)


def transition(current: OpenMismatch | None, evaluation: Evaluation) -> Change:
    """The change a fresh evaluation makes; applying it twice changes nothing more, so a
    repeated evaluation of unchanged data is harmless."""
    if current is None:
        return Change.OPEN if evaluation.failing else Change.NONE
    if not evaluation.failing:
        return Change.RESOLVE
    if evaluation.counts != current.counts or evaluation.codes != current.codes:
        return Change.UPDATE
    return Change.NONE


@dataclass(frozen=True, slots=True)
class Lifetime:
    """How long an instance was open: calendar days (Brussels) as the barometer counts
    them (barometer.md §4), and seconds."""

    days: int
    seconds: int


def lifetime(opened_at: datetime, resolved_at: datetime) -> Lifetime:
    """The lifetime of an instance opened at ``opened_at`` and resolved at ``resolved_at``."""
    days = (resolved_at.astimezone(BRUSSELS).date() - opened_at.astimezone(BRUSSELS).date()).days
    return Lifetime(
        days=max(days, 0), seconds=max(int((resolved_at - opened_at).total_seconds()), 0)
    )
