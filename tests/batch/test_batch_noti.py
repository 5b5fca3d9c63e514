"""A Dimona file through the whole batch channel: ACRF, forms processed by dimona exactly as
REST declarations, and the NOTI files answering them (PA for a provisional result, then FA),
every file validated against the official schemas."""

from __future__ import annotations

import logging

import pytest
from batch.batch_fixtures import (
    HEADER,
    TODAY,
    assert_valid,
    dimona_file,
    dimona_form,
    dimona_in,
    eventually,
    publish_batch_reference_data,
    resolve_identification,
    start_batch,
    stop_batch,
)
from dimona.dimona_fixtures import read_topic, set_clock, start_dimona, stop_dimona
from lxml import etree

from socsec.contracts.payloads.registry import IdentificationOutcome

PEETERS = (
    "<WorkerName>Peeters</WorkerName><WorkerFirstName>An</WorkerFirstName>"
    "<WorkerBirthdate>1990-02-03</WorkerBirthdate><WorkerSex>2</WorkerSex>"
)

#: (reference, form, expected result) in file order.
MIXED = [
    ("A-STU", dimona_form(dimona_in(), "A-STU"), "A"),
    (
        "W-LATE",
        dimona_form(
            dimona_in(
                "111111171",
                person="<INSS>85073003328</INSS>",
                start="2026-05-28",
                end=None,
                planned=None,
                worker_type="OTH",
            ),
            "W-LATE",
        ),
        "W",
    ),
    (
        "B-MANDATE",
        dimona_form(
            dimona_in(
                "123456749",
                person="<INSS>88041212434</INSS>",
                end=None,
                planned=None,
                worker_type="OTH",
            ),
            "B-MANDATE",
        ),
        "B",
    ),
    ("B-EMPLOYER", dimona_form(dimona_in("100000190"), "B-EMPLOYER"), "B"),
    (
        "S-IDENTIFY",
        dimona_form(
            dimona_in(person=PEETERS, end=None, planned=None, worker_type="OTH"), "S-IDENTIFY"
        ),
        "S",
    ),
    (
        "B-STRUCTURE",
        dimona_form(
            dimona_in().replace("<NaturalPerson><INSS>05021408828</INSS></NaturalPerson>", ""),
            "B-STRUCTURE",
        ),
        "B",
    ),
    (
        "B-DAILY",
        f"<Form>{HEADER}<Reference><ReferenceType>1</ReferenceType><ReferenceOrigin>1"
        "</ReferenceOrigin><ReferenceNbr>B-DAILY</ReferenceNbr></Reference>"
        "<DailyRegistrationDeclaration><AttestationStatus>0</AttestationStatus>"
        "</DailyRegistrationDeclaration></Form>",
        "B",
    ),
    (
        "B-OUT",
        dimona_form(
            "<DimonaOut><DimonaPeriodId>700000999952</DimonaPeriodId>"
            "<EndingDate>2026-07-08</EndingDate></DimonaOut>",
            "B-OUT",
        ),
        "B",
    ),
]


@pytest.fixture
async def services(env, tmp_path):
    await publish_batch_reference_data(env)
    await set_clock(env, "2026-06-01T10:00:00")
    dimona = await start_dimona(env)
    batch = await start_batch(env, tmp_path / "transfer")
    yield batch, dimona
    await stop_batch(batch)
    await stop_dimona(dimona)


def _forms(noti: bytes) -> dict[str, etree._Element]:
    """NOTI forms by the declarant's reference they echo."""
    tree = etree.fromstring(noti)
    return {form.findtext("Reference/ReferenceNbr"): form for form in tree.iterfind("Form")}


