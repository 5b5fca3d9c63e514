"""The report procedure as a state machine (reports.md §3 and §4), without I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from socsec.kit.clock import BRUSSELS
from socsec.reports.domain import model
from socsec.reports.domain.deadlines import ProcedureRules
from socsec.reports.domain.model import (
    Decision,
    Event,
    Flag,
    Kind,
    ProcedureError,
    State,
    TimerKind,
)

RULES = ProcedureRules()


def at(day: date, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=BRUSSELS)


def drafted(on: date = date(2026, 3, 2), score: float = 72.5) -> model.Procedure:
    p = model.collecting(Kind.DOMAIN, score)
    [ready] = model.ready(p, at(on))
    assert (ready.from_state, ready.to_state, ready.event) == (
        State.COLLECTING,
        State.READY_FOR_DRAFT,
        Event.SCORE_FINAL,
    )
    [draft] = model.issue_draft(ready.after, at(on), RULES)
    assert (draft.to_state, draft.documents) == (State.DRAFT_SENT, ("DRAFT",))
    return draft.after


def contested(on: date = date(2026, 3, 20)) -> model.Procedure:
    [step] = model.react(drafted(), at(on), Decision.CONTEST, "the S2 count is wrong", RULES)
    return step.after


def test_draft_sets_receipt_and_reaction_deadline() -> None:
    p = drafted()
    assert p.draft_received_on == date(2026, 3, 2)
    assert p.reaction_deadline == date(2026, 3, 23)
    assert p.next_due == date(2026, 3, 23)
    assert model.timers(p) == {TimerKind.REACTION: date(2026, 3, 23)}


def test_explicit_acceptance_makes_the_draft_final() -> None:
    [step] = model.react(drafted(), at(date(2026, 3, 5)), Decision.ACCEPT, None, RULES)
    assert (step.event, step.to_state) == (Event.ACCEPTED, State.FINAL_SENT)
    assert step.after.final_score == 72.5
    assert step.after.final_sent_on == date(2026, 3, 5)
    assert step.documents == ("REACTION", "FINAL")
    assert model.timers(step.after) == {}


def test_contest_on_the_last_second_starts_the_answer_deadline() -> None:
    last = at(date(2026, 3, 23), 23, 59, 59)
    [step] = model.react(drafted(), last, Decision.CONTEST, "arguments", RULES)
    assert (step.event, step.to_state) == (Event.CONTESTED, State.REACTION_RECEIVED)
    assert step.after.reaction_received_on == date(2026, 3, 23)
    assert step.after.answer_deadline == date(2026, 4, 14)  # Easter Monday 6 April skipped
    assert model.timers(step.after) == {TimerKind.ANSWER: date(2026, 4, 14)}


def test_contest_needs_arguments() -> None:
    with pytest.raises(ProcedureError) as err:
        model.react(drafted(), at(date(2026, 3, 3)), Decision.CONTEST, "  ", RULES)
    assert err.value.code == "ARGUMENTS_REQUIRED" and not err.value.conflict


def test_reaction_deadline_expiry_sends_the_final_the_next_day() -> None:
    p = drafted()
    assert model.expire(p, at(date(2026, 3, 23), 23, 59, 59), RULES) == []
    [step] = model.expire(p, at(date(2026, 3, 24), 0, 0, 0), RULES)
    assert (step.event, step.to_state) == (Event.REACTION_DEADLINE_EXPIRED, State.FINAL_SENT)
    assert step.after.final_score == p.score
    assert step.after.final_sent_on == date(2026, 3, 24)
    assert step.documents == ("FINAL",)


def test_no_automatic_final_when_switched_off() -> None:
    rules = ProcedureRules(automatic_final=False)
    assert model.expire(drafted(), at(date(2026, 4, 30)), rules) == []


def test_late_reaction_is_stored_without_effect() -> None:
    p = drafted()
    [expired] = model.expire(p, at(date(2026, 3, 24), 8), RULES)
    [late] = model.react(expired.after, at(date(2026, 3, 24), 9), Decision.CONTEST, "late", RULES)
    assert (late.event, late.from_state, late.to_state) == (
        Event.LATE_REACTION,
        State.FINAL_SENT,
        State.FINAL_SENT,
    )
    assert Flag.LATE_REACTION in late.after.flags
    assert late.after.final_score == p.score and late.after.answer_deadline is None


def test_late_reaction_before_the_job_ran_takes_the_expiry_first() -> None:
    steps = model.react(drafted(), at(date(2026, 3, 24), 0, 0, 1), Decision.CONTEST, "x", RULES)
    assert [s.event for s in steps] == [Event.REACTION_DEADLINE_EXPIRED, Event.LATE_REACTION]
    assert steps[-1].after.state == State.FINAL_SENT


def test_one_reaction_per_draft() -> None:
    with pytest.raises(ProcedureError) as err:
        model.react(contested(), at(date(2026, 3, 21)), Decision.ACCEPT, None, RULES)
    assert err.value.code == "ALREADY_REACTED" and err.value.conflict


def test_no_reaction_before_the_draft() -> None:
    [ready] = model.ready(model.collecting(Kind.DOMAIN, 50.0), at(date(2026, 3, 2)))
    with pytest.raises(ProcedureError) as err:
        model.react(ready.after, at(date(2026, 3, 2)), Decision.ACCEPT, None, RULES)
    assert err.value.code == "NO_DRAFT"


def test_concertation_is_recorded_and_does_not_stop_the_clock() -> None:
    p = drafted()
    [step] = model.concertation(p, at(date(2026, 3, 10)), RULES)
    assert (step.event, step.from_state, step.to_state) == (
        Event.CONCERTATION_HELD,
        State.DRAFT_SENT,
        State.DRAFT_SENT,
    )
    assert step.after.reaction_deadline == date(2026, 3, 23)
    with pytest.raises(ProcedureError):
        model.concertation(contested(), at(date(2026, 3, 25)), RULES)


def test_motivated_answer_with_revised_score() -> None:
    [step] = model.answer(contested(), at(date(2026, 4, 1)), 80.04, "two S2 withdrawn", RULES)
    assert (step.event, step.to_state) == (Event.ANSWERED, State.FINAL_SENT)
    assert step.after.final_score == 80.0 and step.after.score == 72.5
    assert step.documents == ("ANSWER", "FINAL")


def test_motivated_answer_keeping_the_score() -> None:
    [step] = model.answer(contested(), at(date(2026, 4, 1)), None, None, RULES)
    assert step.after.final_score == 72.5


def test_revised_score_needs_reasons_and_range() -> None:
    with pytest.raises(ProcedureError) as err:
        model.answer(contested(), at(date(2026, 4, 1)), 90.0, "", RULES)
    assert err.value.code == "REASONS_REQUIRED"
    with pytest.raises(ProcedureError) as err:
        model.answer(contested(), at(date(2026, 4, 1)), 101.0, "typo", RULES)
    assert err.value.code == "SCORE_OUT_OF_RANGE"


def test_answer_only_to_a_contest() -> None:
    with pytest.raises(ProcedureError) as err:
        model.answer(drafted(), at(date(2026, 3, 5)), None, None, RULES)
    assert err.value.code == "WRONG_STATE"


def test_answer_deadline_expiry_flags_without_final() -> None:
    p = contested()  # answer deadline 13 April 2026
    assert model.expire(p, at(date(2026, 4, 13), 23, 59, 59), RULES) == []
    [step] = model.expire(p, at(date(2026, 4, 14), 0, 0, 0), RULES)
    assert (step.event, step.to_state) == (Event.ANSWER_OVERDUE, State.REACTION_RECEIVED)
    assert Flag.ANSWER_OVERDUE in step.after.flags
    assert model.timers(step.after) == {}
    # Flagged once; the answer still closes the procedure and the flag stays.
    assert model.expire(step.after, at(date(2026, 4, 20)), RULES) == []
    [answered] = model.answer(step.after, at(date(2026, 4, 20)), None, None, RULES)
    assert answered.after.state == State.FINAL_SENT
    assert Flag.ANSWER_OVERDUE in answered.after.flags


def test_global_report_states() -> None:
    p = model.waiting()
    now = at(date(2027, 10, 1))
    [drafting] = model.start_drafting(p, now)
    assert drafting.to_state == State.DRAFTING and drafting.documents == ("DRAFT",)
    with pytest.raises(ProcedureError):
        model.adopt(drafting.after, now)
    with pytest.raises(ProcedureError):
        model.comment_consultation(drafting.after, now)
    [consult] = model.open_consultation(drafting.after, now)
    [comment] = model.comment_consultation(consult.after, now + timedelta(days=3))
    assert comment.to_state == State.IN_CONSULTATION
    [adopted] = model.adopt(comment.after, now + timedelta(days=10))
    assert adopted.to_state == State.ADOPTED and adopted.documents == ("FINAL",)
    [discussed] = model.discuss(adopted.after, now + timedelta(days=30))
    assert discussed.to_state == State.DISCUSSED
    with pytest.raises(ProcedureError):
        model.react(discussed.after, now, Decision.ACCEPT, None, RULES)
