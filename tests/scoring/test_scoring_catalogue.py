"""Catalogue versions on real Kafka and PostgreSQL: a new version applies to the periods from
its quarter on, a published score keeps its version, and a catalogue that would rewrite a
used version or a final period is refused at start."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from dimona.dimona_fixtures import read_topic, set_clock
from scoring.scoring_fixtures import (
    SEAT_A,
    Client,
    declaration,
    drained,
    late,
    publish,
    publish_registry,
    publisher,
    wait_for,
)

from socsec.scoring.domain.catalogue import resources


def write_catalogue(path, *, back: bool = False, old_s4: float = 0.3) -> str:  # type: ignore[no-untyped-def]
    text = resources.files("socsec.scoring.catalogue").joinpath("default.yaml").read_text()
    data = yaml.safe_load(text)
    old = data["versions"][0]
    old["domains"]["S"]["indicators"][3]["weight"] = old_s4
    new = yaml.safe_load(yaml.safe_dump(old))
    new["catalogue_version"], new["valid_from_quarter"] = "2026.2", 20262
    new["domains"]["S"]["indicators"][3]["weight"] = 0.5  # LATE weighs more from 2026/2
    data["versions"] = [old, new]
    if back:  # a new version reaching back to 2026/1
        between = yaml.safe_load(yaml.safe_dump(new))
        between["catalogue_version"], between["valid_from_quarter"] = "2026.1", 20261
        data["versions"] = [old, between, new]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


async def test_a_catalogue_change_applies_only_forward(env, tmp_path) -> None:

    registry, dmfa = await publisher(env, "registry"), await publisher(env, "dmfa")
    try:
        await _scenario(env, tmp_path, registry, dmfa)
    finally:
        for r in (registry, dmfa):
            await r.stop()


async def _scenario(env, tmp_path, registry, dmfa) -> None:  # type: ignore[no-untyped-def]
    from socsec.scoring.main import create_app

    await publish_registry(registry)
    await set_clock(env, "2026-10-01T09:00:00")
    # Two active employers in each quarter, one of them late both times (published before
    # the service starts: completion then waits until it has consumed them).
    await publish(
        dmfa,
        "dmfa.notifications.v1",
        *(declaration(i, q, 2) for i in (1, 2) for q in (20261, 20262)),
    )
    await publish(
        dmfa,
        "dmfa.silent.v1",
        late(1, 20261, date(2026, 5, 25)),
        late(1, 20262, date(2026, 8, 25)),
    )
    await drained(dmfa)
    await drained(registry)
    catalogue = write_catalogue(tmp_path / "catalogue.yaml")
    settings = env.settings(
        "scoring", scoring_catalogue_path=catalogue, scoring_completion_poll_seconds=0.3
    )
    app = create_app(settings)
    await app.state.runtime.start()
    client = Client(app)
    try:
        # 2026/1 is past its evaluation date (30 September): final with version 2017.1.
        final = await wait_for(
            lambda: _final(env, "S", "20261"), "the final S score of 2026/1", timeout=60
        )
        assert (final["score"], final["catalogue_version"]) == (85.0, "2017.1")  # 1 − 0.3 / 2
        # 2026/2 is not final yet and is scored with the version in force from 2026/2.
        later = (await client.get(f"/seats/{SEAT_A}/scores/20262/S")).json()
        assert (later["score"], later["catalogue_version"], later["final"]) == (
            75.0,
            "2026.2",
            False,
        )
        body = (await client.get(f"/seats/{SEAT_A}/scores/20261/S")).json()
        assert (body["score"], body["catalogue_version"], body["final"]) == (85.0, "2017.1", True)
    finally:
        await client.http.aclose()
        await app.state.runtime.stop()

    # A version reaching back to a final period, or a used version edited: refused at start.
    for bad, reason in (
        (write_catalogue(tmp_path / "back.yaml", back=True), "already final"),
        (write_catalogue(tmp_path / "edited.yaml", old_s4=0.4), "differs from the one"),
    ):
        refused = create_app(env.settings("scoring", scoring_catalogue_path=bad))
        with pytest.raises(RuntimeError, match=reason):
            await refused.state.runtime.start()

    # The same catalogue again: the final score is untouched.
    app = create_app(settings)
    await app.state.runtime.start()
    client = Client(app)
    try:
        body = (await client.get(f"/seats/{SEAT_A}/scores/20261/S")).json()
        assert (body["score"], body["catalogue_version"], body["final"]) == (85.0, "2017.1", True)
        events = await read_topic(env.bootstrap, env.topic("scoring.scores.v1"))
        keys = [(e.payload["seat"], e.payload["domain"], e.payload["period"]) for e in events]
        assert keys.count((SEAT_A, "S", "20261")) == 1
    finally:
        await client.http.aclose()
        await app.state.runtime.stop()


async def _final(env, domain: str, period: str):  # type: ignore[no-untyped-def]
    for event in await read_topic(env.bootstrap, env.topic("scoring.scores.v1")):
        p = event.payload
        if (p["seat"], p["domain"], p["period"]) == (SEAT_A, domain, period):
            return p
    return None
