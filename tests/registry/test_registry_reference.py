"""The registry's reference data over its admin API, on real Kafka and PostgreSQL."""

from __future__ import annotations

import httpx
from registry.registry_fixtures import (
    created,
    employer,
    exemplum,
    mandate,
    paypro,
    start_registry,
)

from socsec.registry.main import create_app

# -- check digits and shapes ---------------------------------------------------------------


def _error_fields(response: httpx.Response) -> list[str]:
    """The fields a 422 names, from FastAPI's parse errors or from a rule's refusal."""
    body = response.json()
    if "detail" in body and isinstance(body["detail"], list):
        return [str(err["loc"][-1]) for err in body["detail"]]
    return [body.get("field", "")]


async def test_bad_check_digits_are_refused_naming_the_field(registry) -> None:
    client = registry.client
    bad_enterprise = await client.post("/employers", json=employer(enterprise_number="0876543271"))
    assert bad_enterprise.status_code == 422
    assert _error_fields(bad_enterprise) == ["enterprise_number"]
    assert "not a valid enterprise number" in bad_enterprise.text

    # 123456748 is 9 digits in the NSSO range but fails the check rule (mod 97 != 96)
    bad_nsso = await client.post("/employers", json=employer(nsso="123456748"))
    assert bad_nsso.status_code == 422
    assert bad_nsso.json()["code"] == "nsso_check_digit"
    assert bad_nsso.json()["field"] == "nsso_number"

    out_of_range = await client.post("/employers", json=employer(nsso="12345"))
    assert out_of_range.status_code == 422
    assert _error_fields(out_of_range) == ["nsso_number"]

    bad_insz = await client.post(
        "/workers", json={"inss": "88022999991", "family_name": "X", "given_name": "Y"}
    )
    assert bad_insz.status_code == 422
    assert _error_fields(bad_insz) == ["inss"]
    assert "not a valid INSZ" in bad_insz.text
    lookup = await client.get("/workers/88022999991")
    assert lookup.status_code == 422
    assert _error_fields(lookup) == ["insz"]

    assert (await client.get("/employers/123456749")).status_code == 404
    assert (await client.get("/workers/85073003328")).json()["code"] == "worker_not_found"
    assert (await client.get("/mandates/MD-NOPE")).status_code == 404
    assert (await registry.history_count()) == 0


async def test_the_nsso_check_can_be_switched_off(env) -> None:
    async for registry in start_registry(env, noss_check_enabled=False):
        response = await registry.client.post("/employers", json=employer(nsso="156065072"))
        assert response.status_code == 201, response.text


async def test_admin_routes_need_an_operator_token(env) -> None:
    app = create_app(env.settings("registry"))
    await app.state.runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://r") as client:
            response = await client.get("/registry/v1/employers")
            assert response.status_code == 401
    finally:
        await app.state.runtime.stop()


# -- mandataries -------------------------------------------------------------------------


async def test_legal_names_of_secretariats_and_providers(registry) -> None:
    client = registry.client
    unnamed = await client.post("/mandataries", json=exemplum(legal_name="Exemplum ASBL"))
    assert unnamed.status_code == 422
    assert unnamed.json()["code"] == "mandatary_legal_name"
    assert unnamed.json()["field"] == "legal_name"

    pretender = await client.post(
        "/mandataries", json=paypro(legal_name="PayPro Secretariat Social SRL")
    )
    assert pretender.status_code == 422
    assert pretender.json()["code"] == "mandatary_legal_name"

    dutch = await client.post(
        "/mandataries",
        json=exemplum(
            id="M-NOORD",
            legal_name="VZW - Sociaal Secretariaat Noord",
            approval={"number": "952", "approved_from": "2019-01-01"},
            seat={"id": "S-NOORD", "address": "Meir 50, 2000 Antwerpen"},
            branches=[],
        ),
    )
    assert dutch.status_code == 201, dutch.text

    no_approval = await client.post(
        "/mandataries", json=exemplum(id="M-X", approval=None, seat={"id": "S-X", "address": "a"})
    )
    assert no_approval.json()["code"] == "approval_required"


