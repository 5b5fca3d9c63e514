"""The cross-check rules (crosscheck.md §1–§2): one test per rule and per exclusion, the
configurable defaults, and the §5 example. Pure: values in, findings out."""

from __future__ import annotations

from datetime import date

import pytest

from socsec.crosscheck.domain.model import Code, Occupation, Period, Rule, WorkerLine
from socsec.crosscheck.domain.quarters import bounds, parse_quarter, quarter_of, quarters_of_year
from socsec.crosscheck.domain.rules import (
    RuleSettings,
    Span,
    covered_days,
    declaration_codes,
    evaluate_triple,
    longest_gap,
)

Q = 20252  # 1 April - 30 June 2025
FIRST, LAST = bounds(Q)
RULES = RuleSettings()


def period(worker_type="OTH", start=FIRST, end=None, jc="XXX", hours=None, cancelled=False, pid=1):
    return Period(pid, worker_type, start, end, jc, hours, cancelled)


def occupation(jc="200", start=None, end=None, days=0, flexi=False, occasional=False, seq=1):
    return Occupation(seq, jc, start, end, days, flexi, occasional)


def line(code="495", *occupations: Occupation, hours=None, needs_dimona=True):
    return WorkerLine(code, "010", needs_dimona, tuple(occupations), hours)


def judge(lines, periods, rules=RULES):
    return evaluate_triple(Q, lines, periods, rules)


def test_consistent_triple_has_no_finding() -> None:
    e = judge([line("495", occupation())], [period(start=date(2020, 1, 1))])
    assert e.present and not e.failing and e.codes == ()
    assert e.in_dmfa and e.in_dimona


# -- C1 / C2 -------------------------------------------------------------------------------


def test_c1_dmfa_line_without_any_period() -> None:
    e = judge([line("495", occupation())], [])
    assert e.counts == {Rule.C1: 1} and e.codes == (Code.MORE_WORKERS_IN_DMFA,)


def test_c1_period_of_another_quarter_does_not_qualify() -> None:
    e = judge([line("495", occupation())], [period(start=date(2025, 1, 1), end=date(2025, 3, 31))])
    assert e.counts == {Rule.C1: 1}


def test_c1_says_everything_other_rules_are_not_judged() -> None:
    # A student line without any period: C1 only, not also C5 (§5: a C1 person is a C1 case).
    e = judge([line("841", occupation(), hours=40)], [])
    assert e.counts == {Rule.C1: 1} and e.codes == ("90007-262",)


def test_c2_period_without_dmfa_line() -> None:
    e = judge([], [period(start=date(2025, 5, 2))])
    assert e.counts == {Rule.C2: 1} and e.codes == (Code.FEWER_WORKERS_IN_DMFA,)
    assert e.in_dimona and not e.in_dmfa


# -- C3 ------------------------------------------------------------------------------------


def test_c3_occupation_not_covered_from_its_start() -> None:
    e = judge([line("495", occupation(start=FIRST))], [period(start=date(2025, 5, 15))])
    assert e.counts == {Rule.C3: 1}
    assert e.codes == ()  # outside flexi, C3 raises no official code


def test_c3_gap_between_two_periods_and_the_union_covers() -> None:
    two = [
        period(start=FIRST, end=date(2025, 4, 30), pid=1),
        period(start=date(2025, 5, 3), pid=2),
    ]
    assert judge([line("495", occupation())], two).counts == {Rule.C3: 1}
    joined = [
        period(start=FIRST, end=date(2025, 4, 30), pid=1),
        period(start=date(2025, 5, 1), pid=2),
    ]
    assert not judge([line("495", occupation())], joined).failing


def test_c3_grace_days_tolerate_a_short_gap() -> None:
    periods = [period(start=date(2025, 4, 3))]  # 1 and 2 April uncovered
    assert judge([line("495", occupation())], periods).counts == {Rule.C3: 1}
    assert not judge([line("495", occupation())], periods, RuleSettings(grace_days=2)).failing
    assert judge([line("495", occupation())], periods, RuleSettings(grace_days=1)).failing


