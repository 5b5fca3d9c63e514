"""The DmfA answers the batch service writes, rendered from a ``DmfaDeclarationNotified``
alone (dmfa.md §5/§6): NOTI forms and PID forms, each validated against the official XSD,
and the PathType table checked against the schema itself."""

from __future__ import annotations

from datetime import UTC, datetime

from batch.batch_fixtures import SCHEMAS, assert_valid
from lxml import etree

from socsec.batch.domain.dmfa_noti import (
    PATH_TYPE,
    PID_FORM_CLOSE,
    PID_HEAD,
    PID_TAIL,
    dmfa_form,
    line_pid_facts,
    path_elements,
    persons_of_lines,
    pid_form_open,
    pid_person,
    pid_renderable,
)
from socsec.batch.domain.noti import NOTI_HEAD, NOTI_TAIL, EmployerFacts, NotiFile
from socsec.batch.domain.reception import FormEcho
from socsec.contracts.payloads.dmfa import (
    DmfaDeclarationNotified,
    DmfaFormEcho,
    DmfaNotificationAnomaly,
    DmfaPathElement,
    DmfaPids,
)

CREATED = datetime(2025, 5, 26, 8, 6, 0, 120000, tzinfo=UTC)
NOTI = NotiFile("GO.DMFA.054321.20250526.00001.R.1", "3800000000A1B", "054321", CREATED)
ECHO = FormEcho(
    {
        "Identification": "DMFA",
        "FormCreationDate": "2025-05-26",
        "FormCreationHour": "10:00:00.000",
        "AttestationStatus": "0",
        "TypeForm": "SU",
    },
    (("1", "1", "EXEMPLUM-2025-1-C"),),
)


def path(**elements: str) -> tuple[DmfaPathElement, ...]:
    return tuple(DmfaPathElement(tag=tag, value=value) for tag, value in elements.items())


CONTRIBUTION = DmfaNotificationAnomaly(
    error_id="00085-044",
    rule_code="00085-044",
    tag_name="ContributionAmount",
    value="303367",
    anomaly_class="P",
    label_fr="Le montant calculé diffère du montant déclaré",
    label_nl="Berekend bedrag verschilt van het aangegeven bedrag",
    path=path(
        Quarter="20251",
        NOSSRegistrationNbr="155555504",
        NaturalPersonSequenceNbr="1",
        INSS="95050530028",
        EmployerClass="010",
        WorkerCode="495",
        ContributionWorkerCode="495",
        ContributionType="0",
    ),
    priority="AP",
)
JOINT_COMMITTEE = DmfaNotificationAnomaly(
    error_id="00046-314",
    rule_code="00046-314",
    tag_name="JointCommissionNbr",
    value="999",
    anomaly_class="NP",
    label_fr="Commission paritaire 999 non admise",
    label_nl="Paritaire comité 999 niet toegelaten",
    priority="ANP",
)


def notification(**overrides) -> DmfaDeclarationNotified:
    values = {
        "ticket": "34000C7PQ200X",
        "kind": "ORIGINAL",
        "file_type": "DMFA",
        "channel": "BATCH",
        "declarant": "M-EXEMPLUM",
        "recipients": ("M-EXEMPLUM",),
        "batch_ticket": NOTI.ticket,
        "batch_position": 1,
        "result": "ACCEPTED",
        "result_code": 1,
        "employer_nsso": "155555504",
        "company_id": "0555555523",
        "quarter": 20251,
        "form": DmfaFormEcho(
            identification="DMFA",
            creation_date="2025-05-26",
            creation_hour="10:00:00.000",
            attestation_status=0,
            type_form="SU",
        ),
        "dmfa_workers_nbr": 2,
        "dimona_workers_nbr": 2,
        "anomalies": (CONTRIBUTION, JOINT_COMMITTEE),
        "received_at": CREATED,
        "notified_at": CREATED,
    }
    values.update(overrides)
    return DmfaDeclarationNotified(**values)


def noti_document(*forms: bytes) -> etree._Element:
    return assert_valid(NOTI_HEAD + b"".join(forms) + NOTI_TAIL, "NOTIFICATION_20223.xsd")


