"""The registry's token endpoint, JWKS and metadata, on a real PostgreSQL and Kafka."""

from __future__ import annotations

import base64
import json
import time
import warnings

import pytest
from auth.conftest import (
    FORM,
    SEED,
    V3,
    V5,
    Registry,
    assertion,
    assertion_form,
    basic,
    client_key,
)
from joserfc import jwk, jwt
from joserfc.errors import SecurityWarning

from socsec.kit.auth import (
    ALL_SCOPES,
    DIMONA_CONSULT_SCOPE,
    DIMONA_DECLARANT_SCOPE,
    DMFA_DECLARANT_SCOPE,
    TokenValidator,
)
from socsec.registry import clients

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


async def jwks_of(registry: Registry) -> dict:
    response = await registry.http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response.json()


async def principal_of(registry: Registry, access_token: str):
    validator = TokenValidator(await jwks_of(registry), registry.base_url, "socsec")
    return await validator.validate(access_token)


@pytest.mark.parametrize("path", [V5, V3])
async def test_client_secret_basic_gets_a_token_on_both_paths(registry: Registry, path) -> None:
    created = await registry.create_client(
        client_id="self_service_expeditor_54321",
        organisation="M-EXEMPLUM",
        scopes=[DIMONA_DECLARANT_SCOPE, DIMONA_CONSULT_SCOPE],
        gender_encoding="zero_based",
    )
    secret = created["client_secret"]
    assert secret and created["auth_methods"] == ["client_secret_basic"]

    response = await registry.token("self_service_expeditor_54321", secret, path=path)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == f"{DIMONA_CONSULT_SCOPE} {DIMONA_DECLARANT_SCOPE}"

    principal = await principal_of(registry, body["access_token"])
    assert principal.client_id == "self_service_expeditor_54321"
    assert principal.organisation == "M-EXEMPLUM"
    assert principal.scopes == {DIMONA_DECLARANT_SCOPE, DIMONA_CONSULT_SCOPE}
    assert principal.gender_encoding == "zero_based"

    claims = jwt.decode(body["access_token"], jwk.KeySet.import_key_set(await jwks_of(registry)))
    assert claims.header["typ"] == "at+jwt"
    assert claims.header["kid"]
    assert {"iss", "sub", "aud", "exp", "iat", "jti", "scope", "org", "client_id"} <= set(
        claims.claims
    )
    assert claims.claims["exp"] - claims.claims["iat"] == 600


@pytest.mark.parametrize(("kind", "path"), [("RSA", V5), ("RSA", V3), ("EC", V5), ("EC", V3)])
async def test_private_key_jwt_gets_a_token(registry: Registry, kind, path) -> None:
    key = client_key(kind)
    client_id = f"self_service_expeditor_{kind.lower()}"
    created = await registry.create_client(
        client_id=client_id,
        organisation="123456789",
        scopes=[DIMONA_DECLARANT_SCOPE],
        with_secret=False,
        jwks={"keys": [key.as_dict(private=False)]},
    )
    assert created["client_secret"] is None
    assert created["auth_methods"] == ["private_key_jwt"]

    signed = assertion(key, client_id, f"{registry.base_url}{path}")
    response = await registry.http.post(path, data=assertion_form(signed), headers=FORM)
    assert response.status_code == 200, response.text
    principal = await principal_of(registry, response.json()["access_token"])
    assert principal.client_id == client_id
    assert principal.organisation == "123456789"
    assert principal.scopes == {DIMONA_DECLARANT_SCOPE}


async def test_assertion_audience_may_be_either_alias_or_the_issuer(registry: Registry) -> None:
    key = client_key("EC")
    await registry.create_client(
        client_id="jwt_client",
        organisation="M-EXEMPLUM",
        scopes=[DIMONA_CONSULT_SCOPE],
        with_secret=False,
        jwks={"keys": [key.as_dict(private=False)]},
    )
    for aud in (f"{registry.base_url}{V3}", registry.base_url, [f"{registry.base_url}{V5}"]):
        signed = assertion(key, "jwt_client", aud)
        response = await registry.http.post(V5, data=assertion_form(signed), headers=FORM)
        assert response.status_code == 200, (aud, response.text)


async def test_refusals_of_client_assertions(registry: Registry) -> None:
    key = client_key("RSA")
    await registry.create_client(
        client_id="jwt_client",
        organisation="M-EXEMPLUM",
        scopes=[DIMONA_CONSULT_SCOPE],
        with_secret=False,
        jwks={"keys": [key.as_dict(private=False)]},
    )
    aud = f"{registry.base_url}{V5}"
    now = time.time()

    async def refused(signed: str, why: str) -> None:
        response = await registry.http.post(V5, data=assertion_form(signed), headers=FORM)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert why in response.json()["error_description"]
        assert response.headers["www-authenticate"].startswith("Basic")

    replayed = assertion(key, "jwt_client", aud, jti="once")
    first = await registry.http.post(V5, data=assertion_form(replayed), headers=FORM)
    assert first.status_code == 200
    await refused(replayed, "already used")
    await refused(assertion(key, "jwt_client", "https://elsewhere/token"), "aud")
    await refused(assertion(key, "jwt_client", aud, exp=now + 3600), "ahead")
    await refused(assertion(key, "jwt_client", aud, iat=now - 900, exp=now - 600), "expired")
    await refused(assertion(client_key("RSA"), "jwt_client", aud, kid=key.kid), "signature")
    await refused(assertion(key, "nobody", aud), "unknown client")


