"""``socsec registry import`` and ``seed-demo``: bulk loads through the registry's handlers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from stdnum.be import ssn, vat
from typer.testing import CliRunner

from socsec.cli.main import app
from socsec.contracts.identifiers import nsso_check_ok
from socsec.registry import demo, importer

REFERENCE = {
    "employers": [
        {
            "nsso_number": "155555504",
            "enterprise_number": "BE 0555.555.523",
            "name": "Employer C",
            "language": "nl",
            "registered_from": "2015-01-01",
            "employer_classes": [{"employer_class": "000", "from_quarter": 20151}],
        }
    ],
    "mandataries": [
        {
            "id": "M-EXEMPLUM",
            "kind": "APPROVED_SECRETARIAT",
            "legal_name": "ASBL - Secrétariat Social Exemplum",
            "enterprise_number": "0412345614",
            "legal_form": "ASBL",
            "language": "fr",
            "approval": {"number": "950", "approved_from": "2017-01-01"},
            "seat": {"id": "S-EXEMPLUM-BXL", "address": "Rue de la Loi 1, 1000 Bruxelles"},
            "branches": [
                {
                    "id": "B-EXEMPLUM-GENT",
                    "seat_id": "S-EXEMPLUM-BXL",
                    "address": "Veldstraat 1, 9000 Gent",
                    "communicated_on": "2020-03-02",
                    "active_from": "2020-04-01",
                }
            ],
        }
    ],
    "mandates": [
        {
            "id": "MD-000031",
            "employer": {"nsso_number": "155555504", "enterprise_number": "0555555523"},
            "mandatary_id": "M-EXEMPLUM",
            "affiliation_point": "B-EXEMPLUM-GENT",
            "scopes": ["DIMONA", "DMFA", "CONTRIBUTION_COLLECTION"],
            "written_mandate_ref": "EX-2021-0457",
            "signed_on": "2021-05-20",
            "proxy_registered_on": "2021-05-27",
            "valid_from": "2021-07-01",
            "valid_to": None,
            "notification_routing": "MANDATARY",
        }
    ],
    "senders": [
        {"sender_number": "054321", "holder": "S-EXEMPLUM-BXL", "environments": ["R", "T", "S"]}
    ],
    "workers": [{"inss": "85.07.30-033.28", "family_name": "Janssens", "given_name": "Pieter"}],
}

EMPLOYERS_CSV = """nsso_number,enterprise_number,name,language,registered_from,employer_classes
155555504,0555555523,Employer C,nl,2015-01-01,000:20151
111111171,0812345603,Employer D,fr,2008-07-01,000:20083|010:20101:20104
"""


@pytest.fixture
def cli(env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Runs ``socsec ...`` against the test's database and topics (no stack.json)."""
    monkeypatch.setenv("DATABASE_URL", env.dsns["registry"])
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", env.bootstrap)
    monkeypatch.setenv("SOCSEC_TOPIC_PREFIX", env.prefix)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--data-dir", str(tmp_path)])
        assert result.exit_code == code, result.output + repr(result.exception)
        return result.output

    return run


def counts(env: Any) -> dict[str, int]:
    async def query() -> dict[str, int]:
        conn = await asyncpg.connect(env.dsns["registry"])
        try:
            return {
                table: await conn.fetchval(f"SELECT count(*) FROM registry.{table}")
                for table in (
                    "history",
                    "outbox",
                    "employers",
                    "mandataries",
                    "branches",
                    "mandates",
                    "senders",
                    "workers",
                )
            }
        finally:
            await conn.close()

    return asyncio.run(query())


def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    env, cli, tmp_path: Path
) -> None:
    file = tmp_path / "reference.json"
    file.write_text(json.dumps(REFERENCE), encoding="utf-8")
    first = cli("registry", "import", str(file))
    assert "employers" in first
    after_first = counts(env)
    assert after_first["employers"] == 1
    assert after_first["branches"] == 1
    assert after_first["mandates"] == 1
    assert after_first["history"] == 5  # one version per entity
    assert after_first["outbox"] == 5  # employer, secretariat, mandate, sender, worker

    second = cli("registry", "import", str(file))
    assert "nothing changed" in second
    assert counts(env) == after_first

    # a CSV of employers: one already there and unchanged, one new
    csv_file = tmp_path / "2025-employers.csv"
    csv_file.write_text(EMPLOYERS_CSV, encoding="utf-8")
    cli("registry", "import", str(csv_file))
    after_csv = counts(env)
    assert after_csv["employers"] == 2
    assert after_csv["history"] == after_first["history"] + 1
    cli("registry", "import", str(csv_file))
    assert counts(env) == after_csv

    # a changed value is a new version, and a CSV with --kind
    mandates_csv = tmp_path / "changes.csv"
    mandates_csv.write_text(
        "id,employer_nsso,mandatary_id,affiliation_point,scopes,proxy_registered_on,valid_from,"
        "valid_to\nMD-000031,155555504,M-EXEMPLUM,B-EXEMPLUM-GENT,"
        "DIMONA|DMFA|CONTRIBUTION_COLLECTION,2021-05-27,2021-07-01,2025-12-31\n",
        encoding="utf-8",
    )
    updated = cli("registry", "import", str(mandates_csv), "--kind", "mandates")
    assert "mandates" in updated
    assert counts(env)["history"] == after_csv["history"] + 1


