"""NOTI files (``NOTIFICATION_20223.xsd``): one ``Form`` per handled declaration form.

A NOTI file is written as a stream: :data:`NOTI_HEAD`, the forms one by one (each rendered
on its own, so a file of 100 000 forms never sits in memory as a tree), :data:`NOTI_TAIL`.
Every value echoed from elsewhere (the sender's form, the declaration's result) is checked
against its type in the schema and left out when it does not fit an optional element: an
answer must always validate, even to a form that did not.

Dimona results (batch.md §7): A and W give TypeForm FA, ResultCode 1 and a
DimonaImpactReport (W also its NP anomalies); B gives FA, ResultCode 0 and the anomalies;
S gives PA, ResultCode 2, and a final FA form for the same HandledReference follows in a
later NOTI file. The impact report of an IN has only the period after, of a CANCEL only the
period before, of an OUT or an UPDATE both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

from lxml import etree

from socsec.batch.domain.reception import HEADER_FIELDS, FormEcho
from socsec.batch.domain.xml import XSI, creation_stamp, xml_text
from socsec.contracts.payloads.dimona import DimonaNotified, NotificationAnomaly, PeriodState

NOTI_HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<NOTIFICATION xmlns:xsi="' + XSI.encode() + b'" '
    b'xsi:noNamespaceSchemaLocation="NOTIFICATION_20223.xsd">\n'
)
NOTI_TAIL = b"</NOTIFICATION>\n"

# Value spaces of the NOTIFICATION schema for what is echoed.
# (ALT is younger than this schema version: an ALT period's features omit WorkerType.)
_NOTI_WORKER_TYPES = frozenset(
    {
        "A17", "BCW", "DWD", "EXT", "FLX", "IVT", "O17", "PMP", "QUA",
        "RTA", "S17", "STU", "STX", "T17", "TEA", "TRI", "STG", "OTH",
    }
)  # fmt: skip
_TYPE_FORMS = frozenset({"RE", "PA", "FA", "LA", "SU"})
_QUOTA_TYPES = {"STUDENT": "STUDENT", "ART17": "ARTICLE17", "ARTICLE17": "ARTICLE17"}
# The joint committee forms the NOTI schema accepts: "all other sectors" or 3, 5 or 7 digits.
_ALL_OTHER_SECTORS = "XXX"
_JOINT_COMMISSION = re.compile(
    rf"^({_ALL_OTHER_SECTORS}|\d{{3}}|\d{{3}}.\d{{2}}|\d{{3}}.\d{{2}}.\d{{2}})$"
)
_HOUR = re.compile(r"^(([01]\d)|(2[0-3]))[0-5]\d$")
_CREATION_HOUR = re.compile(r"^\d{2}:\d{2}:\d{2}.\d{3}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class NotiFile:
    """Who a NOTI file answers: the set's GO file, ticket and sender."""

    go_name: str
    ticket: str
    sender: str
    created: datetime

    @cached_property
    def stamp(self) -> tuple[str, str]:
        """FormCreationDate and FormCreationHour, the same for every form of the file."""
        return creation_stamp(self.created)


@dataclass(frozen=True)
class EmployerFacts:
    """What the registry says of the declaration's employer."""

    enterprise_number: str | None = None
    language: str = "fr"


def digits(value: object, max_digits: int) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and len(text.lstrip("0") or "0") <= max_digits


def nsso_ok(value: object) -> bool:
    return digits(value, 9) and int(str(value)) <= 199_999_934


def company_ok(value: object) -> bool:
    text = str(value)
    return (
        text.isascii()
        and text.isdigit()
        and (text == "0" or len(text) in (9, 10))
        and int(text) <= 1_999_999_943
    )