def test_c3_flexi_occupation_raises_90015_485() -> None:
    flexi = occupation(jc="302", start=date(2025, 6, 7), end=date(2025, 6, 8), flexi=True)
    periods = [period("FLX", start=date(2025, 6, 7), end=date(2025, 6, 7), jc="302")]
    e = judge([line("015", flexi)], periods)
    assert e.counts == {Rule.C3: 1} and e.codes == (Code.FLEXI_NOT_COVERED,)


def test_c3_counts_each_failing_occupation() -> None:
    lines = [
        line(
            "495",
            occupation(start=FIRST, end=date(2025, 4, 30), seq=1),
            occupation(start=date(2025, 6, 1), seq=2),
        )
    ]
    periods = [period(start=date(2025, 5, 1), end=date(2025, 5, 31))]
    assert judge(lines, periods).counts == {Rule.C3: 2}


def test_c3_occupation_outside_the_quarter_is_left_out() -> None:
    old = occupation(start=date(2025, 1, 1), end=date(2025, 3, 31))
    e = judge([line("495", old)], [period(start=date(2025, 5, 1))])
    assert not e.failing


# -- C4 ------------------------------------------------------------------------------------


def test_c4_listed_dmfa_jc_and_period_without_it() -> None:
    e = judge([line("015", occupation(jc="302"))], [period(jc="XXX", start=date(2010, 1, 1))])
    assert e.counts == {Rule.C4: 1} and e.codes == ()


def test_c4_listed_period_jc_and_another_dmfa_jc() -> None:
    e = judge([line("015", occupation(jc="200"))], [period(jc="302", start=date(2010, 1, 1))])
    assert e.counts == {Rule.C4: 1}


def test_c4_same_listed_jc_and_xxx_outside_the_list_match() -> None:
    assert not judge([line("015", occupation(jc="302.00"))], [period(jc="302")]).failing
    assert not judge([line("015", occupation(jc="218"))], [period(jc="XXX")]).failing
    assert not judge([line("015", occupation(jc="218"))], [period(jc=None)]).failing
    # Two different JCs outside the list: Dimona does not carry them, no finding.
    assert not judge([line("015", occupation(jc="218"))], [period(jc="200")]).failing


def test_c4_the_list_is_configurable() -> None:
    lines, periods = [line("015", occupation(jc="302"))], [period(jc="XXX")]
    assert not judge(lines, periods, RuleSettings(joint_committees=frozenset({"124"}))).failing


# -- C5 ------------------------------------------------------------------------------------


def test_c5_student_line_without_stu_period() -> None:
    e = judge([line("841", occupation(), hours=40)], [period("OTH")])
    assert e.counts == {Rule.C5: 1} and e.codes == (Code.STUDENT_WITHOUT_STU,)


def test_c5_student_line_with_stu_period_without_planned_hours() -> None:
    e = judge([line("840", occupation(), hours=40)], [period("STU", end=LAST, hours=None)])
    assert e.counts == {Rule.C5: 1} and e.codes == ("90017-504",)


def test_c5_stu_period_without_student_line() -> None:
    e = judge([line("495", occupation())], [period("STU", end=LAST, hours=80)])
    assert e.counts == {Rule.C5: 1} and e.codes == ()


def test_c5_flexi_occupation_without_flx_period() -> None:
    e = judge([line("015", occupation(flexi=True))], [period("OTH")])
    assert e.counts == {Rule.C5: 1} and e.codes == (Code.FLEXI_NOT_COVERED,)


def test_c5_flx_period_without_flexi_occupation() -> None:
    e = judge([line("015", occupation())], [period("FLX")])
    assert e.counts == {Rule.C5: 1} and e.codes == ()


def test_c5_occasional_occupation_without_ext_period() -> None:
    e = judge([line("015", occupation(jc="302", occasional=True, days=200))], [period(jc="302")])
    assert e.counts == {Rule.C5: 1} and e.codes == (Code.OCCASIONAL_WITHOUT_EXT,)


def test_c5_ext_period_without_occasional_occupation() -> None:
    e = judge([line("015", occupation(jc="302"))], [period("EXT", jc="302", end=LAST)])
    assert e.counts == {Rule.C5: 1} and e.codes == ()