async def test_approved_list_is_dated(registry) -> None:
    client = registry.client
    await created(await client.post("/mandataries", json=exemplum()))
    await created(
        await client.post(
            "/mandataries",
            json=exemplum(
                id="M-HORIZON",
                legal_name="Association sans but lucratif - Secrétariat social Horizon",
                approval={
                    "number": "951",
                    "approved_from": "2019-01-01",
                    "withdrawn_on": "2024-01-01",
                },
                seat={"id": "S-HORIZON", "address": "Rue de Fer 10, 5000 Namur"},
                branches=[],
            ),
        )
    )
    await created(await client.post("/mandataries", json=paypro()))

    async def approved(day: str) -> list[str]:
        response = await client.get("/secretariats", params={"approvedOn": day})
        assert response.status_code == 200
        assert response.json()["approved_on"] == day
        return [m["id"] for m in response.json()["items"]]

    assert await approved("2016-12-31") == []
    assert await approved("2017-01-01") == ["M-EXEMPLUM"]
    assert await approved("2023-12-31") == ["M-EXEMPLUM", "M-HORIZON"]
    assert await approved("2024-01-01") == ["M-EXEMPLUM"]  # withdrawn that day
    today = await client.get("/secretariats")  # the business date (2025-05-01)
    assert today.json()["approved_on"] == "2025-05-01"


async def test_a_branch_belongs_to_one_seat_and_a_mandate_on_it_resolves_the_seat(
    registry,
) -> None:
    client = registry.client
    wrong_seat = exemplum()
    wrong_seat["branches"][0]["seat_id"] = "S-ELSEWHERE"
    refused = await client.post("/mandataries", json=wrong_seat)
    assert refused.status_code == 422
    assert refused.json()["code"] == "branch_seat_mismatch"
    assert refused.json()["field"] == "branches.0.seat_id"

    await created(await client.post("/mandataries", json=exemplum()))
    await created(await client.post("/employers", json=employer()))

    other = paypro()
    other["branches"] = [
        {
            "id": "B-EXEMPLUM-GENT",
            "address": "Veldstraat 1, 9000 Gent",
            "communicated_on": "2020-03-02",
            "active_from": "2020-04-01",
        }
    ]
    taken = await client.post("/mandataries", json=other)
    assert taken.status_code == 409
    assert taken.json()["code"] == "organisation_id_taken"

    added = await client.post(
        "/mandataries/M-EXEMPLUM/branches",
        json={
            "id": "B-EXEMPLUM-LIEGE",
            "address": "Place Saint-Lambert 1, 4000 Liège",
            "communicated_on": "2021-09-01",
            "active_from": "2021-10-01",
        },
    )
    branches = (await created(added))["branches"]
    assert [(b["id"], b["seat_id"]) for b in branches] == [
        ("B-EXEMPLUM-GENT", "S-EXEMPLUM-BXL"),
        ("B-EXEMPLUM-LIEGE", "S-EXEMPLUM-BXL"),
    ]

    on_branch = await created(
        await client.post("/mandates", json=mandate(affiliation_point="B-EXEMPLUM-GENT"))
    )
    assert on_branch["affiliation_point"] == "B-EXEMPLUM-GENT"
    assert on_branch["seat_id"] == "S-EXEMPLUM-BXL"
    assert on_branch["notification_routing"] == "MANDATARY"

    await created(await client.post("/mandataries", json=paypro()))
    foreign = await client.post(
        "/mandates",
        json=mandate(
            mandatary_id="M-PAYPRO",
            affiliation_point="B-EXEMPLUM-GENT",
            scopes=["DIMONA"],
            valid_from="2030-01-01",
        ),
    )
    assert foreign.status_code == 422
    assert foreign.json()["code"] == "affiliation_point_unknown"