def _date_ok(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _creation_hour_ok(text: str) -> bool:
    if not _CREATION_HOUR.match(text):
        return False
    try:
        time.fromisoformat(text[:8])
    except ValueError:
        return False
    return True


_HEADER_CHECKS = {
    "Identification": lambda v: 0 < len(v) <= 7,
    "FormCreationDate": _date_ok,
    "FormCreationHour": _creation_hour_ok,
    "AttestationStatus": lambda v: len(v) == 1 and v in "012345678",
    "TypeForm": lambda v: v in _TYPE_FORMS,
}


def sub(parent: Any, tag: str, text: object | None = None) -> Any:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = xml_text(text)
    return element


def form_header(form: Any, type_form: str, noti: NotiFile) -> None:
    day, hour = noti.stamp
    sub(form, "Identification", "NOTI001")
    sub(form, "FormCreationDate", day)
    sub(form, "FormCreationHour", hour)
    sub(form, "AttestationStatus", "0")
    sub(form, "TypeForm", type_form)
    reference = sub(form, "FileReference")
    sub(reference, "FileName", noti.go_name[:64])
    sub(reference, "ReferenceOrigin", "2")
    sub(reference, "ReferenceNbr", noti.ticket)
    original_file = sub(form, "HandledOriginalFile")
    if digits(noti.sender, 6) and int(noti.sender) >= 1:
        sub(original_file, "SenderId", noti.sender)


def form_echo(form: Any, echo: FormEcho) -> None:
    original = sub(form, "HandledOriginalForm")
    for name in HEADER_FIELDS:
        value = echo.header.get(name)
        if value is not None and _HEADER_CHECKS[name](value):
            sub(original, name, value)
    kept = [
        (kind, origin, number)
        for kind, origin, number in echo.references
        if len(kind) == 1
        and kind.isdigit()
        and len(origin) == 1
        and origin in "1234567"
        and 0 < len(number) <= 64
    ]
    for kind, origin, number in kept[:4]:
        reference = sub(form, "Reference")
        sub(reference, "ReferenceType", kind)
        sub(reference, "ReferenceOrigin", origin)
        sub(reference, "ReferenceNbr", number)


def anomaly_label(anomaly: NotificationAnomaly, language: str) -> str:
    """The annex-30 label in the employer's language (French when it has none)."""
    if language == "nl":
        text = anomaly.label_nl or anomaly.description_nl
    else:
        text = anomaly.label_fr or anomaly.description_fr
    return text or anomaly.code


def _anomaly(result: Any, anomaly: NotificationAnomaly, language: str) -> None:
    report = sub(result, "AnomalyReport")
    sub(report, "ErrorID", anomaly.code[:9])
    if anomaly.tag:
        sub(report, "TagName", anomaly.tag)
    if anomaly.value is not None:
        sub(report, "Value", anomaly.value)
    sub(report, "AnomalyClass", anomaly.severity[:2])
    sub(report, "AnomalyLabel", xml_text(anomaly_label(anomaly, language), 500))
    quota_type = _QUOTA_TYPES.get(anomaly.quota_type or "")
    if quota_type and anomaly.quota_exceeding is not None:
        amount = min(max(anomaly.quota_exceeding, 0), 999)
        info = sub(report, "AnomalyComplInformation")
        features = sub(info, "QuotaFeatures")
        sub(features, "QuotaType", quota_type)
        tag = "ExceedingDaysNbr" if anomaly.quota_unit == "days" else "ExceedingHoursNbr"
        sub(features, tag, amount)


def _features(parent: Any, period: PeriodState) -> None:
    features = sub(parent, "DimonaFeatures")
    jc = period.joint_commission
    if jc and _JOINT_COMMISSION.match(jc):
        sub(features, "JointCommissionNbr", jc)
    if period.worker_type in _NOTI_WORKER_TYPES:
        sub(features, "WorkerType", period.worker_type)
    if period.sub_entity is not None and digits(period.sub_entity, 10):
        sub(features, "SubEntityNbr", period.sub_entity)
    using = period.using_employer
    if using:
        block = sub(features, "UsingEmployer")
        using_jc = using.get("joint_commission")
        if using_jc and _JOINT_COMMISSION.match(str(using_jc)):
            sub(block, "JointCommissionNbr", using_jc)
        if using.get("name"):
            sub(block, "UsingEmployerName", xml_text(using["name"], 96))
        if using.get("enterprise_number") and company_ok(using["enterprise_number"]):
            sub(block, "UsingEmployerCompanyID", using["enterprise_number"])


def _period(parent: Any, tag: str, period: PeriodState) -> None:
    block = sub(parent, tag)
    sub(block, "StartingDate", period.start_date.isoformat())
    if period.start_hour and _HOUR.match(period.start_hour):
        sub(block, "StartingHour", period.start_hour)
    if period.end_date is not None:
        sub(block, "EndingDate", period.end_date.isoformat())
    if period.end_hour and _HOUR.match(period.end_hour):
        sub(block, "EndingHour", period.end_hour)
    if period.planned_hours is not None and 1 <= period.planned_hours <= 999:
        sub(block, "PlannedHoursNbr", period.planned_hours)


def _impact(result: Any, note: DimonaNotified) -> None:
    before = note.before if note.kind != "IN" else None
    after = note.after if note.kind != "CANCEL" else None
    described = after or before
    if described is None or not digits(described.id, 12):
        return
    impact = sub(sub(result, "ImpactReport"), "DimonaImpactReport")
    sub(impact, "DimonaPeriodId", described.id)
    # A locked period refuses every declaration (00913-362): an accepted one is never locked.
    sub(impact, "IsLocked", "0")
    _features(impact, described)
    if before is not None:
        _period(impact, "DimonaPeriodBefore", before)
    if after is not None:
        _period(impact, "DimonaPeriodAfter", after)


def dimona_form(
    noti: NotiFile, echo: FormEcho, note: DimonaNotified, employer: EmployerFacts | None
) -> bytes:
    """The NOTI form answering one DIMN form with the notification ``note`` (provisional S
    gives a PA form, every final result an FA form)."""
    provisional = note.result == "S"
    form = etree.Element("Form")
    form_header(form, "PA" if provisional else "FA", noti)
    form_echo(form, echo)
    period = note.after or note.before
    nsso = note.employer_nsso or (period.employer_nsso if period else None)
    if nsso and nsso_ok(nsso):
        company = employer.enterprise_number if employer else None
        identity = sub(form, "EmployerId")
        sub(identity, "NOSSRegistrationNbr", nsso)
        sub(identity, "CompanyID", company if company and company_ok(company) else "0")
    if note.insz and len(note.insz) == 11 and note.insz.isdigit():
        sub(sub(form, "NaturalPerson"), "INSS", note.insz)
    handled = sub(form, "HandledReference")
    sub(handled, "ReferenceType", "1")
    sub(handled, "ReferenceOrigin", "2")
    sub(handled, "ReferenceNbr", note.declaration_id)
    result = sub(form, "HandlingResult")
    sub(result, "ResultCode", {"A": "1", "W": "1", "B": "0", "S": "2"}[note.result])
    language = employer.language if employer else "fr"
    for anomaly in note.anomalies:
        _anomaly(result, anomaly, language)
    if note.result in ("A", "W"):
        _impact(result, note)
    return etree.tostring(form, encoding="utf-8", pretty_print=True)
