"""The answers to DmfA forms: the NOTI form of each handled declaration
(``NOTIFICATION_20223.xsd``, batch.md §7, dmfa.md §5) and the PID form of each accepted
original (``DmfAPID_20224.xsd``, dmfa.md §6), rendered from the dmfa service's
:class:`~socsec.contracts.payloads.dmfa.DmfaDeclarationNotified` alone.

A NOTI form: TypeForm FA (DmfA answers are always final), the file reference, the sender,
the echo of the handled form and of its references, ``EmployerId``, ``ConcernedQuarter``,
``HandledReference`` = the declaration ticket (origin 2), ``DeclarationComplInformations``
(DMFAWorkersNbr, DIMONAWorkersNbr) and ``HandlingResult`` (ResultCode 1 accepted or 0
refused, the Diagnosis of a refusal, every anomaly with ErrorID, TagName, Value,
AnomalyClass, label in the employer's language and ``Path``).

As for Dimona, every value is checked against its type in the schema and left out where it
does not fit an optional element; a ``Path`` keeps the elements that fit, in the order of
``PathType``. A PID form is written as a stream (:func:`pid_form_open`, one
:func:`pid_person` per person, :data:`PID_FORM_CLOSE`): an employer of 50 000 workers never
sits in memory as a tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from lxml import etree

from socsec.batch.domain.noti import (
    EmployerFacts,
    NotiFile,
    company_ok,
    form_echo,
    form_header,
    nsso_ok,
    sub,
)
from socsec.batch.domain.reception import FormEcho
from socsec.batch.domain.xml import XSI, xml_text
from socsec.contracts.payloads.dmfa import (
    DmfaDeclarationNotified,
    DmfaNotificationAnomaly,
    DmfaPathElement,
    DmfaPidPerson,
    DmfaPidWorkerRecord,
)

PID_HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<DmfAPID xmlns:xsi="' + XSI.encode() + b'" '
    b'xsi:noNamespaceSchemaLocation="DmfAPID_20224.xsd">\n'
)
PID_TAIL = b"</DmfAPID>\n"
PID_FORM_CLOSE = b"</IDEmployerDeclaration>\n</Form>\n"


@dataclass(frozen=True)
class Facets:
    """The restriction of a simple type of the schema, as far as a value must be checked."""

    base: str  # int, str, date or ym (gYearMonth)
    min: int | None = None
    max: int | None = None
    digits: int | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    length: int | None = None
    enum: tuple[str, ...] = ()

    def fits(self, text: str) -> bool:
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            return False
        if self.enum and text not in self.enum:
            return False
        if self.base == "int":
            return self._int_fits(text)
        if self.base == "date":
            try:
                date.fromisoformat(text)
            except ValueError:
                return False
            return True
        if self.base == "ym":
            return bool(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text))
        size = len(text)
        return not (
            (self.length is not None and size != self.length)
            or (self.min_length is not None and size < self.min_length)
            or (self.max_length is not None and size > self.max_length)
        )

    def _int_fits(self, text: str) -> bool:
        if not re.fullmatch(r"[+-]?\d+", text):
            return False
        number = int(text)
        if self.digits is not None and len(str(abs(number))) > self.digits:
            return False
        if self.min is not None and number < self.min:
            return False
        return self.max is None or number <= self.max


#: ``PathType`` of NOTIFICATION_20223.xsd: its elements in schema order, with their types.
PATH_TYPE: dict[str, Facets] = {
    "Quarter": Facets("int", min=20031, digits=5, pattern=r"\d{4}(1|2|3|4)"),
    "NOSSRegistrationNbr": Facets("int", min=0, max=199999934, digits=9),
    "NOSSLPARegistrationNbr": Facets("int", min=0, max=99999926, digits=8),
    "Trusteeship": Facets("int", min=0, max=1, digits=1),
    "CompanyID": Facets("int", min=0, max=1999999943, digits=10, pattern=r"0|\d{9}|\d{10}"),
    "UnrelatedEmployerClass": Facets("int", min=0, max=999, digits=3, pattern=r"\d{3}"),
    "UnrelatedWorkerCode": Facets("int", min=0, max=999, digits=3, pattern=r"\d{3}"),
    "NaturalPersonSequenceNbr": Facets("int", min=1, max=9999999, digits=7),
    "INSS": Facets("int", digits=11, pattern=r"[0]|\d{11}"),
    "EmployerClass": Facets("int", min=0, max=999, digits=3, pattern=r"\d{3}"),
    "WorkerCode": Facets("int", min=0, max=999, digits=3, pattern=r"\d{3}"),
    "OccupationSequenceNbr": Facets("int", min=1, max=99, digits=2),
    "ReorganisationMeasure": Facets("int", digits=3),
    "ServiceSequenceNbr": Facets("int", min=1, max=99, digits=2),
    "ServiceCode": Facets("int", min=0, max=999, digits=3),
    "RemunSequenceNbr": Facets("int", min=1, max=99, digits=2),
    "RemunCode": Facets("int", min=0, max=999, digits=3),
    "BonusPaymentFrequency": Facets("int", min=0, max=99, digits=2),
    "PercentagePaid": Facets("int", min=0, max=99999, digits=5),
    "DeductionCode": Facets("int", min=0, max=9999, digits=4),
    "DeductionDetailSequenceNbr": Facets("int", min=1, max=99, digits=2),
    "EmployerNotion": Facets("int", digits=11, pattern=r"0|00\d{9}|1\d{10}"),
    "JointCommissionNbr": Facets(
        "str",
        min_length=1,
        max_length=9,
        pattern=r"XXX|\d{3}|\d{3}(.)\d{2}|\d{3}(.)\d{2}(.)\d{2}",
    ),
    "ActivityCode": Facets("int", min=0, max=99999, digits=5),
    "ComplIndemnityAgreementNotion": Facets("int", min=1, max=3, digits=1),
    "HalfTimeCareerInterruptionNotion": Facets("str", max_length=1, enum=("0", "1", "9")),
    "ServiceExemptionNotion": Facets(
        "str", max_length=1, enum=("0", "1", "2", "3", "4", "5", "6", "9")
    ),
    "ReplacementAccordanceWCCNotion": Facets("str", max_length=1, enum=("0", "1", "9")),
    "ContributionWorkerCode": Facets("int", min=0, max=999, digits=3, pattern=r"\d{3}"),
    "ContributionType": Facets("int", min=0, max=9, digits=1),
    "ComplIndemnityAmountAdjustNotion": Facets(
        "int", digits=1, enum=("0", "1", "2", "3", "4", "9")
    ),
    "ContributionSequenceNbr": Facets("int", min=1, max=999, digits=3),
    "EarlyRetirementCode": Facets("int", min=0, max=1, digits=1),
    "IndemnityNature": Facets("int", min=0, max=99, digits=2),
    "IncapacityDegree": Facets("str", length=6, pattern=r"\d{3},\d{2}"),
    "NaturalPersonUserReference": Facets("str", max_length=200),
    "WorkerRecordUserReference": Facets("str", max_length=200),
    "OccupationUserReference": Facets("str", max_length=200),
    "CompanyVehicleSequenceNbr": Facets("int", min=1, max=99999, digits=5),
    "NPCalculatedAmount": Facets("str", max_length=16, pattern=r"[+-]?\d{1,15}"),
    "CUNPCalculatedAmount": Facets("str", max_length=16, pattern=r"[+-]?\d{1,15}"),
    "WorksContractActorId": Facets("str", max_length=9),
    "OccupationPSDStartDate": Facets("date", pattern=r"\d{4}-\d{2}-\d{2}"),
    "EmployerSequenceNbr": Facets("int", min=1, max=99, digits=2),
    "CareerElementSequenceNbr": Facets("int", min=1, max=9999, digits=4),
    "PublicSectorInstitutionType": Facets("int", digits=2),
    "PublicSectorPersonnelCategory": Facets("int", digits=2),
    "AssignmentType": Facets("int", min=0, max=1, digits=1),
    "FunctionNature": Facets("int", min=1, max=3, digits=1),
    "ScaleSalarySequenceNbr": Facets("int", min=1, max=99, digits=2),
    "ScaleSalaryStartDate": Facets("date", pattern=r"\d{4}-\d{2}-\d{2}"),
    "PecuniarySeniorityStartDate": Facets("ym", pattern=r"\d{4}-\d{2}"),
    "SalaryScaleReference": Facets("int", min=1, max=999999999999, digits=12),
    "AdditionalScaleSalarySequenceNbr": Facets("int", min=1, max=99, digits=2),
    "AdditionalScaleSalaryReference": Facets("int", min=1, max=999999999999, digits=12),
    "AdditionalScaleSalaryStartDate": Facets("date", pattern=r"\d{4}-\d{2}-\d{2}"),
    "NonSituableAbsenceCode": Facets("int", digits=2, enum=("31", "32", "33", "41", "42", "43")),
    "CalendarYear": Facets("int", min=1900, max=9999, digits=4),
    "StartingDate": Facets("date", pattern=r"\d{4}-\d{2}-\d{2}"),
}
_PATH_ORDER = {tag: index for index, tag in enumerate(PATH_TYPE)}
# PathType offers one of the two employer numbers.
_EMPLOYER_NUMBERS = ("NOSSRegistrationNbr", "NOSSLPARegistrationNbr")

# Types of the DmfAPID schema (where they differ from NOTIFICATION's).
_PID = Facets("int", min=1, max=99999999999, digits=11)
_PID_NSSO = Facets("int", min=100006, max=199999934, digits=9)
_INSS = PATH_TYPE["INSS"]
_CODE = PATH_TYPE["WorkerCode"]
_QUARTER = PATH_TYPE["Quarter"]
_COMPANY = PATH_TYPE["CompanyID"]


def _fits(facets: Facets, value: object) -> bool:
    return value is not None and facets.fits(str(value))


def path_elements(path: Iterable[DmfaPathElement]) -> list[tuple[str, str]]:
    """The elements of an anomaly's path that ``PathType`` can hold, in its order: unknown
    tags, values outside their type and repeated elements are left out."""
    kept: dict[str, str] = {}
    for element in path:
        facets = PATH_TYPE.get(element.tag)
        if facets is not None and element.tag not in kept and facets.fits(element.value):
            kept[element.tag] = element.value
    if all(tag in kept for tag in _EMPLOYER_NUMBERS):
        del kept["NOSSLPARegistrationNbr"]
    return sorted(kept.items(), key=lambda item: _PATH_ORDER[item[0]])


def _label(anomaly: DmfaNotificationAnomaly, language: str) -> str:
    text = anomaly.label_nl if language == "nl" else anomaly.label_fr
    return text or anomaly.label_fr or anomaly.label_nl or anomaly.error_id


def _anomaly(result: Any, anomaly: DmfaNotificationAnomaly, language: str) -> None:
    report = sub(result, "AnomalyReport")
    sub(report, "ErrorID", anomaly.error_id[:9])
    if anomaly.tag_name:
        sub(report, "TagName", anomaly.tag_name)
    if anomaly.value is not None:
        sub(report, "Value", anomaly.value)
    sub(report, "AnomalyClass", anomaly.anomaly_class[:2])
    sub(report, "AnomalyLabel", xml_text(_label(anomaly, language), 500))
    elements = path_elements(anomaly.path)
    if elements:
        path = sub(report, "Path")
        for tag, value in elements:
            sub(path, tag, value)


def dmfa_form(
    noti: NotiFile,
    echo: FormEcho,
    note: DmfaDeclarationNotified,
    employer: EmployerFacts | None,
) -> bytes:
    """The NOTI form answering one DMFA or DMWA form with the notification ``note``."""
    form = etree.Element("Form")
    form_header(form, "FA", noti)
    form_echo(form, echo)
    if note.employer_nsso and nsso_ok(note.employer_nsso):
        identity = sub(form, "EmployerId")
        sub(identity, "NOSSRegistrationNbr", note.employer_nsso)
        company = note.company_id or (employer.enterprise_number if employer else None)
        sub(identity, "CompanyID", company if company and company_ok(company) else "0")
    if _fits(_QUARTER, note.quarter):
        sub(sub(form, "ConcernedQuarter"), "Quarter", note.quarter)
    handled = sub(form, "HandledReference")
    sub(handled, "ReferenceType", "1")
    sub(handled, "ReferenceOrigin", "2")
    sub(handled, "ReferenceNbr", note.ticket)
    counts = sub(form, "DeclarationComplInformations")
    sub(counts, "DMFAWorkersNbr", min(max(note.dmfa_workers_nbr, 0), 9_999_999))
    sub(counts, "DIMONAWorkersNbr", min(max(note.dimona_workers_nbr, 0), 9_999_999))
    result = sub(form, "HandlingResult")
    sub(result, "ResultCode", note.result_code)
    if note.diagnosis is not None and 0 <= note.diagnosis <= 9:
        sub(result, "Diagnosis", note.diagnosis)
    language = employer.language if employer else "fr"
    for anomaly in note.anomalies:
        _anomaly(result, anomaly, language)
    return etree.tostring(form, encoding="utf-8", pretty_print=True)


# -- PID ------------------------------------------------------------------------------------


def _reference(form: Any, kind: int, origin: int, number: str) -> None:
    reference = sub(form, "Reference")
    sub(reference, "ReferenceType", kind)
    sub(reference, "ReferenceOrigin", origin)
    sub(reference, "ReferenceNbr", number)


def pid_renderable(note: DmfaDeclarationNotified) -> bool:
    """Whether the notification identifies its declaration well enough for a PID form."""
    pids = note.pids
    return (
        pids is not None
        and _fits(_QUARTER, pids.quarter)
        and _fits(_PID_NSSO, pids.nsso_registration_nbr)
        and pids.trusteeship in (0, 1)
        and _fits(_COMPANY, pids.company_id)
        and _fits(_PID, pids.employer_declaration_pid)
        and 0 < len(note.ticket) <= 20
    )


def pid_form_open(
    noti: NotiFile, note: DmfaDeclarationNotified, echo: FormEcho, pid_ticket: str
) -> bytes:
    """The PID form of an accepted original up to its persons (close it with
    :data:`PID_FORM_CLOSE`): the header, the references (the original's ticket, the
    declarant's own reference when it fits, this PID form's ticket) and the identification
    of the employer declaration. Only for a ``note`` :func:`pid_renderable` accepts."""
    pids = note.pids
    assert pids is not None
    day, hour = noti.stamp
    form = etree.Element("Form")
    sub(form, "Identification", "DMFAPID")
    sub(form, "FormCreationDate", day)
    sub(form, "FormCreationHour", hour)
    sub(form, "AttestationStatus", "0")
    sub(form, "TypeForm", "SU")
    _reference(form, 3, 2, note.ticket)
    own = [
        number for kind, _origin, number in echo.references if kind == "1" and 0 < len(number) <= 20
    ]
    if own:
        _reference(form, 3, 1, own[0])
    _reference(form, 1, 2, pid_ticket)
    declaration = sub(form, "IDEmployerDeclaration")
    sub(declaration, "Quarter", pids.quarter)
    sub(declaration, "NOSSRegistrationNbr", pids.nsso_registration_nbr)
    sub(declaration, "Trusteeship", pids.trusteeship)
    sub(declaration, "CompanyID", pids.company_id)
    sub(declaration, "EmployerDeclarationPID", pids.employer_declaration_pid)
    text = etree.tostring(form, encoding="utf-8", pretty_print=True)
    return text[: text.rindex(b"</IDEmployerDeclaration>")]


def _record(person: Any, record: DmfaPidWorkerRecord) -> None:
    if not (
        _fits(_CODE, record.employer_class)
        and _fits(_CODE, record.worker_code)
        and _fits(_PID, record.worker_record_version_nbr)
    ):
        return
    block = sub(person, "IDWorkerRecord")
    sub(block, "EmployerClass", record.employer_class)
    sub(block, "WorkerCode", record.worker_code)
    sub(block, "WorkerRecordVersionNbr", record.worker_record_version_nbr)
    occupations = [
        o
        for o in record.occupations
        if 1 <= o.occupation_sequence_nbr <= 99 and _fits(_PID, o.occupation_version_nbr)
    ]
    for occupation in occupations[:99]:
        item = sub(block, "IDOccupation")
        sub(item, "OccupationSequenceNbr", occupation.occupation_sequence_nbr)
        sub(item, "OccupationVersionNbr", occupation.occupation_version_nbr)


def pid_person(person: DmfaPidPerson) -> bytes:
    """One ``IDNaturalPerson`` of a PID form; empty when the person's identifiers do not
    fit the schema (it cannot be quoted by a modification anyway)."""
    if not (
        _fits(_INSS, person.inss)
        and _fits(_PID, person.natural_person_pid)
        and _fits(_PID, person.decl_natural_person_pid)
        and _fits(_PID, person.decl_natural_person_version_nbr)
    ):
        return b""
    block = etree.Element("IDNaturalPerson")
    sub(block, "INSS", person.inss)
    sub(block, "NaturalPersonPID", person.natural_person_pid)
    sub(block, "DeclNaturalPersonPID", person.decl_natural_person_pid)
    sub(block, "DeclNaturalPersonVersionNbr", person.decl_natural_person_version_nbr)
    for record in person.worker_records:
        _record(block, record)
    return etree.tostring(block, encoding="utf-8", pretty_print=True)


def line_pid_facts(line: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a PID form needs of one worker line of a notification (its person's PIDs, its
    codes and versions); ``None`` for a line without identifiers."""
    if line.get("natural_person_pid") is None or line.get("worker_record_version_nbr") is None:
        return None
    return {
        "inss": line["inss"],
        "natural_person_pid": line["natural_person_pid"],
        "decl_natural_person_pid": line.get("decl_natural_person_pid"),
        "decl_natural_person_version_nbr": line.get("decl_natural_person_version_nbr"),
        "employer_class": line["employer_class"],
        "worker_code": line["worker_code"],
        "worker_record_version_nbr": line["worker_record_version_nbr"],
        "occupations": [
            {
                "occupation_sequence_nbr": o["sequence"],
                "occupation_version_nbr": o["version_nbr"],
            }
            for o in line.get("occupations", ())
            if o.get("version_nbr") is not None
        ],
    }


def persons_of_lines(lines: Iterable[Mapping[str, Any]]) -> Iterator[DmfaPidPerson]:
    """The PID persons of line facts (:func:`line_pid_facts`) that come grouped by person:
    consecutive lines of the same person make one ``IDNaturalPerson``."""
    current: dict[str, Any] | None = None
    for line in lines:
        key = (line["inss"], line["natural_person_pid"])
        if current is None or (current["inss"], current["natural_person_pid"]) != key:
            if current is not None:
                yield DmfaPidPerson.model_validate(current)
            current = {
                "inss": line["inss"],
                "natural_person_pid": line["natural_person_pid"],
                "decl_natural_person_pid": line["decl_natural_person_pid"] or 0,
                "decl_natural_person_version_nbr": line["decl_natural_person_version_nbr"] or 0,
                "worker_records": [],
            }
        current["worker_records"].append(
            {
                "employer_class": line["employer_class"],
                "worker_code": line["worker_code"],
                "worker_record_version_nbr": line["worker_record_version_nbr"],
                "occupations": line["occupations"],
            }
        )
    if current is not None:
        yield DmfaPidPerson.model_validate(current)