def test_c5_matching_types_are_consistent() -> None:
    ext = [
        period("EXT", start=date(2025, 4, 1), end=date(2025, 4, 2), jc="302", pid=1),
        period("OTH", start=date(2025, 4, 3), jc="302", pid=2),
    ]
    occasional = occupation(jc="302", occasional=True, days=200, end=date(2025, 4, 2), seq=1)
    regular = occupation(jc="302", start=date(2025, 4, 3), seq=2)
    assert not judge([line("015", occasional, regular)], ext).failing


# -- C6 ------------------------------------------------------------------------------------


def test_c6_student_hours_above_planned_hours() -> None:
    stu = [period("STU", end=LAST, hours=80)]
    e = judge([line("841", occupation(), hours=120)], stu)
    assert e.counts == {Rule.C6: 1} and e.codes == (Code.STUDENT_HOURS,)
    assert not judge([line("841", occupation(), hours=80)], stu).failing
    assert not judge([line("841", occupation(), hours=60)], stu).failing


def test_c6_student_hours_mode_differs() -> None:
    rules = RuleSettings(student_hours_mode="differs")
    stu = [period("STU", end=LAST, hours=80)]
    assert judge([line("841", occupation(), hours=60)], stu, rules).counts == {Rule.C6: 1}
    assert not judge([line("841", occupation(), hours=80)], stu, rules).failing


def test_c6_planned_hours_of_every_stu_period_of_the_quarter_add_up() -> None:
    stu = [
        period("STU", start=FIRST, end=date(2025, 4, 30), hours=50, pid=1),
        period("STU", start=date(2025, 5, 1), end=LAST, hours=50, pid=2),
    ]
    assert not judge([line("840", occupation(), hours=100)], stu).failing


def test_c6_occasional_days_differ_from_ext_days() -> None:
    ext = [
        period("EXT", start=date(2025, 6, 6), end=date(2025, 6, 7), jc="302", pid=1),
        period("EXT", start=date(2025, 6, 7), end=date(2025, 6, 7), jc="302", pid=2),
    ]
    at = {"start": date(2025, 6, 6), "end": date(2025, 6, 7)}
    three = occupation(jc="302", occasional=True, days=300, **at)
    e = judge([line("015", three)], ext)
    assert e.counts == {Rule.C6: 1} and e.codes == (Code.OCCASIONAL_DAYS,)
    two = occupation(jc="302", occasional=True, days=200, **at)  # 6 and 7 June: 2 distinct days
    assert not judge([line("015", two)], ext).failing


# -- exclusions (§1) -----------------------------------------------------------------------


@pytest.mark.parametrize("worker_type", ["DWD", "STG"])
def test_excluded_worker_types_expect_no_dmfa(worker_type: str) -> None:
    assert not judge([], [period(worker_type)]).present
    # A DmfA person with only DWD (or STG) periods is a C1 case.
    assert judge([line("495", occupation())], [period(worker_type)]).counts == {Rule.C1: 1}


def test_excluded_worker_types_are_configurable() -> None:
    rules = RuleSettings(excluded_worker_types=frozenset({"DWD"}))
    assert judge([], [period("STG")], rules).counts == {Rule.C2: 1}


def test_cancelled_period_does_not_qualify() -> None:
    assert not judge([], [period(cancelled=True)]).present
    e = judge([line("495", occupation())], [period(start=date(2024, 3, 1), cancelled=True)])
    assert e.counts == {Rule.C1: 1}


@pytest.mark.parametrize("code", ["879", "865", "870"])
def test_special_lines_need_no_dimona(code: str) -> None:
    assert not judge([line(code)], []).present
    assert judge([line(code)], [period()]).counts == {Rule.C2: 1}


def test_lines_without_occupation_or_student_block_need_no_dimona() -> None:
    # Dismissed statutory staff, complementary indemnities: no occupation, no student block.
    assert not judge([line("495", needs_dimona=False)], []).present


def test_ignored_worker_codes_are_configurable() -> None:
    rules = RuleSettings(ignored_worker_codes=frozenset())
    assert judge([line("879", occupation())], [], rules).counts == {Rule.C1: 1}


