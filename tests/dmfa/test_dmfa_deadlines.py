"""Deadlines and silent employers on the business clock: late declarations, missing ones at
the list date, incomplete and inaccurate ones six months after the quarter, and the same
evaluation on demand from the command line (idempotent)."""

from __future__ import annotations

import asyncio
import copy
from datetime import date

import pytest
from dmfa.dmfa_fixtures import (
    Producer,
    clock_reaches,
    eventually,
    period_changed,
    publish_reference_data,
    set_clock,
    start_dmfa,
    stop_dmfa,
    wait_events,
)
from dmfa_domain.dmfa_samples import (
    KBO_A,
    KBO_B,
    KBO_C,
    KBO_D,
    NSSO_A,
    NSSO_B,
    NSSO_C,
    NSSO_D,
    OTHER_ADULT,
    WHITE_COLLAR,
    original,
    person_update,
    update_body,
    white_collar_person,
)
from typer.testing import CliRunner

from socsec.cli.main import app as cli
from socsec.kit.auth import OPERATOR_SCOPE

SILENT = "dmfa.silent.v1"


@pytest.fixture
async def dmfa(env):
    await publish_reference_data(env)
    await set_clock(env, "2025-05-02T09:00:00")
    client = await start_dmfa(env)
    yield client
    await stop_dmfa(client)


def _in_quarter_4_2024(person: dict) -> dict:
    person = copy.deepcopy(person)
    line = person["WorkerRecord"][0]
    line["NOSSQuarterStartingDate"], line["NOSSQuarterEndingDate"] = "2024-10-01", "2024-12-31"
    return person


def _paid(person: dict, amount: int, contribution: int) -> dict:
    person = copy.deepcopy(person)
    line = person["WorkerRecord"][0]
    line["Occupation"][0]["Remun"][0]["RemunAmount"] = amount
    line["WorkerContribution"][0]["ContributionCalculationBasis"] = amount
    line["WorkerContribution"][0]["ContributionAmount"] = contribution
    return person


async def _silent(env, reason: str, quarter: int, count: int) -> dict[str, dict]:
    found = await wait_events(
        env,
        SILENT,
        count,
        "DmfaEmployerSilent",
        where=lambda p: p["reason"] == reason and p["quarter"] == quarter,
    )
    return {e.payload["employer_nsso"]: e.payload for e in found}


def _cli(env, tmp_path, *args: str):
    """``socsec dmfa silent ...`` against the test's database and topics (not a stack)."""
    return CliRunner().invoke(
        cli,
        ["dmfa", "silent", *args, "--data-dir", str(tmp_path)],
        env={
            "DATABASE_URL": env.dsns["dmfa"],
            "KAFKA_BOOTSTRAP_SERVERS": env.bootstrap,
            "SOCSEC_TOPIC_PREFIX": env.prefix,
        },
    )


