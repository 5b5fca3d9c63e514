"""An event the broker refuses for good does not block the outbox: the relay sets it aside
in ``outbox_failed`` with the broker's error, sends the events behind it, and the event can
be put back once its cause is fixed."""

from __future__ import annotations

from pathlib import Path

from kit.conftest import TOPIC, eventually, run_cli
from kit.test_delivery import publish, topic_event_ids

from socsec.contracts.topics import DEFAULT_MESSAGE_BYTES, FORM_MESSAGE_BYTES, topic
from socsec.kit.outbox import Outbox, failed_events, retry_failed

#: Above the broker's default message size, far below the forms topic's limit.
LARGE = "x" * (2 * DEFAULT_MESSAGE_BYTES)


def outbox_cli(env, tmp_path: Path, *args: str) -> str:
    """``socsec outbox ...`` on the dimona role's database, without a stack."""
    return run_cli(
        env, "outbox", *args, data_dir=tmp_path / "none", DATABASE_URL=env.dsns["dimona"]
    )


async def test_an_event_above_its_topics_limit_is_set_aside_and_the_rest_go_on(
    env, db, workers, tmp_path: Path
) -> None:
    assert topic(TOPIC).message_limit == DEFAULT_MESSAGE_BYTES
    too_large = await publish(db, env, "123456749", 1, blob=LARGE)
    behind = await publish(db, env, "123456749", 2)
    workers("--relay")

    async def set_aside():
        return await failed_events(db)

    [failed] = await eventually(set_aside, what="the large event set aside")
    assert failed["event_id"] == too_large.event_id
    assert failed["topic"] == env.topic(TOPIC)
    assert failed["size"] > 2 * DEFAULT_MESSAGE_BYTES
    assert failed["error"].startswith("MessageSizeTooLargeError")
    await eventually(
        lambda: db.fetchval(
            "SELECT sent_at IS NOT NULL FROM outbox WHERE event_id = $1", behind.event_id
        ),
        what="the event behind it sent",
    )
    assert await topic_event_ids(env.bootstrap, env.topic(TOPIC)) == [behind.event_id]
    assert (
        await db.fetchval("SELECT count(*) FROM outbox WHERE event_id = $1", too_large.event_id)
        == 0
    )

    # An operator sees it, with the broker's reason.
    listing = outbox_cli(env, tmp_path, "list", "--service", "dimona")
    [row] = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in listing.splitlines()
        if "kit.test" in line
    ]
    assert row[:5] == [
        "dimona",
        str(failed["id"]),
        "kit.test",
        env.topic(TOPIC),
        str(failed["size"]),
    ]
    assert row[6].startswith("MessageSizeTooLargeError")

    # Put back while the cause remains: refused again, set aside again, nothing lost.
    assert "1 event(s) of dimona put back" in outbox_cli(env, tmp_path, "retry", "dimona")
    [again] = await eventually(set_aside, what="the retried event set aside again")
    assert again["event_id"] == too_large.event_id and again["id"] > failed["id"]
    assert await retry_failed(db, [again["id"] + 1]) == 0  # no such event: nothing moves
    assert [e["id"] for e in await failed_events(db)] == [again["id"]]


async def test_a_form_sized_event_reaches_the_forms_topic(env, db, workers) -> None:
    forms = "batch.forms.v1"
    assert topic(forms).message_limit == FORM_MESSAGE_BYTES
    async with db.transaction():
        event = await Outbox("batch", env.prefix).publish(
            db, forms, event_type="kit.test", key="123456749", payload={"form_xml": LARGE}
        )
    workers("--relay")
    await eventually(
        lambda: db.fetchval(
            "SELECT sent_at IS NOT NULL FROM outbox WHERE event_id = $1", event.event_id
        ),
        what="the large form sent",
    )
    assert await topic_event_ids(env.bootstrap, env.topic(forms)) == [event.event_id]
    assert await failed_events(db) == []