# -- mandates ----------------------------------------------------------------------------


async def test_a_provider_cannot_hold_contribution_collection(registry) -> None:
    client = registry.client
    await created(await client.post("/mandataries", json=paypro()))
    await created(await client.post("/employers", json=employer()))
    refused = await client.post(
        "/mandates", json=mandate(mandatary_id="M-PAYPRO", affiliation_point="S-PAYPRO-BXL")
    )
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "collection_requires_approval"
    assert body["field"] == "scopes"
    assert "only an approved social secretariat" in body["detail"]

    allowed = await created(
        await client.post(
            "/mandates",
            json=mandate(
                mandatary_id="M-PAYPRO", affiliation_point="S-PAYPRO-BXL", scopes=["DIMONA"]
            ),
        )
    )
    assert allowed["notification_routing"] == "SENDER"


async def test_overlapping_collecting_mandates_are_refused(registry) -> None:
    client = registry.client
    await created(await client.post("/employers", json=employer()))
    await created(await client.post("/mandataries", json=exemplum()))
    await created(
        await client.post(
            "/mandataries",
            json=exemplum(
                id="M-HORIZON",
                legal_name="ASBL - Secrétariat Social Horizon",
                approval={"number": "951", "approved_from": "2017-01-01"},
                seat={"id": "S-HORIZON", "address": "Rue de Fer 10, 5000 Namur"},
                branches=[],
            ),
        )
    )
    first = await created(
        await client.post("/mandates", json=mandate(id="MD-1", valid_to="2023-12-31"))
    )
    assert first["id"] == "MD-1"

    overlapping = await client.post(
        "/mandates",
        json=mandate(
            mandatary_id="M-HORIZON",
            affiliation_point="S-HORIZON",
            scopes=["CONTRIBUTION_COLLECTION"],
            proxy_registered_on="2023-06-01",
            valid_from="2023-06-01",
        ),
    )
    assert overlapping.status_code == 409
    body = overlapping.json()
    assert body["code"] == "mandate_overlap"
    assert body["conflicting_mandate_id"] == "MD-1"
    assert body["scope"] == "CONTRIBUTION_COLLECTION"

    # the proxy is registered after the first mandate ends: never usable on a common day
    following = await created(
        await client.post(
            "/mandates",
            json=mandate(
                mandatary_id="M-HORIZON",
                affiliation_point="S-HORIZON",
                proxy_registered_on="2024-01-01",
                valid_from="2023-12-01",
            ),
        )
    )
    assert following["id"].startswith("MD-")

    # extending the first mandate over the second is refused as well
    extended = await client.put("/mandates/MD-1", json=mandate(valid_to=None))
    assert extended.status_code == 409
    assert extended.json()["conflicting_mandate_id"] == following["id"]

    usable = await client.get(
        "/mandates", params={"employer": "123456749", "usableOn": "2024-02-01"}
    )
    assert [m["mandatary_id"] for m in usable.json()["items"]] == ["M-HORIZON"]