async def test_late_declarations_and_silent_employers(dmfa, env, tmp_path) -> None:
    # The personnel file: A employs two people, B one, D only a DWD worker (no DmfA due).
    periods = [
        (1, NSSO_A, WHITE_COLLAR, date(2025, 1, 6), "OTH"),
        (2, NSSO_A, OTHER_ADULT, date(2025, 1, 6), "OTH"),
        (3, NSSO_B, OTHER_ADULT, date(2025, 2, 1), "OTH"),
        (4, NSSO_D, OTHER_ADULT, date(2025, 2, 1), "DWD"),
    ]
    async with Producer(env) as producer:
        for n, employer, insz, start, kind in periods:
            change = period_changed(700_000_000_000 + n, employer, insz, start, worker_type=kind)
            await producer.send("dimona.periods.v1", "DimonaPeriodChanged", employer, change)

    async def loaded():
        return await dmfa.runtime.db.fetchval("SELECT count(*) FROM dimona_periods") == 4

    await eventually(loaded, 20, "the Dimona read model")

    # 2 May 2025. A (PayPro, not approved) declares one of its two workers: due 30 April.
    dmfa.act_as("M-PAYPRO")
    a = await dmfa.declare(original([white_collar_person()], nsso=NSSO_A, company=KBO_A))
    assert a["result"] == "ACCEPTED" and a["late"] is True and a["deadline"] == "2025-04-30"
    [late] = await wait_events(env, SILENT, 1, "DmfaDeclarationLate")
    assert late.payload["employer_nsso"] == NSSO_A and late.payload["days_late"] == 2
    assert late.payload["approved_secretariat"] is False
    assert late.payload["secretariat"] == "M-PAYPRO" and late.payload["seat"] == "S-PAYPRO"
    # D (Exemplum, approved) has 15 more working days: 22 May, Labour Day skipped.
    dmfa.act_as("S-EXEMPLUM-BXL")
    d = await dmfa.declare(original([white_collar_person()], nsso=NSSO_D, company=KBO_D))
    assert d["late"] is False and d["deadline"] == "2025-05-22"
    # C declares its fourth quarter of 2024, with a person: C is active in 2025/1.
    c = await dmfa.declare(
        original([_in_quarter_4_2024(white_collar_person())], quarter=20244, company=KBO_C)
    )
    assert c["result"] == "ACCEPTED"

    # 30 May 2025, the list date (30 April + 20 working days): B and C sent nothing.
    await set_clock(env, "2025-05-30T09:00:00")
    missing = await _silent(env, "NO_DMFA", 20251, 2)
    assert set(missing) == {NSSO_B, NSSO_C}
    assert {m["evaluated_on"] for m in missing.values()} == {"2025-05-30"}
    assert missing[NSSO_C]["secretariat"] == "M-EXEMPLUM"

    # 16 June: D corrects its declaration; the wage mass goes up by 11 %.
    await set_clock(env, "2025-06-16T09:00:00")
    await clock_reaches(dmfa, date(2025, 6, 16))
    person = d["pids"]["persons"][0]
    record = person["worker_records"][0]
    raised = _paid(white_collar_person(), 900000, 342630)
    line = raised["WorkerRecord"][0]
    line["Occupation"][0]["OccupationVersionNbr"] = record["occupations"][0][
        "occupation_version_nbr"
    ]
    last = {
        "EmployerClass": "010",
        "WorkerCode": "495",
        "WorkerRecordVersionNbr": record["worker_record_version_nbr"],
    }
    corrected = await dmfa.declare(
        update_body(
            d["employerDeclarationPid"],
            [person_update(raised, person, line, last=last)],
            nsso=NSSO_D,
            company=KBO_D,
        )
    )
    assert corrected["result"] == "ACCEPTED"

    # 30 September, end of quarter + 6 months: A is incomplete, D inaccurate.
    await set_clock(env, "2025-09-30T09:00:00")
    [incomplete] = (await _silent(env, "INCOMPLETE", 20251, 1)).values()
    assert incomplete["employer_nsso"] == NSSO_A
    assert (incomplete["persons_in_dimona"], incomplete["persons_missing"]) == (2, 1)
    [inaccurate] = (await _silent(env, "INACCURATE", 20251, 1)).values()
    assert inaccurate["employer_nsso"] == NSSO_D
    assert (inaccurate["original_wage_mass"], inaccurate["current_wage_mass"]) == (810000, 900000)

    # On demand, from the command line: what was found is listed, nothing is published again.
    result = await asyncio.to_thread(_cli, env, tmp_path, "--quarter", "2025-1")
    assert result.exit_code == 0, result.output
    assert "4 finding(s), 0 new" in result.output
    # A quarter that is not over yet only with --force; a second run publishes nothing.
    first = await asyncio.to_thread(_cli, env, tmp_path, "--quarter", "2025-3", "--force")
    assert first.exit_code == 0, first.output
    assert "2 finding(s), 2 new" in first.output
    again = await asyncio.to_thread(_cli, env, tmp_path, "--quarter", "2025-3", "--force")
    assert "2 finding(s), 0 new" in again.output
    relayed = await _silent(env, "NO_DMFA", 20253, 2)
    assert set(relayed) == {NSSO_A, NSSO_B}
    everything = await wait_events(env, SILENT, 1, "DmfaEmployerSilent")
    keys = [
        (e.payload["employer_nsso"], e.payload["quarter"], e.payload["reason"]) for e in everything
    ]
    assert len(keys) == len(set(keys))  # every finding published once
    findings = await dmfa.http.get("/dmfa/v1/silent-employers", params={"quarter": "2025-1"})
    assert findings.status_code == 403  # NSSO users only