async def test_refusals_of_client_secrets(registry: Registry) -> None:
    created = await registry.create_client(organisation="M-EXEMPLUM", scopes=[DIMONA_CONSULT_SCOPE])
    client_id = created["client_id"]
    assert client_id == "self_service_expeditor_m_exemplum"

    for who, secret in ((client_id, "wrong"), ("nobody", created["client_secret"])):
        response = await registry.token(who, secret)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert "Basic" in response.headers["www-authenticate"]

    response = await registry.http.post(V5, data={"grant_type": "client_credentials"}, headers=FORM)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"

    deactivated = await registry.http.post(
        f"/registry/v1/clients/{client_id}/deactivate", headers=registry.operator
    )
    assert deactivated.json()["active"] is False
    response = await registry.token(client_id, created["client_secret"])
    assert response.status_code == 401
    assert response.json()["error_description"] == "the client is deactivated"


async def test_scopes_and_grant_types(registry: Registry) -> None:
    created = await registry.create_client(
        organisation="S-EXEMPLUM-BXL", scopes=[DIMONA_DECLARANT_SCOPE, DIMONA_CONSULT_SCOPE]
    )
    client_id, secret = created["client_id"], created["client_secret"]

    narrowed = await registry.token(client_id, secret, scope=DIMONA_CONSULT_SCOPE)
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == DIMONA_CONSULT_SCOPE

    for scope in (DMFA_DECLARANT_SCOPE, f"{DIMONA_CONSULT_SCOPE} scope:made:up"):
        refused = await registry.token(client_id, secret, scope=scope)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_scope"

    wrong_grant = await registry.http.post(
        V5, data={"grant_type": "password"}, headers=basic(client_id, secret)
    )
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    no_grant = await registry.http.post(V5, data={}, headers=basic(client_id, secret))
    assert (no_grant.status_code, no_grant.json()["error"]) == (400, "invalid_request")
    as_json = await registry.http.post(
        V5,
        json={"grant_type": "client_credentials"},
        headers={"Authorization": basic(client_id, secret)["Authorization"]},
    )
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")


async def test_admin_api_is_for_operators_and_never_shows_a_secret(registry: Registry) -> None:
    anonymous = await registry.http.get("/registry/v1/clients")
    assert anonymous.status_code == 401
    assert anonymous.json()["title"] == "Unauthorized"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")

    created = await registry.create_client(
        organisation="M-EXEMPLUM", scopes=[DIMONA_DECLARANT_SCOPE]
    )
    token = (await registry.token(created["client_id"], created["client_secret"])).json()
    declarant = {"Authorization": f"Bearer {token['access_token']}"}
    forbidden = await registry.http.get("/registry/v1/clients", headers=declarant)
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "title": "Forbidden",
        "status": 403,
        "detail": "the token lacks the scope scope:socsec:operator",
    }
    assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]

    listed = await registry.http.get(
        "/registry/v1/clients", params={"organisation": "M-EXEMPLUM"}, headers=registry.operator
    )
    assert [c["client_id"] for c in listed.json()["items"]] == [created["client_id"]]
    one = await registry.http.get(
        f"/registry/v1/clients/{created['client_id']}", headers=registry.operator
    )
    assert one.status_code == 200
    assert "client_secret" not in one.json() and "secret_hash" not in one.json()
    assert created["client_secret"] not in one.text

    conn = await registry.runtime.db.pool.acquire()
    try:
        stored = await conn.fetchval(
            "SELECT secret_hash FROM api_clients WHERE client_id = $1", created["client_id"]
        )
    finally:
        await registry.runtime.db.pool.release(conn)
    assert stored.startswith("scrypt$") and created["client_secret"] not in stored

    duplicate = await registry.http.post(
        "/registry/v1/clients",
        json={"client_id": created["client_id"], "organisation": "X", "scopes": list(ALL_SCOPES)},
        headers=registry.operator,
    )
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "client_exists")
    missing = await registry.http.get("/registry/v1/clients/nobody", headers=registry.operator)
    assert (missing.status_code, missing.json()["title"]) == (404, "Not Found")

    reset = await registry.http.post(
        f"/registry/v1/clients/{created['client_id']}/secret", headers=registry.operator
    )
    new_secret = reset.json()["client_secret"]
    assert (await registry.token(created["client_id"], created["client_secret"])).status_code == 401
    assert (await registry.token(created["client_id"], new_secret)).status_code == 200