def test_a_refused_entry_refuses_the_whole_file(env, cli, tmp_path: Path) -> None:
    data = json.loads(json.dumps(REFERENCE))
    data["mandates"][0]["mandatary_id"] = "M-NOWHERE"
    file = tmp_path / "broken.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    output = cli("registry", "import", str(file), code=1)
    assert "mandates[0] (MD-000031)" in output
    assert "mandatary_not_found" in output
    assert counts(env)["history"] == 0

    data = json.loads(json.dumps(REFERENCE))
    data["employers"][0]["enterprise_number"] = "0555555524"
    file.write_text(json.dumps(data), encoding="utf-8")
    output = cli("registry", "import", str(file), code=1)
    assert "employers[0] (155555504): enterprise_number" in output

    unknown_kind = tmp_path / "things.csv"
    unknown_kind.write_text("a,b\n1,2\n", encoding="utf-8")
    assert "--kind" in cli("registry", "import", str(unknown_kind), code=1)


def test_seed_demo_loads_at_least_fifty_valid_employers_once(env, cli) -> None:
    output = cli("registry", "seed-demo")
    assert "self_service_expeditor" in output
    seeded = counts(env)
    assert seeded["employers"] >= 54
    assert seeded["mandataries"] == 5
    assert seeded["senders"] >= 8

    async def check() -> None:
        conn = await asyncpg.connect(env.dsns["registry"])
        try:
            employers = await conn.fetch(
                "SELECT nsso_number, enterprise_number FROM registry.employers"
            )
            for row in employers:
                assert nsso_check_ok(row["nsso_number"]), row["nsso_number"]
                assert vat.is_valid(row["enterprise_number"]), row["enterprise_number"]
            assert {r["nsso_number"] for r in employers} >= {
                "123456749",
                "187654356",
                "155555504",
                "111111171",
            }
            approved = await conn.fetch(
                """SELECT id FROM registry.mandataries WHERE kind = 'APPROVED_SECRETARIAT'
                    AND approved_from <= '2025-01-01' ORDER BY id"""
            )
            assert [r["id"] for r in approved] == ["M-EXEMPLUM", "M-HORIZON", "M-NOORDERLICHT"]
            gent = await conn.fetchrow(
                "SELECT seat_id FROM registry.mandates WHERE id = 'MD-000031'"
            )
            assert gent["seat_id"] == "S-EXEMPLUM-BXL"
            collecting = await conn.fetchval(
                """SELECT count(*) FROM registry.mandates m JOIN registry.mandataries s
                       ON s.id = m.mandatary_id
                    WHERE 'CONTRIBUTION_COLLECTION' = ANY(m.scopes)
                      AND s.kind <> 'APPROVED_SECRETARIAT'"""
            )
            assert collecting == 0
            workers = await conn.fetch("SELECT inss FROM registry.workers")
            assert len(workers) >= 29
            assert all(ssn.is_valid(r["inss"]) for r in workers)
            clients = await conn.fetchval("SELECT count(*) FROM registry.api_clients")
            assert clients >= 5
        finally:
            await conn.close()

    asyncio.run(check())

    second = cli("registry", "seed-demo")
    assert "nothing changed" in second
    assert counts(env) == seeded


def test_csv_rows_become_import_entries(tmp_path: Path) -> None:
    file = tmp_path / "mandataries.csv"
    file.write_text(
        "id,kind,legal_name,enterprise_number,legal_form,language,approval_number,"
        "approved_from,seat_id,seat_address\n"
        "M-X,APPROVED_SECRETARIAT,ASBL - Secrétariat Social X,0412345614,ASBL,fr,953,"
        "2020-01-01,S-X,Rue 1\n"
        "M-Y,SERVICE_PROVIDER,Y SRL,0456789133,SRL,fr,,,S-Y,Rue 2\n",
        encoding="utf-8",
    )
    entries = importer.read_file(file)["mandataries"]
    assert entries[0]["approval"] == {"number": "953", "approved_from": "2020-01-01"}
    assert entries[0]["seat"] == {"id": "S-X", "address": "Rue 1"}
    assert "approval" not in entries[1]
    assert importer.kind_from_name(Path("2024_senders.csv")) == "senders"
    assert importer.kind_from_name(Path("data.csv")) is None


def test_demo_data_is_deterministic_and_valid() -> None:
    data = demo.demo_dataset()
    assert data == demo.demo_dataset()
    assert len(data["employers"]) >= 54
    assert len({e["nsso_number"] for e in data["employers"]}) == len(data["employers"])
    for employer in data["employers"]:
        assert nsso_check_ok(employer["nsso_number"])
        assert vat.is_valid(employer["enterprise_number"])
    approved = [m for m in data["mandataries"] if m["kind"] == "APPROVED_SECRETARIAT"]
    assert len(approved) == 3
    assert max(len(m.get("branches", [])) for m in approved) == 2
    assert sum(m["kind"] == "SERVICE_PROVIDER" for m in data["mandataries"]) == 2
    organisations, senders = demo.client_organisations(data)
    assert senders["M-EXEMPLUM"] == "054321"
    assert senders["M-PAYPRO"] == "012345"
    assert "111111171" in organisations
