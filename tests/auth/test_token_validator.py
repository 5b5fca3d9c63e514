"""TokenValidator and the FastAPI dependencies, on static keys (no I/O)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from joserfc import jwk, jwt

from socsec.kit.auth import (
    DIMONA_CONSULT_SCOPE,
    DIMONA_DECLARANT_SCOPE,
    OPERATOR_SCOPE,
    AuthError,
    InvalidToken,
    Principal,
    SigningKeysUnavailable,
    TokenValidator,
    auth_error_response,
    authenticate,
    require_scopes,
)

ISSUER = "http://registry.test"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class CountingJwks:
    """A JWKS source that counts its fetches and can fail."""

    def __init__(self, *keys: jwk.Key) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.failing = False

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.failing:
            raise httpx.ConnectError("registry down")
        return {"keys": [key.as_dict(private=False) for key in self.keys]}


def signing_key(kind: str = "EC") -> jwk.Key:
    if kind == "RSA":
        return jwk.generate_key("RSA", 2048, parameters={"alg": "RS256"}, auto_kid=True)
    return jwk.generate_key("EC", "P-256", parameters={"alg": "ES256"}, auto_kid=True)


def mint(key: jwk.Key, *, header: dict | None = None, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "client-1",
        "aud": "socsec",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "client_id": "client-1",
        "scope": f"{DIMONA_DECLARANT_SCOPE} {DIMONA_CONSULT_SCOPE}",
        "org": "M-EXEMPLUM",
        "gender_encoding": "zero_based",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    alg = "RS256" if key.key_type == "RSA" else "ES256"
    head = {"alg": alg, "kid": key.kid, "typ": "at+jwt", **(header or {})}
    return jwt.encode(head, claims, key, algorithms=[head["alg"]])


def validator(*keys: jwk.Key, **options: Any) -> TokenValidator:
    jwks = {"keys": [key.as_dict(private=False) for key in keys]}
    return TokenValidator(jwks, ISSUER, "socsec", 30, **options)


@pytest.mark.parametrize("kind", ["EC", "RSA"])
async def test_a_valid_token_gives_its_principal(kind) -> None:
    key = signing_key(kind)
    principal = await validator(key).validate(mint(key))
    assert principal == Principal(
        client_id="client-1",
        organisation="M-EXEMPLUM",
        scopes=frozenset({DIMONA_DECLARANT_SCOPE, DIMONA_CONSULT_SCOPE}),
        gender_encoding="zero_based",
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "another-api"}, "audience"),
        ({"iss": "http://evil.test"}, "issuer"),
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not valid yet"),
        ({"iat": int(time.time()) + 600}, "future"),
        ({"org": None}, "org"),
        ({"exp": None}, "exp"),
        ({"gender_encoding": "binary"}, "gender_encoding"),
    ],
)
async def test_claims_are_checked(overrides, reason) -> None:
    key = signing_key()
    with pytest.raises(InvalidToken, match=reason):
        await validator(key).validate(mint(key, **overrides))


async def test_a_token_signed_by_another_key_is_refused() -> None:
    key, forger = signing_key(), signing_key()
    with pytest.raises(InvalidToken, match="signature"):
        await validator(key).validate(mint(forger, header={"kid": key.kid}))
    with pytest.raises(InvalidToken, match="unknown key"):
        await validator(key).validate(mint(forger))


async def test_only_asymmetric_access_tokens_are_accepted() -> None:
    key = signing_key()
    secret = jwk.generate_key("oct", 256, auto_kid=True)
    hs256 = jwt.encode({"alg": "HS256", "kid": key.kid, "typ": "at+jwt"}, {}, secret)
    with pytest.raises(InvalidToken, match="algorithm"):
        await validator(key).validate(hs256)
    with pytest.raises(InvalidToken, match="access token"):
        await validator(key).validate(mint(key, header={"typ": "JWT"}))
    for garbage in ("", "abc", "a.b.c", "a.b"):
        with pytest.raises(InvalidToken):
            await validator(key).validate(garbage)


async def test_leeway_and_the_token_cache_honour_expiry() -> None:
    key, clock = signing_key(), Clock()
    checker = validator(key, now=clock)
    token = mint(key, exp=int(clock.now) + 10)
    await checker.validate(token)
    clock.now += 35  # 25 s past exp, within the 30 s leeway: still valid, from the cache
    assert (await checker.validate(token)).client_id == "client-1"
    clock.now += 10
    with pytest.raises(InvalidToken, match="expired"):
        await checker.validate(token)
    with pytest.raises(InvalidToken, match="expired"):
        await checker.validate(token)  # and again, now without the cache


async def test_unknown_kid_refreshes_the_keys_at_most_once_per_interval() -> None:
    old, new = signing_key(), signing_key()
    source = CountingJwks(old)
    checker = TokenValidator(source, ISSUER, "socsec", min_refresh_seconds=3600)
    await checker.validate(mint(old))
    assert source.fetches == 1

    source.keys.append(new)  # rotation at the registry, within the rate-limit interval
    with pytest.raises(InvalidToken, match="unknown key"):
        await checker.validate(mint(new))
    assert source.fetches == 1

    source = CountingJwks(old)
    eager = TokenValidator(source, ISSUER, "socsec", min_refresh_seconds=0)
    await eager.validate(mint(old))
    source.keys.append(new)
    assert (await eager.validate(mint(new))).client_id == "client-1"
    assert (await eager.validate(mint(old))).client_id == "client-1"
    assert source.fetches == 2
    assert eager.key_ids == {old.kid, new.kid}


async def test_a_withdrawn_key_stops_vouching_for_cached_tokens() -> None:
    old, new = signing_key(), signing_key()
    source = CountingJwks(old, new)
    checker = TokenValidator(source, ISSUER, "socsec", cache_seconds=0.01)
    token = mint(old)
    await checker.validate(token)
    source.keys = [new]
    time.sleep(0.02)
    with pytest.raises(InvalidToken, match="unknown key"):
        await checker.validate(token)


class SlowJwks(CountingJwks):
    """A registry that takes a while to answer the first JWKS request."""

    async def fetch(self) -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return await super().fetch()


async def test_requests_arriving_during_the_first_fetch_wait_for_it() -> None:
    key = signing_key()
    source = SlowJwks(key)
    checker = TokenValidator(source, ISSUER, "socsec")
    # A burst of requests right after start: all of them are served by the one fetch.
    principals = await asyncio.gather(*(checker.validate(mint(key)) for _ in range(8)))
    assert {p.organisation for p in principals} == {"M-EXEMPLUM"}
    assert source.fetches == 1


async def test_keys_unavailable_is_not_the_callers_fault() -> None:
    key = signing_key()
    source = CountingJwks(key)
    source.failing = True
    checker = TokenValidator(source, ISSUER, "socsec", min_refresh_seconds=0)
    with pytest.raises(SigningKeysUnavailable):
        await checker.validate(mint(key))

    source.failing = False
    stale = TokenValidator(source, ISSUER, "socsec", cache_seconds=0.01, min_refresh_seconds=0)
    await stale.validate(mint(key))
    source.failing = True
    time.sleep(0.02)
    # The registry is down: the keys already known keep working.
    assert (await stale.validate(mint(key))).organisation == "M-EXEMPLUM"


def test_require_scopes_refuses_a_scope_nobody_grants() -> None:
    with pytest.raises(ValueError, match="unknown scopes"):
        require_scopes("scope:made:up")


async def test_dependencies_answer_401_and_403_in_problem_shape() -> None:
    key = signing_key()
    app = FastAPI()
    app.add_exception_handler(AuthError, auth_error_response)
    app.state.token_validator = validator(key)

    @app.get("/whoami")
    async def whoami(principal: Principal = Depends(authenticate)) -> dict:
        return {"client_id": principal.client_id}

    operator = require_scopes(OPERATOR_SCOPE)

    @app.get("/operate")
    async def operate(principal: Principal = Depends(operator)) -> dict:
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        ok = await http.get("/whoami", headers={"Authorization": f"Bearer {mint(key)}"})
        assert ok.json() == {"client_id": "client-1"}

        missing = await http.get("/whoami")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="socsec"'
        assert missing.json()["title"] == "Unauthorized"

        expired = mint(key, exp=int(time.time()) - 3600)
        refused = await http.get("/whoami", headers={"Authorization": f"Bearer {expired}"})
        assert refused.status_code == 401
        assert refused.json() == {
            "title": "Unauthorized",
            "status": 401,
            "detail": "the token has expired",
        }
        assert refused.headers["www-authenticate"] == (
            'Bearer realm="socsec", error="invalid_token", '
            'error_description="the token has expired"'
        )

        forbidden = await http.get("/operate", headers={"Authorization": f"Bearer {mint(key)}"})
        assert forbidden.status_code == 403
        assert forbidden.json()["detail"] == f"the token lacks the scope {OPERATOR_SCOPE}"
        assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
