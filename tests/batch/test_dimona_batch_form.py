"""A batch DIMN form read into a Dimona declaration, or answered with its structural
anomalies (socsec.dimona.domain.batch_form): pure."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from batch.batch_fixtures import HEADER, dimona_form, dimona_in, reference
from lxml import etree

from socsec.dimona.domain.batch_form import FormRefused, read_form
from socsec.dimona.domain.model import Declaration, Kind, Severity

RECEIVED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def read(xml: str) -> Declaration | FormRefused:
    return read_form(
        etree.fromstring(xml), declaration_id=700000000145, received_at=RECEIVED, declarant="M-X"
    )


def codes(xml: str) -> list[str]:
    result = read(xml)
    assert isinstance(result, FormRefused), result
    assert all(a.severity == Severity.B for a in result.anomalies)
    return [a.code for a in result.anomalies]


def test_dimona_in_reads_like_the_rest_body() -> None:
    declaration = read(dimona_form(dimona_in(), "EXEMPLUM-000123"))
    assert isinstance(declaration, Declaration)
    assert declaration.kind == Kind.IN and declaration.channel == "BATCH"
    assert declaration.declarant == "M-X" and declaration.received_at == RECEIVED
    assert declaration.employer_nsso == "155555504"
    assert declaration.ssin == "05021408828"
    assert declaration.start_date == date(2026, 7, 6)
    assert declaration.end_date == date(2026, 7, 10)
    assert declaration.planned_hours == 40
    assert declaration.features.worker_type == "STU"
    assert declaration.features.joint_commission == "XXX"
    assert declaration.raw == {}


def test_worker_identity_and_leading_zeros() -> None:
    person = (
        "<WorkerName>Peeters</WorkerName><WorkerFirstName>An</WorkerFirstName>"
        "<WorkerBirthdate>1990-02-03</WorkerBirthdate><WorkerSex>2</WorkerSex>"
        "<WorkerCity>Gent</WorkerCity><Nationality>150</Nationality>"
    )
    declaration = read(dimona_form(dimona_in("55555504", person=person, worker_type="OTH")))
    assert isinstance(declaration, Declaration)
    assert declaration.employer_nsso == "055555504"
    assert declaration.ssin is None
    identity = declaration.identity
    assert identity is not None
    assert (identity.family_name, identity.given_name) == ("Peeters", "An")
    assert identity.birth_date == date(1990, 2, 3) and identity.gender == 2
    assert identity.nationality == 150
    assert identity.address is not None and identity.address.municipality_name == "Gent"


def test_wrong_but_readable_values_are_left_to_the_rules() -> None:
    block = dimona_in(start="2026-02-30").replace(
        "<PlannedHoursNbr>40</PlannedHoursNbr>", "<PlannedHoursNbr>7.5</PlannedHoursNbr>"
    )
    declaration = read(dimona_form(block))
    assert isinstance(declaration, Declaration)
    assert declaration.start_date is None and declaration.planned_hours is None
    assert declaration.raw == {"start_date": "2026-02-30", "planned_hours": "7.5"}


@pytest.mark.parametrize(
    ("block", "kind", "period"),
    [
        (
            "<DimonaOut><DimonaPeriodId>700000000145</DimonaPeriodId>"
            "<EndingDate>2026-07-08</EndingDate></DimonaOut>",
            Kind.OUT,
            700000000145,
        ),
        (
            "<DimonaUpdate><DimonaPeriodId>700000000145</DimonaPeriodId>"
            "<StartingHour>0900</StartingHour><PlannedHoursNbr>32</PlannedHoursNbr>"
            "<EmployerId><NOSSRegistrationNbr>155555504</NOSSRegistrationNbr></EmployerId>"
            "</DimonaUpdate>",
            Kind.UPDATE,
            700000000145,
        ),
        (
            "<DimonaCancel><DimonaPeriodId>70000000014</DimonaPeriodId>"
            "<INSS>5021408828</INSS></DimonaCancel>",
            Kind.CANCEL,
            70000000014,
        ),
    ],
)
def test_out_update_cancel(block: str, kind: Kind, period: int) -> None:
    declaration = read(dimona_form(block))
    assert isinstance(declaration, Declaration)
    assert declaration.kind == kind and declaration.period_id == period
    if kind == Kind.UPDATE:
        assert declaration.start_hour == "0900" and declaration.planned_hours == 32
        assert declaration.employer_nsso == "155555504"
    if kind == Kind.OUT:
        assert declaration.end_date == date(2026, 7, 8)
    if kind == Kind.CANCEL:
        assert declaration.ssin == "05021408828"


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        # NaturalPerson is required in DimonaIn.
        (
            dimona_form(
                dimona_in().replace("<NaturalPerson><INSS>05021408828</INSS></NaturalPerson>", "")
            ),
            ["90017-001"],
        ),
        # Order: EndingDate before StartingDate.
        (
            dimona_form(
                dimona_in().replace(
                    "<StartingDate>2026-07-06</StartingDate><EndingDate>2026-07-10</EndingDate>",
                    "<EndingDate>2026-07-10</EndingDate><StartingDate>2026-07-06</StartingDate>",
                )
            ),
            ["00910-091"],
        ),
        # Cardinality: two WorkerType.
        (
            dimona_form(
                dimona_in().replace(
                    "<WorkerType>STU</WorkerType>",
                    "<WorkerType>STU</WorkerType><WorkerType>OTH</WorkerType>",
                )
            ),
            ["00655-090"],
        ),
        # Not allowed: an element the schema does not know.
        (
            dimona_form(dimona_in().replace("</DimonaIn>", "<Colour>blue</Colour></DimonaIn>")),
            ["90373-146"],
        ),
        # Length: a family name of 60 characters.
        (
            dimona_form(
                dimona_in(person="<WorkerName>" + "N" * 60 + "</WorkerName>", worker_type="OTH")
            ),
            ["00025-093"],
        ),
        # Missing header element and a wrong TypeForm.
        (
            dimona_form(dimona_in())
            .replace("<AttestationStatus>0</AttestationStatus>", "")
            .replace(">SU<", ">FA<"),
            ["00110-001", "00297-008"],
        ),
        # Five references (at most four).
        (f"<Form>{HEADER}{reference('1') * 5}{dimona_in()}</Form>", ["90082-090"]),
        # No declaration block at all.
        (f"<Form>{HEADER}</Form>", ["90059-163"]),
        # A sub-entity that is not a number has no rule of its own.
        (
            dimona_form(
                dimona_in().replace("</WorkerType>", "</WorkerType><SubEntityNbr>x</SubEntityNbr>")
            ),
            ["00652-002"],
        ),
        # Out of scope.
        (
            f"<Form>{HEADER}<DailyRegistrationDeclaration><AttestationStatus>0</AttestationStatus>"
            "</DailyRegistrationDeclaration></Form>",
            ["90480-003"],
        ),
    ],
)
def test_structural_errors_become_blocking_anomalies(xml: str, expected: list[str]) -> None:
    assert codes(xml) == expected


def test_a_refused_form_keeps_what_could_be_read() -> None:
    block = (
        "<DimonaOut><EndingDate>2026-07-08</EndingDate><INSS>05021408828</INSS>"
        "<EmployerId><NOSSRegistrationNbr>155555504</NOSSRegistrationNbr></EmployerId></DimonaOut>"
    )
    refused = read(dimona_form(block))
    assert isinstance(refused, FormRefused)
    assert [a.code for a in refused.anomalies] == ["00913-001"]
    assert refused.kind == Kind.OUT and refused.employer_nsso == "155555504"
    assert refused.ssin == "05021408828"
    assert refused.anomalies[0].description_fr == "Non présent"


def test_notifications_carry_what_the_noti_needs() -> None:
    from socsec.dimona.codec import notification_anomaly
    from socsec.dimona.domain.anomalies import anomaly, quota_exceeded
    from socsec.dimona.domain.batch_form import structural

    quota = notification_anomaly(
        anomaly("90017-369", value=40, quota=quota_exceeded("STUDENT", 2026, 650, 662))
    )
    assert (quota.label_fr, quota.label_nl) == (
        "Dépassement du contingent",
        "Overschrijding van het contingent",
    )
    assert (quota.quota_type, quota.quota_exceeding, quota.quota_unit) == ("STUDENT", 12, "hours")
    order = notification_anomaly(structural("00910-091", tag="StartingDate"))
    assert order.label_fr is None and order.description_nl == "Fout op volgorde"