async def test_client_keys_are_public_and_strong(registry: Registry) -> None:
    created = await registry.create_client(organisation="M-EXEMPLUM", scopes=[DIMONA_CONSULT_SCOPE])
    url = f"/registry/v1/clients/{created['client_id']}/keys"
    key = client_key("EC")
    public = key.as_dict(private=False)
    operator = registry.operator

    leaked = await registry.http.post(url, json=key.as_dict(private=True), headers=operator)
    assert (leaked.status_code, leaked.json()["code"]) == (422, "invalid_client_key")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        weak = jwk.generate_key("RSA", 1024, auto_kid=True).as_dict(private=False)
    refused = await registry.http.post(url, json=weak, headers=registry.operator)
    assert refused.status_code == 422

    added = await registry.http.post(url, json=public, headers=operator)
    assert added.status_code == 201
    assert added.json()["auth_methods"] == ["client_secret_basic", "private_key_jwt"]
    again = await registry.http.post(url, json=public, headers=operator)
    assert again.status_code == 409

    signed = assertion(key, created["client_id"], f"{registry.base_url}{V5}")
    assert (await registry.http.post(V5, data=assertion_form(signed), headers=FORM)).is_success

    removed = await registry.http.delete(f"{url}/{key.kid}", headers=registry.operator)
    assert removed.json()["jwks"] == {"keys": []}
    signed = assertion(key, created["client_id"], f"{registry.base_url}{V5}")
    response = await registry.http.post(V5, data=assertion_form(signed), headers=FORM)
    assert response.status_code == 401


async def test_jwks_and_metadata_publish_no_private_part(registry: Registry) -> None:
    document = await jwks_of(registry)
    assert document["keys"]
    for key in document["keys"]:
        assert not PRIVATE_MEMBERS & set(key), key
        assert key["kid"] and key["alg"] in ("RS256", "ES256") and key["use"] == "sig"

    metadata = (await registry.http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == registry.base_url
    assert metadata["token_endpoint"] == f"{registry.base_url}{V5}"
    assert metadata["jwks_uri"] == f"{registry.base_url}/.well-known/jwks.json"
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]


async def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    registry: Registry,
) -> None:
    created = await registry.create_client(organisation="M-EXEMPLUM", scopes=[DIMONA_CONSULT_SCOPE])
    old = (await registry.token(created["client_id"], created["client_secret"])).json()
    old_kid = _kid(old["access_token"])
    old_operator = dict(registry.operator)

    rotated = await registry.http.post(
        "/registry/v1/signing-keys/rotate", json={"alg": "ES256"}, headers=registry.operator
    )
    assert rotated.status_code == 201, rotated.text
    new_kid = rotated.json()["kid"]
    assert new_kid != old_kid and rotated.json()["signing"] is True

    new = (await registry.token(created["client_id"], created["client_secret"])).json()
    assert _kid(new["access_token"]) == new_kid
    assert {k["kid"] for k in (await jwks_of(registry))["keys"]} == {old_kid, new_kid}
    for token in (old["access_token"], new["access_token"]):
        assert (await principal_of(registry, token)).client_id == created["client_id"]
    # The registry's own validator (its admin API) follows the rotation too.
    keys = await registry.http.get("/registry/v1/signing-keys", headers=old_operator)
    assert [k["kid"] for k in keys.json()] == [new_kid, old_kid]

    newest_refused = await registry.http.post(
        f"/registry/v1/signing-keys/{new_kid}/retire", headers=registry.operator
    )
    assert newest_refused.status_code == 409
    retired = await registry.http.post(
        f"/registry/v1/signing-keys/{old_kid}/retire", headers=registry.operator
    )
    assert retired.status_code == 200
    assert {k["kid"] for k in (await jwks_of(registry))["keys"]} == {new_kid}


async def test_demo_clients_are_idempotent_and_their_secrets_reproducible(
    registry: Registry,
) -> None:
    organisations = ["M-EXEMPLUM", "S-EXEMPLUM-BXL", "123456789"]
    async with registry.runtime.db.transaction() as conn:
        first = await clients.seed_demo_clients(
            conn, organisations, seed=SEED, senders={"M-EXEMPLUM": "54321"}
        )
    async with registry.runtime.db.transaction() as conn:
        second = await clients.seed_demo_clients(
            conn, organisations, seed=SEED, senders={"M-EXEMPLUM": "54321"}
        )
    assert [c["client_id"] for c in first] == [
        "self_service_expeditor_54321",
        "self_service_expeditor_s_exemplum_bxl",
        "self_service_expeditor_123456789",
    ]
    assert all(c["created"] for c in first) and not any(c["created"] for c in second)
    assert [c["client_secret"] for c in first] == [c["client_secret"] for c in second]
    assert first[0]["client_secret"] == clients.demo_client_secret(first[0]["client_id"], SEED)

    response = await registry.token(first[0]["client_id"], first[0]["client_secret"])
    assert response.status_code == 200
    principal = await principal_of(registry, response.json()["access_token"])
    assert principal.organisation == "M-EXEMPLUM"
    assert principal.scopes == set(clients.DECLARANT_SCOPES)


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
