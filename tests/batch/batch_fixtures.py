"""A running batch service (and dimona beside it) for the batch channel tests.

The registry's reference data (employers, mandates, workers) is published as the dimona
tests publish it; the sender numbers are added here: 054321 held by M-EXEMPLUM, 012345 by
M-PAYPRO, 077777 (test and simulation only) and 066666 (inactive) by M-EXEMPLUM too.
Answers are validated against the official schemas in /work/shared/nsso-schemas.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from dimona.dimona_fixtures import publish_reference_data
from lxml import etree

from socsec.contracts.payloads.registry import SenderChanged
from socsec.kit import migrator
from socsec.kit.auth import BATCH_SENDER_SCOPE, Principal, authenticate
from socsec.kit.runtime import ServiceRuntime
from socsec.stack import postgres
from socsec.stack.local import create_topics

SCHEMAS = Path("/work/shared/nsso-schemas")
TODAY = "20260601"
SENDERS = (
    SenderChanged(sender_number="054321", holder="M-EXEMPLUM"),
    SenderChanged(sender_number="012345", holder="M-PAYPRO"),
    SenderChanged(sender_number="077777", holder="M-EXEMPLUM", environments=("T", "S")),
    SenderChanged(sender_number="066666", holder="M-EXEMPLUM", active=False),
)


@cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def assert_valid(document: bytes, schema_name: str) -> etree._Element:
    """Parse ``document`` and validate it against the official XSD ``schema_name``."""
    tree = etree.fromstring(document)
    xsd = schema(schema_name)
    assert xsd.validate(tree), f"{schema_name}: {xsd.error_log}"
    return tree


@contextlib.contextmanager
def private_env(infra) -> Iterator[Any]:
    """A test environment (database, topic prefix) shared by the tests of one module, which
    then share one running service: each test uses its own file names."""
    from testenv import TestEnv

    tag = uuid.uuid4().hex[:10]
    database = f"t_{tag}"
    dsns = postgres.provision_database(infra.admin_url, database, infra.passwords)
    create_topics(infra.kafka_bootstrap, f"t{tag}.")
    try:
        yield TestEnv(infra, f"t{tag}.", database, dsns)
    finally:

        async def drop() -> None:
            import asyncpg

            conn = await asyncpg.connect(infra.admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(drop())


def drop_files(directory: Path, files: list[tuple[str, bytes]]) -> None:
    """Write files into a sender's folder one after the other, each visibly newer than the
    previous (the transfer point takes them oldest first)."""
    directory.mkdir(parents=True, exist_ok=True)
    base = time.time_ns() - 10_000_000_000
    for index, (name, content) in enumerate(files):
        path = directory / name
        path.write_bytes(content)
        stamp = base + index * 1_000_000
        os.utime(path, ns=(stamp, stamp))


def acrf_in_folder(directory: Path, go_name: str) -> bytes | None:
    """The ACRF delivered in ``directory`` (with its GO) that answers the set of ``go_name``."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("FO.ACRF.*")):
        if not (directory / f"GO{path.name[2:]}").exists():
            continue
        content = path.read_bytes()
        if etree.fromstring(content).findtext("Form/FileReference/FileName") == go_name:
            return content
    return None


async def publish_senders(env, senders=SENDERS) -> None:
    conn = await env.connect("registry")
    try:
        await migrator.apply(conn, "registry", migrator.load("kit", migrator.KIT_MIGRATIONS))
    finally:
        await conn.close()
    registry = ServiceRuntime(env.settings("registry"), follow_clock=False, configure_logging=False)
    await registry.start()
    try:
        async with registry.db.transaction() as conn:
            for sender in senders:
                await registry.outbox.publish(
                    conn,
                    "registry.senders.v1",
                    event_type="SenderChanged",
                    key=sender.sender_number,
                    payload=sender,
                )
        deadline = time.monotonic() + 30
        while await registry.db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            assert time.monotonic() < deadline, "sender events were not relayed"
            await asyncio.sleep(0.1)
    finally:
        await registry.stop()


async def _publish_as_registry(env, topic: str, event_type: str, key: str, payload) -> None:
    registry = ServiceRuntime(env.settings("registry"), follow_clock=False, configure_logging=False)
    await registry.start()
    try:
        async with registry.db.transaction() as conn:
            await registry.outbox.publish(
                conn, topic, event_type=event_type, key=key, payload=payload
            )
        deadline = time.monotonic() + 30
        while await registry.db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            assert time.monotonic() < deadline, f"{event_type} was not relayed"
            await asyncio.sleep(0.1)
    finally:
        await registry.stop()