async def test_end_notice_is_late_inside_fifteen_days(registry) -> None:
    client = registry.client
    await created(await client.post("/mandataries", json=exemplum()))
    for nsso in ("123456749", "187654356"):
        await created(await client.post("/employers", json=employer(nsso=nsso)))
    on_time = await created(await client.post("/mandates", json=mandate(id="MD-ON-TIME")))
    late = await created(
        await client.post("/mandates", json=mandate(id="MD-LATE", employer_nsso="187654356"))
    )

    # effective end 2025-06-30: 15 calendar days before is 2025-06-15
    ended = await client.post(
        f"/mandates/{on_time['id']}/end-notice",
        json={"notified_on": "2025-06-15", "effective_end": "2025-06-30", "reason": "moved"},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["valid_to"] == "2025-06-30"
    assert ended.json()["end_notice"]["late"] is False

    ended_late = await client.post(
        f"/mandates/{late['id']}/end-notice",
        json={"notified_on": "2025-06-16", "effective_end": "2025-06-30", "reason": "bankrupt"},
    )
    assert ended_late.json()["end_notice"]["late"] is True
    assert ended_late.json()["valid_to"] == "2025-06-30"

    flagged = await client.get("/mandates", params={"late": "true"})
    assert [m["id"] for m in flagged.json()["items"]] == ["MD-LATE"]
    not_flagged = await client.get("/mandates", params={"late": "false"})
    assert [m["id"] for m in not_flagged.json()["items"]] == ["MD-ON-TIME"]

    detail = (await client.get("/mandates/MD-LATE")).json()
    assert [n["late"] for n in detail["end_notices"]] == [True]
    usable_last_day = await client.get("/mandates", params={"usableOn": "2025-06-30"})
    assert len(usable_last_day.json()["items"]) == 2
    after_end = await client.get("/mandates", params={"usableOn": "2025-07-01"})
    assert after_end.json()["items"] == []

    event = await registry.published.wait_for(
        "registry.mandates.v1", "MD-LATE", lambda p: p.get("end_notice") is not None
    )
    assert event.payload["end_notice"]["late"] is True
    assert event.payload["valid_to"] == "2025-06-30"


# -- senders -----------------------------------------------------------------------------


async def test_sender_numbers_are_issued_and_never_reused(registry) -> None:
    client = registry.client
    await created(await client.post("/mandataries", json=exemplum()))
    await created(await client.post("/employers", json=employer()))
    issued = await created(await client.post("/senders", json={"holder": "B-EXEMPLUM-GENT"}))
    assert issued["sender_number"] == "000001"
    assert issued["holder_kind"] == "BRANCH"
    assert issued["seat_id"] == "S-EXEMPLUM-BXL"
    assert issued["environments"] == ["R", "T", "S"]

    own = await created(
        await client.post(
            "/senders",
            json={"sender_number": "000002", "holder": "123456749", "environments": ["T"]},
        )
    )
    assert own["holder_kind"] == "EMPLOYER"
    nxt = await created(await client.post("/senders", json={"holder": "M-EXEMPLUM"}))
    assert nxt["sender_number"] == "000003"  # 000002 is taken
    assert nxt["holder"] == "S-EXEMPLUM-BXL"

    reserved = await client.post(
        "/senders", json={"sender_number": "999999", "holder": "M-EXEMPLUM"}
    )
    assert reserved.status_code == 422
    assert reserved.json()["code"] == "sender_number_reserved"
    duplicate = await client.post(
        "/senders", json={"sender_number": "000001", "holder": "M-EXEMPLUM"}
    )
    assert duplicate.status_code == 409
    unknown = await client.post("/senders", json={"holder": "S-NOWHERE"})
    assert unknown.status_code == 404
    bad_env = await client.post("/senders", json={"holder": "M-EXEMPLUM", "environments": ["X"]})
    assert bad_env.status_code == 422

    deactivated = await client.put(
        "/senders/000001", json={"holder": "B-EXEMPLUM-GENT", "active": False}
    )
    assert deactivated.json()["active"] is False
    listed = await client.get("/senders", params={"mandatary": "M-EXEMPLUM", "active": "true"})
    assert [s["sender_number"] for s in listed.json()["items"]] == ["000003"]


# -- events and history ------------------------------------------------------------------


async def test_every_change_publishes_the_whole_state_with_the_right_key(registry) -> None:
    client = registry.client
    published = registry.published
    await created(await client.post("/employers", json=employer()))
    renamed = await client.put(
        "/employers/123456749", json={**employer(name="Employer A renamed"), "nsso_number": None}
    )
    assert renamed.status_code == 422  # the number is in the path, not the body
    body = employer(name="Employer A renamed", registered_to="2030-12-31")
    del body["nsso_number"]
    assert (await client.put("/employers/123456749", json=body)).status_code == 200
    event = await published.wait_for(
        "registry.employers.v1", "123456749", lambda p: p["name"] == "Employer A renamed"
    )
    assert event.event_type == "EmployerChanged"
    assert event.payload == {
        "nsso_number": "123456749",
        "enterprise_number": "0123456749",
        "name": "Employer A renamed",
        "language": "fr",
        "registered_from": "2010-01-01",
        "registered_to": "2030-12-31",
        "employer_classes": [],
        "public_sector": False,
        "local_authority": False,
        "deleted": False,
    }

    await created(await client.post("/mandataries", json=exemplum()))
    secretariat = await published.wait_for("registry.secretariats.v1", "M-EXEMPLUM")
    assert secretariat.event_type == "MandataryChanged"
    assert secretariat.payload["seat"] == {
        "id": "S-EXEMPLUM-BXL",
        "address": "Rue de la Loi 1, 1000 Bruxelles",
    }
    assert [b["id"] for b in secretariat.payload["branches"]] == ["B-EXEMPLUM-GENT"]
    assert secretariat.payload["approval"]["number"] == "950"

    made = await created(
        await client.post("/mandates", json=mandate(affiliation_point="B-EXEMPLUM-GENT"))
    )
    mandate_event = await published.wait_for("registry.mandates.v1", made["id"])
    assert mandate_event.event_type == "MandateChanged"
    assert mandate_event.payload["employer_nsso"] == "123456749"
    assert mandate_event.payload["employer_enterprise"] == "0123456749"
    assert mandate_event.payload["seat_id"] == "S-EXEMPLUM-BXL"
    assert mandate_event.payload["scopes"] == ["DIMONA", "DMFA", "CONTRIBUTION_COLLECTION"]
    assert mandate_event.payload["notification_routing"] == "MANDATARY"

    sender = await created(
        await client.post("/senders", json={"sender_number": "054321", "holder": "S-EXEMPLUM-BXL"})
    )
    sender_event = await published.wait_for("registry.senders.v1", sender["sender_number"])
    assert sender_event.event_type == "SenderChanged"
    assert sender_event.payload["holder"] == "S-EXEMPLUM-BXL"
    assert sender_event.payload["mandatary_id"] == "M-EXEMPLUM"

    # the same data again: no new version, no event
    outbox_before, history_before = await registry.outbox_count(), await registry.history_count()
    assert (await client.put("/employers/123456749", json=body)).status_code == 200
    assert await registry.outbox_count() == outbox_before
    assert await registry.history_count() == history_before

    history = (await client.get("/employers/123456749/history")).json()["items"]
    assert [(h["version"], h["operation"]) for h in history] == [(1, "CREATED"), (2, "UPDATED")]
    assert history[1]["before"]["name"] == "Employer A"
    assert history[1]["after"]["name"] == "Employer A renamed"
    assert history[1]["changed_by"] == "test-operator"
    assert history[1]["changed_at"].startswith("2025-05-01")


async def test_history_is_append_only(registry) -> None:
    import asyncpg
    import pytest

    await created(await registry.client.post("/employers", json=employer()))
    db = registry.app.state.runtime.db
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.fetchval("UPDATE history SET changed_by = 'someone else'")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.fetchval("DELETE FROM history")


async def test_lists_are_paged(registry) -> None:
    from socsec.contracts.identifiers import nsso_number_from

    numbers = sorted(nsso_number_from(1_500_000 + i) for i in range(5))
    for number in numbers:
        await created(await registry.client.post("/employers", json=employer(nsso=number)))
    first = (await registry.client.get("/employers", params={"limit": 3})).json()
    assert [e["nsso_number"] for e in first["items"]] == numbers[:3]
    second = (
        await registry.client.get("/employers", params={"limit": 3, "cursor": first["next"]})
    ).json()
    assert [e["nsso_number"] for e in second["items"]] == numbers[3:]
    assert second["next"] is None
