"""The scoring service end to end on real Kafka and PostgreSQL: registry, dmfa and crosscheck
events published through those services' outboxes, the consumers, the API (T sample and
findings, F ledger, explained scores), the completion job on the business clock and
``scoring.scores.v1``; then a replay of the input topics into a fresh database."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from dimona.dimona_fixtures import read_topic, set_clock
from scoring.scoring_fixtures import (
    BRANCH_A,
    PREV,
    SEAT_A,
    SEAT_B,
    Client,
    Q,
    anomaly,
    declaration,
    late,
    mismatch,
    publish,
    publish_registry,
    publisher,
    resolved,
    silent,
    wait_for,
    year_counted,
)

from socsec.kit.auth import DMFA_CONSULT_SCOPE
from socsec.scoring.domain.sampling import Unit, draw
from socsec.stack import postgres


def utc(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 10, 0, tzinfo=UTC)


async def publish_facts(dmfa, crosscheck) -> None:  # type: ignore[no-untyped-def]
    # Declarations: seat A 50 lines in Q (E1..E8 five, E9 ten), 100 lines in Q-1 (E1..E5);
    # the provider's E10 four lines; a simulation and a refusal that must be ignored.
    decls = [declaration(i, Q, 5) for i in range(1, 9)] + [declaration(9, Q, 10)]
    decls += [declaration(i, PREV, 20) for i in range(1, 6)] + [declaration(10, Q, 4)]
    decls += [declaration(11, Q, 30, environment="S"), declaration(11, Q, 0, result="REFUSED")]
    await publish(dmfa, "dmfa.notifications.v1", *decls)
    # S: E0 sent nothing; E1 incomplete and late (heaviest: incomplete); E2 and E6 late.
    await publish(
        dmfa,
        "dmfa.silent.v1",
        silent(0, Q, "NO_DMFA", date(2026, 5, 29)),
        silent(1, Q, "INCOMPLETE", date(2026, 9, 30)),
        late(1, Q, date(2026, 5, 25)),
        late(2, Q, date(2026, 5, 26)),
        late(6, Q, date(2026, 6, 2)),
    )
    # AP: 2 of 50 lines of Q (E1 line 1 twice, E2 line 3), aged 10, 30 and 150 days at the
    # evaluation date 30 June 2026; Q-1: 5 of 100 lines. ANP: one INSZ instance (1 line).
    a1 = anomaly(1, Q, "AP", utc(2026, 4, 10))
    a2 = anomaly(1, Q, "AP", utc(2026, 4, 10), subject="OCCUPATION")
    a3 = anomaly(2, Q, "AP", utc(2026, 1, 31), line_no=3)
    before = [anomaly(1, PREV, "AP", utc(2026, 1, 20), line_no=n) for n in range(1, 6)]
    n1 = anomaly(3, Q, "ANP", utc(2026, 4, 15), line_no=2, subject="INSZ")
    ignored = anomaly(4, Q, "EXCLUDED", utc(2026, 4, 15))
    await publish(
        dmfa,
        "dmfa.anomalies.v1",
        a1,
        a2,
        a3,
        *before,
        n1,
        ignored,
        resolved(a1, utc(2026, 4, 20)),
        resolved(a2, utc(2026, 5, 10)),
        resolved(n1, utc(2026, 4, 25)),
    )
    # C: 2025 4 % of 100 triples against 8 % in 2024; mismatches aged 18 and 120 days.
    await publish(
        crosscheck,
        "crosscheck.anomalies.v1",
        *mismatch(1, 20253, utc(2025, 8, 1), utc(2025, 8, 19)),
        *mismatch(2, 20254, utc(2026, 3, 2)),
        year_counted(2024, SEAT_A, 100, 8),
        year_counted(2025, SEAT_A, 100, 4),
    )


def ledger_csv() -> str:
    rows = [
        ("P1", "DUE", "100.00", "2026-02-05"),
        ("P1", "EMPLOYER_PAID", "100.00", "2026-02-03"),
        ("P1", "FORWARDED", "100.00", "2026-02-05"),
        ("P2", "DUE", "100.00", "2026-03-05"),
        ("P2", "EMPLOYER_PAID", "100.00", "2026-03-10"),  # after the due date: F1
        ("P2", "FORWARDED", "100.00", "2026-03-12"),  # late: F2
        ("BALANCE", "DUE", "200.00", "2026-04-30"),
        ("BALANCE", "EMPLOYER_PAID", "200.00", "2026-04-20"),
        ("BALANCE", "FORWARDED", "150.00", "2026-05-15"),  # short: F3, and F4 a month later
    ]
    from scoring.scoring_fixtures import E

    lines = ["employer,quarter,item,direction,amount,date,reference"]
    lines += [f"{E[1]},{Q},{i},{d},{a},{on},ALPHA-{n}" for n, (i, d, a, on) in enumerate(rows)]
    # The provider's employer: entries exist, but a provider never gets an F score.
    lines += [f"{E[10]},{Q},P1,DUE,50.00,2026-02-05,BETA-1"]
    return "\n".join(lines) + "\n"


@pytest.fixture
async def stack(env):
    from socsec.scoring.main import create_app

    registry = await publisher(env, "registry")
    dmfa, crosscheck = await publisher(env, "dmfa"), await publisher(env, "crosscheck")
    await publish_registry(registry)
    await set_clock(env, "2026-05-01T09:00:00")
    app = create_app(env.settings("scoring", scoring_completion_poll_seconds=0.3))
    runtime = app.state.runtime
    await runtime.start()
    client = Client(app)
    yield client, runtime, dmfa, crosscheck
    await client.http.aclose()
    for r in (registry, dmfa, crosscheck, runtime):
        await r.stop()


async def consumed(runtime) -> bool:  # type: ignore[no-untyped-def]
    db = runtime.db
    return (
        await db.fetchval("SELECT count(*) FROM mandates") == 12
        and await db.fetchval("SELECT count(*) FROM employers") == 12
        and await db.fetchval("SELECT count(*) FROM declarations") == 15
        and await db.fetchval("SELECT count(*) FROM anomalies") == 9
        and await db.fetchval("SELECT count(*) FROM anomalies WHERE resolved_at IS NOT NULL") == 3
        and await db.fetchval("SELECT count(*) FROM silent_facts") == 5
        and await db.fetchval("SELECT count(*) FROM mismatches WHERE resolved_at IS NOT NULL") == 1
        and await db.fetchval("SELECT count(*) FROM year_counts") == 2
    )


async def test_scores_from_facts_completion_and_replay(stack, env, infra) -> None:
    client, runtime, dmfa, crosscheck = stack
    await publish_facts(dmfa, crosscheck)
    await wait_for(lambda: consumed(runtime), "the facts to be consumed")
    # The simulation and the refused declaration left nothing; the excluded anomaly neither.
    assert await runtime.db.fetchval("SELECT count(*) FROM worker_lines") == 50 + 100 + 4

    # -- provisional scores, and who may read them ------------------------------------
    body = (await client.get(f"/seats/{SEAT_A}/scores/2026-1")).json()
    assert set(body["domains"]) == {"S", "T", "F", "AP", "ANP"}
    assert not any(d["final"] for d in body["domains"].values())
    s = body["domains"]["S"]
    # As of 1 May 2026 only the NO_DMFA finding (29 May) is not yet known: nothing fails.
    assert s["score"] == 100.0 and s["population"] == 9
    client.act_as("M-BETA", DMFA_CONSULT_SCOPE)
    assert (await client.get(f"/seats/{SEAT_A}/scores/20261")).status_code == 403
    mine = (await client.get(f"/seats/{SEAT_B}/scores/20261")).json()
    assert "F" not in mine["domains"] and "F" in mine["notScored"]
    no_f = await client.get(f"/seats/{SEAT_B}/scores/20261/F")
    assert no_f.status_code == 404 and "approved secretariats only" in no_f.json()["detail"]
    client.act_as("B-ALPHA-GENT", DMFA_CONSULT_SCOPE)  # a branch reads its seat's scores
    assert (await client.get(f"/seats/{SEAT_A}/scores/20261/S")).status_code == 200

    # -- F ledger: a bad file imports nothing, a good one everything, once ----------------
    client.as_nsso()
    good = ledger_csv()
    bad = good.replace("2026-03-10", "2026-03-32").replace("BETA-1", "ALPHA-0")
    refused = await client.post("/ledger/import", content=bad.encode())
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert any(e.startswith("line 6: date") for e in errors), errors
    assert any(e.startswith("line 11:") and "repeats line 2" in e for e in errors), errors
    assert await runtime.db.fetchval("SELECT count(*) FROM f_ledger") == 0
    imported = await client.post("/ledger/import", content=good.encode())
    assert imported.status_code == 201 and imported.json() == {"imported": 10}
    again = await client.post("/ledger/import", content=good.encode())
    assert again.status_code == 409 and "nothing imported" in again.json()["detail"]
    client.act_as("M-ALPHA", DMFA_CONSULT_SCOPE)
    assert (await client.post("/ledger/import", content=good.encode())).status_code == 403

    # -- T: the sample, reproducible from its seed, and the inspectors' findings ---------
    client.as_inspector()
    created = await client.post(f"/seats/{SEAT_A}/quarters/2026-1/t-campaign", json={})
    assert created.status_code == 201, created.text
    campaign = created.json()
    # N = 50 lines of seat A: n0 = 384.16, n = ceil(384.16 / (1 + 383.16 / 50)) = 45.
    assert (campaign["population"], campaign["sampleSize"], len(campaign["items"])) == (50, 45, 45)
    strata = [i["stratum"] for i in campaign["items"]]
    assert (strata.count("WHITE_COLLAR"), strata.count("BLUE_COLLAR")) == (35, 10)
    assert {i["unit"] for i in campaign["items"]} == {SEAT_A, BRANCH_A}
    rows = await runtime.db.pool.fetch(
        "SELECT employer_nsso, inss, employer_class, worker_code, worker_kind FROM worker_lines "
        "WHERE quarter = $1",
        Q,
    )
    seat_a_lines = [
        Unit((r[0], r[1], r[2], r[3]), r[4]) for r in rows if r[0] in _seat_a_employers()
    ]
    size, redrawn = draw(seat_a_lines, campaign["seed"], z=_d("1.96"), p=_d("0.5"), e=_d("0.05"))
    assert size == 50
    assert [u.key[:2] for u in redrawn] == [(i["employer"], i["insz"]) for i in campaign["items"]]
    duplicate = await client.post(f"/seats/{SEAT_A}/quarters/20261/t-campaign", json={})
    assert duplicate.status_code == 409
    client.act_as("M-ALPHA", DMFA_CONSULT_SCOPE)
    assert (await client.get(f"/seats/{SEAT_A}/quarters/20261/t-campaign")).status_code == 403
    client.as_inspector()
    cid = campaign["id"]
    findings = {1: ["T1", "T3"], 2: ["T3"], 3: ["T4"]}
    unknown = await client.put(f"/t-campaigns/{cid}/items/1/findings", json={"findings": ["T9"]})
    assert unknown.status_code == 422
    for item in campaign["items"][:-1]:
        n = item["itemNo"]
        put = await client.put(
            f"/t-campaigns/{cid}/items/{n}/findings",
            json={"findings": findings.get(n, []), "note": "checked on site"},
        )
        assert put.status_code == 200, put.text

    # Before the evaluation dates nothing of the quarter is final.
    await asyncio.sleep(1.0)
    assert await _finals(env, lambda p: p["period"] == "20261") is None

    # -- completion: the last finding makes T final; the clock passing the dates the rest --
    last = campaign["items"][-1]["itemNo"]
    await client.put(f"/t-campaigns/{cid}/items/{last}/findings", json={"findings": []})
    t_final = await wait_for(
        lambda: _finals(env, lambda p: p["domain"] == "T"), "the final T score"
    )
    assert t_final[0]["score"] == 95.6  # 100 × (1 − (1.0 + 0.5 + 0.5) / 45)
    late_change = await client.put(f"/t-campaigns/{cid}/items/1/findings", json={"findings": []})
    assert late_change.status_code == 409

    await set_clock(env, "2026-10-01T09:00:00")
    finals = await wait_for(
        lambda: _finals(env, lambda p: p["period"] == "20261" and p["domain"] != "T", n=7),
        "the final scores of 20261",
    )
    by = {(p["seat"], p["domain"]): p for p in finals}
    assert set(by) == {
        (SEAT_A, "S"),
        (SEAT_A, "F"),
        (SEAT_A, "AP"),
        (SEAT_A, "ANP"),
        (SEAT_B, "S"),
        (SEAT_B, "AP"),
        (SEAT_B, "ANP"),
    }, "a provider never gets an F score"
    s = by[SEAT_A, "S"]
    # 10 active employers (E11 never active): 100 × (1 − (1.0 + 0.6 + 0.3 + 0.3) / 10).
    assert (s["score"], s["population"], s["band"]) == (78.0, 10, "LESS_GOOD")
    assert {i["code"]: i["numerator"] for i in s["indicators"]} == {
        "S1": 1,
        "S2": 1,
        "S3": 0,
        "S4": 2,
    }
    # The branch's employers count for the seat, with the informative breakdown.
    assert {(b["unit"], b["population"], b["score"]) for b in s["branch_breakdown"]} == {
        (SEAT_A, 5, 62.0),
        (BRANCH_A, 5, 94.0),
    }
    assert s["findings_total"] == 4 and s["findings"][0]["indicator"] == "S1"
    ap = by[SEAT_A, "AP"]
    assert ap["score"] == 57.8  # barometer.md §7
    assert ap["components"]["s_drop"] == 60.0 and ap["components"]["pct"] == 0.04
    assert round(ap["components"]["s_life"], 1) == 55.6
    # ANP: 2 % against 0 % (s_drop 0), one instance of 10 days with T = 120.
    assert by[SEAT_A, "ANP"]["score"] == 47.9
    # F: 100 × (1 − (0.5 × 1/3 + 0.75 × 1/2 + 1.0 × 1/1 + 1.0 × 1/3) / 3.25) = 42.3.
    f = by[SEAT_A, "F"]
    assert f["score"] == 42.3
    assert {i["code"]: (i["numerator"], i["denominator"]) for i in f["indicators"]} == {
        "F1": (1, 3),
        "F2": (1, 2),
        "F3": (1, 1),
        "F4": (1, 3),
    }
    assert by[SEAT_B, "S"]["score"] == 100.0 and by[SEAT_B, "AP"]["score"] == 100.0
    assert all(p["catalogue_version"] == "2017.1" for p in finals)
    c = await wait_for(
        lambda: _finals(
            env, lambda p: p["domain"] == "C" and p["period"] == "2025" and p["seat"] == SEAT_A
        ),
        "the final C score",
    )
    # s_improve = 50 + 50 × 0.04 / 0.08 = 75; s_life = 100 × (162 + 60) / 360 = 61.67.
    assert c[0]["score"] == 68.3 and c[0]["period_kind"] == "YEAR"

    # The API shows the final, explained scores and the total.
    client.as_nsso()
    body = (await client.get(f"/seats/{SEAT_A}/scores/20261")).json()
    assert all(d["final"] for d in body["domains"].values())
    assert body["total"]["score"] == 64.3  # (78.0 + 95.6 + 42.3 + 57.8 + 47.9) / 5
    assert body["domains"]["AP"]["formula"].startswith("w_drop × s_drop")
    provider_total = (await client.get(f"/seats/{SEAT_B}/scores/20261")).json()["total"]
    assert "F" not in provider_total["domains"]

    # Published once: later runs of the job add nothing.
    count = len(await read_topic(env.bootstrap, env.topic("scoring.scores.v1")))
    await asyncio.sleep(1.0)
    assert len(await read_topic(env.bootstrap, env.topic("scoring.scores.v1"))) == count

    # -- replay: a fresh database and new consumer groups rebuild the same scores --------
    await _replay_and_compare(env, infra, runtime)


def _seat_a_employers() -> set[str]:
    from scoring.scoring_fixtures import E

    return set(E[:10])


def _d(text: str):  # type: ignore[no-untyped-def]
    from decimal import Decimal

    return Decimal(text)


async def _finals(env, keep, n: int = 1):  # type: ignore[no-untyped-def]
    events = await read_topic(env.bootstrap, env.topic("scoring.scores.v1"))
    assert all(e.event_type == "DomainScoreFinal" for e in events)
    found = [e.payload for e in events if keep(e.payload)]
    return found if len(found) >= n else None


async def _replay_and_compare(env, infra, runtime) -> None:  # type: ignore[no-untyped-def]
    from socsec.scoring import consumers
    from socsec.scoring.main import build_runtime

    database = f"{env.database}_replay"
    dsns = await asyncio.to_thread(
        postgres.provision_database, infra.admin_url, database, infra.passwords
    )
    settings = env.settings(
        "scoring", database_url=dsns["scoring"], service_name="scoring-replay", db_schema="scoring"
    )
    replay = build_runtime(settings, run_relay=False, configure_logging=False)
    consumers.register(replay)
    await replay.start()
    try:
        await wait_for(lambda: consumed(replay), "the replay", timeout=90)
        service = replay.state["scoring"]
        await wait_for(lambda: _today(replay, date(2026, 10, 1)), "the replayed business clock")
        await service.complete()
        original = await _final_rows(runtime)
        rebuilt = await _final_rows(replay)
        # Facts from the topics (S, AP, ANP, C) rebuild identical scores; T findings and the
        # F ledger are entered over this service's API and live in its database only.
        topic_domains = {k: v for k, v in original.items() if k[1] in ("S", "AP", "ANP", "C")}
        assert topic_domains and {k: rebuilt[k] for k in topic_domains} == topic_domains
    finally:
        await replay.stop()
        conn = await __import__("asyncpg").connect(infra.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()


async def _today(runtime, day: date) -> bool:  # type: ignore[no-untyped-def]
    return runtime.clock.today() == day


async def _final_rows(runtime) -> dict:  # type: ignore[no-untyped-def]
    rows = await runtime.db.pool.fetch("SELECT seat_id, domain, period, payload FROM final_scores")
    out = {}
    for r in rows:
        payload = dict(r["payload"])
        payload.pop("computed_at")
        out[(r["seat_id"], r["domain"], r["period"])] = payload
    return out
