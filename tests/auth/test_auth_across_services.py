"""A token issued by the registry, checked by another service over real HTTP.

The registry runs under uvicorn on a free port; another service's app (in-process, with a
small protected router added) validates with the settings every service has
(``auth_jwks_url``, ``auth_issuer``), so its JWKS fetches are real HTTP requests to the
registry, and the 401/403 answers come from the kit's handler that ``create_http_app``
installs. The other service is ``reports``, whose own routes do not matter here, so the test
depends on the kit alone.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from auth.conftest import serve_registry
from fastapi import APIRouter, Depends, FastAPI
from joserfc import jwk, jws, jwt

from socsec.catalog import SERVICES
from socsec.kit.auth import (
    DIMONA_CONSULT_SCOPE,
    DIMONA_DECLARANT_SCOPE,
    Principal,
    require_scopes,
    validator_for,
)
from socsec.registry import keys, tokens

OTHER_SERVICE = "reports"
CONSULT = Depends(require_scopes(DIMONA_CONSULT_SCOPE))
DECLARE = Depends(require_scopes(DIMONA_DECLARANT_SCOPE))


def protected_router() -> APIRouter:
    router = APIRouter()

    @router.get("/test/declarations")
    async def read(principal: Principal = CONSULT) -> dict:
        return {"client_id": principal.client_id, "organisation": principal.organisation}

    @router.post("/test/declarations")
    async def write(principal: Principal = DECLARE) -> dict:
        return {"declared_by": principal.client_id}

    return router


@dataclass
class Other:
    app: FastAPI
    http: httpx.AsyncClient


@asynccontextmanager
async def other_service(env, registry_url: str) -> AsyncIterator[Other]:
    settings = env.settings(
        OTHER_SERVICE,
        auth_issuer=registry_url,
        auth_jwks_url=f"{registry_url}/.well-known/jwks.json",
        auth_jwks_min_refresh_seconds=0,
    )
    app = SERVICES[OTHER_SERVICE].create_app(settings)
    app.include_router(protected_router())
    await app.state.runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
            yield Other(app, http)
    finally:
        await app.state.runtime.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_registry_tokens_are_checked_by_another_service(env) -> None:
    async with serve_registry(env) as registry, other_service(env, registry.base_url) as other:
        created = await registry.create_client(
            client_id="self_service_expeditor_54321",
            organisation="M-EXEMPLUM",
            scopes=[DIMONA_CONSULT_SCOPE],
        )
        issued = await registry.token(created["client_id"], created["client_secret"])
        access_token = issued.json()["access_token"]

        ok = await other.http.get("/test/declarations", headers=bearer(access_token))
        assert ok.status_code == 200, ok.text
        assert ok.json() == {
            "client_id": "self_service_expeditor_54321",
            "organisation": "M-EXEMPLUM",
        }

        forbidden = await other.http.post("/test/declarations", headers=bearer(access_token))
        assert forbidden.status_code == 403
        assert forbidden.json() == {
            "title": "Forbidden",
            "status": 403,
            "detail": f"the token lacks the scope {DIMONA_DECLARANT_SCOPE}",
        }

        # Tokens minted with the registry's real key, but wrong in one respect each.
        async with registry.runtime.db.transaction() as conn:
            key = await keys.key_ring_for(registry.app).signing_key(conn)
        now = time.time()

        def minted(**changes) -> str:
            values = {
                "issuer": registry.base_url,
                "audience": "socsec",
                "client_id": "self_service_expeditor_54321",
                "organisation": "M-EXEMPLUM",
                "scopes": frozenset({DIMONA_CONSULT_SCOPE}),
                "gender_encoding": "glossary",
                "lifetime": 600,
                "now": now,
            }
            values.update(changes)
            return tokens.mint_access_token(key, **values)[0]

        assert (await other.http.get("/test/declarations", headers=bearer(minted()))).is_success
        forger = jwk.generate_key("RSA", 2048, auto_kid=True)
        forged = jwt.encode(
            {"alg": "RS256", "kid": key.kid, "typ": "at+jwt"},
            jwt.decode(minted(), key.private).claims,
            forger,
            algorithms=["RS256"],
        )
        cases = {
            "expired": (minted(now=now - 3600), "the token has expired"),
            "wrong audience": (minted(audience="elsewhere"), "audience"),
            "wrong issuer": (minted(issuer="http://evil.test"), "issuer"),
            "wrong signature": (forged, "signature does not verify"),
            "not a token": ("not-a-token", "not a compact JWT"),
        }
        for case, (token, reason) in cases.items():
            refused = await other.http.get("/test/declarations", headers=bearer(token))
            assert refused.status_code == 401, case
            assert refused.json()["title"] == "Unauthorized", case
            assert reason in refused.json()["detail"], case
            challenge = refused.headers["www-authenticate"]
            assert challenge.startswith('Bearer realm="socsec", error="invalid_token"'), case

        missing = await other.http.get("/test/declarations")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="socsec"'


async def test_rotation_seen_by_another_service(env) -> None:
    async with serve_registry(env) as registry, other_service(env, registry.base_url) as other:
        created = await registry.create_client(
            organisation="M-EXEMPLUM", scopes=[DIMONA_CONSULT_SCOPE]
        )
        credentials = (created["client_id"], created["client_secret"])
        old = (await registry.token(*credentials)).json()["access_token"]
        assert (await other.http.get("/test/declarations", headers=bearer(old))).is_success
        validator = validator_for(other.app)
        assert validator.fetches == 1

        rotated = await registry.http.post(
            "/registry/v1/signing-keys/rotate", headers=registry.operator
        )
        assert rotated.status_code == 201
        new = (await registry.token(*credentials)).json()["access_token"]
        assert jws.extract_compact(new.encode()).headers()["kid"] == rotated.json()["kid"]

        for token in (new, old, new):
            response = await other.http.get("/test/declarations", headers=bearer(token))
            assert response.status_code == 200, response.text
        # One fetch at first use, one for the new kid; no fetch per request.
        assert validator.fetches == 2
        assert rotated.json()["kid"] in validator.key_ids