async def test_mixed_dimona_file_gets_its_noti_then_the_final_answer(services, env) -> None:
    batch, _ = services
    content = dimona_file(*(form for _, form, _ in MIXED))
    ticket = await batch.send_set(f"DIMN.054321.{TODAY}.00001.R", [content[:700], content[700:]])
    body = await batch.acrf(ticket)
    assert body["acrf"]["resultCode"] == 1 and body["forms"]["count"] == len(MIXED)
    acrf = assert_valid(await batch.out(body["acrf"]["fileName"]), "ACRF_20231.xsd")
    assert acrf.findtext("Form/FileReference/FileName") == f"GO.DIMN.054321.{TODAY}.00001.R.2"

    [first] = await batch.noti_files(ticket, 1)
    forms = _forms(first)
    assert list(forms) == [reference for reference, _, _ in MIXED]
    codes = {"A": "1", "W": "1", "B": "0", "S": "2"}
    for reference, _, result in MIXED:
        form = forms[reference]
        assert form.findtext("HandlingResult/ResultCode") == codes[result], reference
        assert form.findtext("TypeForm") == ("PA" if result == "S" else "FA"), reference
        assert form.findtext("FileReference/ReferenceNbr") == ticket
        assert form.findtext("FileReference/FileName") == f"GO.DIMN.054321.{TODAY}.00001.R.2"
        assert form.findtext("HandledOriginalFile/SenderId") == "054321"
        assert form.findtext("HandledOriginalForm/Identification") == "DIMONA"
        has_impact = form.find("HandlingResult/ImpactReport") is not None
        assert has_impact == (result in ("A", "W")), reference

    accepted = forms["A-STU"]
    assert accepted.findtext("EmployerId/CompanyID") == "0555555523"
    assert accepted.findtext("NaturalPerson/INSS") == "05021408828"
    period_id = accepted.findtext("HandledReference/ReferenceNbr")
    impact = accepted.find("HandlingResult/ImpactReport/DimonaImpactReport")
    assert impact.findtext("DimonaPeriodId") == period_id  # an IN opens the period of its id
    assert impact.findtext("DimonaFeatures/WorkerType") == "STU"
    assert impact.find("DimonaPeriodBefore") is None
    assert impact.findtext("DimonaPeriodAfter/PlannedHoursNbr") == "40"

    def codes_of(reference: str) -> list[str]:
        return [e.text for e in forms[reference].iterfind("HandlingResult/AnomalyReport/ErrorID")]

    assert codes_of("W-LATE") == ["90373-460"]
    assert forms["W-LATE"].findtext("HandlingResult/AnomalyReport/AnomalyClass") == "NP"
    assert codes_of("B-MANDATE") == ["90256-155"]
    assert codes_of("B-EMPLOYER")[0].startswith("00011-")
    assert codes_of("B-STRUCTURE") == ["90017-001"]
    assert codes_of("B-DAILY") == ["90480-003"]
    assert codes_of("B-OUT") == ["00913-354"]
    label = forms["B-MANDATE"].findtext("HandlingResult/AnomalyReport/AnomalyLabel")
    assert label == "Pas ou plus de mandat"  # the employer's language (fr)

    # The notifications carry the form's ticket and position.
    notes = [
        e.payload
        for e in await read_topic(env.bootstrap, env.topic("dimona.notifications.v1"))
        if e.payload.get("batch_ticket") == ticket
    ]
    assert sorted(n["batch_position"] for n in notes) == list(range(1, len(MIXED) + 1))
    provisional = forms["S-IDENTIFY"].findtext("HandledReference/ReferenceNbr")
    assert (await batch.ticket(ticket))["status"] == "PUBLISHED"

    # The worker is identified: the final answer comes in a second NOTI file.
    async def requested():
        return await read_topic(env.bootstrap, env.topic("dimona.identification-requests.v1"))

    [request] = await eventually(requested, what="the identification request")
    await resolve_identification(
        env, request.payload["request_id"], IdentificationOutcome.CREATED, "90220300113"
    )
    first_again, second = await batch.noti_files(ticket, 2)
    assert first_again == first
    [final] = etree.fromstring(second).iterfind("Form")
    assert final.findtext("TypeForm") == "FA"
    assert final.findtext("HandledReference/ReferenceNbr") == provisional
    assert final.findtext("HandlingResult/ResultCode") == "1"
    assert final.findtext("NaturalPerson/INSS") == "90220300113"
    assert final.findtext("Reference/ReferenceNbr") == "S-IDENTIFY"

    async def notified():
        body = await batch.ticket(ticket)
        return body if body["status"] == "NOTIFIED" else None

    body = await eventually(notified, what="the ticket to be NOTIFIED")
    assert body["complete"] and body["forms"]["finalReported"] == len(MIXED)
    assert body["forms"]["results"] == {"A": 2, "W": 1, "B": 5}
    assert [n["forms"] for n in body["noti"]] == [len(MIXED), 1]
    assert {a["code"] for a in body["anomalies"]} >= {"90256-155", "90480-003"}
    # Both NOTI files (and their GO) are in the sender's OUT folder.
    out = batch.transfer / "054321" / "OUT"

    async def delivered():
        names = [n["fileName"] for n in body["noti"]]
        return all((out / n).exists() and (out / f"GO{n[2:]}").exists() for n in names)

    await eventually(delivered, what="the NOTI files in OUT")
    assert (out / body["noti"][0]["fileName"]).read_bytes() == first