async def test_an_ad_hoc_extension_moves_the_deadline_and_the_silent_list(dmfa, env) -> None:
    # A (PayPro), B (PayPro) and C (Exemplum, approved) each employ someone in 2025/1.
    periods = [
        (11, NSSO_A, WHITE_COLLAR, date(2025, 1, 6)),
        (12, NSSO_B, OTHER_ADULT, date(2025, 2, 1)),
        (13, NSSO_C, OTHER_ADULT, date(2025, 2, 1)),
    ]
    async with Producer(env) as producer:
        for n, employer, insz, start in periods:
            change = period_changed(700_000_000_000 + n, employer, insz, start)
            await producer.send("dimona.periods.v1", "DimonaPeriodChanged", employer, change)

    async def loaded():
        return await dmfa.runtime.db.fetchval("SELECT count(*) FROM dimona_periods") == 3

    await eventually(loaded, 20, "the Dimona read model")

    # 2 May 2025: the NSSO extends the 2025/1 deadline of A and B to 15 June.
    url = "/dmfa/v1/deadline-extensions"
    grant = {"employers": [NSSO_A, NSSO_B], "extendedTo": "2025-06-15", "reason": "IT incident"}
    dmfa.act_as("M-PAYPRO")
    assert (await dmfa.http.put(f"{url}/2025-1", json=grant)).status_code == 403
    dmfa.act_as("NSSO", OPERATOR_SCOPE)
    unknown = await dmfa.http.put(f"{url}/2025-1", json={**grant, "employers": ["100000112"]})
    assert unknown.status_code == 422 and unknown.json()["employers"] == ["100000112"]
    early = await dmfa.http.put(f"{url}/2025-1", json={**grant, "extendedTo": "2025-04-20"})
    assert early.status_code == 422 and "2025-04-30" in early.json()["detail"]
    granted = await dmfa.http.put(f"{url}/2025-1", json=grant)
    assert granted.status_code == 200, granted.text
    assert {(i["employer"], i["extendedTo"]) for i in granted.json()["items"]} == {
        (NSSO_A, "2025-06-15"),
        (NSSO_B, "2025-06-15"),
    }
    listed = (await dmfa.http.get(url, params={"quarter": "20251"})).json()["items"]
    assert [i["employer"] for i in listed] == sorted([NSSO_A, NSSO_B])

    # A declares on 2 May, after the legal due date but within its extension: not late.
    dmfa.act_as("M-PAYPRO")
    a = await dmfa.declare(original([white_collar_person()], nsso=NSSO_A, company=KBO_A))
    assert a["result"] == "ACCEPTED" and a["late"] is False and a["deadline"] == "2025-06-15"

    # 30 May, the list date: only C (no extension) is missing; B's deadline has not passed.
    await set_clock(env, "2025-05-30T09:00:00")
    missing = await _silent(env, "NO_DMFA", 20251, 1)
    assert set(missing) == {NSSO_C}

    # 16 June, the day after B's extension: B is listed too, then declares late by one day.
    await set_clock(env, "2025-06-16T09:00:00")
    await clock_reaches(dmfa, date(2025, 6, 16))
    missing = await _silent(env, "NO_DMFA", 20251, 2)
    assert set(missing) == {NSSO_B, NSSO_C}
    b = await dmfa.declare(
        original([white_collar_person(inss=OTHER_ADULT)], nsso=NSSO_B, company=KBO_B)
    )
    assert b["late"] is True and b["deadline"] == "2025-06-15"
    [late] = await wait_events(env, SILENT, 1, "DmfaDeclarationLate")
    assert late.payload["employer_nsso"] == NSSO_B and late.payload["days_late"] == 1
    assert late.payload["extended_to"] == "2025-06-15"
    assert late.payload["approved_secretariat"] is False

    # Withdrawn, the extension is gone from the list (operators only).
    dmfa.act_as("NSSO", OPERATOR_SCOPE)
    assert (await dmfa.http.delete(f"{url}/2025-1/{NSSO_A}")).status_code == 204
    assert (await dmfa.http.delete(f"{url}/2025-1/{NSSO_A}")).status_code == 404
    listed = (await dmfa.http.get(url, params={"quarter": "2025-1"})).json()["items"]
    assert [i["employer"] for i in listed] == [NSSO_B]
