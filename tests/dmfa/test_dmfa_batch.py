"""DmfA forms of the batch channel end to end: batch.forms.v1 in, dmfa.notifications.v1
out, the accepted store, redelivery and environment S."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from dmfa.dmfa_fixtures import (
    Producer,
    batch_form,
    events,
    period_changed,
    publish_reference_data,
    set_clock,
    start_dmfa,
    stop_dmfa,
    wait_events,
)
from dmfa_domain.dmfa_samples import (
    BLUE_COLLAR,
    NSSO_C,
    SCHEMAS,
    WHITE_COLLAR,
    blue_collar_person,
    document_xml,
    form_xml,
    original,
    schema_errors,
    white_collar_person,
)

from socsec.contracts.envelope import Envelope
from socsec.contracts.payloads.dmfa import DmfaDeclarationNotified

NOTES = "dmfa.notifications.v1"


@pytest.fixture
async def dmfa(env):
    await publish_reference_data(env)
    await set_clock(env, "2025-05-26T10:00:00")
    client = await start_dmfa(env)
    yield client
    await stop_dmfa(client)


async def _notification(env, batch_ticket: str) -> DmfaDeclarationNotified:
    [note] = await wait_events(
        env,
        NOTES,
        1,
        "DmfaDeclarationNotified",
        where=lambda p: p.get("batch_ticket") == batch_ticket,
    )
    return DmfaDeclarationNotified.model_validate(note.payload)


async def test_official_sample_is_accepted_with_its_pids_and_noti_content(dmfa, env) -> None:
    body = original()
    form = form_xml(body)
    assert schema_errors(document_xml([form])) == []  # the sample is a valid DmfAOriginal
    async with Producer(env) as producer:
        # The personnel file knows both workers (DIMONAWorkersNbr).
        for i, insz in enumerate((WHITE_COLLAR, BLUE_COLLAR), start=1):
            await producer.send(
                "dimona.periods.v1",
                "DimonaPeriodChanged",
                NSSO_C,
                period_changed(700000000000 + i, NSSO_C, insz, date(2023, 1, 9)),
            )
        await wait_for_periods(dmfa, 2)
        submitted = batch_form(form, declarant=NSSO_C)
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, submitted)
    note = await _notification(env, submitted.ticket)
    assert note.result == "ACCEPTED" and note.result_code == 1 and note.diagnosis is None
    assert note.anomalies == ()
    assert note.quarter == 20251 and note.employer_nsso == NSSO_C
    assert note.ticket.startswith("34") and len(note.ticket) == 13
    assert (note.dmfa_workers_nbr, note.dimona_workers_nbr) == (2, 2)
    assert note.batch_position == 1 and note.file_type == "DMFA"
    # The employer sent it itself: its approved secretariat gets a copy (routing MANDATARY).
    assert note.recipients == (NSSO_C, "M-EXEMPLUM")
    assert note.form is not None and note.form.identification == "DMFA"
    assert [r.reference_nbr for r in note.references] == ["EXEMPLUM-2025-1-C"]
    assert note.pid_file is True and note.pids is not None
    assert note.pids.employer_declaration_pid == note.employer_declaration_pid
    assert [p.inss for p in note.pids.persons] == [WHITE_COLLAR, BLUE_COLLAR]
    person = note.pids.persons[0]
    assert person.decl_natural_person_version_nbr == person.decl_natural_person_pid
    [record] = person.worker_records
    assert (record.employer_class, record.worker_code) == ("010", "495")
    assert [o.occupation_sequence_nbr for o in record.occupations] == [1]
    lines = {line.inss: line for line in note.worker_lines}
    assert lines[BLUE_COLLAR].worker_kind == "BLUE_COLLAR"
    assert lines[BLUE_COLLAR].occupations[0].days == 1600
    assert lines[WHITE_COLLAR].wage_mass == 810000
    assert note.wage_mass == 810000 + 912000
    # Received on 26 May 2025: after the approved secretariat's deadline of 22 May.
    assert (note.due_date, note.deadline, note.late) == (date(2025, 4, 30), date(2025, 5, 22), True)
    stored = await dmfa.fetch("SELECT * FROM employer_declarations")
    assert [(r["employer_nsso"], r["quarter"]) for r in stored] == [(NSSO_C, 20251)]
    assert len(await dmfa.fetch("SELECT * FROM worker_lines WHERE current")) == 2
    # The PID file (dmfa.md §6) renders from the notification and is a valid DmfAPID.
    assert _pid_schema_errors(note) == []


async def wait_for_periods(dmfa, count: int) -> None:
    from dmfa.dmfa_fixtures import eventually

    async def loaded():
        return await dmfa.runtime.db.fetchval("SELECT count(*) FROM dimona_periods") >= count

    await eventually(loaded, 20, "the Dimona read model")


async def test_redelivered_form_changes_nothing(dmfa, env) -> None:
    submitted = batch_form(form_xml(original()))
    async with Producer(env) as producer:
        first = await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, submitted)
        await _notification(env, submitted.ticket)
        # The same event again, and the same form under a new event id.
        await producer.send_envelope("batch.forms.v1", NSSO_C, first)
        copy = Envelope(**{**first.model_dump(), "event_id": uuid.uuid4()})
        await producer.send_envelope("batch.forms.v1", NSSO_C, copy)
        # A marker form behind them: once it is handled, the copies were too.
        marker = batch_form("<Form/>", position=2, ticket=submitted.ticket)
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, marker)
    await wait_events(
        env, NOTES, 1, "DmfaDeclarationNotified", where=lambda p: p.get("batch_position") == 2
    )
    notes = [
        e
        for e in await events(env, NOTES, "DmfaDeclarationNotified")
        if e.payload["batch_ticket"] == submitted.ticket and e.payload["batch_position"] == 1
    ]
    assert len(notes) == 1
    assert len(await dmfa.fetch("SELECT * FROM declarations WHERE batch_position = 1")) == 1
    assert len(await dmfa.fetch("SELECT * FROM employer_declarations")) == 1


async def test_unreadable_form_is_refused_with_90059_163(dmfa, env) -> None:
    submitted = batch_form("<Form><EmployerDeclaration>")
    async with Producer(env) as producer:
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, submitted)
    note = await _notification(env, submitted.ticket)
    assert (note.result, note.diagnosis) == ("REFUSED", 3)
    assert [a.error_id for a in note.anomalies] == ["90059-163"]


async def test_simulation_form_answers_like_production_and_leaves_no_trace(dmfa, env) -> None:
    body = original([white_collar_person(JointCommissionNbr="999"), blue_collar_person()])
    simulated = batch_form(form_xml(body), environment="S")
    async with Producer(env) as producer:
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, simulated)
    note = await _notification(env, simulated.ticket)
    assert note.environment == "S" and note.result == "ACCEPTED"
    # JC 999, and no Dimona at all for the two workers (cross-check, NP).
    assert [(a.error_id, a.anomaly_class, a.anomaly_id) for a in note.anomalies] == [
        ("00046-314", "NP", None),
        ("90007-262", "NP", None),
    ]
    assert note.pids is None and note.worker_lines == ()
    assert await dmfa.fetch("SELECT * FROM employer_declarations") == []
    assert await dmfa.fetch("SELECT * FROM anomalies") == []

    # The quarter still counts as not declared: the real original is accepted afterwards.
    real = batch_form(form_xml(body))
    async with Producer(env) as producer:
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, real)
    accepted = await _notification(env, real.ticket)
    assert accepted.result == "ACCEPTED" and accepted.anomalies[0].anomaly_id is not None
    # The outbox keeps order: the real declaration's anomaly event is the first and only one.
    found = await wait_events(env, "dmfa.anomalies.v1", 2)
    assert {e.payload["ticket"] for e in found} == {accepted.ticket}


async def test_large_declarations_carry_their_lines_in_parts(env) -> None:
    await publish_reference_data(env)
    await set_clock(env, "2025-05-26T10:00:00")
    client = await start_dmfa(env, notification_lines_per_event=1)
    try:
        submitted = batch_form(form_xml(original()))
        async with Producer(env) as producer:
            await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, submitted)
        note = await _notification(env, submitted.ticket)
        assert (note.worker_lines_count, note.worker_line_parts) == (2, 2)
        assert [line.inss for line in note.worker_lines] == [WHITE_COLLAR]
        assert note.pids is not None and note.pids.persons == ()  # the lines carry them
        assert note.worker_lines[0].decl_natural_person_pid is not None
        [part] = await wait_events(env, NOTES, 1, "DmfaWorkerLinesNotified")
        assert (part.payload["part"], part.payload["parts"]) == (2, 2)
        assert [line["inss"] for line in part.payload["worker_lines"]] == [BLUE_COLLAR]
        assert part.payload["ticket"] == note.ticket
    finally:
        await stop_dmfa(client)


def _noti_form(note: DmfaDeclarationNotified, go_file_name: str, sender: str) -> str:
    """A NOTI form (batch.md §7, dmfa.md §5) rendered from the notification alone, the way
    the batch service writes it: the contract carries everything the form needs."""
    from xml.sax.saxutils import escape

    def el(tag: str, *inner: str, text: object = None) -> str:
        body = escape(str(text)) if text is not None else "".join(inner)
        return f"<{tag}>{body}</{tag}>"

    assert note.form is not None
    form = note.form
    anomalies = [
        el(
            "AnomalyReport",
            el("ErrorID", text=a.error_id),
            el("TagName", text=a.tag_name),
            el("Value", text=a.value) if a.value is not None else "",
            el("AnomalyClass", text=a.anomaly_class),
            el("AnomalyLabel", text=a.label_nl),
            el("Path", *(el(p.tag, text=p.value) for p in a.path)) if a.path else "",
        )
        for a in note.anomalies
    ]
    result = [el("ResultCode", text=note.result_code)]
    if note.diagnosis is not None:
        result.append(el("Diagnosis", text=note.diagnosis))
    return el(
        "Form",
        el("Identification", text="NOTI001"),
        el("FormCreationDate", text=note.notified_at.date().isoformat()),
        el("FormCreationHour", text="10:05:09.120"),
        el("AttestationStatus", text=0),
        el("TypeForm", text="FA"),
        el(
            "FileReference",
            el("FileName", text=go_file_name),
            el("ReferenceOrigin", text=2),
            el("ReferenceNbr", text=note.batch_ticket),
        ),
        el("HandledOriginalFile", el("SenderId", text=sender)),
        el(
            "HandledOriginalForm",
            el("Identification", text=form.identification),
            el("FormCreationDate", text=form.creation_date),
            el("FormCreationHour", text=form.creation_hour),
            el("AttestationStatus", text=form.attestation_status),
            el("TypeForm", text=form.type_form),
        ),
        *(
            el(
                "Reference",
                el("ReferenceType", text=r.reference_type),
                el("ReferenceOrigin", text=r.reference_origin),
                el("ReferenceNbr", text=r.reference_nbr),
            )
            for r in note.references
        ),
        el(
            "EmployerId",
            el("NOSSRegistrationNbr", text=note.employer_nsso),
            el("CompanyID", text=note.company_id),
        ),
        el("ConcernedQuarter", el("Quarter", text=note.quarter)),
        el(
            "HandledReference",
            el("ReferenceType", text=1),
            el("ReferenceOrigin", text=2),
            el("ReferenceNbr", text=note.ticket),
        ),
        el(
            "DeclarationComplInformations",
            el("DMFAWorkersNbr", text=note.dmfa_workers_nbr),
            el("DIMONAWorkersNbr", text=note.dimona_workers_nbr),
        ),
        el("HandlingResult", *result, *anomalies),
    )


async def test_the_notification_renders_a_valid_noti_form(dmfa, env) -> None:
    # The dmfa.md §5 example: contribution 303 367 instead of 308 367, JC 999; and the
    # second person's 58 days (90015-095/096), which that example leaves out.
    from lxml import etree

    first = white_collar_person(JointCommissionNbr="999")
    first["WorkerRecord"][0]["WorkerContribution"][0]["ContributionAmount"] = 303367
    submitted = batch_form(form_xml(original([first, blue_collar_person(days=5800)])))
    async with Producer(env) as producer:
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, submitted)
    note = await _notification(env, submitted.ticket)
    found = {a.error_id: a for a in note.anomalies}
    assert set(found) == {"00085-044", "00046-314", "90015-095", "90015-096", "90007-262"}
    contribution = found["00085-044"]
    assert (contribution.tag_name, contribution.value, contribution.anomaly_class) == (
        "ContributionAmount",
        "303367",
        "P",
    )
    assert contribution.label_nl == "Berekend bedrag verschilt van het aangegeven bedrag"
    assert found["00046-314"].label_nl == "Paritaire comité 999 niet toegelaten"
    noti = _noti_form(note, submitted.go_file_name, submitted.sender)
    document = (
        '<NOTIFICATION xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="NOTIFICATION_20223.xsd">{noti}</NOTIFICATION>'
    )
    schema = etree.XMLSchema(etree.parse(f"{SCHEMAS}/NOTIFICATION_20223.xsd"))
    assert schema.validate(etree.fromstring(document.encode())), schema.error_log


def _pid_schema_errors(note: DmfaDeclarationNotified) -> list[str]:
    """The PID form of an accepted original (DmfAPID_20224.xsd) rendered from the
    notification's ``pids``, validated against the official schema."""
    from lxml import etree

    assert note.pids is not None
    pids = note.pids

    def el(tag: str, *inner: str, text: object = None) -> str:
        return f"<{tag}>{text if text is not None else ''.join(inner)}</{tag}>"

    def ref(kind: int, origin: int, number: str) -> str:
        return el(
            "Reference",
            el("ReferenceType", text=kind),
            el("ReferenceOrigin", text=origin),
            el("ReferenceNbr", text=number),
        )

    persons = [
        el(
            "IDNaturalPerson",
            el("INSS", text=p.inss),
            el("NaturalPersonPID", text=p.natural_person_pid),
            el("DeclNaturalPersonPID", text=p.decl_natural_person_pid),
            el("DeclNaturalPersonVersionNbr", text=p.decl_natural_person_version_nbr),
            *(
                el(
                    "IDWorkerRecord",
                    el("EmployerClass", text=r.employer_class),
                    el("WorkerCode", text=r.worker_code),
                    el("WorkerRecordVersionNbr", text=r.worker_record_version_nbr),
                    *(
                        el(
                            "IDOccupation",
                            el("OccupationSequenceNbr", text=o.occupation_sequence_nbr),
                            el("OccupationVersionNbr", text=o.occupation_version_nbr),
                        )
                        for o in r.occupations
                    ),
                )
                for r in p.worker_records
            ),
        )
        for p in pids.persons
    ]
    form = el(
        "Form",
        el("Identification", text="DMFAPID"),
        el("FormCreationDate", text="2025-05-26"),
        el("FormCreationHour", text="10:06:00.000"),
        el("AttestationStatus", text=0),
        el("TypeForm", text="SU"),
        ref(3, 2, note.ticket),
        *(ref(3, 1, r.reference_nbr) for r in note.references),
        ref(1, 2, "3800000000PID"),
        el(
            "IDEmployerDeclaration",
            el("Quarter", text=pids.quarter),
            el("NOSSRegistrationNbr", text=pids.nsso_registration_nbr),
            el("Trusteeship", text=pids.trusteeship),
            el("CompanyID", text=pids.company_id),
            el("EmployerDeclarationPID", text=pids.employer_declaration_pid),
            *persons,
        ),
    )
    document = (
        '<DmfAPID xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="DmfAPID_20224.xsd">{form}</DmfAPID>'
    )
    schema = etree.XMLSchema(etree.parse(f"{SCHEMAS}/DmfAPID_20224.xsd"))
    if schema.validate(etree.fromstring(document.encode())):
        return []
    return [str(e) for e in schema.error_log]
