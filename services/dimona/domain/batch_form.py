"""The reading of a batch ``DIMN`` form (``Dimona_20231.xsd``) into a :class:`Declaration`.

The batch counterpart of :mod:`socsec.dimona.domain.normalise`: the same declaration comes
out of a ``Form`` element as out of a REST body, and the same rules judge it. A value that
can be read but is wrong (a date ``2026-02-30``, planned hours ``7.5``) is kept as received
in ``Declaration.raw`` so the rules report it with their code, exactly as for REST.

What REST answers with 400 does not refuse a batch file (batch.md §4): a form whose
*structure* breaks the schema (an element missing, repeated, out of order, unknown, too
long) is answered with blocking anomalies of its own, ``ZZZZZ-001`` (missing), ``-090``
(cardinality), ``-091`` (order), ``-093`` (length), ``-146`` (not allowed), where ZZZZZ is
the zone or block number of the element concerned; such a form is not evaluated further.
``DailyRegistrationDeclaration`` is out of scope: 90480-003.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from socsec.dimona.domain.anomalies import GENERIC_LABELS
from socsec.dimona.domain.model import (
    Address,
    Anomaly,
    Declaration,
    Features,
    Kind,
    Severity,
    UsingEmployer,
    WorkerIdentity,
)

#: Zone or block number of each element (the ``xs:documentation`` of Dimona_20231.xsd).
ZONES: dict[str, str] = {
    "Form": "90059",
    "Identification": "00296",
    "FormCreationDate": "00218",
    "FormCreationHour": "00299",
    "AttestationStatus": "00110",
    "TypeForm": "00297",
    "Reference": "90082",
    "ReferenceType": "00221",
    "ReferenceOrigin": "00298",
    "ReferenceNbr": "00222",
    "DimonaIn": "90373",
    "DimonaOut": "90377",
    "DimonaUpdate": "90378",
    "DimonaCancel": "90379",
    "DailyRegistrationDeclaration": "90480",
    "StartingDate": "00910",
    "StartingHour": "00777",
    "EndingDate": "00911",
    "EndingHour": "00778",
    "PlannedHoursNbr": "01135",
    "PlannedDaysNbr": "01017",
    "DimonaPeriodId": "00913",
    "EmployerId": "90256",
    "NOSSRegistrationNbr": "00011",
    "ProvisionalNSSONbr": "00948",
    "CompanyID": "00014",
    "NaturalPerson": "90017",
    "INSS": "00024",
    "WorkerName": "00025",
    "WorkerFirstName": "00026",
    "WorkerInitial": "00027",
    "WorkerBirthdate": "00028",
    "WorkerBirthplace": "00168",
    "WorkerBirthplaceCountry": "00169",
    "WorkerSex": "00029",
    "WorkerStreet": "00030",
    "WorkerHouseNbr": "00031",
    "WorkerPostBox": "00032",
    "WorkerZIPCode": "00033",
    "WorkerCity": "00034",
    "WorkerCountry": "00035",
    "Nationality": "00119",
    "DimonaFeatures": "90374",
    "JointCommissionNbr": "00046",
    "WorkerType": "00655",
    "SubEntityNbr": "00652",
    "UsingEmployer": "90107",
    "UsingEmployerName": "00153",
    "UsingEmployerCompanyID": "00131",
    "ConstructionControlCards": "90375",
    "FirstMonthC32ANbr": "00663",
    "NextMonthC32ANbr": "00664",
    "StudentPlaceOfWork": "90376",
    "Denomination": "00776",
    "Address": "90022",
    "Street": "00517",
    "HouseNbr": "00518",
    "PostBox": "00519",
    "ZIPCode": "00520",
    "City": "00522",
    "Country": "00523",
    "SmallStatutesInformation": "90594",
    "EmploymentNature": "01231",
    "ActivityWithRisk": "00041",
    "WorkerStatus": "00053",
}

#: Annex-30 labels of the structural codes that the Dimona catalogue does not list.
STRUCTURAL_LABELS: dict[str, tuple[str, str]] = {
    "002": ("Non numérique", "Niet numeriek"),
    "090": ("Erreur de cardinalité", "Fout op cardinaliteit"),
    "091": ("Erreur de séquence", "Fout op volgorde"),
    "093": ("Longueur incorrecte", "Foutieve lengte"),
    "146": ("Non admis", "Niet toegelaten"),
    "163": ("Formulaire non traitable", "Niet verwerkbaar formulier"),
}

_PLANNED = ("PlannedHoursNbr", "PlannedDaysNbr")
_CHOICE_OF_BLOCKS = (
    "DimonaIn",
    "DimonaOut",
    "DimonaUpdate",
    "DimonaCancel",
    "DailyRegistrationDeclaration",
)

# Content models: a sequence of slots (accepted names, min, max) per complex element.
Slot = tuple[tuple[str, ...], int, int]
_ONE, _OPT = (1, 1), (0, 1)


def _s(*names: str, occurs: tuple[int, int] = _OPT) -> Slot:
    return (names, *occurs)


MODELS: dict[str, tuple[Slot, ...]] = {
    "Form": (
        _s("Identification", occurs=_ONE),
        _s("FormCreationDate", occurs=_ONE),
        _s("FormCreationHour", occurs=_ONE),
        _s("AttestationStatus", occurs=_ONE),
        _s("TypeForm", occurs=_ONE),
        _s("Reference", occurs=(0, 4)),
        _s(*_CHOICE_OF_BLOCKS, occurs=_ONE),
    ),
    "Reference": (
        _s("ReferenceType", occurs=_ONE),
        _s("ReferenceOrigin", occurs=_ONE),
        _s("ReferenceNbr", occurs=_ONE),
    ),
    "DimonaIn": (
        _s("StartingDate", occurs=_ONE),
        _s("StartingHour"),
        _s("EndingDate"),
        _s("EndingHour"),
        _s(*_PLANNED),
        _s("EmployerId"),
        _s("NaturalPerson", occurs=_ONE),
        _s("DimonaFeatures"),
        _s("ConstructionControlCards"),
        _s("StudentPlaceOfWork"),
        _s("SmallStatutesInformation"),
    ),
    "DimonaOut": (
        _s("DimonaPeriodId", occurs=_ONE),
        _s("EndingDate", occurs=_ONE),
        _s("INSS"),
        _s("EmployerId"),
    ),
    "DimonaUpdate": (
        _s("DimonaPeriodId", occurs=_ONE),
        _s("StartingDate"),
        _s("StartingHour"),
        _s("EndingDate"),
        _s("EndingHour"),
        _s("INSS"),
        _s(*_PLANNED),
        _s("EmployerId"),
    ),
    "DimonaCancel": (_s("DimonaPeriodId", occurs=_ONE), _s("INSS"), _s("EmployerId")),
    "EmployerId": (_s("NOSSRegistrationNbr", "ProvisionalNSSONbr"), _s("CompanyID")),
    "NaturalPerson": tuple(
        _s(name)
        for name in (
            "INSS",
            "WorkerName",
            "WorkerFirstName",
            "WorkerInitial",
            "WorkerBirthdate",
            "WorkerBirthplace",
            "WorkerBirthplaceCountry",
            "WorkerSex",
            "WorkerStreet",
            "WorkerHouseNbr",
            "WorkerPostBox",
            "WorkerZIPCode",
            "WorkerCity",
            "WorkerCountry",
            "Nationality",
        )
    ),
    "DimonaFeatures": (
        _s("JointCommissionNbr"),
        _s("WorkerType", occurs=_ONE),
        _s("SubEntityNbr"),
        _s("UsingEmployer"),
    ),
    "UsingEmployer": (
        _s("JointCommissionNbr"),
        _s("UsingEmployerName"),
        _s("UsingEmployerCompanyID"),
        _s("Address"),
    ),
    "StudentPlaceOfWork": (_s("Denomination"), _s("Address")),
    "Address": (
        _s("Street", occurs=_ONE),
        _s("HouseNbr", occurs=_ONE),
        _s("PostBox"),
        _s("ZIPCode", occurs=_ONE),
        _s("City", occurs=_ONE),
        _s("Country", occurs=_ONE),
    ),
    "ConstructionControlCards": (
        _s("FirstMonthC32ANbr", occurs=_ONE),
        _s("NextMonthC32ANbr", occurs=_ONE),
    ),
    "SmallStatutesInformation": (
        _s("EmploymentNature", occurs=_ONE),
        _s("ActivityWithRisk"),
        _s("WorkerStatus", occurs=_ONE),
    ),
}

#: Maximum length of free-text elements (their other values are judged by the rules).
MAX_LENGTHS: dict[str, int] = {
    "Identification": 7,
    "TypeForm": 2,
    "ReferenceNbr": 20,
    "WorkerName": 48,
    "WorkerFirstName": 24,
    "WorkerInitial": 1,
    "WorkerBirthplace": 40,
    "WorkerStreet": 35,
    "WorkerHouseNbr": 10,
    "WorkerPostBox": 4,
    "WorkerZIPCode": 9,
    "WorkerCity": 40,
    "JointCommissionNbr": 3,
    "WorkerType": 3,
    "UsingEmployerName": 96,
    "Denomination": 96,
    "Street": 42,
    "HouseNbr": 10,
    "PostBox": 4,
    "ZIPCode": 9,
    "City": 40,
}

#: Fixed values of the form header (anything else is outside the domain, -008).
HEADER_VALUES: dict[str, tuple[str, ...]] = {
    "Identification": ("DIMONA",),
    "AttestationStatus": ("0", "1", "3"),
    "TypeForm": ("SU",),
}

_BLOCK_KINDS = {
    "DimonaIn": Kind.IN,
    "DimonaOut": Kind.OUT,
    "DimonaUpdate": Kind.UPDATE,
    "DimonaCancel": Kind.CANCEL,
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HHMM = re.compile(r"^\d{4}$")
_DIGITS = re.compile(r"^\+?\d+$")


@dataclass(frozen=True)
class FormRefused:
    """A form answered without evaluation: its blocking anomalies, and what could be read
    of it for the notification (kind of block, employer, worker, period)."""

    anomalies: tuple[Anomaly, ...]
    kind: Kind | None = None
    employer_nsso: str | None = None
    ssin: str | None = None
    period_id: int | None = None


def structural(code: str, *, tag: str | None = None, value: object = None) -> Anomaly:
    """A blocking anomaly ``code`` (``ZZZZZ-EEE``) with the annex-30 label of ``EEE`` as its
    description in both languages."""
    generic = code[-3:]
    fr, nl = STRUCTURAL_LABELS.get(generic) or GENERIC_LABELS.get(generic, (code, code))
    return Anomaly(
        code=code,
        severity=Severity.B,
        tag=tag,
        value=None if value is None else str(value)[:100],
        description_fr=fr,
        description_nl=nl,
    )


def _tag(element: Any) -> str | None:
    tag = element.tag
    return tag if isinstance(tag, str) else None  # comments and processing instructions


def _children(element: Any) -> list[Any]:
    return [child for child in element if _tag(child) is not None]


def _text(element: Any | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def _check_content(element: Any, found: list[Anomaly]) -> None:
    """Order, cardinality and unknown children of ``element`` against its model, then its
    children recursively, and the lengths of free-text values."""
    name = _tag(element)
    model = MODELS.get(name or "")
    if model is None:
        text = _text(element)
        limit = MAX_LENGTHS.get(name or "")
        if text is not None and limit is not None and len(text) > limit:
            found.append(structural(f"{ZONES[name]}-093", tag=name, value=text))  # type: ignore[index]
        return
    counts = [0] * len(model)
    current = 0  # the furthest slot reached: an element of an earlier slot is out of order
    for child in _children(element):
        child_name = _tag(child)
        assert child_name is not None
        position = next((i for i, slot in enumerate(model) if child_name in slot[0]), None)
        if position is None:
            zone = ZONES.get(name or "", "90059")
            found.append(structural(f"{zone}-146", tag=child_name))
            continue
        if position < current:
            found.append(structural(f"{ZONES.get(child_name, '90059')}-091", tag=child_name))
        current = max(current, position)
        counts[position] += 1
        if counts[position] == model[position][2] + 1:
            found.append(structural(f"{ZONES.get(child_name, '90059')}-090", tag=child_name))
        if name == "Form" and child_name == "DailyRegistrationDeclaration":
            continue  # out of scope as a whole (90480-003), not checked inside
        _check_content(child, found)
    for position, slot in enumerate(model):
        if counts[position] < slot[1]:
            found.append(_missing(slot))


def _missing(slot: Slot) -> Anomaly:
    names = slot[0]
    if set(names) == set(_CHOICE_OF_BLOCKS):
        # No declaration block at all: the form says nothing that can be processed.
        return structural("90059-163", tag="Form")
    return structural(f"{ZONES[names[0]]}-001", tag=names[0])


def _check_header(form: Any, found: list[Anomaly]) -> None:
    for name, allowed in HEADER_VALUES.items():
        value = _text(form.find(name))
        if value is not None and value not in allowed:
            found.append(structural(f"{ZONES[name]}-008", tag=name, value=value))
    for name in ("FormCreationDate",):
        value = _text(form.find(name))
        if value is not None and _date(value) is None:
            found.append(structural(f"{ZONES[name]}-003", tag=name, value=value))


# -- values ---------------------------------------------------------------------------------


def _date(text: str | None) -> date | None:
    if text is None or not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and _DIGITS.match(text) else None


def _identifier(text: str | None, width: int) -> str | None:
    """An identifier as digits, left-padded (an xs:integer may lose leading zeros); other
    text is kept so that the rules can say it is invalid."""
    if text is None:
        return None
    return text.zfill(width) if text.isdigit() else text


class _Values:
    """Collects the declaration's fields from a block, wrong-but-readable values in raw."""

    def __init__(self) -> None:
        self.raw: dict[str, str] = {}
        self.found: list[Anomaly] = []

    def date(self, block: Any, tag: str, key: str) -> date | None:
        text = _text(block.find(tag))
        value = _date(text)
        if text is not None and value is None:
            self.raw[key] = text
        return value

    def hour(self, block: Any, tag: str, key: str) -> str | None:
        text = _text(block.find(tag))
        if text is not None and not _HHMM.match(text):
            self.raw[key] = text
            return None
        return text

    def integer(self, block: Any, tag: str, key: str) -> int | None:
        text = _text(block.find(tag))
        value = _int(text)
        if text is not None and value is None:
            self.raw[key] = text
        return value

    def strict_integer(self, block: Any, tag: str) -> int | None:
        """A number without a rule of its own: not numeric is a structural -002."""
        text = _text(block.find(tag))
        value = _int(text)
        if text is not None and value is None:
            self.found.append(structural(f"{ZONES[tag]}-002", tag=tag, value=text))
        return value