def test_accepted_declaration_gives_the_dmfa_md_example_form() -> None:
    tree = noti_document(dmfa_form(NOTI, ECHO, notification(), EmployerFacts("0555555523", "nl")))
    form = tree.find("Form")
    assert form.findtext("TypeForm") == "FA"
    assert form.findtext("FileReference/ReferenceNbr") == NOTI.ticket
    assert form.findtext("HandledOriginalForm/Identification") == "DMFA"
    assert form.findtext("Reference/ReferenceNbr") == "EXEMPLUM-2025-1-C"
    assert form.findtext("EmployerId/CompanyID") == "0555555523"
    assert form.findtext("ConcernedQuarter/Quarter") == "20251"
    assert form.findtext("HandledReference/ReferenceNbr") == "34000C7PQ200X"
    assert form.findtext("HandledReference/ReferenceOrigin") == "2"
    assert form.findtext("DeclarationComplInformations/DMFAWorkersNbr") == "2"
    assert form.findtext("HandlingResult/ResultCode") == "1"
    assert form.find("HandlingResult/Diagnosis") is None
    first, second = form.findall("HandlingResult/AnomalyReport")
    assert [e.tag for e in first] == [
        "ErrorID",
        "TagName",
        "Value",
        "AnomalyClass",
        "AnomalyLabel",
        "Path",
    ]
    assert first.findtext("AnomalyLabel") == "Berekend bedrag verschilt van het aangegeven bedrag"
    tags = [e.tag for e in first.find("Path")]
    assert tags[-2:] == ["ContributionWorkerCode", "ContributionType"]
    assert second.findtext("ErrorID") == "00046-314" and second.find("Path") is None


def test_refused_declaration_has_result_0_its_diagnosis_and_french_labels() -> None:
    note = notification(result="REFUSED", result_code=0, diagnosis=3, dimona_workers_nbr=0)
    tree = noti_document(dmfa_form(NOTI, ECHO, note, EmployerFacts(None, "fr")))
    result = tree.find("Form/HandlingResult")
    assert (result.findtext("ResultCode"), result.findtext("Diagnosis")) == ("0", "3")
    labels = [r.findtext("AnomalyLabel") for r in result.iterfind("AnomalyReport")]
    assert labels == [CONTRIBUTION.label_fr, JOINT_COMMITTEE.label_fr]
    # An employer without a known enterprise number still gets the declared CompanyID.
    assert tree.findtext("Form/EmployerId/CompanyID") == "0555555523"


def test_path_keeps_what_fits_in_schema_order() -> None:
    messy = path(
        WorkerCode="495",
        INSS="123",  # not 11 digits
        Quarter="20251",
        Unknown="x",
        EmployerClass="10",  # not zero-padded: \d{3}
        NOSSLPARegistrationNbr="1234",
        NOSSRegistrationNbr="155555504",  # only one of the two employer numbers
        OccupationSequenceNbr="100",  # above 99
        JointCommissionNbr="200.01",
    )
    assert path_elements(messy) == [
        ("Quarter", "20251"),
        ("NOSSRegistrationNbr", "155555504"),
        ("WorkerCode", "495"),
        ("JointCommissionNbr", "200.01"),
    ]
    odd = DmfaNotificationAnomaly(
        error_id="90017-006-TOO-LONG",
        rule_code="90017-006",
        tag_name="INSS",
        value="1\x0223",
        anomaly_class="BLOCK",
        label_fr="x" * 600,
        label_nl="",
        path=messy,
        priority="AP",
    )
    note = notification(anomalies=(odd,), employer_nsso="999999999", company_id="12", quarter=20259)
    tree = noti_document(dmfa_form(NOTI, FormEcho({"Identification": "??????????"}), note, None))
    assert tree.find("Form/EmployerId") is None and tree.find("Form/ConcernedQuarter") is None
    report = tree.find("Form/HandlingResult/AnomalyReport")
    assert len(report.findtext("AnomalyLabel")) == 500
    assert [e.tag for e in report.find("Path")] == [
        "Quarter",
        "NOSSRegistrationNbr",
        "WorkerCode",
        "JointCommissionNbr",
    ]


def test_path_type_table_is_the_schema_s() -> None:
    xs = "{http://www.w3.org/2001/XMLSchema}"
    root = etree.parse(str(SCHEMAS / "NOTIFICATION_20223.xsd")).getroot()
    [path_type] = [c for c in root.iterfind(f"{xs}complexType") if c.get("name") == "PathType"]
    order = [e.get("ref") for e in path_type.iter(f"{xs}element")]
    assert list(PATH_TYPE) == order
    elements = {e.get("name"): e for e in root.iterfind(f"{xs}element")}
    names = {
        "minInclusive": "min",
        "maxInclusive": "max",
        "totalDigits": "digits",
        "maxLength": "max_length",
        "minLength": "min_length",
        "length": "length",
    }
    for tag, facets in PATH_TYPE.items():
        restriction = elements[tag].find(f"{xs}simpleType/{xs}restriction")
        for facet in restriction:
            kind, value = facet.tag.removeprefix(xs), facet.get("value")
            if kind == "enumeration":
                assert value in facets.enum, (tag, value)
            elif kind == "pattern":
                assert facets.pattern == value, tag
            else:
                assert getattr(facets, names[kind]) == int(value), (tag, kind)