async def resolve_identification(env, request_id: str, outcome, insz: str | None) -> None:
    """The registry answers dimona's identification request."""
    from socsec.contracts.payloads.registry import IdentificationResolved

    await _publish_as_registry(
        env,
        "registry.identifications.v1",
        "IdentificationResolved",
        request_id,
        IdentificationResolved(
            request_id=request_id, requested_by="dimona", outcome=outcome, insz=insz
        ),
    )


async def publish_batch_reference_data(env) -> None:
    await publish_reference_data(env)
    await publish_senders(env)


async def eventually(check, timeout: float = 60, what: str = "") -> Any:
    """Poll an async check until it returns something truthy (generous deadline)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last={last!r}")


@dataclass
class BatchClient:
    """An HTTP client of the batch app, acting for a switchable organisation."""

    app: Any
    http: httpx.AsyncClient
    transfer: Path
    principal: list[Principal] = field(default_factory=list)

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime

    def act_as(self, organisation: str, *scopes: str) -> BatchClient:
        scopes = scopes or (BATCH_SENDER_SCOPE,)
        self.principal[:] = [Principal(f"client-{organisation}", organisation, frozenset(scopes))]
        return self

    async def put(self, name: str, content: bytes = b"") -> httpx.Response:
        return await self.http.put(f"/batch/files/{name}", content=content)

    async def send_set(
        self, set_key: str, parts: list[bytes], *, signed: bool | None = None
    ) -> str:
        """FI parts (and FS parts for production unless ``signed`` says otherwise), then the
        GO; the ticket."""
        total = len(parts)
        if signed is None:
            signed = set_key.endswith(".R")
        for index, content in enumerate(parts, 1):
            response = await self.put(f"FI.{set_key}.{total}.{index}", content)
            assert response.status_code == 201, response.text
        if signed:
            for index in range(1, total + 1):
                response = await self.put(f"FS.{set_key}.{total}.{index}", b"signature")
                assert response.status_code == 201, response.text
        response = await self.put(f"GO.{set_key}.{total}")
        assert response.status_code == 202, response.text
        return response.json()["ticket"]

    async def ticket(self, ticket: str) -> dict[str, Any]:
        response = await self.http.get(f"/batch/tickets/{ticket}")
        assert response.status_code == 200, response.text
        return response.json()

    async def acrf(self, ticket: str, timeout: float = 60) -> dict[str, Any]:
        """The ticket once its ACRF exists."""

        async def check():
            body = await self.ticket(ticket)
            return body if body["acrf"] else None

        return await eventually(check, timeout, f"the ACRF of {ticket}")

    async def out(self, name: str) -> bytes:
        response = await self.http.get(f"/batch/out/{name}")
        assert response.status_code == 200, response.text
        return response.content

    async def noti_files(self, ticket: str, count: int, timeout: float = 90) -> list[bytes]:
        """The first ``count`` NOTI files of a ticket, each validated against the XSD."""

        async def check():
            body = await self.ticket(ticket)
            return body["noti"] if len(body["noti"]) >= count else None

        noti = await eventually(check, timeout, f"{count} NOTI file(s) of {ticket}")
        out = []
        for item in noti[:count]:
            content = await self.out(item["fileName"])
            assert_valid(content, "NOTIFICATION_20223.xsd")
            out.append(content)
        return out


def batch_settings(env, transfer: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "transfer_dir": transfer,
        "settle_seconds": 0.2,
        "watch_interval_seconds": 0.2,
        "poll_seconds": 0.2,
        "chunk_bytes": 4096,
        "publish_batch_size": 3,
    }
    values.update(overrides)
    return env.settings("batch", **values)


async def start_batch(env, transfer: Path, **overrides: Any) -> BatchClient:
    from socsec.batch.main import create_app

    app = create_app(batch_settings(env, transfer, **overrides))
    await app.state.runtime.start()
    client = BatchClient(
        app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://batch.test"),
        transfer,
    )
    app.dependency_overrides[authenticate] = lambda: client.principal[0]
    await app.state.runtime.state["batch_deps"].senders.wait_ready(60)
    return client.act_as("M-EXEMPLUM")


async def stop_batch(client: BatchClient) -> None:
    await client.http.aclose()
    await client.runtime.stop()


# -- documents ----------------------------------------------------------------------------------

HEADER = (
    "<Identification>DIMONA</Identification><FormCreationDate>2026-06-01</FormCreationDate>"
    "<FormCreationHour>10:14:00.000</FormCreationHour><AttestationStatus>0</AttestationStatus>"
    "<TypeForm>SU</TypeForm>"
)


def reference(number: str) -> str:
    return (
        "<Reference><ReferenceType>1</ReferenceType><ReferenceOrigin>1</ReferenceOrigin>"
        f"<ReferenceNbr>{number}</ReferenceNbr></Reference>"
    )


def dimona_form(block: str, ref: str | None = None) -> str:
    return f"<Form>{HEADER}{reference(ref) if ref else ''}{block}</Form>"


def dimona_in(
    employer: str = "155555504",
    *,
    person: str = "<INSS>05021408828</INSS>",
    start: str = "2026-07-06",
    end: str | None = "2026-07-10",
    planned: int | None = 40,
    worker_type: str = "STU",
) -> str:
    dates = f"<StartingDate>{start}</StartingDate>"
    if end:
        dates += f"<EndingDate>{end}</EndingDate>"
    if planned is not None:
        dates += f"<PlannedHoursNbr>{planned}</PlannedHoursNbr>"
    return (
        f"<DimonaIn>{dates}<EmployerId><NOSSRegistrationNbr>{employer}</NOSSRegistrationNbr>"
        f"</EmployerId><NaturalPerson>{person}</NaturalPerson><DimonaFeatures>"
        f"<JointCommissionNbr>XXX</JointCommissionNbr><WorkerType>{worker_type}</WorkerType>"
        "</DimonaFeatures></DimonaIn>"
    )


def dimona_file(*forms: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Dimona xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="Dimona_20231.xsd">\n' + "\n".join(forms) + "\n</Dimona>\n"
    ).encode()


def simple_dimona(count: int = 1) -> bytes:
    return dimona_file(*(dimona_form(dimona_in(), f"REF-{i:04d}") for i in range(1, count + 1)))


def dmfa_form(employer: str = "155555504", persons: int = 1, ref: str = "DMFA-1") -> str:
    """One DmfAOriginal form of ``persons`` white-collar worker lines (valid against
    DmfAOriginal_20223.xsd)."""
    lines = "".join(
        f"<NaturalPerson><NaturalPersonSequenceNbr>{n}</NaturalPersonSequenceNbr>"
        f"<INSS>{95050530000 + n:011d}</INSS><WorkerRecord><EmployerClass>010</EmployerClass>"
        "<WorkerCode>495</WorkerCode><NOSSQuarterStartingDate>2026-01-01</NOSSQuarterStartingDate>"
        "<NOSSQuarterEndingDate>2026-03-31</NOSSQuarterEndingDate><Border>0</Border>"
        "<Occupation><OccupationSequenceNbr>1</OccupationSequenceNbr>"
        "<JointCommissionNbr>200</JointCommissionNbr><WorkingDaysSystem>500</WorkingDaysSystem>"
        "<ContractType>0</ContractType><RefMeanWorkingHours>3800</RefMeanWorkingHours>"
        "<MeanWorkingHours>3800</MeanWorkingHours><Retired>0</Retired><Service>"
        "<ServiceSequenceNbr>1</ServiceSequenceNbr><ServiceCode>001</ServiceCode>"
        "<ServiceNbrDays>6400</ServiceNbrDays></Service><Remun><RemunSequenceNbr>1</RemunSequenceNbr>"
        "<RemunCode>001</RemunCode><RemunAmount>1140000</RemunAmount></Remun></Occupation>"
        "<WorkerContribution><ContributionWorkerCode>495</ContributionWorkerCode>"
        "<ContributionType>0</ContributionType><ContributionCalculationBasis>1140000"
        "</ContributionCalculationBasis><ContributionAmount>433998</ContributionAmount>"
        "</WorkerContribution></WorkerRecord></NaturalPerson>"
        for n in range(1, persons + 1)
    )
    return (
        "<Form><Identification>DMFA</Identification><FormCreationDate>2026-04-14"
        "</FormCreationDate><FormCreationHour>09:00:00.000</FormCreationHour>"
        "<AttestationStatus>0</AttestationStatus><TypeForm>SU</TypeForm>"
        f"{reference(ref)}<EmployerDeclaration><Quarter>20261</Quarter>"
        f"<NOSSRegistrationNbr>{employer}</NOSSRegistrationNbr><Trusteeship>0</Trusteeship>"
        f"<CompanyID>0555555523</CompanyID><NetOwedAmount>{433998 * persons}</NetOwedAmount>"
        f"{lines}</EmployerDeclaration></Form>"
    )


def dmfa_file(*forms: str, root: str = "DmfAOriginal") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<{root} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="{root}_20223.xsd">\n' + "\n".join(forms) + f"\n</{root}>\n"
    ).encode()


async def forms_on_topic(env, ticket: str, count: int) -> list[Any]:
    """The BatchFormSubmitted events of ``ticket`` once ``count`` of them are on the topic."""
    from dimona.dimona_fixtures import read_topic

    async def enough():
        events = [
            e
            for e in await read_topic(env.bootstrap, env.topic("batch.forms.v1"))
            if e.payload["ticket"] == ticket
        ]
        return events if len(events) >= count else None

    return await eventually(enough, what=f"{count} form(s) of {ticket} on batch.forms.v1")
