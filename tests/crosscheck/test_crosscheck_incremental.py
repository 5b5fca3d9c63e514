"""The incremental path on a real PostgreSQL: the handlers of both consumers and the
evaluator, each in its own transaction. Out-of-order arrival, resolution by either side,
multi-part originals, replays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from crosscheck.crosscheck_fixtures import (
    EMPLOYER_B,
    NOW,
    Q,
    changed,
    declaration,
    lines_part,
    occ,
    start_harness,
    state,
    types,
    wline,
)

from socsec.contracts.events import parse_payload
from socsec.contracts.payloads.crosscheck import (
    CrosscheckMismatchOpened,
    CrosscheckMismatchResolved,
)

ANNA = "88041212434"
BERT = "92073021590"
CARL = "69123103187"
DIRK = "85073003328"


@pytest.fixture
async def cc(env):
    harness = await start_harness(env)
    yield harness
    await harness.close()


def payloads(events):
    return [parse_payload(e) for e in events]


async def test_dimona_before_the_dmfa_publishes_nothing_until_the_original(cc) -> None:
    # Anna's period starts mid-quarter, Bert has a period and no line yet.
    assert await cc.period(changed("IN", state(1, ANNA, start=date(2025, 5, 15))))
    assert await cc.period(changed("IN", state(2, BERT, start=date(2025, 4, 1))))
    stats = await cc.evaluate()
    assert stats.touches == 2 and stats.triples == 0  # no accepted original: nothing judged
    assert await cc.events() == [] and await cc.open_mismatches() == {}

    await cc.dmfa(declaration([wline(ANNA, "495", occ(start=date(2025, 4, 1)))]))
    await cc.evaluate()
    opened = payloads(await cc.events())
    assert all(isinstance(p, CrosscheckMismatchOpened) for p in opened)
    by_insz = {p.insz: p for p in opened}
    assert set(by_insz) == {ANNA, BERT}
    anna = by_insz[ANNA]
    assert [(r.rule, r.count) for r in anna.rules] == [("C3", 1)] and anna.codes == ()
    assert anna.opened_by == "DMFA_ORIGINAL" and anna.quarter == Q
    assert (anna.secretariat, anna.seat) == ("M-PAYPRO", "S-PAYPRO")
    assert by_insz[BERT].codes == ("90007-263",)


async def test_dmfa_before_dimona_then_the_in_resolves_it(cc) -> None:
    await cc.dmfa(declaration([wline(CARL, "015", occ(jc="200"))]))
    await cc.evaluate()
    [opened] = payloads(await cc.events())
    assert opened.codes == ("90007-262",)

    cc.clock.advance(timedelta(days=3))
    await cc.period(changed("IN", state(3, CARL, start=date(2025, 1, 6), jc="XXX")))
    await cc.evaluate()
    _, resolved = payloads(await cc.events())
    assert isinstance(resolved, CrosscheckMismatchResolved)
    assert resolved.mismatch_id == opened.mismatch_id
    assert resolved.resolved_by == "DIMONA" and resolved.lifetime_days == 3
    assert resolved.lifetime_seconds == 3 * 86400
    assert [(r.rule, r.count) for r in resolved.rules] == [("C1", 1)]
    assert await cc.open_mismatches() == {}


async def test_resolution_by_a_dimona_update(cc) -> None:
    inn = changed("IN", state(4, ANNA, start=date(2025, 5, 15)))
    await cc.period(inn)
    await cc.dmfa(declaration([wline(ANNA, "495", occ(start=date(2025, 4, 1)))]))
    await cc.evaluate()
    assert list(await cc.open_mismatches()) == [(EMPLOYER_B, Q, ANNA)]

    cc.clock.advance(timedelta(days=10))
    update = changed("UPDATE", state(4, ANNA, start=date(2025, 4, 1)), before=inn.after)
    await cc.period(update)
    await cc.evaluate()
    assert types(await cc.events()) == ["CrosscheckMismatchOpened", "CrosscheckMismatchResolved"]
    resolved = payloads(await cc.events())[1]
    assert resolved.resolved_by == "DIMONA" and resolved.lifetime_days == 10
    assert resolved.seat == "S-PAYPRO"
    async with cc.db.connection() as conn:
        row = await conn.fetchrow("SELECT * FROM mismatches")
    assert row["resolved_by"] == "DIMONA" and row["lifetime_days"] == 10


async def test_resolution_by_a_dmfa_modification(cc) -> None:
    await cc.period(changed("IN", state(5, CARL, start=date(2010, 1, 1), jc="XXX")))
    await cc.dmfa(declaration([wline(CARL, "015", occ(jc="302"))]))
    await cc.evaluate()
    [opened] = payloads(await cc.events())
    assert [r.rule for r in opened.rules] == ["C4"] and opened.codes == ()

    cc.clock.advance(timedelta(days=20))
    await cc.dmfa(declaration([wline(CARL, "015", occ(jc="200"))], kind="UPDATE"))
    await cc.evaluate()
    resolved = payloads(await cc.events())[1]
    assert resolved.resolved_by == "DMFA_UPDATE" and resolved.lifetime_days == 20


async def test_a_modification_changing_the_worker_code_replaces_the_line(cc) -> None:
    # Anna works as a student (STU period, 100 planned hours) but was declared white-collar.
    await cc.period(changed("IN", state(8, ANNA, "STU", end=date(2025, 6, 30), hours=100)))
    await cc.dmfa(declaration([wline(ANNA, "495", occ())]))
    await cc.evaluate()
    [opened] = payloads(await cc.events())
    assert [r.rule for r in opened.rules] == ["C5"]

    # The modification turns the line into a student line: the 495 line is gone (its key is
    # in deleted_lines), the 840 line replaces it.
    cc.clock.advance(timedelta(days=7))
    await cc.dmfa(
        declaration([wline(ANNA, "840", hours=80)], kind="UPDATE", deleted=((ANNA, "010", "495"),))
    )
    await cc.evaluate()
    resolved = payloads(await cc.events())[-1]
    assert isinstance(resolved, CrosscheckMismatchResolved)
    assert resolved.mismatch_id == opened.mismatch_id and resolved.resolved_by == "DMFA_UPDATE"
    assert resolved.lifetime_days == 7 and await cc.open_mismatches() == {}
    async with cc.db.connection() as conn:
        codes = await conn.fetch("SELECT worker_code FROM worker_lines WHERE insz = $1", ANNA)
        occupations = await conn.fetchval("SELECT count(*) FROM occupations WHERE insz = $1", ANNA)
    assert [r["worker_code"] for r in codes] == ["840"] and occupations == 0


async def test_a_modification_deleting_the_line_resolves_a_c1(cc) -> None:
    await cc.dmfa(declaration([wline(BERT, "495", occ()), wline(DIRK, "495", occ())]))
    await cc.period(changed("IN", state(6, DIRK, start=date(2024, 1, 1))))
    await cc.evaluate()
    assert list(await cc.open_mismatches()) == [(EMPLOYER_B, Q, BERT)]
    await cc.dmfa(declaration(kind="UPDATE", deleted=((BERT, "010", "495"),)))
    await cc.evaluate()
    resolved = payloads(await cc.events())[-1]
    assert resolved.insz == BERT and resolved.resolved_by == "DMFA_UPDATE"
    assert await cc.open_mismatches() == {}


async def test_an_ex_officio_correction_resolves_as_ex_officio(cc) -> None:
    await cc.period(changed("IN", state(7, DIRK, start=date(2025, 4, 1))))
    await cc.dmfa(declaration([]))
    await cc.evaluate()
    [opened] = payloads(await cc.events())
    assert opened.codes == ("90007-263",)  # a period and no line
    await cc.dmfa(declaration([wline(DIRK, "495", occ())], kind="UPDATE", origin="EX_OFFICIO"))
    await cc.evaluate()
    assert payloads(await cc.events())[-1].resolved_by == "EX_OFFICIO"


async def test_a_period_change_judges_the_quarters_before_and_after_meet(cc) -> None:
    for quarter in (20251, 20252):
        await cc.dmfa(declaration([wline(ANNA, "495", occ())], quarter=quarter))
    inn = changed("IN", state(8, ANNA, start=date(2025, 1, 1), end=date(2025, 3, 31)))
    await cc.period(inn)
    await cc.evaluate()
    assert list(await cc.open_mismatches()) == [(EMPLOYER_B, 20252, ANNA)]  # C1 in Q2

    reopened = changed("UPDATE", state(8, ANNA, start=date(2025, 1, 1)), before=inn.after)
    await cc.period(reopened)
    await cc.evaluate()
    assert await cc.open_mismatches() == {}

    cancel = changed(
        "CANCEL", state(8, ANNA, start=date(2025, 1, 1), cancelled=True), before=reopened.after
    )
    await cc.period(cancel)
    stats = await cc.evaluate()
    assert stats.triples == 2
    assert sorted(await cc.open_mismatches()) == [(EMPLOYER_B, 20251, ANNA), (EMPLOYER_B, Q, ANNA)]
    assert types(await cc.events()).count("CrosscheckMismatchOpened") == 3


async def test_an_original_in_parts_is_judged_once_complete(cc) -> None:
    await cc.period(changed("IN", state(9, ANNA, start=date(2025, 4, 1))))
    await cc.period(changed("IN", state(10, DIRK, start=date(2025, 4, 1))))
    first = declaration([wline(ANNA, "495", occ())], parts=2)
    await cc.dmfa(first)
    await cc.evaluate()
    # Dirk's line is in part 2: nothing is judged (no spurious C2) until it arrives.
    assert await cc.events() == []
    assert await cc.dmfa(lines_part(first, 2, [wline(DIRK, "495", occ(jc="302"))]))
    assert not await cc.dmfa(lines_part(first, 2, [wline(DIRK, "495", occ(jc="302"))]))
    await cc.evaluate()
    [opened] = payloads(await cc.events())
    assert opened.insz == DIRK and [r.rule for r in opened.rules] == ["C4"]


async def test_refused_simulation_and_orphan_modifications_keep_nothing(cc) -> None:
    await cc.period(changed("IN", state(11, ANNA, start=date(2025, 4, 1))))
    assert not await cc.dmfa(declaration([wline(ANNA, "495", occ())], result="REFUSED"))
    assert not await cc.dmfa(declaration([wline(ANNA, "495", occ())], environment="S"))
    assert not await cc.dmfa(declaration([wline(ANNA, "495", occ())], kind="UPDATE"))
    simulated = changed("IN", state(12, BERT)).model_copy(update={"simulation": True})
    assert not await cc.period(simulated)
    await cc.evaluate()
    assert await cc.events() == []
    async with cc.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM declarations") == 0
        assert await conn.fetchval("SELECT count(*) FROM periods") == 1


async def test_replays_and_repeated_evaluations_change_nothing(cc) -> None:
    inn = changed("IN", state(13, ANNA, start=date(2025, 5, 15)))
    original = declaration([wline(ANNA, "495", occ())])
    await cc.period(inn)
    await cc.dmfa(original)
    await cc.evaluate()
    before = await cc.events()
    assert types(before) == ["CrosscheckMismatchOpened"]
    # The same change again (a replay with another event id): already applied, no touch.
    assert not await cc.period(inn)
    # An older change after a newer one is ignored too.
    update = changed("UPDATE", state(13, ANNA, start=date(2025, 5, 20)), before=inn.after)
    assert await cc.period(update)
    assert not await cc.period(inn)
    # The same original again re-judges every person: nothing changed, nothing published.
    await cc.dmfa(original)
    await cc.evaluate()
    assert await cc.events() == before
    async with cc.db.connection() as conn:
        assert await conn.fetchval("SELECT start_date FROM periods WHERE id = 13") == date(
            2025, 5, 20
        )
        assert await conn.fetchval("SELECT count(*) FROM mismatches") == 1


async def test_a_changed_failure_follows_the_open_instance_without_an_event(cc) -> None:
    inn = changed("IN", state(14, CARL, start=date(2025, 5, 1), jc="XXX"))
    await cc.period(inn)
    await cc.dmfa(declaration([wline(CARL, "015", occ(jc="200"))]))
    await cc.evaluate()
    await cc.dmfa(declaration([wline(CARL, "015", occ(jc="302"))], kind="UPDATE"))
    await cc.evaluate()
    assert types(await cc.events()) == ["CrosscheckMismatchOpened"]
    [row] = (await cc.open_mismatches()).values()
    assert (row["c3"], row["c4"]) == (1, 1)
    assert row["evaluated_at"] == NOW and row["opened_at"] == NOW