# -- once per declaration: count_mode ----------------------------------------------------


def test_declaration_codes_presence_and_totals() -> None:
    c1 = judge([line("495", occupation())], [])
    c2a = judge([], [period(pid=1)])
    c2b = judge([], [period(pid=2)])
    ok = judge([line("495", occupation())], [period()])
    assert declaration_codes([c1, c2a, ok], RULES) == ("90007-262", "90007-263")
    totals = RuleSettings(count_mode="totals")
    # DmfA persons 2 (c1, ok), Dimona persons 3 (c2a, c2b, ok): only "fewer in DmfA".
    assert declaration_codes([c1, c2a, c2b, ok], totals) == ("90007-263",)
    assert declaration_codes([c1, c2a, ok], totals) == ()
    assert declaration_codes([ok], RULES) == ()


def test_settings_refuse_unknown_modes() -> None:
    with pytest.raises(ValueError, match="count_mode"):
        RuleSettings(count_mode="sometimes")
    with pytest.raises(ValueError, match="student_hours_mode"):
        RuleSettings(student_hours_mode="maybe")


# -- the §5 example ------------------------------------------------------------------------


def test_crosscheck_md_example_employer_b_quarter_2025_2() -> None:
    """Five triples, five mismatches, each counted once (crosscheck.md §5)."""
    cases = {
        "88041212434": (
            [line("495", occupation(jc="200", start=date(2025, 4, 1)))],
            [period("OTH", start=date(2025, 5, 15))],
        ),
        "92073021590": (
            [line("495", occupation(jc="200"))],
            [period("OTH", start=date(2024, 9, 1), cancelled=True)],
        ),
        "69123103187": (
            [line("015", occupation(jc="302"))],
            [period("OTH", start=date(2010, 1, 1), jc="XXX")],
        ),
        "05021408828": (
            [line("841", occupation(jc="200"), hours=120)],
            [period("STU", start=date(2025, 4, 1), end=date(2025, 6, 30), hours=80)],
        ),
        "01090914289": ([], [period("OTH", start=date(2025, 5, 2))]),
    }
    results = {insz: judge(lines, periods) for insz, (lines, periods) in cases.items()}
    assert {insz: (e.counts, e.codes) for insz, e in results.items()} == {
        "88041212434": ({Rule.C3: 1}, ()),
        "92073021590": ({Rule.C1: 1}, ("90007-262",)),
        "69123103187": ({Rule.C4: 1}, ()),
        "05021408828": ({Rule.C6: 1}, ("90017-502",)),
        "01090914289": ({Rule.C2: 1}, ("90007-263",)),
    }
    present = [e for e in results.values() if e.present]
    assert len(present) == 5 and sum(e.failing for e in present) == 5  # pct_C 100 %


# -- helpers -------------------------------------------------------------------------------


def test_longest_gap_and_covered_days() -> None:
    span = Span(date(2025, 4, 1), date(2025, 4, 10))
    assert longest_gap(span, []) == 10
    assert longest_gap(span, [Span(date(2025, 3, 1), date(2025, 5, 1))]) == 0
    cover = [Span(date(2025, 4, 3), date(2025, 4, 4)), Span(date(2025, 4, 8), date(2025, 4, 8))]
    assert longest_gap(span, cover) == 3  # 5, 6, 7 April
    assert covered_days([Span(date(2025, 4, 1), date(2025, 4, 3)), *cover]) == 5  # 1-4, 8


def test_quarters() -> None:
    assert bounds(20251) == (date(2025, 1, 1), date(2025, 3, 31))
    assert bounds(20244) == (date(2024, 10, 1), date(2024, 12, 31))
    assert quarter_of(date(2025, 5, 15)) == 20252
    assert quarters_of_year(2025) == (20251, 20252, 20253, 20254)
    assert parse_quarter("2025-2") == parse_quarter("20252") == parse_quarter("2025Q2") == 20252
    for bad in ("2025-5", "20250", "2025-13", "x"):
        with pytest.raises(ValueError):
            parse_quarter(bad)
