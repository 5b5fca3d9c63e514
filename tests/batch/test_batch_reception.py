"""Set checks, the streaming form reader, and the ACRF and NOTI documents: pure, and every
document validated against the official schema."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from batch.batch_fixtures import assert_valid, dimona_file, dimona_form, dimona_in, simple_dimona
from lxml import etree

from socsec.batch.domain.acrf import acrf_document, error_labels
from socsec.batch.domain.names import FileName
from socsec.batch.domain.noti import (
    NOTI_HEAD,
    NOTI_TAIL,
    EmployerFacts,
    NotiFile,
)
from socsec.batch.domain.noti import (
    dimona_form as noti_form,
)
from socsec.batch.domain.reception import (
    ContentRefused,
    FormEcho,
    FormReader,
    Part,
    ReceptionRules,
    set_errors,
)
from socsec.contracts.payloads.dimona import DimonaNotified, NotificationAnomaly, PeriodState
from socsec.contracts.payloads.registry import SenderChanged

KEY = "DIMN.054321.20260601.00001"
SENDER = SenderChanged(sender_number="054321", holder="M-EXEMPLUM")


def part(name: str, errors: tuple[str, ...] = ()) -> Part:
    """A received file; a name ending in ``!`` stands for an empty one."""
    empty = name.endswith("!")
    name = name.rstrip("!")
    numbers = [int(e) for e in name.split(".")[6:]]
    total, index = ([*numbers, None, None])[:2]
    return Part(FileName.stored(name, total, index), errors, 0 if empty else 100)


def errors_of(env: str, names: list[str], go: str | None, **kw) -> tuple[str, ...]:
    key = f"{KEY}.{env}"
    return set_errors(
        [part(n.replace("{k}", key)) for n in names],
        go=part(go.replace("{k}", key)) if go else None,
        name_used=kw.get("used", False),
        sender=kw.get("sender", SENDER),
        rules=ReceptionRules(),
    )


def test_a_complete_production_set_has_no_error() -> None:
    names = ["FI.{k}.2.1", "FI.{k}.2.2", "FS.{k}.2.1", "FS.{k}.2.2"]
    assert errors_of("R", names, "GO.{k}.2") == ()


def test_test_and_simulation_sets_need_no_signature() -> None:
    assert errors_of("T", ["FI.{k}.1.1"], "GO.{k}.1") == ()
    assert errors_of("S", ["FI.{k}.1.1"], "GO.{k}.1") == ()


@pytest.mark.parametrize(
    ("names", "go", "expected"),
    [
        (["FI.{k}.2.1", "FS.{k}.2.1", "FS.{k}.2.2"], "GO.{k}.2", "ACRF-120"),
        (["FI.{k}.2.1", "FI.{k}.2.3", "FS.{k}.2.1", "FS.{k}.2.2"], "GO.{k}.2", "ACRF-123"),
        (["FI.{k}.2.1", "FI.{k}.2.1", "FS.{k}.2.1", "FS.{k}.2.2"], "GO.{k}.2", "ACRF-123"),
        (["FI.{k}.1.1"], "GO.{k}.1", "ACRF-122"),
        (["FI.{k}.2.1", "FI.{k}.2.2", "FS.{k}.2.1", "FS.{k}.2.3"], "GO.{k}.2", "ACRF-124"),
        (["FI.{k}.1.1", "FS.{k}.1.1!"], "GO.{k}.1", "ACRF-125"),
        ([], "GO.{k}.1", "ACRF-120"),
        (["FI.{k}.1.1", "FS.{k}.1.1"], None, "ACRF-130"),
    ],
)
def test_set_errors(names: list[str], go: str | None, expected: str) -> None:
    assert expected in errors_of("R", names, go)


def test_used_name_and_sender() -> None:
    ok = ["FI.{k}.1.1", "FS.{k}.1.1"]
    assert errors_of("R", ok, "GO.{k}.1", used=True) == ("ACRF-133",)
    assert errors_of("R", ok, "GO.{k}.1", sender=None) == ("ACRF-103",)
    inactive = SenderChanged(sender_number="054321", holder="M-EXEMPLUM", active=False)
    assert errors_of("R", ok, "GO.{k}.1", sender=inactive) == ("ACRF-103",)
    test_only = SenderChanged(sender_number="054321", holder="M-EXEMPLUM", environments=("T",))
    assert errors_of("R", ok, "GO.{k}.1", sender=test_only) == ("ACRF-103",)


def test_name_errors_of_the_files_are_reported_once() -> None:
    parts = [part(f"FI.{KEY}.T.1.1", errors=("ACRF-111",))]
    go = part(f"GO.{KEY}.T.1", errors=("ACRF-111",))
    assert set_errors(parts, go=go, name_used=False, sender=SENDER) == ("ACRF-111",)


# -- reading --------------------------------------------------------------------------------


def read_all(content: bytes, file_type: str = "DIMN", piece: int = 1 << 20, **kw):
    reader = FormReader(file_type, **kw)
    forms = []
    for offset in range(0, len(content), piece):
        forms.extend(reader.feed(content[offset : offset + piece]))
    forms.extend(reader.close())
    return forms


def test_forms_are_read_whatever_the_chunk_size() -> None:
    content = simple_dimona(5)
    for piece in (1, 7, 100, 1 << 20):
        forms = read_all(content, piece=piece)
        assert [f.position for f in forms] == [1, 2, 3, 4, 5]
        assert forms[0].employer == "155555504"
        assert forms[2].echo.references == (("1", "1", "REF-0003"),)
        assert forms[0].echo.header["Identification"] == "DIMONA"
        assert etree.fromstring(forms[4].xml).tag == "Form"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (simple_dimona(3)[:-40], "ACRF-102"),
        (b"this is not XML at all", "ACRF-102"),
        (b"", "ACRF-102"),
        (b"<Dimona><Form></Dimona>", "ACRF-102"),
        (
            b'<Dimona xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            b'xsi:noNamespaceSchemaLocation="Foo_20231.xsd"><Form/></Dimona>',
            "ACRF-088",
        ),
        (b"<DmfAOriginal><Form/></DmfAOriginal>", "ACRF-089"),
        (b"<Dimona/>", "ACRF-134"),
        (b"<Dimona><Other/><Form/></Dimona>", "ACRF-163"),
        (b"<Dimona><Form/><Other/></Dimona>", "ACRF-163"),
        (b"<Dimona><Wrap><Form/></Wrap></Dimona>", "ACRF-163"),
    ],
)
def test_content_errors(content: bytes, error: str) -> None:
    for count_only in (True, False):
        with pytest.raises(ContentRefused) as refused:
            read_all(content, count_only=count_only, piece=13)
        assert refused.value.error == error


def test_too_many_forms() -> None:
    with pytest.raises(ContentRefused) as refused:
        read_all(simple_dimona(3), max_forms=2)
    assert refused.value.error == "ACRF-172"


def test_external_entities_are_not_resolved() -> None:
    content = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<Dimona><Form><Identification>&e;</Identification></Form></Dimona>"
    )
    [form] = read_all(content)
    assert "root:" not in form.xml


# -- documents ------------------------------------------------------------------------------

CREATED = datetime(2026, 6, 1, 8, 20, 40, 5000, tzinfo=UTC)


@pytest.mark.parametrize("errors", [(), ("ACRF-133",), ("ACRF-111", "ACRF-120", "ACRF-122")])
def test_acrf_validates(errors: tuple[str, ...]) -> None:
    document = acrf_document(
        go_name="GO.DIMN.054321.20260601.00001.R.1",
        ticket="38000A7K2Q01C",
        errors=errors,
        created=CREATED,
    )
    tree = assert_valid(document, "ACRF_20231.xsd")
    assert tree.findtext("Form/FormCreationHour") == "10:20:40.005"
    assert tree.findtext("Form/ReceptionResult/ResultCode") == ("0" if errors else "1")
    assert [e.text for e in tree.iterfind("Form/ReceptionResult/ErrorID")] == list(errors)
    assert error_labels("ACRF-133")["en"].startswith("a file with the same name")


def period(**kw) -> PeriodState:
    values = dict(
        id=700000000347,
        employer_nsso="155555504",
        insz="05021408828",
        worker_type="STU",
        joint_commission="XXX",
        start_date=date(2026, 7, 6),
        end_date=date(2026, 7, 10),
        planned_hours=40,
    )
    values.update(kw)
    return PeriodState(**values)


def note(**kw) -> DimonaNotified:
    values = dict(
        declaration_id=700000000347,
        kind="IN",
        result="A",
        final=True,
        employer_nsso="155555504",
        insz="05021408828",
        declarant="M-EXEMPLUM",
        recipients=("M-EXEMPLUM",),
        batch_ticket="38000A7K2Q01B",
        batch_position=1,
        notified_at=CREATED,
    )
    values.update(kw)
    return DimonaNotified(**values)


QUOTA = NotificationAnomaly(
    code="90017-369",
    severity="NP",
    tag="PlannedHoursNbr",
    value="40",
    label_fr="Dépassement du contingent",
    label_nl="Overschrijding van het contingent",
    quota_type="STUDENT",
    quota_exceeding=12,
    quota_unit="hours",
)

NOTES = {
    "A_IN": note(after=period()),
    "W_IN_quota": note(result="W", anomalies=(QUOTA,), after=period()),
    "B": note(
        result="B",
        anomalies=(
            NotificationAnomaly(
                code="90256-155", severity="B", tag="EmployerId", label_fr="Pas ou plus de mandat"
            ),
        ),
    ),
    "S": note(result="S", final=False, insz=None),
    "OUT": note(kind="OUT", before=period(end_date=None), after=period(end_date=date(2026, 7, 8))),
    "UPDATE": note(
        kind="UPDATE", before=period(), after=period(planned_hours=32, start_hour="0900")
    ),
    "CANCEL": note(kind="CANCEL", before=period(), after=period(is_cancelled=True)),
    "ALT_322": note(
        after=period(
            worker_type="ALT",
            joint_commission="322",
            using_employer={
                "enterprise_number": "0412345614",
                "name": "User",
                "joint_commission": "302",
            },
        )
    ),
    "unknown_employer": note(result="B", employer_nsso="999999999999", insz="123"),
}


@pytest.mark.parametrize("case", list(NOTES))
def test_noti_forms_validate(case: str) -> None:
    noti = NotiFile("GO.DIMN.054321.20260601.00001.R.1", "38000A7K2Q01B", "054321", CREATED)
    echo = FormEcho(
        {
            "Identification": "DIMONA",
            "FormCreationDate": "2026-06-01",
            "FormCreationHour": "10:14:00.000",
            "AttestationStatus": "0",
            "TypeForm": "SU",
        },
        (("1", "1", "EXEMPLUM-000123"),),
    )
    form = noti_form(noti, echo, NOTES[case], EmployerFacts("0555555523", "nl"))
    document = NOTI_HEAD + form + NOTI_TAIL
    tree = assert_valid(document, "NOTIFICATION_20223.xsd")
    result = tree.find("Form/HandlingResult")
    impact = result.find("ImpactReport/DimonaImpactReport")
    kind, outcome = NOTES[case].kind, NOTES[case].result
    assert tree.findtext("Form/TypeForm") == ("PA" if outcome == "S" else "FA")
    assert result.findtext("ResultCode") == {"A": "1", "W": "1", "B": "0", "S": "2"}[outcome]
    if outcome in ("B", "S"):
        assert impact is None
    else:
        assert (impact.find("DimonaPeriodBefore") is not None) == (kind != "IN")
        assert (impact.find("DimonaPeriodAfter") is not None) == (kind != "CANCEL")


def test_noti_form_matches_the_spec_example() -> None:
    noti = NotiFile("GO.DIMN.054321.20260601.00001.R.1", "38000A7K2Q01B", "054321", CREATED)
    echo = FormEcho({"Identification": "DIMONA"}, (("1", "1", "EXEMPLUM-000123"),))
    tree = etree.fromstring(
        noti_form(noti, echo, NOTES["W_IN_quota"], EmployerFacts("0555555523", "nl"))
    )
    report = tree.find("HandlingResult/AnomalyReport")
    assert report.findtext("AnomalyLabel") == "Overschrijding van het contingent"
    assert report.findtext("AnomalyComplInformation/QuotaFeatures/QuotaType") == "STUDENT"
    assert report.findtext("AnomalyComplInformation/QuotaFeatures/ExceedingHoursNbr") == "12"
    assert tree.findtext("EmployerId/CompanyID") == "0555555523"
    assert tree.findtext("HandledReference/ReferenceNbr") == "700000000347"
    after = tree.find("HandlingResult/ImpactReport/DimonaImpactReport/DimonaPeriodAfter")
    assert [e.tag for e in after] == ["StartingDate", "EndingDate", "PlannedHoursNbr"]


def test_a_broken_echo_still_gives_a_valid_noti() -> None:
    noti = NotiFile("GO.DIMN.054321.20260601.00001.R.1", "38000A7K2Q01B", "054321", CREATED)
    echo = FormEcho(
        {
            "Identification": "TOO-LONG-ID",
            "FormCreationDate": "2026-02-30",
            "FormCreationHour": "25:00",
            "TypeForm": "XX",
        },
        (("12", "1", "x"), ("1", "9", "y"), ("1", "1", "z" * 70), ("1", "1", "ok")),
    )
    form = noti_form(noti, echo, NOTES["B"], None)
    tree = assert_valid(NOTI_HEAD + form + NOTI_TAIL, "NOTIFICATION_20223.xsd")
    assert [r.findtext("ReferenceNbr") for r in tree.iterfind("Form/Reference")] == ["ok"]


def test_dimona_fixture_file_is_valid_against_the_dimona_schema() -> None:
    content = dimona_file(dimona_form(dimona_in(), "EXEMPLUM-000123"))
    assert_valid(content, "Dimona_20231.xsd")
