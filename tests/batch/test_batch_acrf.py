"""Every reception check of batch.md §4, end to end: files go in over HTTP or through the
watched folders, the ACRF comes back refused with the error, and validates against
ACRF_20231.xsd.

One batch service serves the whole module (each case uses its own file names); it runs with
``max_parts`` 3, ``strict_numeric_sequence`` and ``max_forms_per_file`` 5 so that the
configurable checks have something to refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from batch.batch_fixtures import (
    TODAY,
    acrf_in_folder,
    assert_valid,
    dimona_file,
    drop_files,
    eventually,
    private_env,
    publish_batch_reference_data,
    simple_dimona,
    start_batch,
    stop_batch,
)
from dimona.dimona_fixtures import set_clock

OK = simple_dimona(1)
SIGNATURE = b"signature"


@pytest.fixture(scope="module")
def shared_env(infra):
    with private_env(infra) as env:
        yield env


@pytest.fixture(scope="module")
async def batch(shared_env, tmp_path_factory):
    await publish_batch_reference_data(shared_env)
    await set_clock(shared_env, "2026-06-01T10:00:00")
    client = await start_batch(
        shared_env,
        tmp_path_factory.mktemp("transfer"),
        max_parts=3,
        strict_numeric_sequence=True,
        max_forms_per_file=5,
    )
    yield client
    await stop_batch(client)


def k(seq: str, env: str = "T", sender: str = "054321", day: str = TODAY) -> str:
    return f"DIMN.{sender}.{day}.{seq}.{env}"


@dataclass(frozen=True)
class Case:
    error: str
    files: Callable[[str], list[tuple[str, bytes]]]  # sequence element -> files in order
    channel: str = "http"
    folder: str = "INTEST"  # the folder channel's drop folder
    organisation: str = "M-EXEMPLUM"

    def answered(self, seq: str) -> str:
        """The FileName the ACRF names: the GO of the set, or the file refused alone."""
        return self.files(seq)[-1][0]


CASES: dict[str, Case] = {
    "107-GO-structure": Case(
        "ACRF-107", lambda s: [(f"FI.{k(s)}.1.1", OK), (f"GO.{k(s)}.1.1", b"")]
    ),
    "131-FI-structure": Case("ACRF-131", lambda s: [(f"FI.{k(s)}.1", OK), (f"GO.{k(s)}.1", b"")]),
    "132-FS-structure": Case(
        "ACRF-132",
        lambda s: [
            (f"FI.{k(s, 'R')}.1.1", OK),
            (f"FS.{k(s, 'R')}.1", SIGNATURE),
            (f"GO.{k(s, 'R')}.1", b""),
        ],
    ),
    "129-prefix": Case("ACRF-129", lambda s: [(f"XX.{k(s)}.1.1", OK)]),
    "129-type": Case("ACRF-129", lambda s: [(f"FI.DMRQ.054321.{TODAY}.{s}.T.1.1", OK)]),
    "108-folder": Case(
        "ACRF-108",
        lambda s: [(f"FI.{k(s, sender='012345')}.1.1", OK), (f"GO.{k(s, sender='012345')}.1", b"")],
        channel="folder",
    ),
    "108-http": Case("ACRF-108", lambda s: [(f"GO.{k(s)}.1", b"")], organisation="M-PAYPRO"),
    "109-date-length": Case(
        "ACRF-109",
        lambda s: [(f"FI.{k(s, day='2026061')}.1.1", OK), (f"GO.{k(s, day='2026061')}.1", b"")],
    ),
    "110-not-a-date": Case(
        "ACRF-110",
        lambda s: [(f"FI.{k(s, day='20261301')}.1.1", OK), (f"GO.{k(s, day='20261301')}.1", b"")],
    ),
    "111-future": Case(
        "ACRF-111",
        lambda s: [(f"FI.{k(s, day='20260602')}.1.1", OK), (f"GO.{k(s, day='20260602')}.1", b"")],
    ),
    "126-too-old": Case(
        "ACRF-126",
        lambda s: [(f"FI.{k(s, day='20260401')}.1.1", OK), (f"GO.{k(s, day='20260401')}.1", b"")],
    ),
    "112-sequence-length": Case(
        "ACRF-112", lambda s: [(f"FI.{k(s[1:])}.1.1", OK), (f"GO.{k(s[1:])}.1", b"")]
    ),
    "127-sequence-zero": Case(
        "ACRF-127", lambda s: [(f"FI.{k('00000')}.1.1", OK), (f"GO.{k('00000')}.1", b"")]
    ),
    "113-sequence-not-numeric": Case(
        "ACRF-113", lambda s: [(f"FI.{k('A' + s[1:])}.1.1", OK), (f"GO.{k('A' + s[1:])}.1", b"")]
    ),
    "114-parts-length": Case(
        "ACRF-114", lambda s: [(f"FI.{k(s)}.12.1", OK), (f"GO.{k(s)}.12", b"")]
    ),
    "115-parts-not-numeric": Case(
        "ACRF-115", lambda s: [(f"FI.{k(s)}.A.1", OK), (f"GO.{k(s)}.A", b"")]
    ),
    "116-parts-zero": Case("ACRF-116", lambda s: [(f"FI.{k(s)}.0.1", OK), (f"GO.{k(s)}.0", b"")]),
    "128-too-many-parts": Case(
        "ACRF-128",
        lambda s: [*((f"FI.{k(s)}.4.{i}", OK) for i in range(1, 5)), (f"GO.{k(s)}.4", b"")],
    ),
    "117-environment": Case(
        "ACRF-117", lambda s: [(f"FI.{k(s, 'X')}.1.1", OK), (f"GO.{k(s, 'X')}.1", b"")]
    ),
    "118-R-outside-IN": Case(
        "ACRF-118",
        lambda s: [
            (f"FI.{k(s, 'R')}.1.1", OK),
            (f"FS.{k(s, 'R')}.1.1", SIGNATURE),
            (f"GO.{k(s, 'R')}.1", b""),
        ],
        channel="folder",
        folder="INTEST",
    ),
    "119-T-outside-INTEST": Case(
        "ACRF-119",
        lambda s: [(f"FI.{k(s)}.1.1", OK), (f"GO.{k(s)}.1", b"")],
        channel="folder",
        folder="IN",
    ),
    "120-FI-count": Case("ACRF-120", lambda s: [(f"FI.{k(s)}.2.1", OK), (f"GO.{k(s)}.2", b"")]),
    "123-FI-numbering": Case(
        "ACRF-123",
        lambda s: [(f"FI.{k(s)}.2.1", OK), (f"FI.{k(s)}.2.3", OK), (f"GO.{k(s)}.2", b"")],
    ),
    "122-FS-count": Case(
        "ACRF-122", lambda s: [(f"FI.{k(s, 'R')}.1.1", OK), (f"GO.{k(s, 'R')}.1", b"")]
    ),
    "124-FS-numbering": Case(
        "ACRF-124",
        lambda s: [
            (f"FI.{k(s, 'R')}.2.1", OK[:100]),
            (f"FI.{k(s, 'R')}.2.2", OK[100:]),
            (f"FS.{k(s, 'R')}.2.1", SIGNATURE),
            (f"FS.{k(s, 'R')}.2.3", SIGNATURE),
            (f"GO.{k(s, 'R')}.2", b""),
        ],
    ),
    "125-signature": Case(
        "ACRF-125",
        lambda s: [
            (f"FI.{k(s, 'R')}.1.1", OK),
            (f"FS.{k(s, 'R')}.1.1", b""),
            (f"GO.{k(s, 'R')}.1", b""),
        ],
    ),
    "103-unknown-sender": Case("ACRF-103", lambda s: [(f"FI.{k(s, sender='099999')}.1.1", OK)]),
    "103-inactive-sender": Case(
        "ACRF-103",
        lambda s: [(f"FI.{k(s, sender='066666')}.1.1", OK), (f"GO.{k(s, sender='066666')}.1", b"")],
    ),
    "103-environment-not-allowed": Case(
        "ACRF-103",
        lambda s: [
            (f"FI.{k(s, 'R', sender='077777')}.1.1", OK),
            (f"FS.{k(s, 'R', sender='077777')}.1.1", SIGNATURE),
            (f"GO.{k(s, 'R', sender='077777')}.1", b""),
        ],
    ),
    "102-truncated": Case(
        "ACRF-102", lambda s: [(f"FI.{k(s)}.1.1", simple_dimona(3)[:-60]), (f"GO.{k(s)}.1", b"")]
    ),
    "102-not-xml": Case(
        "ACRF-102",
        lambda s: [(f"FI.{k(s)}.1.1", b"%PDF-1.4 not a declaration"), (f"GO.{k(s)}.1", b"")],
    ),
    "088-schema": Case(
        "ACRF-088",
        lambda s: [
            (f"FI.{k(s)}.1.1", OK.replace(b"Dimona_20231.xsd", b"Unknown_20231.xsd")),
            (f"GO.{k(s)}.1", b""),
        ],
    ),
    "089-root": Case(
        "ACRF-089",
        lambda s: [
            (f"FI.{k(s)}.1.1", b"<DmfAOriginal><Form/></DmfAOriginal>"),
            (f"GO.{k(s)}.1", b""),
        ],
    ),
    "134-no-form": Case(
        "ACRF-134", lambda s: [(f"FI.{k(s)}.1.1", dimona_file()), (f"GO.{k(s)}.1", b"")]
    ),
    "163-not-forms": Case(
        "ACRF-163",
        lambda s: [
            (f"FI.{k(s)}.1.1", b"<Dimona><Form/><Note>x</Note></Dimona>"),
            (f"GO.{k(s)}.1", b""),
        ],
    ),
    "172-too-many-forms": Case(
        "ACRF-172", lambda s: [(f"FI.{k(s)}.1.1", simple_dimona(6)), (f"GO.{k(s)}.1", b"")]
    ),
}


async def _send_http(batch, case: Case, seq: str) -> dict:
    batch.act_as(case.organisation)
    ticket = None
    for name, content in case.files(seq):
        response = await batch.put(name, content)
        assert response.status_code in (201, 202, 403), response.text
        ticket = response.json().get("ticket", ticket)
    assert ticket, "no ticket was given"
    return await batch.acrf(ticket)


@pytest.mark.parametrize("name", list(CASES))
async def test_reception_check_refuses_the_set(batch, name: str) -> None:
    case = CASES[name]
    seq = f"9{list(CASES).index(name):04d}"
    answered = case.answered(seq)
    if case.channel == "http":
        body = await _send_http(batch, case, seq)
        assert body["acrf"]["resultCode"] == 0, str(body)
        assert case.error in [e["id"] for e in body["acrf"]["errors"]]
        assert body["status"] == "REFUSED" and body["goFileName"] == answered
        assert body["forms"]["published"] == 0
        document = await batch.out(body["acrf"]["fileName"])
    else:
        drop_files(batch.transfer / "054321" / case.folder, case.files(seq))
        environment = answered.split(".")[5]
        out = batch.transfer / "054321" / ("OUT" if environment == "R" else "OUTTEST")

        async def delivered():
            return acrf_in_folder(out, answered)

        document = await eventually(delivered, what=f"the ACRF of {answered} in {out}")
    tree = assert_valid(document, "ACRF_20231.xsd")
    assert tree.findtext("Form/FileReference/FileName") == answered
    assert tree.findtext("Form/ReceptionResult/ResultCode") == "0"
    assert case.error in [e.text for e in tree.iterfind("Form/ReceptionResult/ErrorID")]
    assert len(tree.findtext("Form/FileReference/ReferenceNbr")) == 13
    if case.channel == "http":
        assert body["acrf"]["fileName"].split(".")[-1] in ("R", "T", "S")


async def test_answers_to_a_caller_without_the_sender_stay_out_of_its_folder(batch) -> None:
    batch.act_as("M-PAYPRO")
    seq = "80001"
    response = await batch.put(f"GO.{k(seq)}.1")
    assert response.status_code == 403
    body = response.json()
    assert [e["id"] for e in body["errors"]] == ["ACRF-108"]
    ticket = body["ticket"]
    assert (await batch.acrf(ticket))["acrf"]["resultCode"] == 0
    # Only the uploader sees the ticket; the sender's holder does not receive its answers.
    batch.act_as("M-EXEMPLUM")
    assert (await batch.http.get(f"/batch/tickets/{ticket}")).status_code == 404
    assert acrf_in_folder(batch.transfer / "054321" / "OUTTEST", f"GO.{k(seq)}.1") is None
    # And the name stays free for its sender.
    accepted = await batch.send_set(k(seq), [OK])
    assert (await batch.acrf(accepted))["acrf"]["resultCode"] == 1


async def test_an_accepted_test_file_is_acknowledged_only(batch) -> None:
    ticket = await batch.send_set(k("80002"), [simple_dimona(2)])
    body = await batch.acrf(ticket)
    assert body["acrf"]["resultCode"] == 1 and body["acrf"]["errors"] == []
    assert body["status"] == "ACKNOWLEDGED" and body["complete"]
    assert body["forms"] == {
        "count": 2,
        "published": 0,
        "withResult": 0,
        "finalReported": 0,
        "results": {},
    }
    tree = assert_valid(await batch.out(body["acrf"]["fileName"]), "ACRF_20231.xsd")
    assert tree.findtext("Form/ReceptionResult/ResultCode") == "1"
    assert tree.find("Form/ReceptionResult/ErrorID") is None
    assert tree.findtext("Form/FileReference/ReferenceNbr") == ticket
    assert body["acrf"]["fileName"].startswith(f"FO.ACRF.999999.{TODAY}.")
    assert body["acrf"]["fileName"].endswith(".T")
    # The GO companion of every answer is readable too.
    assert await batch.out("GO" + body["acrf"]["fileName"][2:]) == b""


async def test_the_same_name_twice_is_refused_with_133(batch) -> None:
    first = await batch.send_set(k("80003", "S"), [OK])
    assert (await batch.acrf(first))["acrf"]["resultCode"] == 1
    second = await batch.send_set(k("80003", "S"), [OK])
    assert second != first
    body = await batch.acrf(second)
    assert [e["id"] for e in body["acrf"]["errors"]] == ["ACRF-133"]
    assert body["forms"]["published"] == 0
    assert_valid(await batch.out(body["acrf"]["fileName"]), "ACRF_20231.xsd")
    # Also when the first use was refused.
    refused = await batch.send_set(k("80004"), [b"not xml"])
    assert (await batch.acrf(refused))["acrf"]["errors"][0]["id"] == "ACRF-102"
    again = await batch.send_set(k("80004"), [OK])
    assert [e["id"] for e in (await batch.acrf(again))["acrf"]["errors"]] == ["ACRF-133"]
