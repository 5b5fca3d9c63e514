"""The DmfA REST API and the lifetime of anomalies: REST and batch give the same answer, a
refused declaration keeps nothing, a modification resolves what it corrects."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from dmfa.dmfa_fixtures import (
    Producer,
    batch_form,
    clock_reaches,
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
    KBO_A,
    KBO_B,
    NSSO_A,
    NSSO_B,
    NSSO_C,
    WHITE_COLLAR,
    blue_collar_person,
    document_xml,
    form_xml,
    original,
    person_update,
    schema_errors,
    update_body,
    white_collar_person,
)

from socsec.kit.auth import DMFA_CONSULT_SCOPE, INSPECTION_SCOPE

BASE = "/dmfa/v1"
NOTES = "dmfa.notifications.v1"


@pytest.fixture
async def dmfa(env):
    await publish_reference_data(env)
    await set_clock(env, "2025-05-26T10:00:00")
    client = await start_dmfa(env)
    yield client
    await stop_dmfa(client)


async def _known_to_dimona(dmfa, env, employer: str, *insz: str) -> None:
    """Qualifying Dimona periods for these workers, so no cross-check code comes out."""
    async with Producer(env) as producer:
        for i, one in enumerate(insz):
            period = period_changed(
                700_000_000_000 + int(employer[:5]) * 10 + i, employer, one, date(2023, 1, 9)
            )
            await producer.send("dimona.periods.v1", "DimonaPeriodChanged", employer, period)

    async def loaded():
        count = await dmfa.runtime.db.fetchval(
            "SELECT count(*) FROM dimona_periods WHERE employer_nsso = $1", employer
        )
        return count >= len(insz)

    from dmfa.dmfa_fixtures import eventually

    await eventually(loaded, 20, "the Dimona read model")


def _wrong_contribution(person: dict, amount: int = 303367) -> dict:
    person = copy.deepcopy(person)
    person["WorkerRecord"][0]["WorkerContribution"][0]["ContributionAmount"] = amount
    return person


def _comparable(anomalies: list[dict], employer: str) -> list[tuple]:
    """An answer's anomalies with the employer's own number taken out of the paths."""
    return [
        (
            a["errorId"] if "errorId" in a else a["error_id"],
            a.get("anomalyClass") or a.get("anomaly_class"),
            a.get("tagName") or a.get("tag_name"),
            a["value"],
            tuple((p["tag"], p["value"]) for p in a["path"] if p["value"] != employer),
        )
        for a in anomalies
    ]


async def test_batch_form_and_rest_body_give_the_same_result(dmfa, env) -> None:
    persons = [
        _wrong_contribution(white_collar_person(JointCommissionNbr="999")),
        blue_collar_person(days=5800),  # 58 days: 90015-095 and 90015-096 (dmfa.md §4)
    ]
    dmfa.act_as("M-PAYPRO")
    rest = await dmfa.declare(original(persons, nsso=NSSO_A, company=KBO_A, reference=None))
    submitted = batch_form(
        form_xml(original(persons, nsso=NSSO_B, company=KBO_B, reference=None)),
        declarant="S-PAYPRO",
    )
    async with Producer(env) as producer:
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_B, submitted)
    [note] = await wait_events(
        env, NOTES, 1, "DmfaDeclarationNotified", where=lambda p: p["batch_ticket"] is not None
    )
    batch = note.payload
    assert rest["result"] == batch["result"] == "ACCEPTED"
    assert rest["resultCode"] == batch["result_code"] == 1
    expected = {"00085-044", "00046-314", "90015-095", "90015-096", "90007-262"}
    assert {a["errorId"] for a in rest["anomalies"]} == expected
    assert _comparable(rest["anomalies"], NSSO_A) == _comparable(batch["anomalies"], NSSO_B)
    # What the batch service renders is what REST shows: read back through GET too.
    got = (await dmfa.http.get(f"{BASE}/declarations/{batch['ticket']}")).json()
    assert got["channel"] == "BATCH" and got["result"] == "ACCEPTED"
    assert _comparable(got["anomalies"], NSSO_B) == _comparable(rest["anomalies"], NSSO_A)
    contribution = next(a for a in rest["anomalies"] if a["errorId"] == "00085-044")
    assert contribution["value"] == "303367" and contribution["anomalyClass"] == "P"
    assert contribution["labelNl"] == "Berekend bedrag verschilt van het aangegeven bedrag"
    assert [p["tag"] for p in contribution["path"]] == [
        "Quarter",
        "NOSSRegistrationNbr",
        "NaturalPersonSequenceNbr",
        "INSS",
        "EmployerClass",
        "WorkerCode",
        "ContributionWorkerCode",
        "ContributionType",
    ]


async def test_a_refused_declaration_keeps_nothing_as_accepted_data(dmfa, env) -> None:
    dmfa.act_as("B-EXEMPLUM-GENT")
    body = original(net=1)  # the net owed amount does not add up: 00015-007 (B)
    refused = await dmfa.declare(body)
    assert (refused["result"], refused["resultCode"], refused["diagnosis"]) == ("REFUSED", 0, 3)
    blocking = [a["errorId"] for a in refused["anomalies"] if a["anomalyClass"] == "B"]
    assert blocking == ["00015-007"]
    assert refused["pids"] is None and refused["employerDeclarationPid"] is None
    for table in ("employer_declarations", "persons", "worker_lines"):
        assert await dmfa.fetch(f"SELECT * FROM {table}") == [], table
    # Its findings are kept for audit as REFUSED, never as open anomalies.
    kept = await dmfa.fetch("SELECT state, class, code FROM anomalies ORDER BY code")
    assert [(k["code"], k["state"]) for k in kept] == [
        ("00015-007", "REFUSED"),
        ("90007-262", "REFUSED"),  # no Dimona for its workers (cross-check, NP)
    ]
    detected = await wait_events(env, "dmfa.anomalies.v1", 2)
    assert {e.payload["state"] for e in detected} == {"REFUSED"}
    assert {e.payload["priority"] for e in detected} == {"EXCLUDED"}
    [note] = await wait_events(env, NOTES, 1)
    assert note.payload["result_code"] == 0 and note.payload["diagnosis"] == 3
    assert note.payload["worker_lines"] == [] and note.payload["pids"] is None

    # The quarter is still undeclared: the corrected original is accepted, not a duplicate.
    accepted = await dmfa.declare(original())
    assert accepted["result"] == "ACCEPTED"
    assert "90007-006" not in {a["errorId"] for a in accepted["anomalies"]}
    again = await dmfa.declare(original())
    assert again["result"] == "REFUSED"
    assert "90007-006" in {a["errorId"] for a in again["anomalies"]}


async def test_no_mandate_is_403_over_rest_and_00011_155_in_batch(dmfa, env) -> None:
    dmfa.act_as("B-EXEMPLUM-GENT")  # Exemplum holds no mandate for employer A
    body = original(nsso=NSSO_A, company=KBO_A)
    refused = await dmfa.http.post(f"{BASE}/declarations", json=body)
    assert refused.status_code == 403 and NSSO_A in refused.json()["detail"]
    submitted = batch_form(form_xml(body), declarant="B-EXEMPLUM-GENT")
    async with Producer(env) as producer:
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_A, submitted)
    [note] = await wait_events(env, NOTES, 1)
    assert note.payload["result_code"] == 0
    assert "00011-155" in [a["error_id"] for a in note.payload["anomalies"]]
    # Not a declaration at all: 400. A token without the declarant scope: 403.
    assert (await dmfa.http.post(f"{BASE}/declarations", json={"Quarter": 1})).status_code == 400
    dmfa.act_as("B-EXEMPLUM-GENT", DMFA_CONSULT_SCOPE)
    assert (await dmfa.http.post(f"{BASE}/declarations", json=original())).status_code == 403


async def test_a_modification_resolves_what_it_corrects_with_its_lifetime(dmfa, env) -> None:
    await _known_to_dimona(dmfa, env, NSSO_C, WHITE_COLLAR, BLUE_COLLAR)
    dmfa.act_as("B-EXEMPLUM-GENT")
    first = _wrong_contribution(white_collar_person(JointCommissionNbr="999"))
    answer = await dmfa.declare(original([first, blue_collar_person()]))
    assert answer["result"] == "ACCEPTED"
    opened = {a["errorId"]: a for a in answer["anomalies"]}
    assert set(opened) == {"00085-044", "00046-314"}
    assert (opened["00085-044"]["priority"], opened["00046-314"]["priority"]) == ("ANP", "AP")
    detected = await wait_events(env, "dmfa.anomalies.v1", 2, "DmfaAnomalyDetected")
    assert {e.payload["state"] for e in detected} == {"OPEN"}

    # 10 June: the contribution is corrected (dmfa.md §6 example), the JC is still 999.
    await set_clock(env, "2025-06-10T09:30:00")
    await clock_reaches(dmfa, date(2025, 6, 10))
    pids = answer["pids"]
    person = pids["persons"][0]
    record = person["worker_records"][0]
    fixed = white_collar_person(JointCommissionNbr="999")
    line = fixed["WorkerRecord"][0]
    line["Occupation"][0]["OccupationVersionNbr"] = record["occupations"][0][
        "occupation_version_nbr"
    ]
    last = {
        "EmployerClass": "010",
        "WorkerCode": "495",
        "WorkerRecordVersionNbr": record["worker_record_version_nbr"],
    }
    modification = update_body(
        pids["employer_declaration_pid"], [person_update(fixed, person, line, last=last)]
    )
    form = form_xml(modification, "DMWA")
    assert schema_errors(document_xml([form], "DMWA"), "DMWA") == []
    submitted = batch_form(form, file_type="DMWA")
    async with Producer(env) as producer:
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, submitted)
    [note] = await wait_events(
        env, NOTES, 1, where=lambda p: p.get("batch_ticket") == submitted.ticket
    )
    update = note.payload
    assert update["result"] == "ACCEPTED" and update["file_type"] == "DMWA"
    assert [a["error_id"] for a in update["anomalies"]] == ["00046-314"]
    # The instance found again is the same one: it stays open with its id.
    assert update["anomalies"][0]["anomaly_id"] == opened["00046-314"]["anomalyId"]
    [resolved] = await wait_events(env, "dmfa.anomalies.v1", 1, "DmfaAnomalyResolved")
    assert resolved.payload["anomaly_id"] == opened["00085-044"]["anomalyId"]
    assert resolved.payload["error_id"] == "00085-044"
    assert resolved.payload["resolved_by"] == "UPDATE"
    assert resolved.payload["lifetime_days"] == 15  # 26 May -> 10 June
    assert len(await events(env, "dmfa.anomalies.v1", "DmfaAnomalyDetected")) == 2

    # The same modification again quotes versions that are no longer the last: refused.
    stale = batch_form(form, file_type="DMWA", position=2, ticket=submitted.ticket)
    async with Producer(env) as producer:
        await producer.send("batch.forms.v1", "BatchFormSubmitted", NSSO_C, stale)
    [refused] = await wait_events(env, NOTES, 1, where=lambda p: p.get("batch_position") == 2)
    assert refused.payload["result_code"] == 0
    assert {"00620-180", "00610-180"} <= {a["error_id"] for a in refused.payload["anomalies"]}

    # 1 July, over REST: the joint committee is corrected too.
    await set_clock(env, "2025-07-01T11:00:00")
    await clock_reaches(dmfa, date(2025, 7, 1))
    new_pids = update["pids"]["persons"][0]
    new_record = new_pids["worker_records"][0]
    corrected = white_collar_person()
    line = corrected["WorkerRecord"][0]
    line["Occupation"][0]["OccupationVersionNbr"] = new_record["occupations"][0][
        "occupation_version_nbr"
    ]
    last = {**last, "WorkerRecordVersionNbr": new_record["worker_record_version_nbr"]}
    second = await dmfa.declare(
        update_body(
            pids["employer_declaration_pid"],
            [person_update(corrected, new_pids, line, last=last)],
        )
    )
    assert second["result"] == "ACCEPTED" and second["anomalies"] == []
    resolved = await wait_events(env, "dmfa.anomalies.v1", 2, "DmfaAnomalyResolved")
    jc = next(e.payload for e in resolved if e.payload["error_id"] == "00046-314")
    assert jc["lifetime_days"] == 36 and jc["priority"] == "AP"  # 26 May -> 1 July

    # Queryable per employer, per secretariat and per quarter.
    by_employer = (await dmfa.http.get(f"{BASE}/anomalies", params={"employer": NSSO_C})).json()
    states = sorted((i["errorId"], i["state"]) for i in by_employer["items"])
    assert ("00046-314", "RESOLVED") in states and ("00085-044", "RESOLVED") in states
    # Page by page, each page linking to the next with the same criteria.
    pages, url = [], f"{BASE}/anomalies"
    params: dict | None = {"employer": NSSO_C, "pageSize": "1"}
    while url:
        page = (await dmfa.http.get(url, params=params)).json()
        pages.append(page["items"])
        url, params = page["next"], None
        assert url is None or f"employer={NSSO_C}" in url
    assert [len(items) for items in pages] == [1] * len(by_employer["items"])
    assert [items[0] for items in pages] == by_employer["items"]
    by_secretariat = await dmfa.http.get(
        f"{BASE}/anomalies", params={"secretariat": "M-EXEMPLUM", "quarter": "2025-1"}
    )
    assert {i["employer"] for i in by_secretariat.json()["items"]} == {NSSO_C}
    assert {i["seat"] for i in by_secretariat.json()["items"]} == {"S-EXEMPLUM-BXL"}
    elsewhere = await dmfa.http.get(
        f"{BASE}/anomalies", params={"secretariat": "M-EXEMPLUM", "quarter": "2025-2"}
    )
    assert elsewhere.json()["items"] == []
    dmfa.act_as("M-PAYPRO")
    assert (
        await dmfa.http.get(f"{BASE}/anomalies", params={"employer": NSSO_C})
    ).status_code == 403
    assert (await dmfa.http.get(f"{BASE}/declarations/{second['ticket']}")).status_code == 404


async def test_a_modification_changing_the_worker_code_lists_the_old_line_as_deleted(
    dmfa, env
) -> None:
    await _known_to_dimona(dmfa, env, NSSO_C, WHITE_COLLAR, BLUE_COLLAR)
    dmfa.act_as("B-EXEMPLUM-GENT")
    answer = await dmfa.declare(original([white_collar_person(), blue_collar_person()]))
    assert answer["result"] == "ACCEPTED"
    pids = answer["pids"]
    person = pids["persons"][0]
    record = person["worker_records"][0]
    # The white-collar line becomes a trainee line (worker code 487) under the same class.
    changed = white_collar_person()
    line = changed["WorkerRecord"][0]
    line["WorkerCode"] = "487"
    line["Occupation"][0]["OccupationVersionNbr"] = record["occupations"][0][
        "occupation_version_nbr"
    ]
    last = {
        "EmployerClass": "010",
        "WorkerCode": "495",
        "WorkerRecordVersionNbr": record["worker_record_version_nbr"],
    }
    update = await dmfa.declare(
        update_body(
            pids["employer_declaration_pid"], [person_update(changed, person, line, last=last)]
        )
    )
    assert update["result"] == "ACCEPTED", update["anomalies"]
    [note] = await wait_events(env, NOTES, 1, where=lambda p: p["ticket"] == update["ticket"])
    assert note.payload["deleted_lines"] == [
        {"inss": WHITE_COLLAR, "employer_class": "010", "worker_code": "495"}
    ]
    assert [
        (w["inss"], w["worker_code"], w["update_action"]) for w in note.payload["worker_lines"]
    ] == [(WHITE_COLLAR, "487", 1)]
    # The declaration now holds the 487 line, and a modification of the unchanged code lists
    # nothing as deleted.
    stored = (await dmfa.http.get(f"{BASE}/declarations/{update['ticket']}")).json()
    assert stored["result"] == "ACCEPTED"
    new_record = update["pids"]["persons"][0]["worker_records"][0]
    assert new_record["worker_code"] == "487"
    line["Occupation"][0]["OccupationVersionNbr"] = new_record["occupations"][0][
        "occupation_version_nbr"
    ]
    line["Occupation"][0]["JointCommissionNbr"] = "218"
    again = await dmfa.declare(
        update_body(
            pids["employer_declaration_pid"],
            [
                person_update(
                    changed,
                    update["pids"]["persons"][0],
                    line,
                    last={
                        **last,
                        "WorkerCode": "487",
                        "WorkerRecordVersionNbr": new_record["worker_record_version_nbr"],
                    },
                )
            ],
        )
    )
    assert again["result"] == "ACCEPTED", again["anomalies"]
    [second] = await wait_events(env, NOTES, 1, where=lambda p: p["ticket"] == again["ticket"])
    assert second.payload["deleted_lines"] == []


async def test_an_ex_officio_declaration_by_the_inspection(dmfa) -> None:
    body = original(nsso=NSSO_A, company=KBO_A)
    dmfa.act_as("M-EXEMPLUM")  # no mandate for A, and not an inspection user
    url = f"{BASE}/ex-officio/declarations"
    assert (await dmfa.http.post(url, json=body)).status_code == 403
    dmfa.act_as("NSSO-INSPECTION", INSPECTION_SCOPE, DMFA_CONSULT_SCOPE)
    response = await dmfa.http.post(url, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["origin"] == "EX_OFFICIO" and answer["result"] == "ACCEPTED"
    assert answer["late"] is False  # no deadline check for the NSSO's own declarations
    # NSSO users read every declaration; an unknown ticket is 404.
    assert (await dmfa.http.get(answer["href"].split("dmfa.test")[1])).status_code == 200
    assert (await dmfa.http.get(f"{BASE}/declarations/34XXXXXXXXXXX")).status_code == 404