def _pid_document(note: DmfaDeclarationNotified, persons: list) -> etree._Element:
    body = pid_form_open(NOTI, note, ECHO, "3800000000PID")
    body += b"".join(pid_person(p) for p in persons) + PID_FORM_CLOSE
    return assert_valid(PID_HEAD + body + PID_TAIL, "DmfAPID_20224.xsd")


PIDS = {
    "quarter": 20251,
    "nsso_registration_nbr": "155555504",
    "trusteeship": 0,
    "company_id": "0555555523",
    "employer_declaration_pid": 10000000017,
    "persons": [
        {
            "inss": "95050530028",
            "natural_person_pid": 20000000011,
            "decl_natural_person_pid": 10000000018,
            "decl_natural_person_version_nbr": 10000000018,
            "worker_records": [
                {
                    "employer_class": "010",
                    "worker_code": "495",
                    "worker_record_version_nbr": 10000000019,
                    "occupations": [
                        {"occupation_sequence_nbr": 1, "occupation_version_nbr": 10000000020}
                    ],
                }
            ],
        },
        {  # no identifiers the schema accepts: left out
            "inss": "95050530028",
            "natural_person_pid": 0,
            "decl_natural_person_pid": 1,
            "decl_natural_person_version_nbr": 1,
        },
    ],
}


def test_pid_form_of_an_accepted_original() -> None:
    note = notification(pids=DmfaPids.model_validate(PIDS), pid_file=True)
    assert pid_renderable(note)
    tree = _pid_document(note, list(note.pids.persons))
    form = tree.find("Form")
    references = [
        (r.findtext("ReferenceType"), r.findtext("ReferenceOrigin"), r.findtext("ReferenceNbr"))
        for r in form.iterfind("Reference")
    ]
    assert references == [
        ("3", "2", "34000C7PQ200X"),
        ("3", "1", "EXEMPLUM-2025-1-C"),
        ("1", "2", "3800000000PID"),
    ]
    declaration = form.find("IDEmployerDeclaration")
    assert declaration.findtext("EmployerDeclarationPID") == "10000000017"
    [person] = declaration.findall("IDNaturalPerson")
    assert person.findtext("IDWorkerRecord/IDOccupation/OccupationVersionNbr") == "10000000020"


def test_pid_persons_from_worker_lines_in_parts() -> None:
    def line(inss: str, person_pid: int, code: str, version: int) -> dict:
        return {
            "inss": inss,
            "natural_person_sequence": 1,
            "natural_person_pid": person_pid,
            "decl_natural_person_pid": person_pid + 1,
            "decl_natural_person_version_nbr": person_pid + 1,
            "employer_class": "010",
            "worker_code": code,
            "worker_record_version_nbr": version,
            "occupations": [{"sequence": 1, "version_nbr": version + 1, "days": 0}],
        }

    lines = [
        line("95050530028", 20000000011, "495", 30000000001),
        line("95050530028", 20000000011, "015", 30000000003),
        line("88041212434", 20000000021, "015", 30000000005),
    ]
    persons = list(persons_of_lines(line_pid_facts(x) for x in lines))
    assert [(p.inss, len(p.worker_records)) for p in persons] == [
        ("95050530028", 2),
        ("88041212434", 1),
    ]
    note = notification(pids=DmfaPids.model_validate({**PIDS, "persons": []}), pid_file=True)
    tree = _pid_document(note, persons)
    assert len(tree.findall("Form/IDEmployerDeclaration/IDNaturalPerson")) == 2
    assert line_pid_facts({**lines[0], "natural_person_pid": None}) is None


def test_a_declaration_without_valid_identifiers_gets_no_pid_form() -> None:
    assert not pid_renderable(notification())
    bad = DmfaPids.model_validate({**PIDS, "employer_declaration_pid": 0})
    assert not pid_renderable(notification(pids=bad, pid_file=True))