def _address(block: Any | None) -> Address | None:
    if block is None:
        return None
    names = ("Street", "HouseNbr", "PostBox", "ZIPCode", "City", "Country")
    street, house, box, post, city, country = (_text(block.find(n)) for n in names)
    if not any((street, house, box, post, city, country)):
        return None
    return Address(
        street=street,
        house_number=house,
        box_number=box,
        post_code=post,
        municipality_name=city,
        country=_int(country),
    )


def _worker_address(person: Any) -> Address | None:
    fields = {
        "street": _text(person.find("WorkerStreet")),
        "house_number": _text(person.find("WorkerHouseNbr")),
        "box_number": _text(person.find("WorkerPostBox")),
        "post_code": _text(person.find("WorkerZIPCode")),
        "municipality_name": _text(person.find("WorkerCity")),
    }
    country = _int(_text(person.find("WorkerCountry")))
    if not any(fields.values()) and country is None:
        return None
    return Address(country=country, **fields)


def _worker(person: Any | None, values: _Values) -> tuple[str | None, WorkerIdentity | None]:
    if person is None:
        return None, None
    ssin = _identifier(_text(person.find("INSS")), 11)
    if ssin is not None and ssin.strip("0") == "":
        ssin = None  # the schema's "0": no INSZ given
    if not any(person.find(slot[0][0]) is not None for slot in MODELS["NaturalPerson"][1:]):
        return ssin, None
    sex = _int(_text(person.find("WorkerSex")))
    place = _text(person.find("WorkerBirthplace"))
    identity = WorkerIdentity(
        family_name=_text(person.find("WorkerName")),
        given_name=_text(person.find("WorkerFirstName")),
        birth_date=values.date(person, "WorkerBirthdate", "identity.birth_date"),
        place_of_birth=place.upper() if place else None,
        country_of_birth=_int(_text(person.find("WorkerBirthplaceCountry"))),
        nationality=_int(_text(person.find("Nationality"))),
        gender=sex if sex in (1, 2) else None,
        address=_worker_address(person),
    )
    return ssin, identity


