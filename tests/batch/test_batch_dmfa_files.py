"""DmfA files through the whole batch channel with the real dmfa service: ACRF, the forms
handled by dmfa exactly as REST declarations, the NOTI file answering every form (accepted
and refused, with anomaly reports and Path) and the PID file of the accepted originals, then
a modification (DMWA) quoting the identifiers of that PID file. Every answer is validated
against the official schemas."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from batch.batch_fixtures import (
    assert_valid,
    eventually,
    publish_senders,
    start_batch,
    stop_batch,
)
from dmfa.dmfa_fixtures import (
    Producer,
    events,
    period_changed,
    publish_reference_data,
    set_clock,
    start_dmfa,
    stop_dmfa,
)
from dmfa_domain.dmfa_samples import (
    BLUE_COLLAR,
    KBO_D,
    NSSO_C,
    NSSO_D,
    WHITE_COLLAR,
    blue_collar_person,
    document_xml,
    form_xml,
    original,
    update_body,
    white_collar_person,
)
from lxml import etree
from rich.console import Console

from socsec.cli.send import send

DAY = "20250526"


@pytest.fixture
async def services(env, tmp_path):
    await publish_reference_data(env)
    await publish_senders(env)
    await set_clock(env, "2025-05-26T10:00:00")
    # One worker line per notification event: an accepted original of two persons sends
    # its lines (and their PIDs) in two events.
    dmfa = await start_dmfa(env, notification_lines_per_event=1)
    async with Producer(env) as producer:
        for i, insz in enumerate((WHITE_COLLAR, BLUE_COLLAR), start=1):
            await producer.send(
                "dimona.periods.v1",
                "DimonaPeriodChanged",
                NSSO_C,
                period_changed(700000000000 + i, NSSO_C, insz, date(2023, 1, 9)),
            )

    async def periods_loaded():
        return await dmfa.runtime.db.fetchval("SELECT count(*) FROM dimona_periods") >= 2

    await eventually(periods_loaded, 30, "the Dimona read model of dmfa")
    batch = await start_batch(env, tmp_path / "transfer")
    yield batch, dmfa
    await stop_batch(batch)
    await stop_dmfa(dmfa)


def dmfa_document(*bodies: dict, file_type: str = "DMFA") -> bytes:
    forms = [form_xml(body, file_type) for body in bodies]
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + document_xml(forms, file_type)).encode()


async def notified(batch, ticket: str) -> dict:
    async def check():
        body = await batch.ticket(ticket)
        return body if body["status"] == "NOTIFIED" else None

    return await eventually(check, 120, f"ticket {ticket} NOTIFIED")


def texts(element: etree._Element, path: str) -> list[str]:
    return [e.text for e in element.iterfind(path)]


async def test_dmfa_file_gets_its_noti_and_pid_then_a_modification_its_noti(services, env) -> None:
    batch, _ = services
    d_person = white_collar_person(JointCommissionNbr="999")  # 00046-314 (NP)
    content = dmfa_document(
        original(),  # employer C, two persons: accepted
        original([d_person], nsso=NSSO_D, company=KBO_D, reference="EXEMPLUM-2025-1-D"),
        original(quarter=20244, net=1, reference="EXEMPLUM-2024-4-C"),  # refused: 00015-007
    )
    go_name = f"GO.DMFA.054321.{DAY}.00001.R.2"
    ticket = await batch.send_set(
        f"DMFA.054321.{DAY}.00001.R", [content[: len(content) // 2], content[len(content) // 2 :]]
    )
    acrf = await batch.acrf(ticket)
    assert acrf["acrf"]["resultCode"] == 1 and acrf["forms"]["count"] == 3
    tree = assert_valid(await batch.out(acrf["acrf"]["fileName"]), "ACRF_20231.xsd")
    assert tree.findtext("Form/FileReference/FileName") == go_name

    body = await notified(batch, ticket)
    assert body["complete"] and body["forms"]["results"] == {"ACCEPTED": 2, "REFUSED": 1}
    [noti] = await batch.noti_files(ticket, 1)  # XSD-valid
    forms = etree.fromstring(noti).findall("Form")
    assert texts(etree.fromstring(noti), "Form/Reference/ReferenceNbr") == [
        "EXEMPLUM-2025-1-C",
        "EXEMPLUM-2025-1-D",
        "EXEMPLUM-2024-4-C",
    ]
    notes = {
        e.payload["batch_position"]: e.payload
        for e in await events(env, "dmfa.notifications.v1", "DmfaDeclarationNotified")
        if e.payload.get("batch_ticket") == ticket
    }
    for position, form in enumerate(forms, start=1):
        assert form.findtext("TypeForm") == "FA"
        assert form.findtext("FileReference/FileName") == go_name
        assert form.findtext("FileReference/ReferenceNbr") == ticket
        assert form.findtext("HandledOriginalFile/SenderId") == "054321"
        assert form.findtext("HandledOriginalForm/Identification") == "DMFA"
        assert form.findtext("HandledReference/ReferenceNbr") == notes[position]["ticket"]
    c_form, d_form, refused = forms
    assert c_form.findtext("HandlingResult/ResultCode") == "1"
    assert c_form.findtext("ConcernedQuarter/Quarter") == "20251"
    assert c_form.findtext("EmployerId/NOSSRegistrationNbr") == NSSO_C
    assert texts(c_form, "DeclarationComplInformations/*") == ["2", "2"]
    assert c_form.find("HandlingResult/AnomalyReport") is None
    d_codes = texts(d_form, "HandlingResult/AnomalyReport/ErrorID")
    assert d_form.findtext("HandlingResult/ResultCode") == "1" and "00046-314" in d_codes
    [jc] = [
        r
        for r in d_form.iterfind("HandlingResult/AnomalyReport")
        if r.findtext("ErrorID") == "00046-314"
    ]
    assert (jc.findtext("TagName"), jc.findtext("Value"), jc.findtext("AnomalyClass")) == (
        "JointCommissionNbr",
        "999",
        "NP",
    )
    [jc_note] = [a for a in notes[2]["anomalies"] if a["error_id"] == "00046-314"]
    assert jc_note["label_fr"] != jc_note["label_nl"]
    assert jc.findtext("AnomalyLabel") == jc_note["label_fr"]  # employer D speaks French
    assert jc.findtext("Path/NOSSRegistrationNbr") == NSSO_D
    assert jc.findtext("Path/INSS") == WHITE_COLLAR
    assert refused.findtext("HandlingResult/ResultCode") == "0"
    assert refused.findtext("HandlingResult/Diagnosis") == "3"
    [blocking] = [
        r
        for r in refused.iterfind("HandlingResult/AnomalyReport")
        if r.findtext("AnomalyClass") == "B"
    ]
    assert blocking.findtext("ErrorID") == "00015-007"
    [blocking_note] = [a for a in notes[3]["anomalies"] if a["error_id"] == "00015-007"]
    assert blocking.findtext("AnomalyLabel") == blocking_note["label_nl"]  # C speaks Dutch

    # The PID file: one form per accepted original, with the identifiers dmfa gave.
    [pid_file] = body["pid"]
    assert pid_file["fileName"].startswith(f"FO.DPID.999999.{DAY}.") and pid_file["forms"] == 2
    pid = assert_valid(await batch.out(pid_file["fileName"]), "DmfAPID_20224.xsd")
    c_pid, d_pid = pid.findall("Form")
    assert texts(c_pid, "Reference/ReferenceNbr")[:2] == [notes[1]["ticket"], "EXEMPLUM-2025-1-C"]
    assert texts(d_pid, "Reference/ReferenceNbr")[:2] == [notes[2]["ticket"], "EXEMPLUM-2025-1-D"]
    # Employer C's lines came in two events; both persons are in its PID form.
    assert notes[1]["worker_line_parts"] == 2 and notes[1]["pids"]["persons"] == []
    parts = [
        e.payload
        for e in await events(env, "dmfa.notifications.v1", "DmfaWorkerLinesNotified")
        if e.payload["ticket"] == notes[1]["ticket"]
    ]
    lines = notes[1]["worker_lines"] + [line for p in parts for line in p["worker_lines"]]
    assert [
        (p.findtext("INSS"), int(p.findtext("NaturalPersonPID")))
        for p in c_pid.iterfind("IDEmployerDeclaration/IDNaturalPerson")
    ] == [(line["inss"], line["natural_person_pid"]) for line in lines]
    assert c_pid.findtext("IDEmployerDeclaration/EmployerDeclarationPID") == str(
        notes[1]["employer_declaration_pid"]
    )
    [d_person_pid] = d_pid.findall("IDEmployerDeclaration/IDNaturalPerson")
    assert (
        int(d_person_pid.findtext("DeclNaturalPersonPID"))
        == (notes[2]["pids"]["persons"][0]["decl_natural_person_pid"])
    )
    # Answers are in the sender's OUT folder, each with its GO.
    out = batch.transfer / "054321" / "OUT"

    async def delivered():
        names = [body["noti"][0]["fileName"], pid_file["fileName"]]
        return all((out / n).exists() and (out / f"GO{n[2:]}").exists() for n in names)

    await eventually(delivered, what="NOTI and PID in OUT")

    # A modification of employer D's declaration, quoting the PID file: the JC corrected.
    modification = _modification_from_pid(d_pid)
    update_ticket = await batch.send_set(
        f"DMWA.054321.{DAY}.00002.R", [dmfa_document(modification, file_type="DMWA")]
    )
    update = await notified(batch, update_ticket)
    assert update["forms"]["results"] == {"ACCEPTED": 1} and update["pid"] == []
    [answer] = await batch.noti_files(update_ticket, 1)
    [form] = etree.fromstring(answer).findall("Form")
    assert form.findtext("HandledOriginalForm/Identification") == "DMFAUPD"
    assert form.findtext("HandlingResult/ResultCode") == "1"
    assert "00046-314" not in texts(form, "HandlingResult/AnomalyReport/ErrorID")
    assert form.findtext("ConcernedQuarter/Quarter") == "20251"


def _modification_from_pid(form: etree._Element) -> dict:
    """The DMWA body a secretariat builds from a PID form: the line of its first person,
    with the joint committee corrected to 200."""
    declaration = form.find("IDEmployerDeclaration")
    person = declaration.find("IDNaturalPerson")
    record = person.find("IDWorkerRecord")
    fixed = white_collar_person()
    line = fixed["WorkerRecord"][0]
    line["Occupation"][0]["OccupationVersionNbr"] = int(
        record.findtext("IDOccupation/OccupationVersionNbr")
    )
    content = {
        "EmployerClass": line["EmployerClass"],
        "WorkerCode": line["WorkerCode"],
        "NOSSQuarterStartingDate": line["NOSSQuarterStartingDate"],
        "NOSSQuarterEndingDate": line["NOSSQuarterEndingDate"],
        "Border": line["Border"],
        "UpdateAction": 1,
        "OccupationUpdate": line["Occupation"],
        "WorkerContribution": line["WorkerContribution"],
    }
    update = {
        "NaturalPersonSequenceNbr": 1,
        "INSS": person.findtext("INSS"),
        "NaturalPersonPID": int(person.findtext("NaturalPersonPID")),
        "DeclNaturalPersonPID": int(person.findtext("DeclNaturalPersonPID")),
        "DeclNaturalPersonVersionNbr": int(person.findtext("DeclNaturalPersonVersionNbr")),
        "WorkerRecordUpdate": [
            {
                "LastSituationWR": {
                    "EmployerClass": record.findtext("EmployerClass"),
                    "WorkerCode": record.findtext("WorkerCode"),
                    "WorkerRecordVersionNbr": int(record.findtext("WorkerRecordVersionNbr")),
                },
                "WorkerRecordUpdateAction": content,
            }
        ],
    }
    return update_body(
        int(declaration.findtext("EmployerDeclarationPID")),
        [update],
        nsso=NSSO_D,
        company=KBO_D,
        justification="Joint committee corrected",
    )


async def test_send_waits_for_the_dmfa_noti_and_pid(services, tmp_path: Path) -> None:
    batch, _ = services
    quarter = tmp_path / "dmfa.xml"
    quarter.write_bytes(dmfa_document(original([blue_collar_person(sequence=1)])))
    out = Console(record=True, width=160)
    [outcome] = await send(
        batch.http,
        [quarter],
        sender="054321",
        environment="R",
        day=date(2025, 5, 26),
        sequence="C0002",
        wait_seconds=120,
        out=out,
    )
    assert outcome.accepted and outcome.complete
    assert outcome.body["forms"]["results"] == {"ACCEPTED": 1}
    text = out.export_text()
    assert "accepted" in text and f"NOTI FO.NOTI.999999.{DAY}." in text
    assert f"PID FO.DPID.999999.{DAY}." in text
    assert len(outcome.body["pid"]) == 1 and outcome.body["pid"][0]["fileName"].endswith(".R")
