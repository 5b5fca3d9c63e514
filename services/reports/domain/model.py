"""The report procedure as a state machine over plain values (reports.md §3 and §4).

A :class:`Procedure` is the part of a report the procedure changes: its state, the dates
of receipt and the deadlines, the final score and the lasting flags. Each act is a function
``(procedure, instant, ...) -> list[Step]``; a :class:`Step` is one transition with the
procedure after it. An act that arrives after a deadline that has expired but was not yet
acted on first takes the expiry's steps, so the outcome never depends on when the periodic
deadline job last ran. Refusals are :class:`ProcedureError` with a stable code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from socsec.reports.domain.deadlines import ProcedureRules, day_of, expires_at, on_time


class Kind(StrEnum):
    DOMAIN = "DOMAIN"
    ANNUAL = "ANNUAL"
    GLOBAL = "GLOBAL"


class State(StrEnum):
    # Domain and annual reports (§3).
    COLLECTING = "COLLECTING"
    READY_FOR_DRAFT = "READY_FOR_DRAFT"
    DRAFT_SENT = "DRAFT_SENT"
    REACTION_RECEIVED = "REACTION_RECEIVED"
    FINAL_SENT = "FINAL_SENT"
    # Global evaluation report (§4).
    WAITING = "WAITING"
    DRAFTING = "DRAFTING"
    IN_CONSULTATION = "IN_CONSULTATION"
    ADOPTED = "ADOPTED"
    DISCUSSED = "DISCUSSED"


class Event(StrEnum):
    SCORE_FINAL = "SCORE_FINAL"  # every partial control of the domain is in
    YEAR_COMPLETE = "YEAR_COMPLETE"  # every domain report of the year is final
    DRAFT_ISSUED = "DRAFT_ISSUED"
    CONCERTATION_HELD = "CONCERTATION_HELD"
    ACCEPTED = "ACCEPTED"
    CONTESTED = "CONTESTED"
    REACTION_DEADLINE_EXPIRED = "REACTION_DEADLINE_EXPIRED"
    LATE_REACTION = "LATE_REACTION"
    ANSWERED = "ANSWERED"
    ANSWER_OVERDUE = "ANSWER_OVERDUE"
    COMMENTED = "COMMENTED"
    # Global report.
    YEAR_OPENED = "YEAR_OPENED"
    DRAFTING_STARTED = "DRAFTING_STARTED"
    CONSULTATION_OPENED = "CONSULTATION_OPENED"
    ADOPTED = "ADOPTED"
    DISCUSSED = "DISCUSSED"


class Flag(StrEnum):
    ANSWER_OVERDUE = "ANSWER_OVERDUE"
    LATE_REACTION = "LATE_REACTION"


class Decision(StrEnum):
    """What a secretariat's reaction to a draft says."""

    ACCEPT = "ACCEPT"
    CONTEST = "CONTEST"


class TimerKind(StrEnum):
    REACTION = "REACTION"
    ANSWER = "ANSWER"