def _features(block: Any | None, values: _Values) -> Features:
    if block is None:
        return Features()
    using_block = block.find("UsingEmployer")
    using = None
    if using_block is not None:
        company = _identifier(_text(using_block.find("UsingEmployerCompanyID")), 10)
        jc = _text(using_block.find("JointCommissionNbr"))
        using = UsingEmployer(
            enterprise_number=company if company and company.strip("0") else None,
            name=_text(using_block.find("UsingEmployerName")),
            joint_commission=jc.upper() if jc else None,
            address=_address(using_block.find("Address")),
        )
    jc = _text(block.find("JointCommissionNbr"))
    worker_type = _text(block.find("WorkerType"))
    return Features(
        worker_type=worker_type.upper() if worker_type else None,
        joint_commission=jc.upper() if jc else None,
        sub_entity=values.strict_integer(block, "SubEntityNbr"),
        using_employer=using,
    )


def _student_place(block: Any | None) -> dict[str, Any] | None:
    if block is None:
        return None
    out: dict[str, Any] = {"name": _text(block.find("Denomination"))}
    address = _address(block.find("Address"))
    if address is not None:
        out["address"] = {
            key: value
            for key, value in (
                ("street", address.street),
                ("houseNumber", address.house_number),
                ("boxNumber", address.box_number),
                ("postCode", address.post_code),
                ("municipality", {"name": address.municipality_name}),
                ("country", address.country),
            )
            if value is not None
        }
    return out


