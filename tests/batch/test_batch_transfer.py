"""The transfer point end to end: multi-part files, DmfA files, TD, a GO sent twice, the
folder channel, and the GO timeout on the business clock."""

from __future__ import annotations

import itertools
import os

import pytest
from batch.batch_fixtures import (
    TODAY,
    acrf_in_folder,
    assert_valid,
    dimona_file,
    dimona_form,
    dimona_in,
    dmfa_file,
    dmfa_form,
    drop_files,
    eventually,
    forms_on_topic,
    private_env,
    publish_batch_reference_data,
    simple_dimona,
    start_batch,
    stop_batch,
)
from dimona.dimona_fixtures import set_clock
from lxml import etree


@pytest.fixture(scope="module")
def shared_env(infra):
    with private_env(infra) as env:
        yield env


@pytest.fixture(scope="module")
async def batch(shared_env, tmp_path_factory):
    await publish_batch_reference_data(shared_env)
    await set_clock(shared_env, "2026-06-01T10:00:00")
    client = await start_batch(shared_env, tmp_path_factory.mktemp("transfer"))
    yield client
    await stop_batch(client)


async def test_a_multi_part_file_is_reassembled_and_its_forms_published(batch, shared_env) -> None:
    forms = [
        dimona_form(dimona_in(employer), f"MP-{i}")
        for i, employer in enumerate(
            ("155555504", "111111171", "155555504", "123456749", "111111171"), 1
        )
    ]
    content = dimona_file(*forms)
    # Cut through the middle of forms: parts are bytes, only their concatenation is XML.
    cuts = [0, len(content) // 3 + 17, 2 * len(content) // 3 - 5, len(content)]
    parts = [content[a:b] for a, b in itertools.pairwise(cuts)]
    ticket = await batch.send_set(f"DIMN.054321.{TODAY}.10001.R", parts)
    body = await batch.acrf(ticket)
    assert body["acrf"]["resultCode"] == 1
    assert [f["name"] for f in body["files"]] == [
        *(f"FI.DIMN.054321.{TODAY}.10001.R.3.{i}" for i in (1, 2, 3)),
        *(f"FS.DIMN.054321.{TODAY}.10001.R.3.{i}" for i in (1, 2, 3)),
        f"GO.DIMN.054321.{TODAY}.10001.R.3",
    ]
    events = await forms_on_topic(shared_env, ticket, len(forms))
    by_position = {e.payload["position"]: e.payload for e in events}
    assert sorted(by_position) == [1, 2, 3, 4, 5]
    for position, payload in by_position.items():
        form = etree.fromstring(payload["form_xml"])
        assert form.findtext("Reference/ReferenceNbr") == f"MP-{position}"
        assert payload["file_type"] == "DIMN" and payload["environment"] == "R"
        assert payload["sender"] == "054321" and payload["declarant"] == "M-EXEMPLUM"
        assert payload["go_file_name"] == f"GO.DIMN.054321.{TODAY}.10001.R.3"
        assert payload["received_at"].startswith("2026-06-01T08:00:00")

    async def published():
        body = await batch.ticket(ticket)
        return body if body["status"] == "PUBLISHED" else None

    body = await eventually(published, what="every form published")
    assert body["forms"]["count"] == body["forms"]["published"] == 5
    assert not body["complete"]  # nobody answered yet: no NOTI


async def test_a_dmfa_file_is_accepted_and_its_forms_published(batch, shared_env) -> None:
    content = dmfa_file(
        dmfa_form("155555504", persons=3, ref="D-1"), dmfa_form("111111171", persons=2, ref="D-2")
    )
    assert_valid(content, "DmfAOriginal_20223.xsd")
    ticket = await batch.send_set(f"DMFA.054321.{TODAY}.10002.R", [content])
    body = await batch.acrf(ticket)
    assert body["acrf"]["resultCode"] == 1 and body["fileType"] == "DMFA"
    assert_valid(await batch.out(body["acrf"]["fileName"]), "ACRF_20231.xsd")
    events = await forms_on_topic(shared_env, ticket, 2)
    assert sorted(e.payload["position"] for e in events) == [1, 2]
    assert {e.payload["file_type"] for e in events} == {"DMFA"}
    form = etree.fromstring(events[0].payload["form_xml"])
    assert form.findtext("Identification") == "DMFA"
    assert len(form.findall("EmployerDeclaration/NaturalPerson")) in (2, 3)
    # A modification file is a DMWA, with its own root.
    update = dmfa_file(
        dmfa_form(ref="U-1").replace("<Identification>DMFA<", "<Identification>DMFAUPD<"),
        root="DmfAUpdate",
    )
    ticket = await batch.send_set(f"DMWA.054321.{TODAY}.10003.S", [update])
    assert (await batch.acrf(ticket))["acrf"]["resultCode"] == 1
    [event] = await forms_on_topic(shared_env, ticket, 1)
    assert (event.payload["file_type"], event.payload["environment"]) == ("DMWA", "S")


async def test_td_cancels_a_set_before_its_go(batch) -> None:
    key = f"DIMN.054321.{TODAY}.10004.T"
    assert (await batch.put(f"FI.{key}.1.1", simple_dimona())).status_code == 201
    cancelled = await batch.put(f"TD.{key}.1")
    assert cancelled.status_code == 201 and cancelled.json()["status"] == "CANCELLED"
    # Nothing left to start: a GO now is a set of its own, and the name is spent.
    response = await batch.put(f"GO.{key}.1")
    body = await batch.acrf(response.json()["ticket"])
    assert {e["id"] for e in body["acrf"]["errors"]} == {"ACRF-120", "ACRF-133"}
    # A TD without a set to cancel is ignored.
    ignored = await batch.put(f"TD.DIMN.054321.{TODAY}.10005.T.1")
    assert ignored.json()["status"] == "IGNORED"


async def test_a_go_sent_again_while_the_set_is_processed_changes_nothing(batch) -> None:
    key = f"DIMN.054321.{TODAY}.10006.R"
    ticket = await batch.send_set(key, [simple_dimona(2)])
    assert (await batch.acrf(ticket))["acrf"]["resultCode"] == 1
    again = await batch.put(f"GO.{key}.1")
    assert again.json()["ticket"] == ticket and again.json()["redelivered"]
    body = await batch.ticket(ticket)
    assert len([f for f in body["files"] if f["name"].startswith("GO.")]) == 2
    assert body["noti"] == []


async def test_a_part_sent_again_before_the_go_replaces_the_first(batch, shared_env) -> None:
    key = f"DIMN.054321.{TODAY}.10007.S"
    await batch.put(f"FI.{key}.1.1", b"<Dimona><oops")
    await batch.put(f"FI.{key}.1.1", simple_dimona(1))
    response = await batch.put(f"GO.{key}.1")
    body = await batch.acrf(response.json()["ticket"])
    assert body["acrf"]["resultCode"] == 1
    assert [f["superseded"] for f in body["files"]] == [True, False, False]


async def test_folder_channel_takes_files_and_answers_in_the_out_folder(batch) -> None:
    key = f"DIMN.054321.{TODAY}.10008.T"
    drop = batch.transfer / "054321" / "INTEST"
    drop_files(drop, [(f"FI.{key}.1.1", simple_dimona(2)), (f"GO.{key}.1", b"")])
    out = batch.transfer / "054321" / "OUTTEST"

    async def answered():
        return acrf_in_folder(out, f"GO.{key}.1")

    tree = assert_valid(await eventually(answered, what="the ACRF in OUTTEST"), "ACRF_20231.xsd")
    assert tree.findtext("Form/ReceptionResult/ResultCode") == "1"
    assert sorted(p.name for p in drop.iterdir() if not p.name.startswith(".")) == []
    assert list((drop / ".taken").iterdir()) == []
    ticket = tree.findtext("Form/FileReference/ReferenceNbr")
    assert (await batch.ticket(ticket))["channel"] == "FOLDER"


async def test_a_set_without_go_is_refused_after_the_timeout(env, tmp_path) -> None:
    await publish_batch_reference_data(env)
    await set_clock(env, "2026-06-01T10:00:00")
    batch = await start_batch(env, tmp_path / "transfer")
    try:
        key = f"DIMN.054321.{TODAY}.00001.R"
        await batch.put(f"FI.{key}.2.1", simple_dimona())
        await batch.put(f"FI.{key}.2.2", b"")
        await set_clock(env, "2026-06-02T09:59:00")  # 23 h 59 later: still waiting
        await set_clock(env, "2026-06-02T10:01:00")
        out = batch.transfer / "054321" / "OUT"

        async def answered():
            return acrf_in_folder(out, f"GO.{key}.2")

        document = await eventually(answered, what="the ACRF-130")
        tree = assert_valid(document, "ACRF_20231.xsd")
        errors = [e.text for e in tree.iterfind("Form/ReceptionResult/ErrorID")]
        assert "ACRF-130" in errors and "ACRF-122" in errors  # and no FS came either
        ticket = tree.findtext("Form/FileReference/ReferenceNbr")
        batch.act_as("M-EXEMPLUM")
        body = await batch.ticket(ticket)
        assert body["status"] == "REFUSED" and body["goFileName"] == f"GO.{key}.2"
        # Its GO now arrives too late: the name was used.
        late = await batch.put(f"GO.{key}.2")
        later = await batch.acrf(late.json()["ticket"])
        assert "ACRF-133" in [e["id"] for e in later["acrf"]["errors"]]
    finally:
        await stop_batch(batch)


async def test_files_left_in_taken_by_a_crash_are_stored_once(batch, shared_env) -> None:
    key = f"DIMN.054321.{TODAY}.10009.T"
    taken = batch.transfer / "054321" / "INTEST" / ".taken"
    # Crash after the move, before the store: the next scan stores them.
    drop_files(taken, [(f"FI.{key}.1.1", simple_dimona(1)), (f"GO.{key}.1", b"")])
    stamp = (taken / f"FI.{key}.1.1").stat().st_mtime_ns
    out = batch.transfer / "054321" / "OUTTEST"

    async def answered():
        return acrf_in_folder(out, f"GO.{key}.1")

    await eventually(answered, what="the ACRF of files left in .taken")
    # Crash after the store, before the removal: the same file is recognised and dropped.
    again = taken / f"FI.{key}.1.1"
    again.write_bytes(simple_dimona(1))
    os.utime(again, ns=(stamp, stamp))

    async def removed():
        return not again.exists()

    await eventually(removed, what="the duplicate to be dropped")
    conn = await shared_env.connect("batch")
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM received_files WHERE name = $1", f"FI.{key}.1.1"
        )
    finally:
        await conn.close()
    assert stored == 1
