"""The Dimona rules (dimona.md §3.4, §4–§8): one test per code of the §6 table, the result
rule, prerequisites, the personnel-file changes, quotas and lateness."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from dimona_domain.dimona_fakes import (
    ADULT,
    DECLARATION_ID,
    FLEXI,
    KBO_A,
    KBO_B,
    KBO_UNKNOWN,
    NSSO_A,
    NSSO_B,
    NSSO_UNKNOWN,
    OTHER_ADULT,
    STUDENT,
    UNREGISTERED,
    FakeContext,
    at,
    dimona_in,
    employers,
    features,
    on_period,
    period,
    pid,
)

from socsec.dimona.domain.model import (
    Declaration,
    Employer,
    Kind,
    Outcome,
    Result,
    Severity,
    UsingEmployer,
    WorkerIdentity,
)
from socsec.dimona.domain.rules import (
    REOPEN,
    QuotaRow,
    RuleSettings,
    evaluate,
    student_quota_table,
)

D = date
IDENTITY = WorkerIdentity(family_name="Dupont", given_name="Marc", birth_date=D(1990, 1, 1))
USER = UsingEmployer(name="Bouw NV", joint_commission="XXX")


def codes(outcome: Outcome) -> list[str]:
    return [a.code for a in outcome.anomalies]


def run(
    declaration: Declaration,
    ctx: FakeContext | None = None,
    settings: RuleSettings | None = None,
) -> Outcome:
    return evaluate(declaration, ctx or FakeContext(), settings)


def ext_in(**kw: object) -> Declaration:
    """A valid occasional-worker IN: one evening in the hotel sector (JC 302)."""
    values: dict[str, object] = {
        "features": features("EXT", "302"),
        "start_date": D(2026, 6, 16),
        "end_date": D(2026, 6, 16),
        "start_hour": "1800",
        "end_hour": "2300",
    }
    values.update(kw)
    return dimona_in(**values)


def stu_in(**kw: object) -> Declaration:
    """A valid student IN of one day with 8 planned hours."""
    values: dict[str, object] = {
        "ssin": STUDENT,
        "features": features("STU", "XXX"),
        "start_date": D(2026, 7, 6),
        "end_date": D(2026, 7, 6),
        "planned_hours": 8,
    }
    values.update(kw)
    return dimona_in(**values)


def flx_in(**kw: object) -> Declaration:
    values: dict[str, object] = {
        "ssin": OTHER_ADULT,
        "features": features("FLX", "302"),
        "start_date": D(2026, 6, 16),
        "end_date": D(2026, 6, 16),
        "start_hour": "1700",
        "end_hour": "2230",
    }
    values.update(kw)
    return dimona_in(**values)


def ctx_with(*periods: object, **kw: object) -> FakeContext:
    return FakeContext(periods=periods, **kw)  # type: ignore[arg-type]


def employer_a(**kw: object) -> list[Employer]:
    a, b = employers()
    return [replace(a, **kw), b]  # type: ignore[arg-type]


STU_PERIOD = period(
    1,
    ssin=STUDENT,
    features=features("STU"),
    start_date=D(2026, 7, 6),
    end_date=D(2026, 7, 10),
    planned_hours=30,
)
EXT_PERIOD = period(
    1,
    features=features("EXT", "302"),
    start_date=D(2026, 6, 20),
    end_date=D(2026, 6, 20),
    start_hour="1800",
    end_hour="2300",
)
OPEN = period(1)  # OTH/XXX, open since 1 June 2026
CLOSED = period(1, end_date=D(2026, 6, 30))


def case(
    name: str,
    declaration: Declaration,
    code: str,
    result: Result = Result.REFUSED,
    *,
    ctx: FakeContext | None = None,
    settings: RuleSettings | None = None,
) -> tuple[str, Declaration, FakeContext, RuleSettings | None, str, Result]:
    """One row of the code table: the declaration must yield exactly ``code``."""
    return name, declaration, ctx or FakeContext(), settings, code, result


CASES = [
    # -- employer (prerequisites of an IN)
    case("no employer", dimona_in(employer_nsso=None), "90256-364"),
    case("nsso check", dimona_in(employer_nsso="123456789"), "00011-003"),
    case("nsso range", dimona_in(employer_nsso="000099999"), "00011-003"),
    case("kbo check", dimona_in(employer_nsso=None, employer_enterprise="0876543271"), "00014-003"),
    case("nsso unknown", dimona_in(employer_nsso=NSSO_UNKNOWN), "00011-235"),
    case(
        "kbo unknown", dimona_in(employer_nsso=None, employer_enterprise=KBO_UNKNOWN), "00014-235"
    ),
    case(
        "inactive",
        dimona_in(),
        "90373-343",
        ctx=FakeContext(employers_=employer_a(registered_to=D(2025, 12, 31))),
    ),
    case("no mandate", dimona_in(mandate_valid=False), "90256-155"),
    # -- worker
    case(
        "identity incomplete",
        dimona_in(ssin=None, identity=WorkerIdentity(family_name="Dupont")),
        "90017-363",
    ),
    case("no identity", dimona_in(ssin=None), "90017-363"),
    case("EXT without ssin", ext_in(ssin=None, identity=IDENTITY), "00024-001"),
    case("ssin invalid", dimona_in(ssin="88022999991"), "00024-003"),
    case(
        "name differs",
        dimona_in(identity=WorkerIdentity(family_name="Jansen")),
        "00025-348",
        Result.WARNING,
    ),
    case(
        "first name differs",
        dimona_in(identity=WorkerIdentity(given_name="Johan")),
        "00026-348",
        Result.WARNING,
    ),
    case(
        "birth date differs",
        dimona_in(identity=WorkerIdentity(birth_date=D(1985, 7, 31))),
        "00028-348",
        Result.WARNING,
    ),
    case(
        "gender differs",
        dimona_in(identity=WorkerIdentity(gender=2)),
        "00029-348",
        Result.WARNING,
        settings=RuleSettings(compare_gender=True),
    ),
    case(
        "identification failed",
        dimona_in(ssin=None, identity=IDENTITY, identified=False),
        "90017-151",
    ),
    # -- features
    case("type missing", dimona_in(features=features(None)), "00655-001"),
    case("type unknown", dimona_in(features=features("XYZ")), "00655-003"),
    case("type obsolete", dimona_in(features=features("A17")), "00655-005"),
    case(
        "type not for employer",
        dimona_in(features=features("DWD")),
        "00655-350",
        ctx=FakeContext(employers_=employer_a(allowed_worker_types=("OTH",))),
    ),
    case("JC missing", dimona_in(features=features("OTH", None)), "00046-001"),
    case("JC not in Dimona", dimona_in(features=features("OTH", "200")), "00046-003"),
    case("JC incompatible EXT", ext_in(features=features("EXT", "XXX")), "90374-349"),
    case(
        "JC incompatible 322",
        dimona_in(features=features("STG", "322", using_employer=USER), end_date=D(2026, 6, 30)),
        "90374-349",
    ),
    case(
        "sub-entity missing",
        dimona_in(features=features("OTH", None)),
        "00652-001",
        ctx=FakeContext(employers_=employer_a(public_sector=True, sub_entities=(1, 2))),
    ),
    case("sub-entity forbidden", dimona_in(features=features("OTH", sub_entity=3)), "00652-005"),
    case(
        "user KBO and name missing",
        dimona_in(
            features=features("OTH", "322", using_employer=UsingEmployer(joint_commission="XXX")),
            end_date=D(2026, 6, 30),
        ),
        "90107-351",
    ),
    case(
        "user KBO and name both",
        dimona_in(
            features=features(
                "OTH",
                "322",
                using_employer=UsingEmployer(
                    enterprise_number=KBO_B, name="B", joint_commission="XXX"
                ),
            ),
            end_date=D(2026, 6, 30),
        ),
        "90107-352",
    ),
    case(
        "user KBO invalid",
        dimona_in(
            features=features(
                "OTH",
                "322",
                using_employer=UsingEmployer(
                    enterprise_number="0876543271", joint_commission="XXX"
                ),
            ),
            end_date=D(2026, 6, 30),
        ),
        "00131-003",
    ),
    # -- dates
    case("start missing", dimona_in(start_date=None), "00910-001"),
    case(
        "start invalid", dimona_in(start_date=None, raw={"start_date": "2026-02-30"}), "00910-003"
    ),
    case("start too early", dimona_in(start_date=D(1919, 12, 31)), "00910-008"),
    case("start too late", dimona_in(start_date=D(2036, 1, 1)), "00910-008"),
    case("end missing STU", stu_in(end_date=None), "00911-001"),
    case("end invalid", dimona_in(raw={"end_date": "30/06/2026"}), "00911-003"),
    case("end too early", dimona_in(end_date=D(1998, 12, 31)), "00911-008"),
    case("end 9999 in IN", dimona_in(end_date=REOPEN), "00911-008"),
    case("end before start", dimona_in(end_date=D(2026, 6, 10)), "00911-014"),
    # -- hours
    case("EXT start hour missing", ext_in(start_hour=None), "00777-001"),
    case("EXT end hour missing", ext_in(end_hour=None), "00778-001"),
    case("start hour 2500", ext_in(start_hour="2500"), "00777-003"),
    case("start hour unreadable", ext_in(start_hour=None, raw={"start_hour": "9h"}), "00777-003"),
    case("end hour 1275", ext_in(end_hour="1275"), "00778-003"),
    case("start hour for OTH", dimona_in(start_hour="0900"), "00777-005"),
    case("end hour for OTH", dimona_in(end_hour="1700"), "00778-005"),
    case("end hour before start hour", flx_in(start_hour="1700", end_hour="0900"), "00778-345"),
    # -- planned hours
    case("planned hours missing", stu_in(planned_hours=None), "01135-001"),
    case(
        "planned hours 7.5", stu_in(planned_hours=None, raw={"planned_hours": "7.5"}), "01135-003"
    ),
    case("planned hours 0", stu_in(planned_hours=0), "01135-003"),
    case("planned hours 1000", stu_in(planned_hours=1000), "01135-003"),
    case("planned hours for OTH", dimona_in(planned_hours=8), "01135-005"),
    # -- period rules of an IN
    case(
        "STU two quarters", stu_in(start_date=D(2026, 6, 29), end_date=D(2026, 7, 2)), "90373-421"
    ),
    case(
        "EXT over 24 h",
        ext_in(start_hour="0800", end_date=D(2026, 6, 17), end_hour="0900"),
        "90373-341",
    ),
    case(
        "EXT third day",
        ext_in(start_date=D(2026, 6, 22), end_date=D(2026, 6, 22)),
        "00910-459",
        ctx=ctx_with(
            replace(EXT_PERIOD, start_date=D(2026, 6, 20), end_date=D(2026, 6, 20)),
            replace(EXT_PERIOD, id=pid(2), start_date=D(2026, 6, 21), end_date=D(2026, 6, 21)),
        ),
    ),
    case(
        "IN duplicate",
        dimona_in(start_date=D(2026, 6, 1)),
        "90373-333",
        ctx=ctx_with(OPEN),
        settings=RuleSettings(lateness_check=False),
    ),
    case("IN overlap", dimona_in(), "90373-334", ctx=ctx_with(OPEN)),
    # -- OUT, UPDATE, CANCEL on a period
    case("period id missing", on_period(Kind.CANCEL, None), "00913-001", ctx=ctx_with(OPEN)),
    case("period id check", on_period(Kind.CANCEL, pid(1) + 1), "00913-003", ctx=ctx_with(OPEN)),
    case(
        "period id unreadable",
        on_period(Kind.CANCEL, None, raw={"period_id": "abc"}),
        "00913-003",
        ctx=ctx_with(OPEN),
    ),
    case(
        "period unknown",
        on_period(Kind.OUT, pid(9), end_date=D(2026, 6, 30)),
        "00913-354",
        ctx=ctx_with(OPEN),
    ),
    case(
        "period cancelled",
        on_period(Kind.CANCEL, pid(1)),
        "00913-355",
        ctx=ctx_with(replace(OPEN, is_cancelled=True)),
    ),
    case(
        "period closed",
        on_period(Kind.OUT, pid(1), end_date=D(2026, 6, 30)),
        "00913-356",
        ctx=ctx_with(CLOSED),
    ),
    case(
        "UPDATE closes",
        on_period(Kind.UPDATE, pid(1), end_date=D(2026, 6, 30)),
        "00913-359",
        ctx=ctx_with(OPEN),
    ),
    case(
        "period locked",
        on_period(Kind.OUT, pid(1), end_date=D(2026, 6, 30)),
        "00913-362",
        ctx=ctx_with(replace(OPEN, is_locked=True)),
    ),
    case(
        "re-open JC 322",
        on_period(Kind.UPDATE, pid(1), end_date=REOPEN),
        "00913-368",
        ctx=ctx_with(replace(CLOSED, features=features("OTH", "322", using_employer=USER))),
    ),
    case(
        "re-open STU",
        on_period(Kind.UPDATE, pid(1), end_date=REOPEN),
        "90378-368",
        ctx=ctx_with(STU_PERIOD),
    ),
    case("UPDATE nothing", on_period(Kind.UPDATE, pid(1)), "90378-360", ctx=ctx_with(OPEN)),
    case(
        "UPDATE no change",
        on_period(Kind.UPDATE, pid(1), start_date=D(2026, 6, 1)),
        "90378-444",
        ctx=ctx_with(OPEN),
    ),
    case(
        "STU start changed",
        on_period(Kind.UPDATE, pid(1), start_date=D(2026, 7, 7)),
        "00910-005",
        ctx=ctx_with(STU_PERIOD),
    ),
    case(
        "start postponed",
        on_period(Kind.UPDATE, pid(1), start_date=D(2026, 6, 8)),
        "00910-344",
        ctx=ctx_with(OPEN),
    ),
    case(
        "UPDATE inactive",
        on_period(Kind.UPDATE, pid(1), start_date=D(2026, 5, 1)),
        "90378-343",
        ctx=FakeContext(employers_=employer_a(registered_from=D(2026, 5, 15)), periods=[OPEN]),
    ),
    case(
        "UPDATE two quarters",
        on_period(Kind.UPDATE, pid(1), end_date=D(2026, 10, 2)),
        "90378-421",
        ctx=ctx_with(STU_PERIOD),
    ),
    case(
        "UPDATE over 24 h",
        on_period(Kind.UPDATE, pid(1), end_date=D(2026, 6, 21), end_hour="1900"),
        "90378-341",
        ctx=ctx_with(EXT_PERIOD),
    ),
    case(
        "UPDATE duplicate",
        on_period(Kind.UPDATE, pid(1), end_date=D(2026, 6, 30)),
        "90378-333",
        ctx=ctx_with(replace(CLOSED, end_date=D(2026, 6, 20)), replace(CLOSED, id=pid(2))),
    ),
    case(
        "UPDATE overlap",
        on_period(Kind.UPDATE, pid(1), end_date=D(2026, 7, 5)),
        "90378-334",
        ctx=ctx_with(
            replace(CLOSED, end_date=D(2026, 6, 20)),
            replace(CLOSED, id=pid(2), start_date=D(2026, 7, 1), end_date=D(2026, 7, 31)),
        ),
    ),
    case(
        "other employer",
        on_period(Kind.CANCEL, pid(1), employer_nsso=NSSO_B),
        "00011-347",
        ctx=ctx_with(OPEN),
    ),
    case(
        "other enterprise",
        on_period(Kind.CANCEL, pid(1), employer_enterprise=KBO_B),
        "00014-347",
        ctx=ctx_with(OPEN),
    ),
    case(
        "other worker",
        on_period(Kind.CANCEL, pid(1), ssin=OTHER_ADULT),
        "00024-347",
        ctx=ctx_with(OPEN),
    ),
    case(
        "no mandate on period",
        on_period(Kind.CANCEL, pid(1), mandate_valid=False),
        "90256-155",
        ctx=ctx_with(OPEN),
    ),
    # -- warnings
    case(
        "student quota",
        stu_in(planned_hours=20),
        "90017-369",
        Result.WARNING,
        ctx=ctx_with(replace(STU_PERIOD, employer_nsso=NSSO_B, planned_hours=640)),
    ),
    case(
        "flexi access",
        flx_in(ssin=FLEXI),
        "90017-510",
        Result.WARNING,
        settings=RuleSettings(flexi_access_check=True),
    ),
    case("late IN", dimona_in(start_date=D(2026, 6, 12)), "90373-460", Result.WARNING),
    case(
        "late UPDATE",
        on_period(Kind.UPDATE, pid(1), start_date=D(2026, 5, 20)),
        "90378-460",
        Result.WARNING,
        ctx=ctx_with(OPEN),
    ),
]


@pytest.mark.parametrize(
    ("declaration", "ctx", "settings", "code", "result"),
    [pytest.param(*case[1:], id=f"{case[4]} {case[0]}") for case in CASES],
)
def test_each_code(
    declaration: Declaration,
    ctx: FakeContext,
    settings: RuleSettings | None,
    code: str,
    result: Result,
) -> None:
    outcome = run(declaration, ctx, settings)
    assert codes(outcome) == [code]
    assert outcome.result == result


def test_every_code_of_the_spec_table_has_a_case() -> None:
    spec_codes = {
        "90256-364",
        "00011-003",
        "00014-003",
        "00011-235",
        "00014-235",
        "90373-343",
        "90378-343",
        "90256-155",
        "00011-347",
        "00014-347",
        "00024-347",
        "90017-363",
        "00024-001",
        "00024-003",
        "00025-348",
        "00026-348",
        "00028-348",
        "00029-348",
        "90017-151",
        "00655-001",
        "00655-003",
        "00655-005",
        "00655-350",
        "00046-001",
        "00046-003",
        "90374-349",
        "00652-001",
        "00652-005",
        "90107-351",
        "90107-352",
        "00910-001",
        "00910-003",
        "00910-008",
        "00911-001",
        "00911-003",
        "00911-008",
        "00911-014",
        "00777-001",
        "00777-003",
        "00777-005",
        "00778-001",
        "00778-003",
        "00778-005",
        "00778-345",
        "01135-001",
        "01135-003",
        "01135-005",
        "90373-421",
        "90378-421",
        "90373-341",
        "90378-341",
        "00910-459",
        "90373-333",
        "90378-333",
        "90373-334",
        "90378-334",
        "00913-003",
        "00913-354",
        "00913-355",
        "00913-356",
        "00913-359",
        "00913-362",
        "00913-368",
        "90378-368",
        "90378-360",
        "90378-444",
        "00910-005",
        "00910-344",
        "90017-369",
        "90017-510",
        "90373-460",
        "90378-460",
    }
    assert spec_codes <= {case[4] for case in CASES}


# -- result rule ------------------------------------------------------------------------------


def test_accepted_without_anomaly() -> None:
    outcome = run(dimona_in())
    assert outcome.result == Result.ACCEPTED
    assert outcome.anomalies == ()
    assert outcome.change is not None
    assert outcome.period_id == DECLARATION_ID
    assert (outcome.employer_nsso, outcome.ssin) == (NSSO_A, ADULT)


def test_only_non_blocking_anomalies_give_w_and_still_change() -> None:
    outcome = run(dimona_in(start_date=D(2026, 6, 12)))
    assert outcome.result == Result.WARNING
    assert [a.severity for a in outcome.anomalies] == [Severity.NP]
    assert outcome.change is not None and outcome.change.after.is_late


def test_any_blocking_anomaly_refuses_and_changes_nothing() -> None:
    outcome = run(dimona_in(start_date=D(2026, 6, 12), planned_hours=8))
    assert outcome.result == Result.REFUSED
    assert set(codes(outcome)) == {"01135-005", "90373-460"}
    assert outcome.change is None and outcome.period_id is None


def test_in_without_ssin_and_complete_identity_waits_for_identification() -> None:
    outcome = run(dimona_in(ssin=None, identity=IDENTITY))
    assert outcome.result == Result.WAITING
    assert outcome.needs_identification
    assert outcome.change is None and outcome.period_id is None


def test_unknown_ssin_is_identified_by_default_and_accepted_on_request() -> None:
    waiting = run(dimona_in(ssin=UNREGISTERED))
    assert waiting.result == Result.WAITING and waiting.needs_identification
    accepted = run(
        dimona_in(ssin=UNREGISTERED), settings=RuleSettings(unknown_ssin_policy="accept")
    )
    assert accepted.result == Result.ACCEPTED and not accepted.needs_identification
    assert accepted.change is not None and accepted.change.after.ssin == UNREGISTERED


def test_final_evaluation_after_identification_does_not_wait_again() -> None:
    outcome = run(dimona_in(ssin=UNREGISTERED, identified=True))
    assert outcome.result == Result.ACCEPTED


def test_blocking_anomaly_wins_over_identification() -> None:
    outcome = run(dimona_in(ssin=None, identity=IDENTITY, planned_hours=8))
    assert outcome.result == Result.REFUSED
    assert not outcome.needs_identification


def test_waiting_keeps_non_blocking_anomalies() -> None:
    outcome = run(dimona_in(ssin=None, identity=IDENTITY, start_date=D(2026, 6, 12)))
    assert outcome.result == Result.WAITING
    assert codes(outcome) == ["90373-460"]


def test_identity_never_refuses_when_ssin_is_given() -> None:
    identity = WorkerIdentity(family_name="X", given_name="Y", birth_date=D(2000, 1, 1), gender=2)
    outcome = run(dimona_in(identity=identity))
    assert outcome.result == Result.WARNING
    assert codes(outcome) == ["00025-348", "00026-348", "00028-348"]  # gender not compared


def test_identity_comparison_ignores_case_and_spaces() -> None:
    identity = WorkerIdentity(family_name=" JANSSENS ", given_name="jan")
    assert run(dimona_in(identity=identity)).result == Result.ACCEPTED


# -- prerequisites ----------------------------------------------------------------------------


def test_failed_employer_prerequisite_stops_further_rules() -> None:
    declaration = dimona_in(
        employer_nsso=NSSO_UNKNOWN, features=features("XYZ"), ssin="88022999991"
    )
    assert codes(run(declaration)) == ["00011-235"]


def test_inactive_employer_stops_further_rules() -> None:
    ctx = FakeContext(employers_=employer_a(registered_to=D(2025, 12, 31)))
    assert codes(run(dimona_in(planned_hours=8), ctx)) == ["90373-343"]


def test_registered_number_is_never_refused_on_its_check_digits() -> None:
    odd = Employer("156065072", "0412345614", registered_from=D(2000, 1, 1))
    outcome = run(dimona_in(employer_nsso="156065072"), FakeContext(employers_=[odd]))
    assert outcome.result == Result.ACCEPTED


def test_check_digit_rule_can_be_switched_off() -> None:
    outcome = run(
        dimona_in(employer_nsso="123456789"), settings=RuleSettings(noss_check_enabled=False)
    )
    assert codes(outcome) == ["00011-235"]


def test_enterprise_number_alone_identifies_the_employer() -> None:
    outcome = run(dimona_in(employer_nsso=None, employer_enterprise=KBO_A))
    assert outcome.result == Result.ACCEPTED and outcome.employer_nsso == NSSO_A


def test_nsso_number_wins_over_enterprise_number() -> None:
    outcome = run(dimona_in(employer_nsso=NSSO_A, employer_enterprise=KBO_B))
    assert outcome.result == Result.ACCEPTED
    assert outcome.change is not None and outcome.change.after.employer_nsso == NSSO_A


def test_unknown_period_stops_further_rules() -> None:
    declaration = on_period(Kind.OUT, pid(9), end_date=REOPEN, employer_nsso=NSSO_B)
    assert codes(run(declaration, ctx_with(OPEN))) == ["00913-354"]


def test_period_of_another_employer_stops_further_rules() -> None:
    declaration = on_period(Kind.OUT, pid(1), end_date=D(2026, 5, 1), employer_nsso=NSSO_B)
    outcome = run(declaration, ctx_with(OPEN))
    assert codes(outcome) == ["00011-347"]
    assert outcome.period_id == pid(1)  # the period concerned, also when refused


def test_consistent_employer_and_worker_on_out_are_accepted() -> None:
    declaration = on_period(
        Kind.OUT,
        pid(1),
        end_date=D(2026, 6, 15),
        employer_nsso=NSSO_A,
        employer_enterprise=KBO_A,
        ssin=ADULT,
    )
    assert run(declaration, ctx_with(OPEN)).result == Result.ACCEPTED


def test_out_before_in_is_an_unknown_period() -> None:
    outcome = run(on_period(Kind.OUT, DECLARATION_ID, end_date=D(2026, 6, 30)))
    assert codes(outcome) == ["00913-354"] and outcome.period_id is None


def test_second_cancel_is_refused() -> None:
    ctx = ctx_with(OPEN)
    ctx.apply(run(on_period(Kind.CANCEL, pid(1)), ctx))
    assert codes(run(on_period(Kind.CANCEL, pid(1)), ctx)) == ["00913-355"]


# -- the personnel file ----------------------------------------------------------------------


def test_in_out_update_cancel_lifecycle() -> None:
    ctx = FakeContext()
    created = ctx.apply(run(dimona_in(start_date=D(2026, 6, 16)), ctx))
    assert created.id == DECLARATION_ID
    assert (created.start_date, created.end_date, created.is_cancelled) == (
        D(2026, 6, 16),
        None,
        False,
    )

    out = run(on_period(Kind.OUT, DECLARATION_ID, end_date=D(2026, 8, 31)), ctx)
    assert out.result == Result.ACCEPTED and out.change is not None
    assert out.change.kind == Kind.OUT and out.change.before == created
    closed = ctx.apply(out)
    assert closed.end_date == D(2026, 8, 31)

    update = run(
        on_period(Kind.UPDATE, DECLARATION_ID, start_date=D(2026, 6, 15), end_date=D(2026, 9, 30)),
        ctx,
    )
    assert update.result == Result.ACCEPTED, codes(update)
    changed = ctx.apply(update)
    assert (changed.start_date, changed.end_date) == (D(2026, 6, 15), D(2026, 9, 30))

    cancel = run(on_period(Kind.CANCEL, DECLARATION_ID), ctx)
    assert cancel.result == Result.ACCEPTED
    cancelled = ctx.apply(cancel)
    assert cancelled.is_cancelled and cancelled.start_date == D(2026, 6, 15)


def test_update_changes_hours_and_planned_hours() -> None:
    flx = period(
        1,
        ssin=OTHER_ADULT,
        features=features("FLX", "302"),
        start_date=D(2026, 6, 20),
        end_date=D(2026, 6, 20),
        start_hour="1700",
        end_hour="2230",
    )
    outcome = run(on_period(Kind.UPDATE, pid(1), start_hour="1800"), ctx_with(flx))
    assert outcome.result == Result.ACCEPTED
    assert outcome.change is not None
    assert (outcome.change.after.start_hour, outcome.change.after.end_hour) == ("1800", "2230")
    stu = run(on_period(Kind.UPDATE, pid(1), planned_hours=35), ctx_with(STU_PERIOD))
    assert stu.change is not None and stu.change.after.planned_hours == 35


def test_update_9999_reopens_a_period() -> None:
    outcome = run(on_period(Kind.UPDATE, pid(1), end_date=REOPEN), ctx_with(CLOSED))
    assert outcome.result == Result.ACCEPTED, codes(outcome)
    assert outcome.change is not None and outcome.change.after.end_date is None


def test_9999_only_in_update() -> None:
    assert codes(run(dimona_in(end_date=REOPEN))) == ["00911-008"]
    assert codes(run(on_period(Kind.OUT, pid(1), end_date=REOPEN), ctx_with(OPEN))) == ["00911-008"]


@pytest.mark.parametrize("worker_type", ["STU", "EXT", "IVT", "TRI", "STG", "O17", "S17", "T17"])
def test_9999_refused_for_types_whose_end_is_required(worker_type: str) -> None:
    closed = replace(CLOSED, features=features(worker_type, "302"))
    outcome = run(on_period(Kind.UPDATE, pid(1), end_date=REOPEN), ctx_with(closed))
    assert "90378-368" in codes(outcome) and outcome.result == Result.REFUSED


def test_update_keeps_an_unchanged_student_start_date() -> None:
    outcome = run(
        on_period(Kind.UPDATE, pid(1), start_date=D(2026, 7, 6), planned_hours=32),
        ctx_with(STU_PERIOD),
    )
    assert outcome.result == Result.ACCEPTED, codes(outcome)


def test_student_start_before_2017_may_change() -> None:
    old = replace(STU_PERIOD, start_date=D(2016, 7, 4), end_date=D(2016, 7, 8))
    outcome = run(
        on_period(Kind.UPDATE, pid(1), start_date=D(2016, 7, 5), received_at=at(D(2016, 7, 1))),
        FakeContext(today=D(2016, 7, 1), periods=[old]),
    )
    assert "00910-005" not in codes(outcome)


def test_start_may_move_later_while_not_yet_past() -> None:
    future = period(1, start_date=D(2026, 7, 1))
    outcome = run(on_period(Kind.UPDATE, pid(1), start_date=D(2026, 7, 6)), ctx_with(future))
    assert outcome.result == Result.ACCEPTED, codes(outcome)


def test_update_hours_forbidden_by_the_period_type() -> None:
    outcome = run(on_period(Kind.UPDATE, pid(1), start_hour="0900"), ctx_with(OPEN))
    assert codes(outcome) == ["00777-005"]


# -- duplicates and overlaps ------------------------------------------------------------------


def test_duplicate_with_same_characteristics_is_333_not_334() -> None:
    outcome = run(
        dimona_in(start_date=D(2026, 6, 1)), ctx_with(OPEN), RuleSettings(lateness_check=False)
    )
    assert codes(outcome) == ["90373-333"]
    assert outcome.anomalies[0].value == str(pid(1))


def test_overlap_with_same_characteristics_is_334() -> None:
    outcome = run(dimona_in(start_date=D(2026, 6, 20), end_date=D(2026, 7, 20)), ctx_with(CLOSED))
    assert codes(outcome) == ["90373-334"]


def test_periods_with_other_characteristics_coexist() -> None:
    other_jc = replace(OPEN, features=features("OTH", "124"))
    assert run(dimona_in(), ctx_with(other_jc)).result == Result.ACCEPTED
    other_type = replace(OPEN, features=features("DWD", "XXX"))
    assert run(dimona_in(), ctx_with(other_type)).result == Result.ACCEPTED


def test_cancelled_and_other_employer_periods_do_not_count() -> None:
    cancelled = replace(OPEN, is_cancelled=True)
    elsewhere = replace(OPEN, id=pid(2), employer_nsso=NSSO_B)
    assert run(dimona_in(), ctx_with(cancelled, elsewhere)).result == Result.ACCEPTED


def test_non_overlapping_flexi_shifts_on_the_same_day() -> None:
    morning = period(
        1,
        ssin=OTHER_ADULT,
        features=features("FLX", "302"),
        start_date=D(2026, 6, 16),
        end_date=D(2026, 6, 16),
        start_hour="0800",
        end_hour="1200",
    )
    evening = flx_in(start_hour="1700", end_hour="2230")
    assert run(evening, ctx_with(morning)).result == Result.ACCEPTED
    overlapping = flx_in(start_hour="1100", end_hour="1500")
    assert codes(run(overlapping, ctx_with(morning))) == ["90373-334"]


def test_update_does_not_overlap_with_itself() -> None:
    outcome = run(on_period(Kind.UPDATE, pid(1), end_date=D(2026, 7, 15)), ctx_with(CLOSED))
    assert outcome.result == Result.ACCEPTED, codes(outcome)


# -- occasional workers (EXT) ----------------------------------------------------------------


def ext_period(n: int, day: date, **kw: object) -> object:
    return replace(EXT_PERIOD, id=pid(n), start_date=day, end_date=day, **kw)


def test_ext_two_consecutive_days_are_allowed() -> None:
    ctx = ctx_with(ext_period(1, D(2026, 6, 20)))
    assert run(ext_in(start_date=D(2026, 6, 21), end_date=D(2026, 6, 21)), ctx).result == (
        Result.ACCEPTED
    )


def test_ext_more_than_two_consecutive_days_across_periods_are_refused() -> None:
    ctx = ctx_with(ext_period(1, D(2026, 6, 20)), ext_period(2, D(2026, 6, 22)))
    outcome = run(ext_in(start_date=D(2026, 6, 21), end_date=D(2026, 6, 21)), ctx)
    assert codes(outcome) == ["00910-459"]


def test_ext_days_ignore_cancelled_periods_and_other_employers() -> None:
    ctx = ctx_with(
        ext_period(1, D(2026, 6, 20), is_cancelled=True),
        ext_period(2, D(2026, 6, 21), employer_nsso=NSSO_B),
        ext_period(3, D(2026, 6, 23)),
    )
    outcome = run(ext_in(start_date=D(2026, 6, 22), end_date=D(2026, 6, 22)), ctx)
    assert outcome.result == Result.ACCEPTED, codes(outcome)


def test_ext_night_over_midnight_within_24_hours() -> None:
    night = ext_in(
        start_date=D(2026, 6, 16), end_date=D(2026, 6, 17), start_hour="2200", end_hour="0600"
    )
    assert run(night).result == Result.ACCEPTED


def test_ext_requires_end_date_and_hours() -> None:
    outcome = run(ext_in(end_date=None, start_hour=None, end_hour=None))
    assert set(codes(outcome)) == {"00911-001", "00777-001", "00778-001"}


# -- flexi-jobs ----------------------------------------------------------------------------


def test_flexi_one_day_requires_both_hours() -> None:
    assert codes(run(flx_in(start_hour=None, end_hour=None))) == ["00777-001", "00778-001"]


def test_flexi_multi_day_or_open_needs_no_hours() -> None:
    multi = flx_in(end_date=D(2026, 6, 20), start_hour=None, end_hour=None)
    assert run(multi).result == Result.ACCEPTED
    assert run(flx_in(end_date=None, start_hour=None, end_hour=None)).result == Result.ACCEPTED


def test_flexi_shift_over_24_hours() -> None:
    outcome = run(flx_in(end_date=D(2026, 6, 17), start_hour="0800", end_hour="0900"))
    assert codes(outcome) == ["90373-341"]


def test_flexi_in_at_most_31_days_before_the_quarter() -> None:
    # Q4 starts on 1 October: an IN is possible from 31 August.
    early = flx_in(
        start_date=D(2026, 10, 5), end_date=D(2026, 10, 5), received_at=at(D(2026, 8, 30))
    )
    assert codes(run(early)) == ["00910-008"]
    in_time = replace(early, received_at=at(D(2026, 8, 31)))
    assert run(in_time).result == Result.ACCEPTED
    # Q3 started on 1 July: a July start may be declared in June.
    assert run(flx_in(start_date=D(2026, 7, 20), end_date=D(2026, 7, 20))).result == Result.ACCEPTED


def test_flexi_access_check_is_off_by_default() -> None:
    assert run(flx_in(ssin=FLEXI)).result == Result.ACCEPTED


# -- joint committees and worker types --------------------------------------------------------


def test_jc_322_with_valid_user_is_accepted() -> None:
    for user in (USER, UsingEmployer(enterprise_number=KBO_B, joint_commission="124")):
        declaration = dimona_in(
            features=features("OTH", "322", using_employer=user), end_date=D(2026, 6, 30)
        )
        assert run(declaration).result == Result.ACCEPTED


def test_jc_322_rules_on_the_user_and_the_end() -> None:
    own_322 = UsingEmployer(name="Bouw NV", joint_commission="322")
    no_jc = UsingEmployer(name="Bouw NV")
    assert codes(
        run(
            dimona_in(
                features=features("OTH", "322", using_employer=own_322), end_date=D(2026, 6, 30)
            )
        )
    ) == ["00046-003"]
    outcome = run(dimona_in(features=features("OTH", "322", using_employer=no_jc)))
    assert codes(outcome) == ["00046-001", "00911-001"]
    assert outcome.anomalies[0].path == "dimonaIn.features.usingEmployer.jointCommissionNumber"
    assert codes(run(dimona_in(features=features("OTH", "322"), end_date=D(2026, 6, 30)))) == [
        "90107-351"
    ]


@pytest.mark.parametrize("worker_type", ["DWD", "STG", "IVT", "TRI", "PMP"])
def test_jc_322_excluded_worker_types(worker_type: str) -> None:
    declaration = dimona_in(
        features=features(worker_type, "322", using_employer=USER), end_date=D(2026, 6, 30)
    )
    assert "90374-349" in codes(run(declaration))


@pytest.mark.parametrize("jc", ["144", "145", "302", "320", "322"])
def test_ext_accepted_joint_committees(jc: str) -> None:
    user = USER if jc == "322" else None
    assert run(ext_in(features=features("EXT", jc, using_employer=user))).result == (
        Result.ACCEPTED
    )


def test_incompatibility_matrix_is_configurable() -> None:
    settings = RuleSettings(jc_only_for_worker_types={"STU": frozenset({"XXX"})})
    assert run(stu_in(features=features("STU", "302")), settings=settings).result == Result.REFUSED
    assert run(ext_in(features=features("EXT", "XXX")), settings=settings).result == (
        Result.ACCEPTED
    )


def test_public_employer_may_omit_the_jc() -> None:
    ctx = FakeContext(employers_=employer_a(public_sector=True))
    assert run(dimona_in(features=features("OTH", None)), ctx).result == Result.ACCEPTED


def test_sub_entity_of_the_employer() -> None:
    ctx = FakeContext(employers_=employer_a(public_sector=True, sub_entities=(1, 2)))
    assert run(dimona_in(features=features("OTH", sub_entity=2)), ctx).result == Result.ACCEPTED
    assert codes(run(dimona_in(features=features("OTH", sub_entity=7)), ctx)) == ["00652-005"]


def test_jc_149_and_320_only_from_their_dates() -> None:
    before = dimona_in(
        features=features("OTH", "149"), start_date=D(2017, 9, 30), received_at=at(D(2017, 9, 1))
    )
    assert codes(run(before)) == ["00046-003"]
    after = replace(before, start_date=D(2017, 10, 1))
    assert run(after).result == Result.ACCEPTED
    funeral = ext_in(
        features=features("EXT", "320"),
        start_date=D(2019, 3, 30),
        end_date=D(2019, 3, 30),
        received_at=at(D(2019, 3, 1)),
    )
    assert codes(run(funeral)) == ["00046-003"]


@pytest.mark.parametrize(
    ("worker_type", "last_ok", "first_refused"),
    [
        ("A17", D(2021, 12, 31), D(2022, 1, 1)),
        ("TEA", D(2021, 12, 31), D(2022, 1, 1)),
        ("STX", D(2013, 12, 31), D(2014, 1, 1)),
        ("QUA", D(2022, 12, 31), D(2023, 1, 1)),
    ],
)
def test_obsolete_worker_types(worker_type: str, last_ok: date, first_refused: date) -> None:
    def declare(start: date) -> Outcome:
        return run(
            dimona_in(features=features(worker_type), start_date=start, received_at=at(start))
        )

    assert declare(last_ok).result == Result.ACCEPTED
    assert codes(declare(first_refused)) == ["00655-005"]


def test_new_worker_types_only_from_their_start() -> None:
    alt = dimona_in(
        features=features("ALT"), start_date=D(2023, 8, 31), received_at=at(D(2023, 8, 31))
    )
    assert codes(run(alt)) == ["00655-005"]
    assert run(replace(alt, start_date=D(2023, 9, 1))).result == Result.ACCEPTED


# -- art. 17 -------------------------------------------------------------------------------


def o17_in(**kw: object) -> Declaration:
    values: dict[str, object] = {
        "features": features("O17", "XXX"),
        "start_date": D(2026, 6, 20),
        "end_date": D(2026, 6, 21),
        "planned_hours": 16,
    }
    values.update(kw)
    return dimona_in(**values)


def test_art17_valid_declaration() -> None:
    assert run(o17_in()).result == Result.ACCEPTED


def test_art17_requires_planned_hours_end_and_same_quarter() -> None:
    assert set(codes(run(o17_in(planned_hours=None, end_date=None)))) == {"00911-001", "01135-001"}
    assert codes(run(o17_in(end_date=D(2026, 7, 1)))) == ["90373-421"]


def test_t17_end_is_the_start_and_planned_hours_are_forbidden() -> None:
    t17 = o17_in(features=features("T17"), end_date=D(2026, 6, 20), planned_hours=None)
    assert run(t17).result == Result.ACCEPTED
    assert codes(run(replace(t17, end_date=D(2026, 6, 21)))) == ["00911-008"]
    assert codes(run(replace(t17, planned_hours=4))) == ["01135-005"]


def test_art17_in_at_most_15_days_before_start() -> None:
    early = o17_in(start_date=D(2026, 7, 1), end_date=D(2026, 7, 1))
    outcome = run(early)
    assert codes(outcome) == ["00910-008"]
    assert "15" in (outcome.anomalies[0].description_fr or "")
    assert run(replace(early, received_at=at(D(2026, 6, 16)))).result == Result.ACCEPTED


def test_art17_before_2022_is_refused() -> None:
    old = o17_in(
        start_date=D(2021, 12, 30), end_date=D(2021, 12, 30), received_at=at(D(2021, 12, 30))
    )
    assert codes(run(old)) == ["00655-005"]


def test_art17_quota_is_off_by_default_and_blocking_when_on() -> None:
    done = period(
        1,
        features=features("S17"),
        start_date=D(2026, 3, 1),
        end_date=D(2026, 3, 31),
        planned_hours=290,
    )
    ctx = ctx_with(done)
    assert run(o17_in(), ctx).result == Result.ACCEPTED
    outcome = run(o17_in(), ctx, RuleSettings(art17_quota_check=True))
    assert outcome.result == Result.REFUSED
    (item,) = outcome.anomalies
    assert (item.code, item.severity) == ("90017-369", Severity.B)
    assert item.quota is not None and (item.quota.type, item.quota.exceeding_hours) == ("ART17", 6)


# -- student quota (§7) ------------------------------------------------------------------------


def test_student_quota_counts_every_employer_and_reports_the_excess() -> None:
    at_b = replace(STU_PERIOD, employer_nsso=NSSO_B, planned_hours=642)
    outcome = run(stu_in(planned_hours=20), ctx_with(at_b))
    assert outcome.result == Result.WARNING
    (item,) = outcome.anomalies
    assert item.code == "90017-369" and item.severity == Severity.NP
    assert item.quota is not None
    assert (item.quota.type, item.quota.year, item.quota.limit_hours) == ("STUDENT", 2026, 650)
    assert item.quota.exceeding_hours == 12
    assert item.value == "20" and item.tag == "PlannedHoursNbr"
    assert item.description_fr == "Dépassement du contingent étudiant : 12 heures (année 2026)"
    assert item.description_nl == "Overschrijding van het studentencontingent: 12 uren (jaar 2026)"
    assert outcome.change is not None  # accepted with a warning


def test_student_quota_exactly_reached_is_no_warning() -> None:
    at_b = replace(STU_PERIOD, employer_nsso=NSSO_B, planned_hours=642)
    assert run(stu_in(planned_hours=8), ctx_with(at_b)).result == Result.ACCEPTED


def test_student_quota_ignores_cancelled_periods_and_other_years() -> None:
    cancelled = replace(STU_PERIOD, planned_hours=700, is_cancelled=True)
    last_year = replace(
        STU_PERIOD, id=pid(2), start_date=D(2025, 7, 1), end_date=D(2025, 7, 2), planned_hours=700
    )
    assert run(stu_in(), ctx_with(cancelled, last_year)).result == Result.ACCEPTED


def test_student_quota_excess_is_capped_at_999() -> None:
    many = [
        replace(
            STU_PERIOD,
            id=pid(n),
            start_date=D(2026, 1 + n, 1),
            end_date=D(2026, 1 + n, 2),
            planned_hours=900,
        )
        for n in range(1, 3)
    ]
    outcome = run(stu_in(planned_hours=20), ctx_with(*many))
    assert outcome.anomalies[0].quota is not None
    assert outcome.anomalies[0].quota.exceeding_hours == 999


def test_every_later_student_period_warns_again() -> None:
    ctx = ctx_with(replace(STU_PERIOD, employer_nsso=NSSO_B, planned_hours=650))
    first = run(stu_in(), ctx)
    ctx.apply(first)
    later = run(
        stu_in(declaration_id=pid(300), start_date=D(2026, 8, 3), end_date=D(2026, 8, 3)), ctx
    )
    assert first.result == later.result == Result.WARNING
    assert later.anomalies[0].quota is not None and later.anomalies[0].quota.exceeding_hours == 16


def test_student_update_counts_its_new_hours_without_its_old_ones() -> None:
    ctx = ctx_with(
        STU_PERIOD,
        replace(
            STU_PERIOD,
            id=pid(2),
            employer_nsso=NSSO_B,
            start_date=D(2026, 2, 2),
            end_date=D(2026, 2, 6),
            planned_hours=600,
        ),
    )
    outcome = run(on_period(Kind.UPDATE, pid(1), planned_hours=55), ctx)
    assert outcome.result == Result.WARNING
    assert outcome.anomalies[0].quota is not None
    assert outcome.anomalies[0].quota.exceeding_hours == 5


@pytest.mark.parametrize(
    ("year", "limit", "unit"),
    [
        (2015, 50, "days"),
        (2016, 50, "days"),
        (2017, 475, "hours"),
        (2022, 475, "hours"),
        (2023, 600, "hours"),
        (2024, 600, "hours"),
        (2025, 650, "hours"),
        (2031, 650, "hours"),
    ],
)
def test_student_quota_table_by_year(year: int, limit: int, unit: str) -> None:
    row = RuleSettings().student_quota_for(year)
    assert row is not None and (row.limit, row.unit) == (limit, unit)


@pytest.mark.parametrize(("year", "limit"), [(2020, 475), (2024, 600), (2025, 650)])
def test_student_quota_applied_per_year(year: int, limit: int) -> None:
    day = D(year, 7, 6)
    done = replace(
        STU_PERIOD, start_date=D(year, 2, 2), end_date=D(year, 2, 6), planned_hours=limit
    )
    outcome = run(
        stu_in(start_date=day, end_date=day, planned_hours=3, received_at=at(D(year, 7, 1))),
        FakeContext(today=D(year, 7, 1), periods=[done]),
    )
    assert outcome.anomalies[0].quota is not None
    assert (outcome.anomalies[0].quota.limit_hours, outcome.anomalies[0].quota.exceeding_hours) == (
        limit,
        3,
    )


def test_student_quota_until_2016_counts_days() -> None:
    july = replace(
        STU_PERIOD, start_date=D(2016, 7, 1), end_date=D(2016, 8, 15), planned_hours=None
    )
    outcome = run(
        stu_in(
            start_date=D(2016, 9, 1),
            end_date=D(2016, 9, 10),
            planned_hours=None,
            received_at=at(D(2016, 9, 1)),
        ),
        FakeContext(today=D(2016, 9, 1), periods=[july]),
    )
    assert outcome.result == Result.WARNING, codes(outcome)
    quota = outcome.anomalies[0].quota
    assert quota is not None and (quota.unit, quota.limit_hours, quota.exceeding_hours) == (
        "days",
        50,
        6,
    )
    assert outcome.anomalies[0].description_fr == (
        "Dépassement du contingent étudiant : 6 jours (année 2016)"
    )


def test_student_quota_2025_onwards_is_configurable() -> None:
    settings = RuleSettings(student_quota=student_quota_table(700))
    done = replace(STU_PERIOD, employer_nsso=NSSO_B, planned_hours=680)
    assert run(stu_in(), ctx_with(done), settings).result == Result.ACCEPTED
    assert RuleSettings(student_quota=(QuotaRow(None, None, 10),)).student_quota_for(1990)


# -- lateness (§8) ---------------------------------------------------------------------------


def test_in_with_hour_is_late_after_the_start_hour() -> None:
    today = dimona_in(
        features=features("FLX", "302"),
        ssin=OTHER_ADULT,
        start_date=D(2026, 6, 15),
        end_date=D(2026, 6, 15),
        start_hour="0900",
        end_hour="1700",
    )
    assert run(replace(today, received_at=at(D(2026, 6, 15), 8, 59))).result == Result.ACCEPTED
    late = run(replace(today, received_at=at(D(2026, 6, 15), 9, 1)))
    assert codes(late) == ["90373-460"] and late.is_late


def test_in_without_hour_is_late_from_the_next_day() -> None:
    assert run(
        dimona_in(start_date=D(2026, 6, 15), received_at=at(D(2026, 6, 15), 23, 59))
    ).result == (Result.ACCEPTED)
    late = run(dimona_in(start_date=D(2026, 6, 14)))
    assert codes(late) == ["90373-460"]
    assert late.change is not None and late.change.after.is_late


@pytest.mark.parametrize(
    ("end", "received", "late"),
    [
        (D(2026, 6, 19), D(2026, 6, 22), False),  # Friday end: Monday is the deadline
        (D(2026, 6, 19), D(2026, 6, 23), True),
        (D(2026, 4, 3), D(2026, 4, 7), False),  # Good Friday: Easter Monday is no working day
        (D(2026, 4, 3), D(2026, 4, 8), True),
        (D(2026, 6, 15), D(2026, 6, 16), False),
        (D(2026, 6, 15), D(2026, 6, 17), True),
    ],
)
def test_out_is_late_after_the_first_working_day_after_the_end(
    end: date, received: date, late: bool
) -> None:
    open_period = period(1, start_date=D(2026, 3, 1))
    outcome = run(
        on_period(Kind.OUT, pid(1), end_date=end, received_at=at(received, 17)),
        FakeContext(today=received, periods=[open_period]),
    )
    assert outcome.result == Result.ACCEPTED and outcome.anomalies == ()  # no code for OUT
    assert outcome.is_late is late
    assert outcome.change is not None and outcome.change.after.is_late is late


def test_update_later_end_counts_from_the_end_first_declared() -> None:
    closed = period(1, start_date=D(2026, 6, 1), end_date=D(2026, 6, 12))  # a Friday
    later = on_period(Kind.UPDATE, pid(1), end_date=D(2026, 6, 30), received_at=at(D(2026, 6, 16)))
    outcome = run(later, ctx_with(closed))
    assert codes(outcome) == ["90378-460"] and outcome.is_late
    on_time = run(replace(later, received_at=at(D(2026, 6, 15))), ctx_with(closed))
    assert on_time.result == Result.ACCEPTED


def test_update_earlier_end_counts_from_the_new_end() -> None:
    closed = period(1, start_date=D(2026, 6, 1), end_date=D(2026, 6, 30))
    earlier = on_period(
        Kind.UPDATE, pid(1), end_date=D(2026, 6, 12), received_at=at(D(2026, 6, 15))
    )
    assert run(earlier, ctx_with(closed)).result == Result.ACCEPTED
    late = run(replace(earlier, received_at=at(D(2026, 6, 16))), ctx_with(closed))
    assert codes(late) == ["90378-460"]


def test_update_reopening_is_late_after_the_first_working_day_after_the_old_end() -> None:
    closed = period(1, start_date=D(2026, 6, 1), end_date=D(2026, 6, 5))
    outcome = run(on_period(Kind.UPDATE, pid(1), end_date=REOPEN), ctx_with(closed))
    assert codes(outcome) == ["90378-460"]
    assert outcome.change is not None and outcome.change.after.end_date is None


def test_cancel_after_the_start_is_recorded_late_without_code() -> None:
    outcome = run(on_period(Kind.CANCEL, pid(1)), ctx_with(OPEN))
    assert outcome.result == Result.ACCEPTED and outcome.anomalies == ()
    assert outcome.is_late
    future = period(1, start_date=D(2026, 6, 15))
    assert not run(on_period(Kind.CANCEL, pid(1)), ctx_with(future)).is_late


def test_lateness_can_be_switched_off() -> None:
    outcome = run(dimona_in(start_date=D(2026, 6, 1)), settings=RuleSettings(lateness_check=False))
    assert outcome.result == Result.ACCEPTED and not outcome.is_late


def test_naive_receipt_time_is_brussels_time() -> None:
    naive = dimona_in(
        start_date=D(2026, 6, 15), received_at=at(D(2026, 6, 15), 23).replace(tzinfo=None)
    )
    assert run(naive).result == Result.ACCEPTED


# -- dates domain --------------------------------------------------------------------------


def test_date_domain_follows_the_business_day() -> None:
    assert run(dimona_in(start_date=D(2035, 12, 31), end_date=D(2035, 12, 31))).result == (
        Result.ACCEPTED
    )
    outcome = run(dimona_in(end_date=D(2036, 1, 1)))
    assert codes(outcome) == ["00911-008"]
    next_year = FakeContext(today=D(2027, 1, 4))
    assert run(
        dimona_in(start_date=D(2036, 1, 1), received_at=at(D(2027, 1, 4))), next_year
    ).result == (Result.ACCEPTED)


def test_first_accepted_dates() -> None:
    old = dimona_in(start_date=D(1920, 1, 1), end_date=D(1999, 1, 1), received_at=at(D(1920, 1, 1)))
    ctx = FakeContext(employers_=employer_a(registered_from=D(1900, 1, 1)))
    assert run(old, ctx).result == Result.ACCEPTED


# -- anomaly details ---------------------------------------------------------------------------


def test_rest_anomalies_carry_the_json_path_and_the_value() -> None:
    outcome = run(stu_in(planned_hours=None, raw={"planned_hours": "7.5"}))
    (item,) = outcome.anomalies
    assert (item.code, item.path, item.value, item.tag) == (
        "01135-003",
        "dimonaIn.plannedHoursNumber",
        "7.5",
        "PlannedHoursNbr",
    )
    batch = run(replace(stu_in(planned_hours=None, raw={"planned_hours": "7.5"}), channel="BATCH"))
    assert batch.anomalies[0].path is None and batch.anomalies[0].tag == "PlannedHoursNbr"


def test_all_rules_run_and_collect_their_anomalies() -> None:
    declaration = dimona_in(
        features=features("OTH", "200"),
        start_hour="0900",
        planned_hours=8,
        end_date=D(2026, 6, 1),
    )
    assert set(codes(run(declaration))) == {"00046-003", "00777-005", "01135-005", "00911-014"}