def _employer(block: Any) -> tuple[str | None, str | None]:
    employer = block.find("EmployerId")
    if employer is None:
        return None, None
    nsso = _text(employer.find("NOSSRegistrationNbr")) or _text(employer.find("ProvisionalNSSONbr"))
    return _identifier(nsso, 9), _identifier(_text(employer.find("CompanyID")), 10)


def read_form(
    form: Any,
    *,
    declaration_id: int,
    received_at: datetime,
    declarant: str,
) -> Declaration | FormRefused:
    """Read one ``Form`` element of a DIMN file (an lxml element) into a declaration of the
    ``BATCH`` channel, or answer it at once with its structural anomalies (:class:`FormRefused`)."""
    block = next((c for c in _children(form) if _tag(c) in _CHOICE_OF_BLOCKS), None)
    block_name = _tag(block) if block is not None else None
    kind = _BLOCK_KINDS.get(block_name or "")
    if block_name == "DailyRegistrationDeclaration":
        return FormRefused((structural("90480-003", tag=block_name),))

    found: list[Anomaly] = []
    _check_content(form, found)
    _check_header(form, found)
    values = _Values()
    employer_nsso = employer_enterprise = None
    ssin: str | None = None
    period_id: int | None = None
    if block is not None:
        employer_nsso, employer_enterprise = _employer(block)
        if kind != Kind.IN:
            ssin = _identifier(_text(block.find("INSS")), 11)
            period_id = values.integer(block, "DimonaPeriodId", "period_id")
    if found or kind is None:
        return FormRefused(
            _unique(found) or (structural("90059-163", tag="Form"),),
            kind=kind,
            employer_nsso=employer_nsso,
            ssin=ssin,
            period_id=period_id,
        )

    fields: dict[str, Any] = {}
    identity = None
    if kind == Kind.IN:
        ssin, identity = _worker(block.find("NaturalPerson"), values)
        fields["features"] = _features(block.find("DimonaFeatures"), values)
        fields["student_place_of_work"] = _student_place(block.find("StudentPlaceOfWork"))
    if kind in (Kind.IN, Kind.UPDATE):
        fields["start_date"] = values.date(block, "StartingDate", "start_date")
        fields["start_hour"] = values.hour(block, "StartingHour", "start_hour")
        fields["end_hour"] = values.hour(block, "EndingHour", "end_hour")
        fields["planned_hours"] = values.integer(block, "PlannedHoursNbr", "planned_hours")
        fields["planned_days"] = values.strict_integer(block, "PlannedDaysNbr")
    if kind in (Kind.IN, Kind.UPDATE, Kind.OUT):
        fields["end_date"] = values.date(block, "EndingDate", "end_date")
    if values.found:
        return FormRefused(tuple(values.found), kind=kind, employer_nsso=employer_nsso, ssin=ssin)
    return Declaration(
        declaration_id=declaration_id,
        kind=kind,
        received_at=received_at,
        channel="BATCH",
        declarant=declarant,
        employer_nsso=employer_nsso,
        employer_enterprise=employer_enterprise,
        ssin=ssin,
        identity=identity,
        period_id=period_id,
        raw=values.raw,
        **fields,
    )


def _unique(anomalies: Sequence[Anomaly]) -> tuple[Anomaly, ...]:
    seen: dict[tuple[str, str | None], Anomaly] = {}
    for item in anomalies:
        seen.setdefault((item.code, item.tag), item)
    return tuple(seen.values())