async def test_forms_of_one_worker_in_one_file_see_each_other(services, env, caplog) -> None:
    """The forms of a file reach dimona in consumer batches whose writes go out together: a
    form still sees the periods the forms before it opened (and a refused form between
    them changes nothing), without the batch failing over to one form at a time."""
    caplog.set_level(logging.WARNING, logger="socsec.kit.consumer")
    batch, _ = services

    def student(start: str, end: str) -> str:
        return dimona_in(start=start, end=end, planned=16)

    forms = [
        ("FIRST", dimona_form(student("2026-07-06", "2026-07-10"), "FIRST"), "1", []),
        ("SAME", dimona_form(student("2026-07-06", "2026-07-10"), "SAME"), "0", ["90373-333"]),
        (
            "BROKEN",
            dimona_form(
                student("2026-07-20", "2026-07-24").replace(
                    "<NaturalPerson><INSS>05021408828</INSS></NaturalPerson>", ""
                ),
                "BROKEN",
            ),
            "0",
            ["90017-001"],
        ),
        (
            "OVERLAP",
            dimona_form(student("2026-07-08", "2026-07-14"), "OVERLAP"),
            "0",
            ["90373-334"],
        ),
        ("LATER", dimona_form(student("2026-07-13", "2026-07-17"), "LATER"), "1", []),
    ]
    content = dimona_file(*(form for _, form, _, _ in forms))
    ticket = await batch.send_set(f"DIMN.054321.{TODAY}.00002.R", [content])
    assert (await batch.acrf(ticket))["acrf"]["resultCode"] == 1
    [noti] = await batch.noti_files(ticket, 1)
    answered = _forms(noti)
    assert list(answered) == [reference for reference, _, _, _ in forms]
    for reference, _, code, anomalies in forms:
        form = answered[reference]
        assert form.findtext("HandlingResult/ResultCode") == code, reference
        errors = [e.text for e in form.iterfind("HandlingResult/AnomalyReport/ErrorID")]
        assert errors == anomalies, reference
    first = answered["FIRST"].findtext("HandledReference/ReferenceNbr")
    periods = [
        e.payload["after"]
        for e in await read_topic(env.bootstrap, env.topic("dimona.periods.v1"))
        if e.payload["after"]["insz"] == "05021408828"
    ]
    assert not [r for r in caplog.records if "one by one" in r.getMessage()]
    later = answered["LATER"].findtext("HandledReference/ReferenceNbr")
    assert [(str(p["id"]), p["start_date"]) for p in periods] == [
        (first, "2026-07-06"),
        (later, "2026-07-13"),
    ]


async def test_simulation_file_is_processed_without_a_trace_in_the_personnel_file(
    services, env
) -> None:
    batch, _ = services
    ticket = await batch.send_set(
        f"DIMN.054321.{TODAY}.00002.S", [dimona_file(dimona_form(dimona_in(), "SIM-1"))]
    )
    [noti] = await batch.noti_files(ticket, 1)
    form = _forms(noti)["SIM-1"]
    assert form.findtext("HandlingResult/ResultCode") == "1"
    declaration = int(form.findtext("HandledReference/ReferenceNbr"))
    conn = await env.connect("dimona")
    try:
        row = await conn.fetchrow(
            "SELECT environment, batch_ticket, batch_position FROM declarations WHERE id = $1",
            declaration,
        )
        periods = await conn.fetchval("SELECT count(*) FROM periods")
    finally:
        await conn.close()
    assert tuple(row) == ("S", ticket, 1)
    assert periods == 0
    body = await batch.ticket(ticket)
    assert body["noti"][0]["fileName"].endswith(".S")
    out = batch.transfer / "054321" / "OUTTEST"

    async def delivered():
        return (out / body["noti"][0]["fileName"]).exists()

    await eventually(delivered, what="the NOTI in OUTTEST")
