"""The lenient reading of REST v2 bodies (dimona.md §3.3): bodies shaped like those of real
clients (Odoo's Belgian payroll Dimona module, hyperlab-be/laravel-dimona), each coercion,
each 400 with its invalidParams name, and the echo of §3.6."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from dimona_domain.dimona_fakes import (
    ADULT,
    KBO_B,
    NSSO_A,
    NSSO_B,
    STUDENT,
    TODAY,
    FakeContext,
    at,
    period,
    pid,
)

from socsec.dimona.domain.model import Address, Declaration, Kind, Result, UsingEmployer
from socsec.dimona.domain.normalise import BadRequest, echo_block, parse_rest_body
from socsec.dimona.domain.rules import REOPEN, evaluate

DECLARATION_ID = pid(500)


def parse(body: object, **kw: Any) -> Declaration:
    return parse_rest_body(
        body, declaration_id=DECLARATION_ID, received_at=at(TODAY), declarant="PayPro", **kw
    )


def bad(body: object, **kw: Any) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse(body, **kw)
    return caught.value


def names(error: BadRequest) -> list[str]:
    return [p["name"] for p in error.invalid_params]


# -- bodies of real clients ------------------------------------------------------------------

# hyperlab-be/laravel-dimona, DimonaPayloadBuilder::buildCreatePayload for a student:
# ssin with separators removed, plannedHoursNumber = ceil(hours) (a PHP float), the place
# of work with a null box number, NIS municipality and country codes as integers.
LARAVEL_STUDENT = {
    "employer": {"enterpriseNumber": "0876543270"},
    "worker": {"ssin": "05031512367"},
    "dimonaIn": {
        "features": {"jointCommissionNumber": "XXX", "workerType": "STU"},
        "plannedHoursNumber": 8.0,
        "studentPlaceOfWork": {
            "name": "Frituur Centraal",
            "address": {
                "street": "Grote Markt",
                "houseNumber": "1",
                "boxNumber": None,
                "postCode": "1000",
                "municipality": {"code": 21004, "name": "Brussel"},
                "country": 150,
            },
        },
        "startDate": "2026-07-06",
        "endDate": "2026-07-06",
    },
}
# ... for a flexi: hours as "HHMM" strings.
LARAVEL_FLEXI = {
    "employer": {"enterpriseNumber": "0876543270"},
    "worker": {"ssin": "88041212434"},
    "dimonaIn": {
        "features": {"jointCommissionNumber": "XXX", "workerType": "FLX"},
        "startDate": "2026-06-20",
        "startHour": "1700",
        "endDate": "2026-06-20",
        "endHour": "2230",
    },
}
# ... for another worker whose JC the client did not map: an integer.
LARAVEL_OTHER = {
    "employer": {"enterpriseNumber": "0876543270"},
    "worker": {"ssin": "85073003328"},
    "dimonaIn": {
        "features": {"jointCommissionNumber": 200, "workerType": "OTH"},
        "startDate": "2026-06-20",
        "endDate": "2026-06-20",
    },
}
LARAVEL_UPDATE_STUDENT = {
    "dimonaUpdate": {
        "periodId": 700000000145,
        "plannedHoursNumber": 8.0,
        "startDate": "2026-07-06",
        "endDate": "2026-07-06",
    }
}
LARAVEL_UPDATE_FLEXI = {
    "dimonaUpdate": {
        "periodId": 700000000145,
        "startDate": "2026-06-20",
        "startHour": "1800",
        "endDate": "2026-06-20",
        "endHour": "2300",
    }
}
LARAVEL_CANCEL = {"dimonaCancel": {"periodId": 700000000145}}
# The spec's first example: employerId as an integer.
EMPLOYER_ID_AS_INT = {
    "employer": {"employerId": 123456749},
    "worker": {"ssin": "85073003328"},
    "dimonaIn": {
        "startDate": "2026-09-01",
        "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
    },
}

# Odoo l10n_be_hr_payroll_dimona (hr.version._action_open_dimona): employerId =
# int(onss_registration_number), full identity, gender from {"male": 0, "female": 1},
# NIS country codes as integers, place of birth upper-cased, empty values dropped.
ODOO_IN = {
    "employer": {"employerId": 187654356},
    "worker": {
        "ssin": "85.07.30-033.28",
        "familyName": "Janssens",
        "givenName": "Jan",
        "birthDate": "1985-07-30",
        "placeOfBirth": "Gent",
        "countryOfBirth": 150,
        "nationality": 150,
        "gender": 0,
        "address": {
            "street": "Veldstraat 12",
            "houseNumber": "12",
            "postCode": "9000",
            "municipality": {"name": "Gent", "code": 44021},
            "country": 150,
        },
    },
    "dimonaIn": {
        "startDate": "2026-09-01",
        "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
        "endDate": "2027-08-31",
    },
}
ODOO_STUDENT = {
    "employer": {"employerId": 187654356},
    "worker": {"ssin": "05031512367", "familyName": "Maes", "givenName": "Lucas", "gender": 0},
    "dimonaIn": {
        "startDate": "2026-07-06",
        "features": {"jointCommissionNumber": "XXX", "workerType": "STU"},
        "endDate": "2026-07-31",
        "plannedHoursNumber": 12,
    },
}
# A foreigner: "ssin": False is dropped by Odoo, the identity block is complete.
ODOO_FOREIGNER = {
    "employer": {"employerId": 187654356},
    "worker": {
        "familyName": "Kowalski",
        "givenName": "Anna",
        "birthDate": "1994-03-02",
        "placeOfBirth": "KRAKOW",
        "countryOfBirth": 122,
        "nationality": 122,
        "gender": 1,
        "address": {
            "street": "Rue Haute 5",
            "houseNumber": "5",
            "postCode": "1000",
            "municipality": {"name": "Bruxelles", "code": 21004},
            "country": 150,
        },
    },
    "dimonaIn": {
        "startDate": "2026-09-01",
        "features": {"jointCommissionNumber": "XXX", "workerType": "OTH"},
    },
}
ODOO_OUT = {"dimonaOut": {"periodId": 700000000145, "endDate": "2026-06-30"}}
ODOO_UPDATE = {
    "dimonaUpdate": {"periodId": 700000000145, "startDate": "2026-06-01", "endDate": "2026-07-31"}
}
ODOO_CANCEL = {"dimonaCancel": {"periodId": 700000000145}}

SPEC_UPDATE = {
    "dimonaUpdate": {
        "periodId": 700000000246,
        "startDate": "2026-06-20",
        "startHour": "1700",
        "endDate": "2026-06-20",
        "endHour": "2230",
    }
}

REAL_BODIES = {
    "laravel student": LARAVEL_STUDENT,
    "laravel flexi": LARAVEL_FLEXI,
    "laravel other": LARAVEL_OTHER,
    "laravel update student": LARAVEL_UPDATE_STUDENT,
    "laravel update flexi": LARAVEL_UPDATE_FLEXI,
    "laravel cancel": LARAVEL_CANCEL,
    "employerId int": EMPLOYER_ID_AS_INT,
    "odoo in": ODOO_IN,
    "odoo student": ODOO_STUDENT,
    "odoo foreigner": ODOO_FOREIGNER,
    "odoo out": ODOO_OUT,
    "odoo update": ODOO_UPDATE,
    "odoo cancel": ODOO_CANCEL,
    "spec update": SPEC_UPDATE,
}


@pytest.mark.parametrize("body", REAL_BODIES.values(), ids=REAL_BODIES.keys())
def test_real_client_bodies_parse_without_400(body: dict) -> None:
    declaration = parse(body)
    assert declaration.raw == {}
    assert declaration.channel == "REST"
    assert declaration.declaration_id == DECLARATION_ID
    # JSON text and bytes are read the same way as the parsed object.
    assert parse(json.dumps(body)) == declaration
    assert parse(json.dumps(body).encode()) == declaration


def test_laravel_student() -> None:
    d = parse(LARAVEL_STUDENT)
    assert d.kind == Kind.IN
    assert (d.employer_nsso, d.employer_enterprise, d.ssin) == (None, KBO_B, STUDENT)
    assert (d.features.worker_type, d.features.joint_commission) == ("STU", "XXX")
    assert d.planned_hours == 8 and isinstance(d.planned_hours, int)
    assert (d.start_date, d.end_date) == (date(2026, 7, 6), date(2026, 7, 6))
    assert d.student_place_of_work == {
        "name": "Frituur Centraal",
        "address": {
            "street": "Grote Markt",
            "houseNumber": "1",
            "postCode": "1000",
            "municipality": {"code": 21004, "name": "Brussel"},
            "country": 150,
        },
    }


def test_laravel_flexi_hours_and_unmapped_jc() -> None:
    flexi = parse(LARAVEL_FLEXI)
    assert (flexi.start_hour, flexi.end_hour) == ("1700", "2230")
    assert parse(LARAVEL_OTHER).features.joint_commission == "200"


def test_laravel_update_and_cancel() -> None:
    update = parse(LARAVEL_UPDATE_STUDENT)
    assert (update.kind, update.period_id, update.planned_hours) == (Kind.UPDATE, pid(1), 8)
    assert (update.employer_nsso, update.ssin, update.identity) == (None, None, None)
    cancel = parse(LARAVEL_CANCEL)
    assert (cancel.kind, cancel.period_id) == (Kind.CANCEL, pid(1))


def test_odoo_in_with_identity_and_zero_based_gender() -> None:
    d = parse(ODOO_IN, gender_encoding="zero_based")
    assert (d.employer_nsso, d.ssin) == (NSSO_B, ADULT)
    assert d.gender_encoding == "zero_based"
    identity = d.identity
    assert identity is not None
    assert (identity.family_name, identity.given_name) == ("Janssens", "Jan")
    assert identity.birth_date == date(1985, 7, 30)
    assert identity.place_of_birth == "GENT"
    assert (identity.country_of_birth, identity.nationality, identity.gender) == (150, 150, 1)
    assert identity.address == Address(
        street="Veldstraat 12",
        house_number="12",
        post_code="9000",
        municipality_code=44021,
        municipality_name="Gent",
        country=150,
    )
    female = json.loads(json.dumps(ODOO_IN))
    female["worker"]["gender"] = 1
    assert parse(female, gender_encoding="zero_based").identity.gender == 2  # type: ignore[union-attr]


def test_odoo_foreigner_without_ssin() -> None:
    d = parse(ODOO_FOREIGNER)
    assert d.ssin is None and d.identity is not None and d.identity.complete


def test_odoo_out_update_cancel() -> None:
    out = parse(ODOO_OUT)
    assert (out.kind, out.period_id, out.end_date) == (Kind.OUT, pid(1), date(2026, 6, 30))
    update = parse(ODOO_UPDATE)
    assert (update.start_date, update.end_date) == (date(2026, 6, 1), date(2026, 7, 31))
    assert parse(ODOO_CANCEL).kind == Kind.CANCEL


# -- from body to outcome ---------------------------------------------------------------------


def test_laravel_student_is_accepted_end_to_end() -> None:
    outcome = evaluate(parse(LARAVEL_STUDENT), FakeContext())
    assert outcome.result == Result.ACCEPTED
    assert outcome.change is not None
    assert outcome.change.after.employer_nsso == NSSO_B and outcome.change.after.planned_hours == 8


def test_odoo_bodies_are_accepted_end_to_end() -> None:
    ctx = FakeContext()
    in_ = evaluate(parse(ODOO_IN, gender_encoding="zero_based"), ctx)
    assert in_.result == Result.ACCEPTED, in_.anomalies
    foreigner = evaluate(parse(ODOO_FOREIGNER, gender_encoding="zero_based"), ctx)
    assert foreigner.result == Result.WAITING and foreigner.needs_identification
    ctx.add(period(1, employer_nsso=NSSO_B, start_date=date(2026, 6, 1)))
    out = evaluate(parse(ODOO_OUT), ctx)
    assert out.result == Result.ACCEPTED, out.anomalies


def test_laravel_null_planned_hours_reach_the_rules() -> None:
    body = json.loads(json.dumps(LARAVEL_STUDENT))
    body["dimonaIn"]["plannedHoursNumber"] = None  # ceil(null) in PHP
    outcome = evaluate(parse(body), FakeContext())
    assert [a.code for a in outcome.anomalies] == ["01135-001"]


def test_unreadable_values_reach_the_rules_with_their_codes() -> None:
    body = json.loads(json.dumps(LARAVEL_STUDENT))
    body["dimonaIn"]["plannedHoursNumber"] = 7.5
    body["dimonaIn"]["startDate"] = "2026-02-30"
    body["dimonaIn"]["endDate"] = "06/07/2026"
    d = parse(body)
    assert d.raw == {"planned_hours": "7.5", "start_date": "2026-02-30", "end_date": "06/07/2026"}
    outcome = evaluate(d, FakeContext())
    assert [a.code for a in outcome.anomalies] == ["00910-003", "00911-003", "01135-003"]
    assert [a.path for a in outcome.anomalies] == [
        "dimonaIn.startDate",
        "dimonaIn.endDate",
        "dimonaIn.plannedHoursNumber",
    ]


# -- coercions ---------------------------------------------------------------------------------


def in_body(**dimona_in: Any) -> dict[str, Any]:
    block = {
        "startDate": "2026-09-01",
        "features": {"workerType": "OTH", "jointCommissionNumber": "XXX"},
    }
    block.update(dimona_in)
    return {"employer": {"employerId": 123456749}, "worker": {"ssin": ADULT}, "dimonaIn": block}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123456749, NSSO_A),
        ("123456749", NSSO_A),
        (51357716, "051357716"),
        ("51357716", "051357716"),
        ("123.456.749", NSSO_A),
        (123456749.0, NSSO_A),
        ("12345678A", "12345678A"),
    ],
)
def test_employer_id(value: object, expected: str) -> None:
    body = in_body()
    body["employer"] = {"employerId": value}
    assert parse(body).employer_nsso == expected


@pytest.mark.parametrize(
    "value",
    ["0876543270", "BE0876543270", "BE 0876.543.270", "be0876543270", 876543270, "876543270"],
)
def test_enterprise_number(value: object) -> None:
    body = in_body()
    body["employer"] = {"enterpriseNumber": value}
    assert parse(body).employer_enterprise == "0876543270"


def test_employer_id_and_enterprise_number_are_both_kept() -> None:
    body = in_body()
    body["employer"] = {"enterpriseNumber": "0123456749", "employerId": 123456749}
    d = parse(body)
    assert (d.employer_nsso, d.employer_enterprise) == (NSSO_A, "0123456749")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("85073003328", ADULT),
        ("85.07.30-033.28", ADULT),
        (" 85073003328 ", ADULT),
        (5031512367, STUDENT),
        ("850730 033 28", ADULT),
    ],
)
def test_ssin_separators_and_lost_zero(value: object, expected: str) -> None:
    body = in_body()
    body["worker"] = {"ssin": value}
    assert parse(body).ssin == expected


@pytest.mark.parametrize("value", [None, "", False])
def test_empty_ssin_is_absent(value: object) -> None:
    body = in_body()
    body["worker"] = {"ssin": value, "familyName": "Dupont"}
    assert parse(body).ssin is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("XXX", "XXX"),
        ("xxx", "XXX"),
        ("302", "302"),
        (302, "302"),
        (322.0, "322"),
        (" 124 ", "124"),
    ],
)
def test_joint_commission(value: object, expected: str) -> None:
    body = in_body(features={"workerType": "oth", "jointCommissionNumber": value})
    features = parse(body).features
    assert (features.joint_commission, features.worker_type) == (expected, "OTH")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700", "1700"),
        (900, "0900"),
        ("09:00", "0900"),
        ("9:00", "0900"),
        ("900", "0900"),
        ("17:30:00", "1730"),
        (0, "0000"),
        (1700.0, "1700"),
        ("2500", "2500"),
    ],
)
def test_hours(value: object, expected: str) -> None:
    d = parse(in_body(startHour=value, endHour=value))
    assert (d.start_hour, d.end_hour, d.raw) == (expected, expected, {})


@pytest.mark.parametrize("value", ["9h", "09.00", "nine", 9.5, -100])
def test_unreadable_hours_stay_raw(value: object) -> None:
    d = parse(in_body(startHour=value))
    assert d.start_hour is None and d.raw == {"start_hour": str(value)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8, 8), (8.0, 8), ("8", 8), (" 12 ", 12), ("8.0", 8), (0, 0), (1000, 1000), (None, None)],
)
def test_planned_hours(value: object, expected: int | None) -> None:
    d = parse(in_body(plannedHoursNumber=value))
    assert d.planned_hours == expected and d.raw == {}


@pytest.mark.parametrize("value", [7.5, "7.5", "7,5", "eight"])
def test_non_integral_planned_hours_stay_raw(value: object) -> None:
    d = parse(in_body(plannedHoursNumber=value))
    assert d.planned_hours is None and d.raw == {"planned_hours": str(value)}


@pytest.mark.parametrize(
    ("value", "encoding", "expected"),
    [
        (1, "glossary", 1),
        (2, "glossary", 2),
        (0, "glossary", 1),
        ("2", "glossary", 2),
        ("MALE", "glossary", 1),
        ("FEMALE", "glossary", 2),
        ("M", "glossary", 1),
        ("F", "glossary", 2),
        ("female", "zero_based", 2),
        (0, "zero_based", 1),
        (1, "zero_based", 2),
        ("X", "glossary", None),
        (7, "glossary", None),
    ],
)
def test_gender(value: object, encoding: str, expected: int | None) -> None:
    body = in_body()
    body["worker"] = {"ssin": ADULT, "gender": value}
    identity = parse(body, gender_encoding=encoding).identity
    assert identity is not None and identity.gender == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(150, 150), ("150", 150), ("00150", 150), ("BE", None)]
)
def test_country_codes(value: object, expected: int | None) -> None:
    body = in_body()
    body["worker"] = {"ssin": ADULT, "nationality": value, "countryOfBirth": value}
    identity = parse(body).identity
    assert identity is not None
    assert (identity.nationality, identity.country_of_birth) == (expected, expected)


@pytest.mark.parametrize("value", [700000000145, "700000000145", " 700000000145 ", 700000000145.0])
def test_period_id(value: object) -> None:
    assert parse({"dimonaCancel": {"periodId": value}}).period_id == pid(1)


def test_unreadable_period_id_reaches_the_rules() -> None:
    d = parse({"dimonaCancel": {"periodId": "P-145"}})
    assert d.period_id is None and d.raw == {"period_id": "P-145"}
    outcome = evaluate(d, FakeContext())
    assert [a.code for a in outcome.anomalies] == ["00913-003"]


def test_update_period_id_from_the_top_level() -> None:
    body = {"periodId": 700000000145, "dimonaUpdate": {"endDate": "2026-07-31"}}
    assert parse(body).period_id == pid(1)
    # The block's own id wins.
    body["dimonaUpdate"]["periodId"] = 700000000246
    assert parse(body).period_id == pid(2)


def test_unknown_keys_are_ignored_and_key_order_is_irrelevant() -> None:
    noisy = json.loads(json.dumps(LARAVEL_STUDENT))
    noisy["reference"] = "EMP-42"
    noisy["dimonaIn"]["comment"] = {"any": "thing"}
    noisy["worker"]["internalId"] = 17
    reordered = {key: noisy[key] for key in reversed(list(noisy))}
    reordered["dimonaIn"] = {
        key: noisy["dimonaIn"][key] for key in reversed(list(noisy["dimonaIn"]))
    }
    assert parse(noisy) == parse(LARAVEL_STUDENT) == parse(reordered)


def test_dates_with_a_time_part_are_read_as_dates() -> None:
    assert parse(in_body(startDate="2026-09-01T00:00:00")).start_date == date(2026, 9, 1)


def test_update_9999_is_kept_for_the_rules() -> None:
    d = parse({"dimonaUpdate": {"periodId": 700000000145, "endDate": "9999-12-31"}})
    assert d.end_date == REOPEN


def test_features_sub_entity_and_using_employer() -> None:
    features = {
        "workerType": "OTH",
        "jointCommissionNumber": 322,
        "subEntityNumber": "12",
        "usingEmployer": {"enterpriseNumber": "BE0876543270", "jointCommissionNumber": 124},
    }
    d = parse(in_body(features=features, endDate="2026-09-30"))
    assert d.features.sub_entity == 12
    assert d.features.using_employer == UsingEmployer(
        enterprise_number="0876543270", joint_commission="124"
    )


def test_oth_and_stu_bodies_carry_empty_strings_as_absent() -> None:
    d = parse(in_body(endDate="", startHour="", plannedHoursNumber=""))
    assert (d.end_date, d.start_hour, d.planned_hours, d.raw) == (None, None, None, {})


# -- 400 ---------------------------------------------------------------------------------------


def test_missing_features_is_the_spec_example() -> None:
    body = in_body()
    del body["dimonaIn"]["features"]
    assert bad(body).problem() == {
        "title": "Bad Request",
        "status": 400,
        "detail": "Features required",
        "invalidParams": [{"name": "dimonaIn.features", "reason": "required"}],
    }


def _without(path: str, body: dict | None = None) -> dict:
    body = json.loads(json.dumps(body or in_body()))
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    del node[last]
    return body


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (b"{not json", "body"),
        ("", "body"),
        ([LARAVEL_STUDENT], "body"),
        ("null", "body"),
        (42, "body"),
        (_without("employer"), "employer"),
        (_without("worker"), "worker"),
        (_without("dimonaIn.features"), "dimonaIn.features"),
        ({**in_body(), "employer": {}}, "employer"),
        ({**in_body(), "employer": {"employerId": None, "enterpriseNumber": ""}}, "employer"),
        ({**in_body(), "employer": "123456749"}, "employer"),
        ({**in_body(), "worker": ["85073003328"]}, "worker"),
        ({"dimonaIn": "OTH"}, "dimonaIn"),
        (in_body(features="OTH"), "dimonaIn.features"),
        (_without("dimonaOut.periodId", ODOO_OUT), "dimonaOut.periodId"),
        (_without("dimonaOut.endDate", ODOO_OUT), "dimonaOut.endDate"),
        ({"dimonaOut": {"periodId": 700000000145, "endDate": None}}, "dimonaOut.endDate"),
        (_without("dimonaUpdate.periodId", ODOO_UPDATE), "dimonaUpdate.periodId"),
        ({"dimonaCancel": {}}, "dimonaCancel.periodId"),
        (in_body(startDate={"date": "2026-09-01"}), "dimonaIn.startDate"),
        (in_body(startDate=20260901), "dimonaIn.startDate"),
        (in_body(endDate=["2026-09-30"]), "dimonaIn.endDate"),
        (in_body(startHour={"h": 9}), "dimonaIn.startHour"),
        (in_body(plannedHoursNumber=[8]), "dimonaIn.plannedHoursNumber"),
        (in_body(plannedHoursNumber=True), "dimonaIn.plannedHoursNumber"),
        ({"dimonaCancel": {"periodId": True}}, "dimonaCancel.periodId"),
        ({"dimonaCancel": {"periodId": {"id": 1}}}, "dimonaCancel.periodId"),
        (
            in_body(features={"workerType": "OTH", "subEntityNumber": "abc"}),
            "dimonaIn.features.subEntityNumber",
        ),
        (in_body(features={"workerType": ["OTH"]}), "dimonaIn.features.workerType"),
        (
            in_body(features={"workerType": "OTH", "usingEmployer": "Bouw NV"}),
            "dimonaIn.features.usingEmployer",
        ),
        ({**in_body(), "worker": {"ssin": {"nr": ADULT}}}, "worker.ssin"),
        ({**in_body(), "worker": {"ssin": ADULT, "gender": {"code": 1}}}, "worker.gender"),
        ({**in_body(), "worker": {"ssin": ADULT, "birthDate": 19850730}}, "worker.birthDate"),
        ({**in_body(), "worker": {"ssin": ADULT, "address": "Veldstraat 12"}}, "worker.address"),
    ],
)
def test_bad_requests_name_the_invalid_param(body: object, name: str) -> None:
    assert name in names(bad(body))


def test_exactly_one_declaration_block() -> None:
    none = bad({"employer": {"employerId": 123456749}})
    assert names(none) == ["dimonaIn", "dimonaOut", "dimonaUpdate", "dimonaCancel"]
    two = bad({**ODOO_OUT, **ODOO_CANCEL})
    assert names(two) == ["dimonaOut", "dimonaCancel"]
    assert two.invalid_params[0]["reason"] == "only one declaration block allowed"
    # A null block does not count.
    assert parse({**ODOO_OUT, "dimonaCancel": None}).kind == Kind.OUT


def test_every_400_reason_is_reported_at_once() -> None:
    body = {"dimonaIn": {"startDate": {"d": 1}}}
    error = bad(body)
    assert names(error) == ["employer", "worker", "dimonaIn.features", "dimonaIn.startDate"]
    assert error.detail.startswith("Employer required; Worker required; Features required")


def test_employer_and_worker_on_other_kinds_are_optional_but_read() -> None:
    body = {**ODOO_CANCEL, "employer": {"employerId": 187654356}, "worker": {"ssin": ADULT}}
    d = parse(body)
    assert (d.employer_nsso, d.ssin) == (NSSO_B, ADULT)


# -- echo (§3.6) -----------------------------------------------------------------------------


def test_echo_of_the_laravel_student() -> None:
    echo = echo_block(parse(LARAVEL_STUDENT))
    assert echo == {
        "employer": {"enterpriseNumber": "0876543270"},
        "worker": {"ssin": "05031512367"},
        "dimonaIn": {
            "features": {"jointCommissionNumber": "XXX", "workerType": "STU"},
            "startDate": "2026-07-06",
            "endDate": "2026-07-06",
            "plannedHoursNumber": 8,
            "studentPlaceOfWork": {
                "name": "Frituur Centraal",
                "address": {  # the null box number is left out
                    "street": "Grote Markt",
                    "houseNumber": "1",
                    "postCode": "1000",
                    "municipality": {"code": 21004, "name": "Brussel"},
                    "country": 150,
                },
            },
        },
    }
    assert type(echo["dimonaIn"]["plannedHoursNumber"]) is int
    json.dumps(echo)  # serialisable as is


def test_echo_normalises_ids_and_identity() -> None:
    body = in_body(startHour=900, endHour="17:00")
    body["employer"] = {"employerId": "051357716"}
    body["worker"] = {
        "ssin": "85.07.30-033.28",
        "gender": "FEMALE",
        "nationality": "150",
        "placeOfBirth": "gent",
    }
    echo = echo_block(parse(body))
    assert echo["employer"] == {"employerId": 51357716}
    assert echo["worker"] == {
        "ssin": ADULT,
        "placeOfBirth": "GENT",
        "nationality": 150,
        "gender": "2",
    }
    assert (echo["dimonaIn"]["startHour"], echo["dimonaIn"]["endHour"]) == ("0900", "1700")


def test_echo_of_out_update_cancel() -> None:
    assert echo_block(
        parse({"dimonaOut": {"periodId": "700000000145", "endDate": "2026-06-30"}})
    ) == {"dimonaOut": {"periodId": 700000000145, "endDate": "2026-06-30"}}
    reopen = {"dimonaUpdate": {"periodId": 700000000145, "endDate": "9999-12-31"}}
    assert echo_block(parse(reopen)) == reopen
    assert echo_block(parse(SPEC_UPDATE)) == SPEC_UPDATE
    assert echo_block(parse(ODOO_CANCEL)) == ODOO_CANCEL


def test_echo_keeps_raw_values_as_sent() -> None:
    echo = echo_block(parse(in_body(plannedHoursNumber=7.5, endDate="31/12/2026")))
    assert echo["dimonaIn"]["plannedHoursNumber"] == 7.5
    assert echo["dimonaIn"]["endDate"] == "31/12/2026"


def test_echo_of_using_employer_and_sub_entity() -> None:
    features = {
        "workerType": "OTH",
        "jointCommissionNumber": "322",
        "subEntityNumber": 3,
        "usingEmployer": {"name": "Bouw NV", "jointCommissionNumber": "124"},
    }
    echo = echo_block(parse(in_body(features=features)))
    assert echo["dimonaIn"]["features"] == {
        "jointCommissionNumber": "322",
        "workerType": "OTH",
        "subEntityNumber": 3,
        "usingEmployer": {"name": "Bouw NV", "jointCommissionNumber": "124"},
    }
