"""The DmfA validation rules, one test per ErrorID (dmfa.md §4, §6, crosscheck.md §2).

Pure: declarations are read from the sample dicts, judged against in-memory facts."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dmfa_domain.dmfa_samples import (
    BLUE_COLLAR,
    KBO_A,
    NSSO_A,
    NSSO_C,
    OTHER_ADULT,
    STUDENT,
    TABLES,
    WHITE_COLLAR,
    blue_collar_person,
    employer,
    facts,
    form_element,
    original,
    person_update,
    rules,
    student_person,
    update_body,
    white_collar_person,
)

from socsec.dmfa.domain.checks import Facts, evaluate
from socsec.dmfa.domain.lifetime import plan_modification, resulting_lines
from socsec.dmfa.domain.model import (
    Declaration,
    Diagnosis,
    DimonaPeriod,
    Outcome,
    StoredDeclaration,
    StoredLine,
    StoredPerson,
)
from socsec.dmfa.domain.reading import read_form
from socsec.dmfa.domain.tables import parse_tables

TABLES_PATH = Path(__file__).parents[2] / "services" / "dmfa" / "tables.json"

PID = 10000000017


def read(body: dict, file_type: str = "DMFA") -> Declaration:
    declaration = read_form(form_element(body, file_type), file_type)
    assert isinstance(declaration, Declaration), declaration
    return declaration


def judge(
    body: dict, file_type: str = "DMFA", rule_overrides: dict | None = None, **kw: Any
) -> Outcome:
    return evaluate(read(body, file_type), facts(**kw), rules(**(rule_overrides or {})))


def codes(outcome: Outcome) -> list[str]:
    return [a.code for a in outcome.anomalies]


def only(outcome: Outcome, code: str) -> None:
    assert codes(outcome) == [code], codes(outcome)


def line(person: dict) -> dict:
    return person["WorkerRecord"][0]


def occupation(person: dict) -> dict:
    return line(person)["Occupation"][0]


def test_the_sample_is_accepted_without_anomaly() -> None:
    outcome = judge(original([white_collar_person(), blue_collar_person(), student_person()]))
    assert outcome.accepted and outcome.result_code == 1 and outcome.anomalies == ()


# -- employer, quarter, mandate ----------------------------------------------------------------


def test_00011_004_nsso_check_digits() -> None:
    outcome = judge(original(nsso="155555505"), by_nsso=None, nsso_in_registry=False)
    assert "00011-004" in codes(outcome) and not outcome.accepted


def test_00011_004_not_raised_for_a_number_the_registry_holds() -> None:
    outcome = judge(original(nsso="155555505"), by_nsso=None, nsso_in_registry=True)
    assert "00011-004" not in codes(outcome)


def test_00014_004_enterprise_number_check_digits() -> None:
    assert "00014-004" in codes(judge(original(company="0555555524")))


def test_00024_004_insz_check_digits() -> None:
    outcome = judge(original([white_collar_person(inss="95050530029")]))
    assert codes(outcome) == ["00024-004"] and outcome.diagnosis == Diagnosis.BLOCKING


def test_00011_051_employer_not_in_the_register_for_the_quarter() -> None:
    only(judge(original(), by_nsso=None), "00011-051")
    gone = employer(registered_to=date(2024, 12, 31))
    only(judge(original(), by_nsso=gone), "00011-051")


def test_00014_235_enterprise_number_not_in_the_register() -> None:
    only(judge(original(nsso="0"), by_enterprise=None), "00014-235")


def test_90007_151_employer_not_identifiable() -> None:
    only(judge(original(nsso="0", company="0")), "90007-151")
    # NSSO number of employer C with the enterprise number of employer A.
    only(judge(original(company=KBO_A)), "90007-151")


def test_the_enterprise_number_alone_identifies_the_employer() -> None:
    assert judge(original(nsso="0")).accepted


def test_00011_155_no_dmfa_mandate() -> None:
    only(judge(original(), mandate_ok=False), "00011-155")


def test_00013_003_quarter_not_ended_or_before_2003() -> None:
    not_ended = judge(original(quarter=20252), today=date(2025, 6, 30))
    assert "00013-003" in codes(not_ended) and not not_ended.accepted
    assert "00013-003" in codes(judge(original(quarter=20024)))


def test_00013_313_quarter_at_risk_of_prescription() -> None:
    # 2025/1 is due 30 April 2025: at risk from 21 April 2028 (3 years - 10 days).
    assert judge(original(), today=date(2028, 4, 20)).accepted
    assert "00013-313" in codes(judge(original(), today=date(2028, 4, 21)))


def test_90007_006_an_accepted_original_already_exists() -> None:
    only(judge(original(), original_exists=True), "90007-006")


# -- uniqueness --------------------------------------------------------------------------------


def test_90017_006_same_insz_twice() -> None:
    twice = [white_collar_person(1), white_collar_person(2)]
    assert "90017-006" in codes(judge(original(twice)))


def test_00023_006_same_person_sequence_number_twice() -> None:
    twice = [white_collar_person(1), blue_collar_person(1)]
    only(judge(original(twice)), "00023-006")


def test_90017_151_unknown_insz_when_the_policy_refuses() -> None:
    body = original()
    assert judge(body, unknown_workers=frozenset({BLUE_COLLAR})).accepted  # default: accept
    outcome = judge(
        body,
        rule_overrides={"unknown_inss_policy": "refuse"},
        unknown_workers=frozenset({BLUE_COLLAR}),
    )
    only(outcome, "90017-151")


def test_90012_006_same_worker_line_twice() -> None:
    person = white_collar_person()
    person["WorkerRecord"].append(copy.deepcopy(line(person)))
    body = original([person])
    body["EmployerDeclaration"]["NetOwedAmount"] = 2 * 308367
    only(judge(body), "90012-006")


def test_90018_006_same_service_code_twice() -> None:
    person = white_collar_person()
    occupation(person)["Service"] = [
        {"ServiceSequenceNbr": 1, "ServiceCode": "001", "ServiceNbrDays": 3000},
        {"ServiceSequenceNbr": 2, "ServiceCode": "001", "ServiceNbrDays": 3400},
    ]
    only(judge(original([person])), "90018-006")


def test_90019_006_same_pay_code_twice() -> None:
    person = white_collar_person()
    occupation(person)["Remun"] = [
        {"RemunSequenceNbr": 1, "RemunCode": "001", "RemunAmount": 400000},
        {"RemunSequenceNbr": 2, "RemunCode": "001", "RemunAmount": 410000},
    ]
    only(judge(original([person])), "90019-006")


def test_90001_006_same_contribution_twice() -> None:
    person = white_collar_person()
    contribution = line(person)["WorkerContribution"][0]
    line(person)["WorkerContribution"] = [contribution, dict(contribution)]
    outcome = judge(original([person]))
    assert "90001-006" in codes(outcome) and not outcome.accepted


def test_90002_006_same_unrelated_contribution_twice() -> None:
    body = original()
    unrelated = {
        "UnrelatedEmployerClass": "010",
        "UnrelatedWorkerCode": "865",
        "UnrelatedAmount": 100,
    }
    body["EmployerDeclaration"]["ContributionUnrelatedToNP"] = [unrelated, dict(unrelated)]
    body["EmployerDeclaration"]["NetOwedAmount"] += 200
    only(judge(body), "90002-006")


# -- worker lines ------------------------------------------------------------------------------


def test_00036_051_employer_class_not_registered_for_the_quarter() -> None:
    other_class = employer(classes=(("020", 20031, None),))
    assert "00036-051" in codes(judge(original(), by_nsso=other_class))
    expired = employer(classes=(("010", 20031, 20244),))
    assert "00036-051" in codes(judge(original(), by_nsso=expired))


def test_00037_025_worker_code_incompatible_with_the_employer_class() -> None:
    # 865 (a contribution not linked to a person) is no worker line of an employer of class 010.
    person = white_collar_person()
    line(person)["WorkerCode"] = "865"
    outcome = judge(original([person]))
    only(outcome, "00037-025")
    assert not outcome.accepted
    # Classes without a rule of their own accept every known code.
    line(person)["EmployerClass"] = "020"
    classes = employer(classes=(("020", 20031, None),))
    assert judge(original([person]), by_nsso=classes, by_enterprise=classes).anomalies == ()


def test_00037_008_worker_code_not_in_the_annex_2_table() -> None:
    person = white_collar_person()
    line(person)["WorkerCode"] = "011"
    outcome = judge(original([person]))
    only(outcome, "00037-008")
    assert not outcome.accepted and outcome.anomalies[0].value == "011"
    # An operator who extends the table (or accepts unknown codes) has it accepted.
    data = json.loads(TABLES_PATH.read_text(encoding="utf-8"))
    data["worker_codes"]["codes"]["011"] = {"kind": "BLUE_COLLAR", "label": "test"}
    extended = parse_tables(data)
    assert evaluate(read(original([person])), facts(), rules(tables=extended)).anomalies == ()
    assert extended.worker_kind("011") == "BLUE_COLLAR"
    data["worker_codes"]["codes"].pop("011")
    data["worker_codes"]["unknown_code"] = "accept"
    lenient = parse_tables(data)
    assert evaluate(read(original([person])), facts(), rules(tables=lenient)).anomalies == ()
    data["worker_codes"]["unknown_code"] = "warn"
    with pytest.raises(ValueError, match="unknown_code"):
        parse_tables(data)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("015", "BLUE_COLLAR"),
        ("495", "WHITE_COLLAR"),
        ("027", "TRAINEE"),
        ("487", "TRAINEE"),
        ("035", "APPRENTICE"),
        ("439", "APPRENTICE"),
        ("840", "STUDENT"),
        ("841", "STUDENT"),
        ("879", "BRIDGE_PENSION"),
        ("865", "NOT_LINKED_TO_A_PERSON"),
        ("870", "NOT_LINKED_TO_A_PERSON"),
    ],
)
def test_every_worker_code_of_the_spec_is_known_with_its_kind(code: str, kind: str) -> None:
    assert TABLES.worker_code_known(code) and TABLES.worker_kind(code) == kind
    allowed = TABLES.worker_code_allowed("010", code)
    assert allowed is (kind != "NOT_LINKED_TO_A_PERSON")


def test_00038_034_and_00039_034_quarter_dates() -> None:
    person = white_collar_person()
    line(person)["NOSSQuarterStartingDate"] = "2025-01-02"
    line(person)["NOSSQuarterEndingDate"] = "2025-03-30"
    outcome = judge(original([person]))
    assert codes(outcome) == ["00038-034", "00039-034"] and outcome.accepted
    assert {a.severity for a in outcome.anomalies} == {"P"}


# -- occupations ---------------------------------------------------------------------------------


def test_00045_014_occupation_ends_before_it_starts() -> None:
    person = blue_collar_person()
    occupation(person)["OccupationEndingDate"] = "2025-01-05"
    only(judge(original([person])), "00045-014")


def test_00044_034_occupation_starts_after_the_quarter() -> None:
    person = white_collar_person()
    occupation(person)["OccupationStartingDate"] = "2025-04-01"
    assert "00044-034" in codes(judge(original([person])))


def test_00045_034_occupation_end_outside_the_quarter() -> None:
    person = white_collar_person(OccupationEndingDate="2025-04-15")
    only(judge(original([person])), "00045-034")


def test_00046_003_joint_committee_format() -> None:
    # Both channels stop such a value at the schema level with the same code...
    from socsec.dmfa.domain.reading import read_form as read_any

    refused = read_any(
        form_element(original([white_collar_person(JointCommissionNbr="20")])), "DMFA"
    )
    assert [a.code for a in refused.anomalies] == ["00046-003"]  # type: ignore[union-attr]
    # ... and the rule itself refuses a model that holds one (e.g. a stored line).
    person = read(original())
    o = person.persons[0].records[0].occupations[0]
    import dataclasses

    bad = dataclasses.replace(
        person,
        persons=(
            dataclasses.replace(
                person.persons[0],
                records=(
                    dataclasses.replace(
                        person.persons[0].records[0],
                        occupations=(dataclasses.replace(o, joint_commission="20.1"),),
                    ),
                ),
            ),
            person.persons[1],
        ),
    )
    assert "00046-003" in codes(evaluate(bad, facts(), rules()))


def test_00046_314_joint_committee_999() -> None:
    outcome = judge(original([white_collar_person(JointCommissionNbr="999")]))
    only(outcome, "00046-314")
    assert outcome.accepted and outcome.anomalies[0].severity == "NP"


def test_90015_095_and_096_the_spec_example() -> None:
    # 2.5 days a week from 6 January to 28 February 2025 (54 days, 47 Mon-Sat) with 58 days.
    outcome = judge(original([blue_collar_person(days=5800)]))
    assert codes(outcome) == ["90015-095", "90015-096"] and outcome.accepted


def test_90015_095_more_days_than_monday_to_saturday() -> None:
    # 6 days a week over the whole quarter: 90 days, 77 Mon-Sat days, regime allows 78.
    person = white_collar_person(WorkingDaysSystem=600)
    occupation(person)["Service"][0]["ServiceNbrDays"] = 7800
    only(judge(original([person])), "90015-095")


def test_90015_096_more_days_than_the_regime() -> None:
    # 5 days a week over 90 days: ceil(5 × 90 / 7) = 65 days; 66 are declared.
    person = white_collar_person()
    occupation(person)["Service"][0]["ServiceNbrDays"] = 6600
    only(judge(original([person])), "90015-096")
    assert judge(original([person]), rule_overrides={"days_tolerance": 1}).anomalies == ()


def test_00064_032_more_hours_than_the_mean_working_hours() -> None:
    # 19 hours a week over 54 days allow 146.57 hours; 150 are declared.
    person = blue_collar_person()
    occupation(person)["Service"][0]["ServiceNbrHours"] = 15000
    only(judge(original([person])), "00064-032")


def _second_occupation(person: dict, start: str, days: int, **fields: Any) -> dict:
    """The person's line with a second occupation (no pay: the line's pay stays the same)."""
    person = copy.deepcopy(person)
    second = copy.deepcopy(occupation(person))
    second.update(
        OccupationSequenceNbr=2,
        OccupationStartingDate=start,
        Service=[{"ServiceSequenceNbr": 1, "ServiceCode": "001", "ServiceNbrDays": days}],
        Remun=[],
        **fields,
    )
    line(person)["Occupation"].append(second)
    return person


def test_90012_192_more_days_on_the_line_than_monday_to_saturday() -> None:
    # Two parallel occupations over the whole quarter, each within its own limits (64 and 60
    # of 65 days), together 124 days of a quarter with 77 Monday-Saturday days.
    person = _second_occupation(white_collar_person(), "2023-01-09", 6000)
    outcome = judge(original([person]))
    only(outcome, "90012-192")
    found = outcome.anomalies[0]
    assert found.severity == "P" and found.value == "12400" and outcome.accepted
    assert (
        found.path_value("WorkerCode") == "495"
        and found.path_value("OccupationSequenceNbr") is None
    )
    fits = _second_occupation(white_collar_person(), "2023-01-09", 1300)  # 77 days
    assert judge(original([fits])).anomalies == ()


def test_90012_260_more_hours_on_the_line_than_the_quarter_allows() -> None:
    # 77 Monday-Saturday days × 5 hours (setting) = 385 hours; 400 are declared (the mean
    # working hours alone would allow 488).
    person = white_collar_person()
    occupation(person)["Service"][0]["ServiceNbrHours"] = 40000
    only(judge(original([person]), rule_overrides={"line_max_daily_hours": 5}), "90012-260")
    occupation(person)["Service"][0]["ServiceNbrHours"] = 38000
    assert judge(original([person]), rule_overrides={"line_max_daily_hours": 5}).anomalies == ()


def test_90012_242_an_occupation_followed_by_another_has_no_end_date() -> None:
    # The same joint committee and regime again from 1 February: the first one has ended.
    person = _second_occupation(white_collar_person(), "2025-02-01", 1000)
    outcome = judge(original([person]))
    only(outcome, "90012-242")
    assert outcome.anomalies[0].path_value("OccupationSequenceNbr") == "1"
    # Under another joint committee it is a parallel occupation: nothing to say.
    parallel = _second_occupation(
        white_collar_person(), "2025-02-01", 1000, JointCommissionNbr="218"
    )
    assert judge(original([parallel])).anomalies == ()


def test_the_line_checks_report_their_twin_in_a_modification() -> None:
    person = _second_occupation(white_collar_person(), "2025-02-01", 1000)
    outcome = judge_update(modification(person))
    assert [(a.code, a.rule_code) for a in outcome.anomalies] == [("90225-242", "90012-242")]


# -- contributions -----------------------------------------------------------------------------


def test_00085_044_declared_contribution_differs_from_the_rate_table() -> None:
    person = white_collar_person()
    line(person)["WorkerContribution"][0]["ContributionAmount"] = 303367
    outcome = judge(original([person]))
    only(outcome, "00085-044")
    [found] = outcome.anomalies
    assert found.value == "303367" and found.path[-2:] == (
        ("ContributionWorkerCode", "495"),
        ("ContributionType", "0"),
    )


def test_00085_044_has_a_tolerance() -> None:
    person = white_collar_person()
    line(person)["WorkerContribution"][0]["ContributionAmount"] = 308367 + 100
    assert judge(original([person])).anomalies == ()
    line(person)["WorkerContribution"][0]["ContributionAmount"] = 308367 + 101
    only(judge(original([person])), "00085-044")


def test_00084_044_declared_basis_differs() -> None:
    person = white_collar_person()
    line(person)["WorkerContribution"][0]["ContributionCalculationBasis"] = 800000
    only(judge(original([person])), "00084-044")


def test_blue_collar_pay_is_taken_at_108_percent() -> None:
    person = blue_collar_person()
    contribution = line(person)["WorkerContribution"][0]
    contribution["ContributionCalculationBasis"] = 912000  # pay at 100 %
    contribution["ContributionAmount"] = 347198  # 912 000 × 38.07 %
    assert codes(judge(original([person]))) == ["00084-044", "00085-044"]


def test_00077_044_student_solidarity_contribution() -> None:
    person = student_person()
    line(person)["StudentContribution"]["StudentContributionAmount"] = 10000
    only(judge(original([person])), "00077-044")


def test_01158_260_student_hours_above_the_yearly_quota() -> None:
    only(judge(original([student_person(hours=651)])), "01158-260")
    assert judge(original([student_person(hours=650)])).anomalies == ()


# -- totals --------------------------------------------------------------------------------------


def test_00015_007_net_owed_amount_differs_from_the_sum() -> None:
    outcome = judge(original(net=683340))
    only(outcome, "00015-007")
    assert not outcome.accepted and outcome.diagnosis == Diagnosis.BLOCKING


def test_00015_011_negative_balance_for_an_employer_class() -> None:
    person = white_collar_person()
    line(person)["WorkerDeduction"] = [{"DeductionCode": "0001", "DeductionAmount": 400000}]
    body = original([person])
    employer_block = body["EmployerDeclaration"]
    employer_block["ContributionUnrelatedToNP"] = [
        {"UnrelatedEmployerClass": "020", "UnrelatedWorkerCode": "865", "UnrelatedAmount": 200000}
    ]
    employer_block["NetOwedAmount"] = 308367 - 400000 + 200000
    only(judge(body), "00015-011")


# -- diagnoses ----------------------------------------------------------------------------------


def test_diagnosis_0_incomplete_declaration() -> None:
    outcome = judge(original([]))
    assert not outcome.accepted and outcome.diagnosis == Diagnosis.INCOMPLETE


def test_diagnosis_4_too_many_lines_with_p_anomalies() -> None:
    person = white_collar_person()
    line(person)["WorkerContribution"][0]["ContributionAmount"] = 303367
    body = original([person, blue_collar_person()])
    assert judge(body).accepted  # off by default
    outcome = judge(body, rule_overrides={"max_p_line_share": 0.3})
    assert not outcome.accepted and outcome.diagnosis == Diagnosis.TOO_MANY_ANOMALIES


def test_diagnosis_1_too_many_missing_dimonas() -> None:
    dimona = {WHITE_COLLAR: [DimonaPeriod("OTH", date(2023, 1, 9))]}
    outcome = judge(original(), rule_overrides={"max_missing_dimona_share": 0.4}, dimona=dimona)
    assert not outcome.accepted and outcome.diagnosis == Diagnosis.MISSING_DIMONA


# -- cross-check with Dimona ----------------------------------------------------------------------


def _known(*insz: str, worker_type: str = "OTH", hours: int | None = None) -> dict:
    return {i: [DimonaPeriod(worker_type, date(2023, 1, 9), None, hours)] for i in insz}


def test_90007_262_more_workers_in_dmfa_than_in_dimona() -> None:
    outcome = judge(original(), dimona=_known(WHITE_COLLAR))
    only(outcome, "90007-262")
    assert outcome.accepted and outcome.anomalies[0].severity == "NP"


def test_90007_263_fewer_workers_in_dmfa_than_in_dimona() -> None:
    only(judge(original(), dimona=_known(WHITE_COLLAR, BLUE_COLLAR, OTHER_ADULT)), "90007-263")


def test_dwd_and_stg_periods_do_not_count() -> None:
    dimona = {**_known(WHITE_COLLAR, BLUE_COLLAR), **_known(OTHER_ADULT, worker_type="DWD")}
    assert judge(original(), dimona=dimona).anomalies == ()


def test_90017_504_student_line_without_student_dimona() -> None:
    body = original([white_collar_person(), student_person()])
    only(judge(body, dimona=_known(WHITE_COLLAR, STUDENT)), "90017-504")


def test_90017_502_student_hours_above_the_planned_hours() -> None:
    body = original([white_collar_person(), student_person(hours=120)])
    dimona = {**_known(WHITE_COLLAR), **_known(STUDENT, worker_type="STU", hours=100)}
    only(judge(body, dimona=dimona), "90017-502")
    dimona = {**_known(WHITE_COLLAR), **_known(STUDENT, worker_type="STU", hours=120)}
    assert judge(body, dimona=dimona).anomalies == ()


def test_90015_485_flexi_occupation_not_covered_by_dimona() -> None:
    person = white_collar_person()
    occupation(person)["Remun"][0]["RemunCode"] = "022"
    body = original([person])
    late_start = {WHITE_COLLAR: [DimonaPeriod("FLX", date(2025, 2, 1))]}
    only(judge(body, dimona=late_start), "90015-485")
    assert judge(body, dimona=_known(WHITE_COLLAR, worker_type="FLX")).anomalies == ()


def test_90015_456_occasional_occupation_without_ext_dimona() -> None:
    person = white_collar_person()
    occupation(person)["OccupationInformations"] = {"HorecaExtra": "E"}
    body = original([person])
    only(judge(body, dimona=_known(WHITE_COLLAR)), "90015-456")
    # 64 days declared: an EXT period of 64 days of the quarter covers it.
    ext = {WHITE_COLLAR: [DimonaPeriod("EXT", date(2025, 1, 1), date(2025, 3, 5))]}
    assert judge(body, dimona=ext).anomalies == ()


def test_90017_429_occasional_days_differ_from_the_ext_dimona_days() -> None:
    person = white_collar_person()
    occupation(person)["OccupationInformations"] = {"HorecaExtra": "E"}
    body = original([person])
    # 64 days declared (6400), EXT periods over 20 + 40 distinct days (one day shared).
    ext = [
        DimonaPeriod("EXT", date(2025, 1, 1), date(2025, 1, 20)),
        DimonaPeriod("EXT", date(2025, 1, 20), date(2025, 2, 28)),
    ]
    outcome = judge(body, dimona={WHITE_COLLAR: ext})
    only(outcome, "90017-429")
    found = outcome.anomalies[0]
    assert found.severity == "NP" and found.value == "6400" and outcome.accepted
    assert found.path_value("INSS") == WHITE_COLLAR
    # The days before the quarter do not count: a period from December covers 64 days too.
    covering = [DimonaPeriod("EXT", date(2024, 12, 1), date(2025, 3, 5))]
    assert judge(body, dimona={WHITE_COLLAR: covering}).anomalies == ()
    # Off when the cross-check at processing is off.
    off = judge(body, rule_overrides={"crosscheck": False}, dimona={WHITE_COLLAR: ext})
    assert off.anomalies == ()


def test_90220_429_is_the_twin_in_a_modification() -> None:
    person = white_collar_person()
    occupation(person)["OccupationInformations"] = {"HorecaExtra": "E"}
    january = {WHITE_COLLAR: [DimonaPeriod("EXT", date(2025, 1, 1), date(2025, 1, 31))]}
    outcome = judge_update(modification(person), dimona=january)
    found = [a for a in outcome.anomalies if a.rule_code == "90017-429"]
    assert [a.code for a in found] == ["90220-429"] and outcome.accepted


# -- modifications ---------------------------------------------------------------------------------


def stored_sample() -> StoredDeclaration:
    """The sample original as the store keeps it, with PIDs like dmfa.md §6."""
    d = read(original())
    stored = StoredDeclaration(PID, NSSO_C, 20251)
    for n, person in enumerate(d.persons):
        stored.persons[person.inss] = StoredPerson(
            20000000011 + n, person.inss, person.sequence, 10000000018 + n, 10000000018 + n
        )
        record = person.records[0]
        stored.lines[(person.inss, record.employer_class, record.worker_code)] = StoredLine(
            20000000011 + n,
            person.inss,
            record.employer_class,
            record.worker_code,
            10000000019 + n,
            record,
        )
    return stored


def modification(
    person: dict | None = None,
    *,
    pid: int = PID,
    pids: dict | None = None,
    action: int = 1,
    last: dict | None = None,
) -> dict:
    person = person or white_collar_person()
    pids = pids or {
        "natural_person_pid": 20000000011,
        "decl_natural_person_pid": 10000000018,
        "decl_natural_person_version_nbr": 10000000018,
    }
    if last is None and action != 3:
        last = {"EmployerClass": "010", "WorkerCode": "495", "WorkerRecordVersionNbr": 10000000019}
    return update_body(pid, [person_update(person, pids, line(person), action=action, last=last)])


def judge_update(body: dict, stored: StoredDeclaration | None = None, **kw: Any) -> Outcome:
    d = read(body, "DMWA")
    stored = stored_sample() if stored is None else stored
    f: Facts = facts(stored=stored, **kw)
    if stored is not None:
        f.resulting_lines = resulting_lines(stored, plan_modification(stored, d))
    return evaluate(d, f, rules())


def test_a_modification_that_quotes_the_last_situation_is_accepted() -> None:
    outcome = judge_update(modification())
    assert outcome.accepted and outcome.anomalies == ()


def test_00534_182_employer_declaration_not_found() -> None:
    only(
        judge_update(
            modification(pid=10000000099), stored=StoredDeclaration(10000000099, NSSO_A, 20251)
        ),
        "00534-182",
    )
    outcome = evaluate(read(modification(), "DMWA"), facts(stored=None), rules())
    only(outcome, "00534-182")


def test_00549_176_and_00548_176_person_pids_do_not_match() -> None:
    wrong = {
        "natural_person_pid": 20000000099,
        "decl_natural_person_pid": 10000000099,
        "decl_natural_person_version_nbr": 10000000018,
    }
    assert codes(judge_update(modification(pids=wrong))) == ["00549-176", "00548-176"]


def test_00620_180_person_version_is_not_the_last() -> None:
    stale = {
        "natural_person_pid": 20000000011,
        "decl_natural_person_pid": 10000000018,
        "decl_natural_person_version_nbr": 10000000010,
    }
    only(judge_update(modification(pids=stale)), "00620-180")


def test_00610_180_worker_line_version_is_not_the_last() -> None:
    stale = {"EmployerClass": "010", "WorkerCode": "495", "WorkerRecordVersionNbr": 10000000010}
    only(judge_update(modification(last=stale)), "00610-180")


def test_00618_174_action_not_allowed() -> None:
    # Creating a line that exists, and changing one without saying which.
    only(judge_update(modification(action=3)), "00618-174")
    body = modification()
    del body["EmployerDeclarationUpdate"]["NaturalPersonUpdate"][0]["WorkerRecordUpdate"][0][
        "LastSituationWR"
    ]
    only(judge_update(body), "00618-174")


def test_90219_181_modification_of_a_prescribed_quarter() -> None:
    only(judge_update(modification(), today=date(2028, 5, 1)), "90219-181")


def test_a_modification_reports_update_block_twins() -> None:
    person = white_collar_person()
    occupation(person)["Service"][0]["ServiceNbrDays"] = 6600
    outcome = judge_update(modification(person))
    [found] = outcome.anomalies
    assert (found.code, found.rule_code) == ("90211-096", "90015-096")


def test_a_modification_adds_a_new_person() -> None:
    new = white_collar_person(3, OTHER_ADULT)
    body = update_body(
        PID,
        [
            {
                "NaturalPersonSequenceNbr": 3,
                "INSS": OTHER_ADULT,
                "WorkerRecordUpdate": [
                    {
                        "WorkerRecordUpdateAction": {
                            **{k: v for k, v in line(new).items() if k not in ("Occupation",)},
                            "UpdateAction": 3,
                            "OccupationUpdate": line(new)["Occupation"],
                        }
                    }
                ],
            }
        ],
    )
    # Keys out of schema order are put right by the JSON path only: place UpdateAction.
    action = body["EmployerDeclarationUpdate"]["NaturalPersonUpdate"][0]["WorkerRecordUpdate"][0][
        "WorkerRecordUpdateAction"
    ]
    contribution = action.pop("WorkerContribution")
    occupations = action.pop("OccupationUpdate")
    action.update({"OccupationUpdate": occupations, "WorkerContribution": contribution})
    outcome = judge_update(body)
    assert outcome.accepted and outcome.anomalies == ()


def test_a_modification_deletes_a_line() -> None:
    stored = stored_sample()
    body = modification(action=0)
    update = body["EmployerDeclarationUpdate"]["NaturalPersonUpdate"][0]["WorkerRecordUpdate"][0]
    action = update["WorkerRecordUpdateAction"]
    for key in ("OccupationUpdate", "WorkerContribution"):
        action.pop(key)
    outcome = judge_update(body, stored=stored)
    assert outcome.accepted and outcome.anomalies == ()
    d = read(body, "DMWA")
    [change] = plan_modification(stored, d)
    assert change.new is None and change.old is not None
    assert [inss for inss, _ in resulting_lines(stored, [change])] == [BLUE_COLLAR]
