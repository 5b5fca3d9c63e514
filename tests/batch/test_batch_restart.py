"""A restart of the batch service between ACRF and NOTI loses nothing and repeats nothing:
publication resumes where it stopped, results that arrive while the service is down are
read after it, and the NOTI is written by the service that comes back."""

from __future__ import annotations

from batch.batch_fixtures import (
    TODAY,
    dimona_file,
    dimona_form,
    dimona_in,
    eventually,
    forms_on_topic,
    publish_batch_reference_data,
    start_batch,
    stop_batch,
)
from dimona.dimona_fixtures import set_clock, start_dimona, stop_dimona
from lxml import etree

FORMS = 200


async def test_restarts_between_acrf_and_noti_lose_nothing(env, tmp_path) -> None:
    await publish_batch_reference_data(env)
    await set_clock(env, "2026-06-01T10:00:00")
    transfer = tmp_path / "transfer"
    content = dimona_file(
        *(
            dimona_form(dimona_in(end=None, planned=None, worker_type="OTH"), f"R-{i:04d}")
            for i in range(1, FORMS + 1)
        )
    )

    # 1. Accepted, then stopped at once: most likely in the middle of publication.
    first = await start_batch(env, transfer)
    try:
        ticket = await first.send_set(f"DIMN.054321.{TODAY}.00001.R", [content])
        assert (await first.acrf(ticket))["acrf"]["resultCode"] == 1
    finally:
        await stop_batch(first)

    # 2. Back without dimona: publication completes, no result can come.
    second = await start_batch(env, transfer)
    try:

        async def published():
            body = await second.ticket(ticket)
            return body if body["status"] == "PUBLISHED" else None

        body = await eventually(published, what="publication to complete after the restart")
        assert body["forms"]["published"] == FORMS and body["noti"] == []
    finally:
        await stop_batch(second)

    events = await forms_on_topic(env, ticket, FORMS)
    ids_by_position: dict[int, set] = {}
    for event in events:
        ids_by_position.setdefault(event.payload["position"], set()).add(event.event_id)
    # Every form once: a re-sent event keeps its id (and is skipped by its consumers).
    assert sorted(ids_by_position) == list(range(1, FORMS + 1))
    assert all(len(ids) == 1 for ids in ids_by_position.values())

    # 3. Dimona answers every form while the batch service is down. (Its worker register
    # and the forms arrive together here: "accept" keeps a form processed before the
    # register from waiting for an identification nobody answers in this test.)
    dimona = await start_dimona(env, unknown_ssin_policy="accept")
    try:
        conn = await env.connect("dimona")
        try:

            async def processed():
                done = await conn.fetchval(
                    "SELECT count(*) FROM declarations"
                    " WHERE batch_ticket = $1 AND status = 'PROCESSED'",
                    ticket,
                )
                return done == FORMS

            await eventually(processed, timeout=120, what="dimona to process every form")
        finally:
            await conn.close()

        # 4. The service comes back and writes the NOTI from what it finds.
        third = await start_batch(env, transfer)
        try:
            [noti] = await third.noti_files(ticket, 1)
            references = [
                form.findtext("Reference/ReferenceNbr")
                for form in etree.fromstring(noti).iterfind("Form")
            ]
            assert references == [f"R-{i:04d}" for i in range(1, FORMS + 1)]
            body = await third.ticket(ticket)
            assert body["status"] == "NOTIFIED"
            assert sum(body["forms"]["results"].values()) == FORMS
            assert body["forms"]["results"]["A"] == 1  # then the same period again: 333
        finally:
            await stop_batch(third)
    finally:
        await stop_dimona(dimona)
