"""Reading a DmfA form: the schema-level faults of both channels (``ZZZZZ-001/-002/-008/
-090/-091/-093/-146``, ``90059-163``) and the JSON body read exactly like the XML form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dmfa_domain.dmfa_samples import (
    blue_collar_person,
    document_xml,
    form_xml,
    original,
    schema_errors,
    student_person,
    update_body,
    white_collar_person,
)
from lxml import etree

from socsec.dmfa.domain.json_form import BadBody, file_type_of, form_from_json
from socsec.dmfa.domain.model import Declaration, FormRefused, Kind
from socsec.dmfa.domain.reading import read_form

SAMPLE = form_xml(original([white_collar_person(), blue_collar_person(), student_person()]))


def refused(xml: str, file_type: str = "DMFA") -> list[tuple[str, str | None]]:
    result = read_form(etree.fromstring(xml.encode()), file_type)
    assert isinstance(result, FormRefused), result
    return [(a.code, a.tag) for a in result.anomalies]


def test_the_official_sample_validates_and_reads() -> None:
    assert schema_errors(document_xml([SAMPLE])) == []
    declaration = read_form(etree.fromstring(SAMPLE.encode()), "DMFA")
    assert isinstance(declaration, Declaration)
    assert declaration.kind == Kind.ORIGINAL and declaration.quarter == 20251
    assert [p.inss for p in declaration.persons] == [
        "95050530028",
        "88041212434",
        "05031512367",
    ]
    student = declaration.persons[2].records[0].student
    assert student is not None and student.hours == 120


@pytest.mark.parametrize(
    ("case", "old", "new", "expected"),
    [
        ("missing (-001)", "<Border>0</Border>", "", [("00040-001", "Border")]),
        (
            "not numeric (-002)",
            "<NetOwedAmount>695536</NetOwedAmount>",
            "<NetOwedAmount>68x</NetOwedAmount>",
            [("00015-002", "NetOwedAmount")],
        ),
        (
            "outside the domain (-008)",
            "<WorkingDaysSystem>500</WorkingDaysSystem>",
            "<WorkingDaysSystem>800</WorkingDaysSystem>",
            [("00047-008", "WorkingDaysSystem")],
        ),
        (
            "not a date (-008)",
            "<OccupationStartingDate>2023-01-09</OccupationStartingDate>",
            "<OccupationStartingDate>2023-02-30</OccupationStartingDate>",
            [("00044-008", "OccupationStartingDate")],
        ),
        (
            "cardinality (-090)",
            "<Trusteeship>0</Trusteeship>",
            "<Trusteeship>0</Trusteeship><Trusteeship>0</Trusteeship>",
            [("00012-090", "Trusteeship")],
        ),
        (
            "order (-091)",
            "<Trusteeship>0</Trusteeship><CompanyID>0555555523</CompanyID>",
            "<CompanyID>0555555523</CompanyID><Trusteeship>0</Trusteeship>",
            [("00012-091", "Trusteeship")],
        ),
        (
            "length (-093)",
            "<INSS>95050530028</INSS>",
            "<INSS>950505300281</INSS>",
            [("00024-093", "INSS")],
        ),
        (
            "identity data are not allowed in DmfA (-146)",
            "<INSS>95050530028</INSS>",
            "<INSS>95050530028</INSS><WorkerName>Peeters</WorkerName>",
            [("00025-146", "WorkerName")],
        ),
        (
            "unknown element (-146)",
            "<Border>0</Border>",
            "<Border>0</Border><Colour>blue</Colour>",
            [("90012-146", "Colour")],
        ),
        (
            "joint committee format (00046-003)",
            "<JointCommissionNbr>200</JointCommissionNbr>",
            "<JointCommissionNbr>2OO</JointCommissionNbr>",
            [("00046-003", "JointCommissionNbr")],
        ),
        (
            "wrong message (00296-008)",
            "<Identification>DMFA</Identification>",
            "<Identification>DMFAUPD</Identification>",
            [("00296-008", "Identification")],
        ),
    ],
)
def test_schema_level_faults(case: str, old: str, new: str, expected: list) -> None:
    assert old in SAMPLE, case
    bad = SAMPLE.replace(old, new, 1)
    assert schema_errors(document_xml([bad])) != []  # the official schema refuses it too
    assert refused(bad) == expected


def test_the_path_of_a_structural_fault_names_its_block() -> None:
    bad = SAMPLE.replace("<Border>0</Border>", "", 1)
    result = read_form(etree.fromstring(bad.encode()), "DMFA")
    assert isinstance(result, FormRefused)
    assert result.anomalies[0].path == (
        ("Quarter", "20251"),
        ("NOSSRegistrationNbr", "155555504"),
        ("NaturalPersonSequenceNbr", "1"),
        ("INSS", "95050530028"),
        ("EmployerClass", "010"),
        ("WorkerCode", "495"),
    )
    assert (result.quarter, result.nsso) == (20251, "155555504")


def test_90012_090_blocks_of_a_worker_line_that_do_not_go_together() -> None:
    student = "<StudentContribution><StudentRemunAmount>1</StudentRemunAmount>"
    student += "<StudentContributionAmount>0</StudentContributionAmount>"
    student += "<StudentHoursNbr>1</StudentHoursNbr></StudentContribution>"
    bad = SAMPLE.replace("<WorkerContribution>", student + "<WorkerContribution>", 1)
    assert schema_errors(document_xml([bad])) != []
    assert refused(bad) == [("90012-090", "WorkerRecord")]


def test_90059_163_not_a_form() -> None:
    assert refused("<EmployerDeclaration/>") == [("90059-163", "Form")]


def test_90219_090_a_modification_without_any_change() -> None:
    body = update_body(10000000017, [])
    assert refused(form_xml(body, "DMWA"), "DMWA") == [("90219-090", "EmployerDeclarationUpdate")]


def test_leading_zeros_lost_by_xml_integers_are_put_back() -> None:
    lenient = SAMPLE.replace(
        "<EmployerClass>010</EmployerClass>", "<EmployerClass>10</EmployerClass>"
    )
    lenient = lenient.replace(
        "<CompanyID>0555555523</CompanyID>", "<CompanyID>555555523</CompanyID>"
    )
    declaration = read_form(etree.fromstring(lenient.encode()), "DMFA")
    assert isinstance(declaration, Declaration)
    assert declaration.company_id == "0555555523"
    assert declaration.persons[0].records[0].employer_class == "010"


def test_a_rest_body_reads_exactly_like_the_batch_form() -> None:
    body = original([white_collar_person(), blue_collar_person(), student_person()])

    # JSON objects carry no order: reverse every key list, the result must not change.
    def shuffled(value):
        if isinstance(value, dict):
            return {k: shuffled(v) for k, v in reversed(list(value.items()))}
        if isinstance(value, list):
            return [shuffled(v) for v in value]
        return value

    created = datetime(2025, 5, 26, 10, 0, tzinfo=UTC)
    file_type, element = form_from_json(shuffled(body), received_at=created)
    assert file_type == "DMFA"
    from_json = read_form(element, file_type)
    from_xml = read_form(etree.fromstring(SAMPLE.encode()), "DMFA")
    assert from_json == from_xml


def test_a_rest_body_with_faults_gets_the_same_codes_as_xml() -> None:
    body = original([white_collar_person(), blue_collar_person(), student_person()])
    body["EmployerDeclaration"]["NaturalPerson"][0]["WorkerName"] = "Peeters"
    body["EmployerDeclaration"]["NaturalPerson"][0]["WorkerRecord"][0]["Border"] = "x"
    _, element = form_from_json(body, received_at=datetime(2025, 5, 26, tzinfo=UTC))
    result = read_form(element, "DMFA")
    assert isinstance(result, FormRefused)
    assert sorted(a.code for a in result.anomalies) == ["00025-146", "00040-002"]


def test_a_body_that_is_not_a_declaration() -> None:
    for body in (
        [],
        {"Quarter": 20251},
        {"EmployerDeclaration": {}, "EmployerDeclarationUpdate": {}},
    ):
        with pytest.raises(BadBody):
            file_type_of(body)
    assert file_type_of({"EmployerDeclarationUpdate": {}}) == "DMWA"
