"""Forms larger than a default Kafka message (1 MiB): a DmfA declaration of a large employer
goes through the batch channel and the dmfa service whole; a form above the channel's limit
is refused at reception with ACRF-184 instead of blocking the forms behind it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from batch.batch_fixtures import assert_valid, eventually, publish_senders, start_batch, stop_batch
from dmfa.dmfa_fixtures import publish_reference_data, set_clock, start_dmfa, stop_dmfa
from dmfa_domain.dmfa_samples import document_xml, form_xml, original, white_collar_person
from lxml import etree

from socsec.contracts.topics import DEFAULT_MESSAGE_BYTES

DAY = "20250526"
#: About 2.4 MB of form: more than twice a default Kafka message.
LINES = 2000


def insz(index: int) -> str:
    """A distinct valid national-register number per index."""
    born = date(1970, 1, 1) + timedelta(days=index // 997)
    body = f"{born:%y%m%d}{index % 997 + 1:03d}"
    return f"{body}{97 - int(body) % 97:02d}"


def dmfa_document(*bodies: dict) -> bytes:
    forms = [form_xml(body, "DMFA") for body in bodies]
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + document_xml(forms, "DMFA")).encode()


def large_declaration(lines: int = LINES) -> dict:
    persons = [white_collar_person(n + 1, insz(n)) for n in range(lines)]
    return original(persons, reference="EXEMPLUM-2025-1-L")


@pytest.fixture
async def services(env, tmp_path):
    await publish_reference_data(env)
    await publish_senders(env)
    await set_clock(env, "2025-05-26T10:00:00")
    dmfa = await start_dmfa(env)
    batch = await start_batch(env, tmp_path / "transfer")
    yield batch, dmfa
    await stop_batch(batch)
    await stop_dmfa(dmfa)


async def test_a_declaration_above_a_kafka_message_is_answered_with_noti_and_pid(
    services,
) -> None:
    batch, dmfa = services
    content = dmfa_document(large_declaration())
    assert len(content) > 2 * DEFAULT_MESSAGE_BYTES
    ticket = await batch.send_set(f"DMFA.054321.{DAY}.00001.R", [content])

    acrf = await batch.acrf(ticket)
    assert acrf["acrf"]["resultCode"] == 1 and acrf["forms"]["count"] == 1

    async def notified():
        body = await batch.ticket(ticket)
        return body if body["status"] == "NOTIFIED" and body["pid"] else None

    body = await eventually(notified, 240, f"ticket {ticket} NOTIFIED with its PID file")
    assert body["complete"] and body["forms"]["results"] == {"ACCEPTED": 1}
    [noti] = await batch.noti_files(ticket, 1)
    [form] = etree.fromstring(noti).findall("Form")
    assert form.findtext("HandlingResult/ResultCode") == "1"
    # DMFAWorkersNbr, DIMONAWorkersNbr (none of these workers has a Dimona period).
    assert [e.text for e in form.iterfind("DeclarationComplInformations/*")] == [str(LINES), "0"]
    # Every worker line is in the store and has its identifiers in the PID file.
    assert await dmfa.runtime.db.fetchval("SELECT count(*) FROM worker_lines") == LINES
    [pid_file] = body["pid"]
    pid = assert_valid(await batch.out(pid_file["fileName"]), "DmfAPID_20224.xsd")
    persons = pid.findall("Form/IDEmployerDeclaration/IDNaturalPerson")
    assert [p.findtext("INSS") for p in persons] == [insz(n) for n in range(LINES)]
    # Nothing was set aside on the way.
    for runtime in (batch.runtime, dmfa.runtime):
        assert await runtime.db.fetchval("SELECT count(*) FROM outbox_failed") == 0


async def test_a_form_above_the_channel_limit_is_refused_with_acrf_184(env, tmp_path) -> None:
    await publish_senders(env)
    await set_clock(env, "2025-05-26T10:00:00")
    batch = await start_batch(env, tmp_path / "transfer", max_form_bytes=128 * 1024)
    try:
        small = original(reference="EXEMPLUM-2025-1-S")
        content = dmfa_document(small, large_declaration(200))
        ticket = await batch.send_set(f"DMFA.054321.{DAY}.00002.R", [content])
        acrf = await batch.acrf(ticket)
        assert acrf["acrf"]["resultCode"] == 0
        [error] = acrf["acrf"]["errors"]
        assert error["id"] == "ACRF-184"
        assert error["nl"] == "De grootte van het bestand overschrijdt de opgelegde grens"
        assert "form 2 is" in acrf["acrf"]["detail"] and "131072 bytes" in acrf["acrf"]["detail"]
        document = assert_valid(await batch.out(acrf["acrf"]["fileName"]), "ACRF_20231.xsd")
        assert document.findtext("Form/ReceptionResult/ErrorID") == "ACRF-184"
        # A refused set is not processed at all: no form reaches the topic.
        assert acrf["status"] == "REFUSED"
        assert await batch.runtime.db.fetchval("SELECT count(*) FROM forms") == 0
    finally:
        await stop_batch(batch)
