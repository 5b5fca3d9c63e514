"""The life of a mismatch instance (crosscheck.md §3): transitions, who resolved it, lifetime."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from socsec.crosscheck.domain.lifecycle import (
    Change,
    OpenMismatch,
    ResolvedBy,
    Trigger,
    lifetime,
    resolved_by,
    transition,
)
from socsec.crosscheck.domain.model import ABSENT, Code, Evaluation, Finding, Rule

OPENED = datetime(2025, 8, 1, 10, 0, tzinfo=UTC)
C3 = Evaluation(True, (Finding(Rule.C3),), in_dmfa=True, in_dimona=True)
C3_C4 = Evaluation(True, (Finding(Rule.C3), Finding(Rule.C4)), in_dmfa=True, in_dimona=True)
OK = Evaluation(True, (), in_dmfa=True, in_dimona=True)


def open_c3() -> OpenMismatch:
    return OpenMismatch(uuid.uuid4(), {Rule.C3: 1}, (), OPENED)


def test_a_failing_triple_without_instance_opens_one() -> None:
    assert transition(None, C3) == Change.OPEN
    assert transition(None, OK) == Change.NONE
    assert transition(None, ABSENT) == Change.NONE


def test_the_same_failure_again_changes_nothing() -> None:
    assert transition(open_c3(), C3) == Change.NONE


def test_other_rules_follow_the_open_instance() -> None:
    assert transition(open_c3(), C3_C4) == Change.UPDATE


def test_consistent_or_gone_resolves() -> None:
    assert transition(open_c3(), OK) == Change.RESOLVE
    assert transition(open_c3(), ABSENT) == Change.RESOLVE


def test_resolved_by_names_the_corrected_side() -> None:
    assert resolved_by(Trigger.DIMONA) == ResolvedBy.DIMONA
    assert resolved_by(Trigger.DMFA_UPDATE) == ResolvedBy.DMFA_UPDATE
    assert resolved_by(Trigger.EX_OFFICIO) == ResolvedBy.EX_OFFICIO
    assert resolved_by(Trigger.DMFA_ORIGINAL) == ResolvedBy.DMFA_UPDATE


def test_lifetime_in_brussels_calendar_days_and_seconds() -> None:
    # 23:30 UTC on 1 August is already 2 August in Brussels.
    late = datetime(2025, 8, 1, 23, 30, tzinfo=UTC)
    assert lifetime(OPENED, late).days == 1
    assert lifetime(OPENED, OPENED + timedelta(days=10, hours=2)).days == 10
    assert lifetime(OPENED, OPENED + timedelta(hours=2)).seconds == 7200


def test_evaluation_counts_and_codes() -> None:
    e = Evaluation(
        True,
        (
            Finding(Rule.C5, Code.STUDENT_WITHOUT_STU),
            Finding(Rule.C3, Code.FLEXI_NOT_COVERED),
            Finding(Rule.C5, Code.FLEXI_NOT_COVERED),
            Finding(Rule.C4),
        ),
    )
    assert e.counts == {Rule.C3: 1, Rule.C4: 1, Rule.C5: 2}
    assert e.codes == ("90015-485", "90017-504")