class ProcedureError(Exception):
    """An act the procedure refuses; ``code`` is stable, ``conflict`` tells a refusal due to
    the report's state (HTTP 409) from an invalid request (HTTP 400)."""

    def __init__(self, code: str, message: str, *, conflict: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.conflict = conflict


@dataclass(frozen=True)
class Procedure:
    """Where a report stands in its procedure."""

    kind: Kind
    state: State
    score: float | None = None
    final_score: float | None = None
    draft_received_on: date | None = None
    reaction_deadline: date | None = None
    reaction_received_on: date | None = None
    answer_deadline: date | None = None
    answered_on: date | None = None
    final_sent_on: date | None = None
    reacted: bool = False
    flags: frozenset[Flag] = field(default_factory=frozenset)

    @property
    def next_due(self) -> date | None:
        """The deadline running now, if any (the lists sort by it)."""
        if self.state == State.DRAFT_SENT:
            return self.reaction_deadline
        if self.state == State.REACTION_RECEIVED:
            return self.answer_deadline
        return None


@dataclass(frozen=True)
class Step:
    """One transition: the event, the states, the procedure after it and the documents it
    produces (labels, in order)."""

    event: Event
    from_state: State
    to_state: State
    after: Procedure
    at: datetime
    documents: tuple[str, ...] = ()


def _require(p: Procedure, *states: State, act: str) -> None:
    if p.state not in states:
        wanted = " or ".join(states)
        raise ProcedureError("WRONG_STATE", f"cannot {act}: the report is {p.state}, not {wanted}")


def _step(p: Procedure, event: Event, at: datetime, docs: tuple[str, ...] = (), **changes) -> Step:
    after = replace(p, **changes)
    return Step(event, p.state, after.state, after, at, docs)


# -- Domain and annual reports ----------------------------------------------------------


def collecting(kind: Kind, score: float | None) -> Procedure:
    """A domain or annual report whose controls are running (COLLECTING)."""
    if kind == Kind.GLOBAL:
        raise ValueError("a global report has its own states")
    return Procedure(kind=kind, state=State.COLLECTING, score=score)


def ready(p: Procedure, at: datetime, event: Event = Event.SCORE_FINAL) -> list[Step]:
    """COLLECTING -> READY_FOR_DRAFT: the last partial control is done and processed (domain)
    or every domain report of the year is final (annual)."""
    _require(p, State.COLLECTING, act="mark the report ready")
    return [_step(p, event, at, state=State.READY_FOR_DRAFT)]


def issue_draft(p: Procedure, at: datetime, rules: ProcedureRules) -> list[Step]:
    """READY_FOR_DRAFT -> DRAFT_SENT: the draft is in the secretariat's inbox today, the
    reaction deadline runs from that day."""
    _require(p, State.READY_FOR_DRAFT, act="issue the draft")
    received = day_of(at)
    return [
        _step(
            p,
            Event.DRAFT_ISSUED,
            at,
            ("DRAFT",),
            state=State.DRAFT_SENT,
            draft_received_on=received,
            reaction_deadline=rules.reaction_deadline(received),
        )
    ]


def expire(p: Procedure, now: datetime, rules: ProcedureRules) -> list[Step]:
    """What the deadlines that have passed at ``now`` do by themselves: the draft becomes
    final after the reaction deadline; an unanswered reaction is flagged ANSWER_OVERDUE
    after the answer deadline (no automatic final)."""
    if (
        p.state == State.DRAFT_SENT
        and rules.automatic_final
        and p.reaction_deadline is not None
        and now >= expires_at(p.reaction_deadline)
    ):
        return [
            _step(
                p,
                Event.REACTION_DEADLINE_EXPIRED,
                now,
                ("FINAL",),
                state=State.FINAL_SENT,
                final_score=p.score,
                final_sent_on=day_of(now),
            )
        ]
    if (
        p.state == State.REACTION_RECEIVED
        and Flag.ANSWER_OVERDUE not in p.flags
        and p.answer_deadline is not None
        and now >= expires_at(p.answer_deadline)
    ):
        return [_step(p, Event.ANSWER_OVERDUE, now, flags=p.flags | {Flag.ANSWER_OVERDUE})]
    return []


def timers(p: Procedure) -> dict[TimerKind, date]:
    """The deadlines whose expiry must act by itself in this state (persisted as timers)."""
    if p.state == State.DRAFT_SENT and p.reaction_deadline is not None:
        return {TimerKind.REACTION: p.reaction_deadline}
    if (
        p.state == State.REACTION_RECEIVED
        and p.answer_deadline is not None
        and Flag.ANSWER_OVERDUE not in p.flags
    ):
        return {TimerKind.ANSWER: p.answer_deadline}
    return {}


def concertation(p: Procedure, at: datetime, rules: ProcedureRules) -> list[Step]:
    """An optional concertation meeting on the draft: recorded, the clock keeps running."""
    steps = expire(p, at, rules)
    current = steps[-1].after if steps else p
    _require(current, State.DRAFT_SENT, act="record a concertation meeting")
    return [*steps, _step(current, Event.CONCERTATION_HELD, at)]


def react(
    p: Procedure,
    at: datetime,
    decision: Decision,
    arguments: str | None,
    rules: ProcedureRules,
) -> list[Step]:
    """The secretariat's one reaction to a draft.

    On time (at the latest on the reaction deadline): an acceptance makes the draft final, a
    contest with arguments starts the answer deadline. After the deadline the reaction is
    stored as LATE_REACTION and changes nothing (the draft is final by then).
    """
    if decision == Decision.CONTEST and not (arguments and arguments.strip()):
        raise ProcedureError(
            "ARGUMENTS_REQUIRED", "a contest must give its arguments", conflict=False
        )
    if p.kind == Kind.GLOBAL:
        raise ProcedureError("WRONG_KIND", "a global report takes no reaction")
    if p.reacted:
        raise ProcedureError("ALREADY_REACTED", "the draft has already received its reaction")
    if p.state in (State.COLLECTING, State.READY_FOR_DRAFT):
        raise ProcedureError("NO_DRAFT", "no draft has been issued yet")
    steps = expire(p, at, rules)
    current = steps[-1].after if steps else p
    late = p.reaction_deadline is not None and not on_time(at, p.reaction_deadline)
    if current.state == State.FINAL_SENT or late:
        return [
            *steps,
            _step(
                current,
                Event.LATE_REACTION,
                at,
                ("LATE_REACTION",),
                reacted=True,
                flags=current.flags | {Flag.LATE_REACTION},
            ),
        ]
    received = day_of(at)
    if decision == Decision.ACCEPT:
        return [
            _step(
                current,
                Event.ACCEPTED,
                at,
                ("REACTION", "FINAL"),
                state=State.FINAL_SENT,
                reacted=True,
                reaction_received_on=received,
                final_score=current.score,
                final_sent_on=received,
            )
        ]
    return [
        _step(
            current,
            Event.CONTESTED,
            at,
            ("REACTION",),
            state=State.REACTION_RECEIVED,
            reacted=True,
            reaction_received_on=received,
            answer_deadline=rules.answer_deadline(received),
        )
    ]


def answer(
    p: Procedure,
    at: datetime,
    revised_score: float | None,
    reasons: str | None,
    rules: ProcedureRules,
) -> list[Step]:
    """The NSSO's motivated answer to a contest: sent together with the final report. The
    final score is the revised one when the answer revises it (reasons required), else the
    draft's. An answer after its deadline still closes the procedure; the ANSWER_OVERDUE
    flag stays."""
    if revised_score is not None:
        if not 0 <= revised_score <= 100:
            raise ProcedureError(
                "SCORE_OUT_OF_RANGE", "a revised score lies in [0, 100]", conflict=False
            )
        if not (reasons and reasons.strip()):
            raise ProcedureError(
                "REASONS_REQUIRED", "a revised score must give its reasons", conflict=False
            )
    _require(p, State.REACTION_RECEIVED, act="answer")
    steps = expire(p, at, rules)
    current = steps[-1].after if steps else p
    final = round_score(revised_score) if revised_score is not None else current.score
    return [
        *steps,
        _step(
            current,
            Event.ANSWERED,
            at,
            ("ANSWER", "FINAL"),
            state=State.FINAL_SENT,
            answered_on=day_of(at),
            final_score=final,
            final_sent_on=day_of(at),
        ),
    ]


def comment(p: Procedure, at: datetime) -> list[Step]:
    """A comment of the NSSO inspection on a report, in any state."""
    return [_step(p, Event.COMMENTED, at)]


def round_score(value: float) -> float:
    """One decimal, rounded half up (barometer.md §4)."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# -- Global evaluation report -----------------------------------------------------------


def waiting() -> Procedure:
    """A global evaluation report for a closed year, waiting for the annual reports."""
    return Procedure(kind=Kind.GLOBAL, state=State.WAITING)


def start_drafting(p: Procedure, at: datetime) -> list[Step]:
    """WAITING -> DRAFTING: every annual report of the approved secretariats is final, or
    the configured start date has come (the missing ones are listed)."""
    _require(p, State.WAITING, act="start drafting")
    return [_step(p, Event.DRAFTING_STARTED, at, ("DRAFT",), state=State.DRAFTING)]


def open_consultation(p: Procedure, at: datetime) -> list[Step]:
    """DRAFTING -> IN_CONSULTATION: the draft is shared with the Union of Social
    Secretariats."""
    _require(p, State.DRAFTING, act="open the consultation")
    return [_step(p, Event.CONSULTATION_OPENED, at, state=State.IN_CONSULTATION)]


def comment_consultation(p: Procedure, at: datetime) -> list[Step]:
    """A comment of the consultation recorded on the global report."""
    _require(p, State.IN_CONSULTATION, act="record a consultation comment")
    return [_step(p, Event.COMMENTED, at)]


def adopt(p: Procedure, at: datetime) -> list[Step]:
    """IN_CONSULTATION -> ADOPTED: the NSSO adopts the report."""
    _require(p, State.IN_CONSULTATION, act="adopt the report")
    return [_step(p, Event.ADOPTED, at, ("FINAL",), state=State.ADOPTED, final_sent_on=day_of(at))]


def discuss(p: Procedure, at: datetime) -> list[Step]:
    """ADOPTED -> DISCUSSED: the annual meeting with the approved secretariats was held."""
    _require(p, State.ADOPTED, act="record the annual meeting")
    return [_step(p, Event.DISCUSSED, at, ("MINUTES",), state=State.DISCUSSED)]
