"""The lenient reading of a REST v2 POST body into a :class:`Declaration` (spec §3.3).

Real clients send what their language makes easy: an NSSO number as an integer that lost
its leading zero, planned hours as ``8.0``, hours as ``"0900"``, ``900`` or ``"09:00"``,
gender 0/1. Everything that can be read is coerced here; a value that can be read but is
wrong (``7.5`` planned hours, ``"2026-02-30"``) is kept as received in ``Declaration.raw``
so the rules report it with its code. Only what the spec calls a bad request raises
:class:`BadRequest` (HTTP 400): not an object, not exactly one declaration block, a missing
structural element, or a value of a type that cannot be coerced at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from socsec.dimona.domain.model import (
    Address,
    Declaration,
    Features,
    Kind,
    UsingEmployer,
    WorkerIdentity,
)

BLOCKS: dict[str, Kind] = {
    "dimonaIn": Kind.IN,
    "dimonaOut": Kind.OUT,
    "dimonaUpdate": Kind.UPDATE,
    "dimonaCancel": Kind.CANCEL,
}
BLOCK_OF: dict[Kind, str] = {kind: name for name, kind in BLOCKS.items()}

GENDER_ENCODINGS = ("glossary", "zero_based")

_SEPARATORS = re.compile(r"[\s./-]")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$")
_HOUR = re.compile(r"^(\d{1,2}):?(\d{2})(?::\d{2})?$")
_INTEGRAL = re.compile(r"^[+]?\d+(?:\.0*)?$")


class BadRequest(Exception):
    """A body the API answers with 400: ``detail`` for people, ``invalid_params`` (name,
    reason) for programs, in the default problem shape of §3.2."""

    def __init__(self, detail: str, invalid_params: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.invalid_params = invalid_params

    def problem(self) -> dict[str, Any]:
        """The 400 error body."""
        return {
            "title": "Bad Request",
            "status": 400,
            "detail": self.detail,
            "invalidParams": self.invalid_params,
        }


class _Invalid(Exception):
    """A value of a type that cannot be coerced (reason for invalidParams)."""


class _Raw:
    """A readable value that is wrong: kept as text for the rules."""

    def __init__(self, value: object) -> None:
        self.text = _as_text(value)


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _scalar(value: object) -> None:
    # Booleans are ints in Python but never a meaningful Dimona value.
    if isinstance(value, bool | dict | list):
        raise _Invalid(f"unexpected {type(value).__name__}")


def _date(value: object) -> date | _Raw | None:
    if _absent(value):
        return None
    if not isinstance(value, str):
        raise _Invalid("must be a date string YYYY-MM-DD")
    match = _DATE.match(value.strip())
    if match is None:
        return _Raw(value)
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return _Raw(value)


def _hour(value: object) -> str | _Raw | None:
    if _absent(value):
        return None
    _scalar(value)
    if isinstance(value, float):
        if not value.is_integer():
            return _Raw(value)
        value = int(value)
    if isinstance(value, int):
        # 900 -> "0900"; the rules judge whether the result is a real hour.
        return f"{value:04d}" if 0 <= value <= 9999 else _Raw(value)
    if isinstance(value, str):
        match = _HOUR.match(value.strip())
        if match is None:
            return _Raw(value)
        return f"{int(match.group(1)):02d}{match.group(2)}"
    raise _Invalid("must be an hour HHMM")


def _integer(value: object) -> int | _Raw | None:
    """int, integral float (8.0) or digit string; anything else readable stays raw."""
    if _absent(value):
        return None
    _scalar(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else _Raw(value)
    if isinstance(value, str):
        text = value.strip()
        # "8", "8.0", "+8": integral; int() of the digits keeps 12-digit ids exact.
        return int(text.lstrip("+").split(".")[0]) if _INTEGRAL.match(text) else _Raw(value)
    raise _Invalid("must be a number")


def _code(value: object) -> int | None:
    """NIS country or municipality code: int or digit string; other text is ignored (it is
    never used to refuse)."""
    if _absent(value):
        return None
    _scalar(value)
    result = _integer(value)
    return result if isinstance(result, int) else None


def _text(value: object) -> str | None:
    if _absent(value):
        return None
    _scalar(value)
    return _as_text(value).strip()


def _number_text(value: object, width: int, *, strip_be: bool = False) -> str | None:
    """An identifier as digits, left-padded when it is all digits (JSON integers lose leading
    zeros); other text is kept so the rules can say it is invalid."""
    if _absent(value) or value is False:
        return None
    _scalar(value)
    if isinstance(value, float):
        if not value.is_integer():
            return _as_text(value)
        value = int(value)
    if isinstance(value, int):
        return f"{value:0{width}d}" if value >= 0 else str(value)
    text = _SEPARATORS.sub("", str(value))
    if strip_be and text[:2].upper() == "BE":
        text = text[2:]
    return text.zfill(width) if text.isdigit() else text


def _joint_commission(value: object) -> str | None:
    if _absent(value):
        return None
    _scalar(value)
    return _as_text(value).strip().upper()


def _gender(value: object, encoding: str) -> int | None:
    """1 = male, 2 = female. ``glossary`` reads 1/2 (0 tolerated as male); ``zero_based``
    reads 0 = male, 1 = female. Anything else is ignored: gender never refuses."""
    if _absent(value):
        return None
    _scalar(value)
    if isinstance(value, str):
        text = value.strip().upper()
        if text in ("MALE", "M"):
            return 1
        if text in ("FEMALE", "F"):
            return 2
        if not text.isdigit():
            return None
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        return None
    table = {0: 1, 1: 2, 2: 2} if encoding == "zero_based" else {0: 1, 1: 1, 2: 2}
    return table.get(value)


class _Reader:
    """Walks the body, collecting every 400 reason before raising once."""

    def __init__(self, gender_encoding: str) -> None:
        self.errors: list[tuple[str, str, str]] = []  # name, reason, detail
        self.raw: dict[str, str] = {}
        self.gender_encoding = gender_encoding

    def fail(self, name: str, reason: str, detail: str) -> None:
        """Note one reason for a 400."""
        self.errors.append((name, reason, detail))

    def read(
        self,
        convert: Callable[[object], Any],
        value: object,
        name: str,
        raw_key: str | None = None,
    ) -> Any:
        """Convert one value; a type error is noted for the 400, a raw value for the rules."""
        try:
            result = convert(value)
        except _Invalid as exc:
            self.fail(name, str(exc), f"Invalid value for {name}")
            return None
        if isinstance(result, _Raw):
            self.raw[raw_key or name] = result.text
            return None
        return result

    def obj(self, parent: dict, key: str, name: str, *, required: bool = False) -> dict | None:
        """A nested object; ``None`` when absent (400 if ``required``)."""
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(name, "required", f"{_title(key)} required")
            return None
        if not isinstance(value, dict):
            self.fail(name, "must be an object", f"{_title(key)} must be an object")
            return None
        return value

    def address(self, parent: dict, key: str, name: str) -> Address | None:
        """A v2 address object (``municipality`` as an object or, leniently, a name)."""
        block = self.obj(parent, key, name)
        if block is None:
            return None
        municipality = block.get("municipality")
        code = city = None
        if isinstance(municipality, dict):
            code = self.read(_code, municipality.get("code"), f"{name}.municipality.code")
            city = self.read(_text, municipality.get("name"), f"{name}.municipality.name")
        elif municipality is not None:
            city = self.read(_text, municipality, f"{name}.municipality")
        return Address(
            street=self.read(_text, block.get("street"), f"{name}.street"),
            house_number=self.read(_text, block.get("houseNumber"), f"{name}.houseNumber"),
            box_number=self.read(_text, block.get("boxNumber"), f"{name}.boxNumber"),
            post_code=self.read(_text, block.get("postCode"), f"{name}.postCode"),
            municipality_code=code,
            municipality_name=city,
            country=self.read(_code, block.get("country"), f"{name}.country"),
        )


def _title(key: str) -> str:
    return key[:1].upper() + key[1:]


def _employer(reader: _Reader, body: dict, *, required: bool) -> tuple[str | None, str | None]:
    block = reader.obj(body, "employer", "employer", required=required)
    if block is None:
        return None, None
    errors = len(reader.errors)
    nsso = reader.read(lambda v: _number_text(v, 9), block.get("employerId"), "employer.employerId")
    enterprise = reader.read(
        lambda v: _number_text(v, 10, strip_be=True),
        block.get("enterpriseNumber"),
        "employer.enterpriseNumber",
    )
    if required and not nsso and not enterprise and len(reader.errors) == errors:
        # 90256-364 in the batch channel; REST refuses the body first (§6).
        reader.fail(
            "employer",
            "employerId or enterpriseNumber required",
            "Employer identification required",
        )
    return nsso, enterprise


def _worker(
    reader: _Reader, body: dict, *, required: bool
) -> tuple[str | None, WorkerIdentity | None]:
    block = reader.obj(body, "worker", "worker", required=required)
    if block is None:
        return None, None
    ssin = reader.read(lambda v: _number_text(v, 11), block.get("ssin"), "worker.ssin")
    names = ("familyName", "givenName", "birthDate", "placeOfBirth", "countryOfBirth")
    names += ("nationality", "gender", "address")
    if not any(block.get(key) is not None for key in names):
        return ssin, None
    place = reader.read(_text, block.get("placeOfBirth"), "worker.placeOfBirth")
    identity = WorkerIdentity(
        family_name=reader.read(_text, block.get("familyName"), "worker.familyName"),
        given_name=reader.read(_text, block.get("givenName"), "worker.givenName"),
        birth_date=reader.read(
            _date, block.get("birthDate"), "worker.birthDate", "identity.birth_date"
        ),
        place_of_birth=place.upper() if place else None,
        country_of_birth=reader.read(_code, block.get("countryOfBirth"), "worker.countryOfBirth"),
        nationality=reader.read(_code, block.get("nationality"), "worker.nationality"),
        gender=reader.read(
            lambda v: _gender(v, reader.gender_encoding), block.get("gender"), "worker.gender"
        ),
        address=reader.address(block, "address", "worker.address"),
    )
    return ssin, identity


def _features(reader: _Reader, block: dict, name: str) -> Features:
    features = reader.obj(block, "features", f"{name}.features", required=True)
    if features is None:
        return Features()
    path = f"{name}.features"
    using = reader.obj(features, "usingEmployer", f"{path}.usingEmployer")
    using_employer = None
    if using is not None:
        using_employer = UsingEmployer(
            enterprise_number=reader.read(
                lambda v: _number_text(v, 10, strip_be=True),
                using.get("enterpriseNumber"),
                f"{path}.usingEmployer.enterpriseNumber",
            ),
            name=reader.read(_text, using.get("name"), f"{path}.usingEmployer.name"),
            joint_commission=reader.read(
                _joint_commission,
                using.get("jointCommissionNumber"),
                f"{path}.usingEmployer.jointCommissionNumber",
            ),
            address=reader.address(using, "address", f"{path}.usingEmployer.address"),
        )
    sub_entity = reader.read(_integer, features.get("subEntityNumber"), f"{path}.subEntityNumber")
    if f"{path}.subEntityNumber" in reader.raw:
        # No anomaly code exists for an unreadable sub-entity: the body is refused instead.
        reader.raw.pop(f"{path}.subEntityNumber")
        reader.fail(f"{path}.subEntityNumber", "must be an integer", "Invalid subEntityNumber")
    worker_type = reader.read(_joint_commission, features.get("workerType"), f"{path}.workerType")
    return Features(
        worker_type=worker_type,
        joint_commission=reader.read(
            _joint_commission,
            features.get("jointCommissionNumber"),
            f"{path}.jointCommissionNumber",
        ),
        sub_entity=sub_entity,
        using_employer=using_employer,
    )


def _period_id(reader: _Reader, block: dict, body: dict, name: str, kind: Kind) -> int | None:
    value = block.get("periodId")
    if _absent(value) and kind == Kind.UPDATE:
        # Leniency (§3.3): some clients put the period id of an UPDATE at the top level.
        value = body.get("periodId")
    if _absent(value):
        reader.fail(f"{name}.periodId", "required", "Period id required")
        return None
    return reader.read(_integer, value, f"{name}.periodId", "period_id")


def _student_place(reader: _Reader, block: dict, name: str) -> dict | None:
    place = reader.obj(block, "studentPlaceOfWork", f"{name}.studentPlaceOfWork")
    if place is None:
        return None
    address = reader.address(place, "address", f"{name}.studentPlaceOfWork.address")
    out: dict[str, Any] = {
        "name": reader.read(_text, place.get("name"), f"{name}.studentPlaceOfWork.name")
    }
    if address is not None:
        out["address"] = _address_json(address)
    return out


def _load(body: object) -> object:
    if isinstance(body, bytes | bytearray | str):
        try:
            return json.loads(body or "null")
        except ValueError:
            raise BadRequest(
                "The body is not valid JSON", [{"name": "body", "reason": "malformed JSON"}]
            ) from None
    return body


def parse_rest_body(
    body: object,
    *,
    declaration_id: int,
    received_at: datetime,
    declarant: str,
    gender_encoding: str = "glossary",
) -> Declaration:
    """Read a REST v2 POST body (parsed JSON, or its bytes/text) into a declaration.

    Raises :class:`BadRequest` for what §3.2 answers with 400; every other defect is left
    to the rules, which report it with its code.
    """
    body = _load(body)
    if not isinstance(body, dict):
        raise BadRequest(
            "The body must be a JSON object", [{"name": "body", "reason": "must be an object"}]
        )
    present = [name for name in BLOCKS if body.get(name) is not None]
    if len(present) != 1:
        names = present or list(BLOCKS)
        reason = "only one declaration block allowed" if present else "one block required"
        raise BadRequest(
            "Exactly one of dimonaIn, dimonaOut, dimonaUpdate, dimonaCancel is required",
            [{"name": name, "reason": reason} for name in names],
        )
    name = present[0]
    kind = BLOCKS[name]
    reader = _Reader(gender_encoding if gender_encoding in GENDER_ENCODINGS else "glossary")
    block = reader.obj(body, name, name, required=True)
    if block is None:
        _raise(reader)

    is_in = kind == Kind.IN
    nsso, enterprise = _employer(reader, body, required=is_in)
    ssin, identity = _worker(reader, body, required=is_in)
    values: dict[str, Any] = {}
    if is_in:
        values["features"] = _features(reader, block, name)
        values["student_place_of_work"] = _student_place(reader, block, name)
    else:
        values["period_id"] = _period_id(reader, block, body, name, kind)
    if kind == Kind.OUT and _absent(block.get("endDate")):
        reader.fail(f"{name}.endDate", "required", "End date required")
    fields = {
        Kind.IN: ("start_date", "start_hour", "end_date", "end_hour", "planned_hours"),
        Kind.UPDATE: ("start_date", "start_hour", "end_date", "end_hour", "planned_hours"),
        Kind.OUT: ("end_date",),
        Kind.CANCEL: (),
    }[kind]
    for attribute in fields:
        key, convert = _FIELDS[attribute]
        values[attribute] = reader.read(convert, block.get(key), f"{name}.{key}", attribute)
    if reader.errors:
        _raise(reader)
    return Declaration(
        declaration_id=declaration_id,
        kind=kind,
        received_at=received_at,
        channel="REST",
        declarant=declarant,
        employer_nsso=nsso,
        employer_enterprise=enterprise,
        ssin=ssin,
        identity=identity,
        raw=reader.raw,
        gender_encoding=reader.gender_encoding,
        **values,
    )


_FIELDS = {
    "start_date": ("startDate", _date),
    "start_hour": ("startHour", _hour),
    "end_date": ("endDate", _date),
    "end_hour": ("endHour", _hour),
    "planned_hours": ("plannedHoursNumber", _integer),
}


def _raise(reader: _Reader) -> None:
    seen: dict[str, tuple[str, str]] = {}
    for name, reason, detail in reader.errors:
        seen.setdefault(name, (reason, detail))
    raise BadRequest(
        "; ".join(dict.fromkeys(detail for _, detail in seen.values())),
        [{"name": name, "reason": reason} for name, (reason, _) in seen.items()],
    )


# -- echo ---------------------------------------------------------------------------------


def _address_json(address: Address) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (
        ("street", address.street),
        ("houseNumber", address.house_number),
        ("boxNumber", address.box_number),
        ("postCode", address.post_code),
    ):
        if value is not None:
            out[key] = value
    municipality = {}
    if address.municipality_code is not None:
        municipality["code"] = address.municipality_code
    if address.municipality_name is not None:
        municipality["name"] = address.municipality_name
    if municipality:
        out["municipality"] = municipality
    if address.country is not None:
        out["country"] = address.country
    return out


def _raw_json(text: str) -> object:
    """A raw value echoed as the client most likely sent it (7.5 stays a number)."""
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def _id_json(number: str) -> object:
    return int(number) if number.isdigit() else number


def echo_block(declaration: Declaration) -> dict[str, Any]:
    """The submitted declaration in normalised v2 form (§3.6): ``employer`` and ``worker``
    when given, and the ``dimonaIn``/``dimonaOut``/``dimonaUpdate``/``dimonaCancel`` block
    with the v2 field names (NSSO number and period id as integers)."""
    d = declaration
    out: dict[str, Any] = {}
    employer: dict[str, Any] = {}
    if d.employer_nsso:
        employer["employerId"] = _id_json(d.employer_nsso)
    if d.employer_enterprise:
        employer["enterpriseNumber"] = d.employer_enterprise
    if employer:
        out["employer"] = employer
    worker = _worker_json(d)
    if worker:
        out["worker"] = worker

    block: dict[str, Any] = {}
    if d.kind == Kind.IN:
        block["features"] = _features_json(d.features)
    else:
        if d.period_id is not None:
            block["periodId"] = d.period_id
        elif "period_id" in d.raw:
            block["periodId"] = _raw_json(d.raw["period_id"])
    for attribute, (key, _) in _FIELDS.items():
        value = getattr(d, attribute)
        if value is not None:
            block[key] = value.isoformat() if isinstance(value, date) else value
        elif attribute in d.raw:
            block[key] = _raw_json(d.raw[attribute])
    if d.student_place_of_work is not None:
        block["studentPlaceOfWork"] = d.student_place_of_work
    out[BLOCK_OF[d.kind]] = block
    return out


def _worker_json(d: Declaration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.ssin:
        out["ssin"] = d.ssin
    identity = d.identity
    if identity is None:
        return out
    for key, value in (
        ("familyName", identity.family_name),
        ("givenName", identity.given_name),
        ("birthDate", identity.birth_date.isoformat() if identity.birth_date else None),
        ("placeOfBirth", identity.place_of_birth),
        ("countryOfBirth", identity.country_of_birth),
        ("nationality", identity.nationality),
        # The GET representation gives gender as the glossary string "1"/"2" (§3.6).
        ("gender", str(identity.gender) if identity.gender else None),
    ):
        if value is not None:
            out[key] = value
    if identity.birth_date is None and "identity.birth_date" in d.raw:
        out["birthDate"] = d.raw["identity.birth_date"]
    if identity.address is not None:
        out["address"] = _address_json(identity.address)
    return out


def _features_json(features: Features) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if features.joint_commission is not None:
        out["jointCommissionNumber"] = features.joint_commission
    if features.worker_type is not None:
        out["workerType"] = features.worker_type
    if features.sub_entity is not None:
        out["subEntityNumber"] = features.sub_entity
    using = features.using_employer
    if using is not None:
        ue: dict[str, Any] = {}
        if using.enterprise_number is not None:
            ue["enterpriseNumber"] = using.enterprise_number
        if using.name is not None:
            ue["name"] = using.name
        if using.joint_commission is not None:
            ue["jointCommissionNumber"] = using.joint_commission
        if using.address is not None:
            ue["address"] = _address_json(using.address)
        out["usingEmployer"] = ue
    return out
