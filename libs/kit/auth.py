"""Who is calling: OAuth2 access tokens checked locally on every request.

The registry issues access tokens (signed JWTs, RFC 9068 profile) at its token endpoint and
publishes its public signing keys as a JWKS. Every service validates a bearer token here,
in-process: signature (by ``kid``), ``exp``/``nbf``/``iat`` with leeway, ``iss`` and ``aud``.
There is no network call per request: the JWKS is fetched once and cached, refreshed after
``auth_jwks_cache_seconds`` or when a token names a key the cache does not hold (at most once
per ``auth_jwks_min_refresh_seconds``, so forged ``kid`` values cannot flood the registry).
Tokens already validated are remembered (bounded LRU) until they expire, because a client
reuses its token for its whole lifetime and a signature check costs far more than a lookup.

Token lifetimes are technical, not business time: they are checked against the wall clock,
never against the simulated business clock (``socsec clock set`` must not expire every token
or make old ones valid again).

FastAPI integration::

    @router.get("/things")
    async def things(principal: Principal = Depends(require_scopes(DIMONA_CONSULT_SCOPE))): ...

:func:`authenticate` answers 401 (missing, malformed, expired, wrong audience or issuer, bad
signature) and :func:`require_scopes` 403 ``insufficient_scope``, both with a
``WWW-Authenticate: Bearer`` header (RFC 6750 §3) and a problem body
``{"title", "status", "detail"}`` (:class:`AuthError`, rendered by
:func:`auth_error_response`, which ``socsec.kit.http.create_http_app`` installs).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jwk, jws
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwt import JWTClaimsRegistry

if TYPE_CHECKING:
    from socsec.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

# -- Scopes -------------------------------------------------------------------------------

DIMONA_DECLARANT_SCOPE = "scope:dimona:declaration:declarant"
DIMONA_CONSULT_SCOPE = "scope:dimona:declaration:consult"
DMFA_DECLARANT_SCOPE = "scope:dmfa:declaration:declarant"
DMFA_CONSULT_SCOPE = "scope:dmfa:declaration:consult"
BATCH_SENDER_SCOPE = "scope:batch:sender"
OPERATOR_SCOPE = "scope:socsec:operator"
INSPECTION_SCOPE = "scope:socsec:inspection"

#: Every scope the registry can grant; a client's allowed scopes are a subset.
ALL_SCOPES: frozenset[str] = frozenset(
    {
        DIMONA_DECLARANT_SCOPE,
        DIMONA_CONSULT_SCOPE,
        DMFA_DECLARANT_SCOPE,
        DMFA_CONSULT_SCOPE,
        BATCH_SENDER_SCOPE,
        OPERATOR_SCOPE,
        INSPECTION_SCOPE,
    }
)

#: How a client wants the worker's gender coded in Dimona answers (dimona.md §3.3).
GENDER_ENCODINGS = ("glossary", "zero_based")

#: Signature algorithms of access tokens and client assertions. Asymmetric only: a shared
#: secret (HS256) would let every validating service mint tokens.
SIGNING_ALGORITHMS = ("RS256", "ES256")

#: The ``typ`` header of access tokens (RFC 9068 §2.1), which keeps a client assertion or an
#: ID token from ever being accepted as an access token.
ACCESS_TOKEN_TYPE = "at+jwt"

_JWS_REGISTRY = jws.JWSRegistry(algorithms=list(SIGNING_ALGORITHMS))


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: an API client acting for one organisation.

    ``organisation`` is the client's holder: a mandatary id (``M-EXEMPLUM``), a seat or
    branch id, or an employer's 9-digit NSSO number. What it may do for which employer is
    the mandate check's business (``socsec.kit.authz``), not the token's.
    """

    client_id: str
    organisation: str
    scopes: frozenset[str]
    gender_encoding: str = "glossary"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class InvalidToken(Exception):
    """The token cannot be trusted; ``reason`` is safe to return to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SigningKeysUnavailable(Exception):
    """No signing keys could be obtained: the fault is ours (503), not the caller's."""


# -- Where the signing keys come from --------------------------------------------------------


class JwksSource(Protocol):
    """Anything that can produce the current JWKS document ``{"keys": [...]}``."""

    async def fetch(self) -> Mapping[str, Any]: ...


class StaticJwks:
    """A fixed key set (tests, benchmarks, a service configured with pinned keys)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self.jwks = jwks

    async def fetch(self) -> Mapping[str, Any]:
        return self.jwks


class HttpJwks:
    """The registry's ``/.well-known/jwks.json`` over HTTP.

    A new client per fetch: fetches are minutes apart, and nothing is left to close.
    """

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    async def fetch(self) -> Mapping[str, Any]:
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            response = await client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()


class AppJwks:
    """The JWKS that an ASGI app publishes itself, read in-process.

    The registry validates the tokens it issued (for its own admin API) this way: the same
    document, refresh and rotation path as every other service, without depending on the
    registry being reachable at its public address from inside itself.
    """

    def __init__(self, app: Any, path: str = "/.well-known/jwks.json") -> None:
        self.app = app
        self.path = path

    async def fetch(self) -> Mapping[str, Any]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://self") as client:
            response = await client.get(self.path)
            response.raise_for_status()
            return response.json()


def import_public_keys(jwks: Mapping[str, Any]) -> dict[str, jwk.Key]:
    """The usable signature keys of a JWKS by ``kid``; private members are dropped.

    Keys of another type or use are skipped rather than failing the set (RFC 7517 §5), so a
    publisher can add a key kind this version does not understand.
    """
    keys: dict[str, jwk.Key] = {}
    for data in jwks.get("keys", []):
        if not isinstance(data, dict) or data.get("kty") not in ("RSA", "EC"):
            continue
        if data.get("use", "sig") != "sig":
            continue
        try:
            key = jwk.import_key(data)
            public = jwk.import_key(key.as_dict(private=False))
        except (JoseError, ValueError, TypeError):
            log.warning("ignoring an unreadable key in the JWKS (kid %r)", data.get("kid"))
            continue
        public.ensure_kid()
        keys[str(public.kid)] = public
    return keys


# -- Validation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Remembered:
    principal: Principal
    exp: float
    kid: str


class TokenValidator:
    """Validates access tokens against a cached JWKS; one instance per service process.

    ``jwks_source`` is a :class:`JwksSource`, or a JWKS dict for a static key set. ``now``
    returns wall-clock seconds (injectable for tests).
    """

    def __init__(
        self,
        jwks_source: JwksSource | Mapping[str, Any],
        issuer: str,
        audience: str,
        leeway: float = 30,
        *,
        cache_seconds: float = 300.0,
        min_refresh_seconds: float = 10.0,
        token_cache_size: int = 10_000,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.source: JwksSource = (
            StaticJwks(jwks_source) if isinstance(jwks_source, Mapping) else jwks_source
        )
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.token_cache_size = token_cache_size
        self._now = now
        self._keys: dict[str, jwk.Key] = {}
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._attempted_at: float | None = None  # monotonic time of the last attempt
        self._refresh_lock = asyncio.Lock()
        self._remembered: OrderedDict[bytes, _Remembered] = OrderedDict()
        self._claims = JWTClaimsRegistry(
            now=lambda: int(self._now()),
            leeway=int(leeway),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        self.fetches = 0  # how many times the JWKS was fetched (observability, tests)

    @classmethod
    def from_settings(cls, settings: ServiceSettings, *, app: Any = None) -> TokenValidator:
        """The validator a service uses: the registry's JWKS over HTTP, or its own app's."""
        source: JwksSource
        if settings.auth_jwks_url:
            source = HttpJwks(settings.auth_jwks_url)
        elif app is not None:
            source = AppJwks(app)
        else:
            raise ValueError("auth_jwks_url is empty and no app publishes a JWKS")
        return cls(
            source,
            settings.auth_issuer,
            settings.auth_audience,
            settings.auth_leeway_seconds,
            cache_seconds=settings.auth_jwks_cache_seconds,
            min_refresh_seconds=settings.auth_jwks_min_refresh_seconds,
            token_cache_size=settings.auth_token_cache_size,
        )

    @property
    def key_ids(self) -> frozenset[str]:
        """The ``kid`` of every key currently trusted."""
        return frozenset(self._keys)

    async def validate(self, token: str) -> Principal:
        """The principal a bearer token stands for, or :class:`InvalidToken`."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise InvalidToken("the token is not a compact JWT")
        # Refresh first: a refresh that withdraws a key also forgets the tokens it signed.
        if self._keys_are_stale():
            await self._refresh(reason="cache expired" if self._fetched_at else "first use")
        elif not self._keys and self._refresh_lock.locked():
            # The first fetch is under way for another request: wait for it, do not refuse.
            async with self._refresh_lock:
                pass
        digest = hashlib.sha256(token.encode()).digest()
        remembered = self._remembered.get(digest)
        if remembered is not None:
            if remembered.exp > self._now() - self.leeway:
                self._remembered.move_to_end(digest)
                return remembered.principal
            del self._remembered[digest]
            raise InvalidToken("the token has expired")
        if not self._keys:
            raise SigningKeysUnavailable("no token-signing key could be fetched yet")

        obj = self._parse(token)
        kid = obj.headers().get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token has no key id (kid)")
        key = self._keys.get(kid)
        if key is None and self._may_refresh():
            await self._refresh(reason=f"unknown kid {kid!r}")
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("the token is signed by an unknown key")

        principal, exp = self._verify(obj, key)
        if self.token_cache_size > 0:
            self._remembered[digest] = _Remembered(principal, exp, kid)
            if len(self._remembered) > self.token_cache_size:
                self._remembered.popitem(last=False)
        return principal

    def _parse(self, token: str) -> jws.CompactSignature:
        try:
            obj = jws.extract_compact(token.encode(), registry=_JWS_REGISTRY)
        except (JoseError, ValueError, TypeError):
            raise InvalidToken("the token is not a valid JWS") from None
        header = obj.headers()
        if header.get("alg") not in SIGNING_ALGORITHMS:
            accepted = ", ".join(SIGNING_ALGORITHMS)
            raise InvalidToken(f"the token's algorithm is not one of {accepted}")
        typ = str(header.get("typ", "")).lower().removeprefix("application/")
        if typ != ACCESS_TOKEN_TYPE:
            raise InvalidToken(f"the token is not an access token (typ {ACCESS_TOKEN_TYPE})")
        return obj

    def _verify(self, obj: jws.CompactSignature, key: jwk.Key) -> tuple[Principal, float]:
        try:
            valid = jws.validate_compact(obj, key, registry=_JWS_REGISTRY)
        except JoseError:
            valid = False
        if not valid:
            raise InvalidToken("the token's signature does not verify")
        try:
            claims = json.loads(obj.payload)
        except ValueError:
            raise InvalidToken("the token's claims are not JSON") from None
        if not isinstance(claims, dict):
            raise InvalidToken("the token's claims are not a JSON object")
        try:
            self._claims.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken("the token has expired") from None
        except MissingClaimError as exc:
            raise InvalidToken(f"the token lacks the claim {exc.claim}") from None
        except InvalidClaimError as exc:
            reason = _CLAIM_REASONS.get(exc.claim, f"invalid claim {exc.claim}")
            raise InvalidToken(reason) from None
        except JoseError:
            raise InvalidToken("the token's claims are invalid") from None
        return _principal(claims), float(claims["exp"])

    def _keys_are_stale(self) -> bool:
        now = time.monotonic()
        if self._fetched_at is not None and now - self._fetched_at < self.cache_seconds:
            return False
        # A failed attempt is not retried at once: an unreachable registry must not cost
        # every request a fetch timeout.
        failed = self._attempted_at is not None and self._attempted_at != self._fetched_at
        return not failed or self._may_refresh()

    def _may_refresh(self) -> bool:
        return (
            self._attempted_at is None
            or time.monotonic() - self._attempted_at >= self.min_refresh_seconds
        )

    async def _refresh(self, *, reason: str) -> None:
        """Fetch the JWKS once for all the requests waiting on it; keep old keys on failure."""
        attempted_before = self._attempted_at
        async with self._refresh_lock:
            if self._attempted_at != attempted_before:
                return  # another request refreshed while this one waited
            self._attempted_at = time.monotonic()
            try:
                keys = import_public_keys(await self.source.fetch())
                if not keys:
                    raise ValueError("the JWKS holds no usable signature key")
            except Exception as exc:
                # Stale keys beat no service: keep validating with what we have.
                log.warning("could not fetch the token-signing keys (%s): %s", reason, exc)
                return
            self.fetches += 1
            removed = set(self._keys) - set(keys)
            if removed:
                # A withdrawn key must stop vouching for the tokens it signed.
                for digest in [d for d, r in self._remembered.items() if r.kid in removed]:
                    del self._remembered[digest]
            self._keys = keys
            self._fetched_at = self._attempted_at
            log.debug("token-signing keys refreshed (%s): %s", reason, sorted(keys))


_CLAIM_REASONS = {
    "aud": "the token is not meant for this audience (aud)",
    "iss": "the token was not issued by the expected issuer (iss)",
    "nbf": "the token is not valid yet (nbf)",
    "iat": "the token was issued in the future (iat)",
    "exp": "the token's expiry (exp) is not a date",
    "sub": "the token's subject (sub) is invalid",
}


def _principal(claims: Mapping[str, Any]) -> Principal:
    organisation = claims.get("org")
    if not isinstance(organisation, str) or not organisation:
        raise InvalidToken("the token lacks the claim org")
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise InvalidToken("the token's scope claim is not a string")
    client_id = claims.get("client_id", claims["sub"])
    if not isinstance(client_id, str) or not client_id:
        raise InvalidToken("the token's client_id claim is invalid")
    gender_encoding = claims.get("gender_encoding", "glossary")
    if gender_encoding not in GENDER_ENCODINGS:
        raise InvalidToken("the token's gender_encoding claim is invalid")
    return Principal(client_id, organisation, frozenset(scope.split()), gender_encoding)


# -- FastAPI -----------------------------------------------------------------------------


class AuthError(HTTPException):
    """A refused request: 401 (who are you?), 403 (not allowed) or 503 (keys unavailable).

    A subclass of ``HTTPException`` so that an app without :func:`auth_error_response`
    installed still answers with the right status and headers.
    """

    def __init__(
        self, status_code: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.title = title


async def auth_error_response(_request: Request, exc: Exception) -> JSONResponse:
    """Exception handler rendering :class:`AuthError` in the project's problem shape."""
    assert isinstance(exc, AuthError)
    return JSONResponse(
        {"title": exc.title, "status": exc.status_code, "detail": exc.detail},
        status_code=exc.status_code,
        headers=exc.headers,
        media_type="application/problem+json",
    )


_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="An access token from the registry's token endpoint "
    "(POST /REST/oauth/v5/token, client credentials).",
)

_UNSAFE = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def _quoted(text: str) -> str:
    """A value allowed inside a quoted ``WWW-Authenticate`` parameter (RFC 6750 §3)."""
    return _UNSAFE.sub("'", text.replace('"', "'"))


def validator_for(app: Any) -> TokenValidator:
    """The app's validator: ``app.state.token_validator``, built from settings on first use.

    Built lazily so that every service gets one without wiring, and so a test can put its
    own (static keys) on ``app.state.token_validator`` before the first request.
    """
    validator = getattr(app.state, "token_validator", None)
    if validator is None:
        validator = TokenValidator.from_settings(app.state.runtime.settings, app=app)
        app.state.token_validator = validator
    return validator


async def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    """FastAPI dependency: the caller's :class:`Principal` from ``Authorization: Bearer``."""
    if credentials is None:
        # RFC 6750 §3.1: a request without credentials gets no error code, only the scheme.
        raise AuthError(
            401,
            "Unauthorized",
            "a bearer access token is required (Authorization: Bearer <token>)",
            {"WWW-Authenticate": 'Bearer realm="socsec"'},
        )
    try:
        principal = await validator_for(request.app).validate(credentials.credentials)
    except InvalidToken as exc:
        raise AuthError(
            401,
            "Unauthorized",
            exc.reason,
            {
                "WWW-Authenticate": 'Bearer realm="socsec", error="invalid_token", '
                f'error_description="{_quoted(exc.reason)}"'
            },
        ) from None
    except SigningKeysUnavailable:
        raise AuthError(
            503,
            "Service Unavailable",
            "the token-signing keys cannot be obtained from the registry; retry later",
            {"Retry-After": "5"},
        ) from None
    request.state.principal = principal
    return principal


def require_scopes(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates and demands *every* scope given (403 otherwise)."""
    unknown = set(scopes) - ALL_SCOPES
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")

    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        missing = [scope for scope in scopes if scope not in principal.scopes]
        if missing:
            needed = " ".join(missing)
            raise AuthError(
                403,
                "Forbidden",
                f"the token lacks the scope {needed}",
                {
                    "WWW-Authenticate": 'Bearer realm="socsec", error="insufficient_scope", '
                    f'error_description="missing scope {needed}", scope="{" ".join(scopes)}"'
                },
            )
        return principal

    dependency.__name__ = f"require_{'_'.join(s.rsplit(':', 1)[-1] for s in scopes) or 'token'}"
    return dependency


def require_any_scope(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates and demands *at least one* of ``scopes`` (403
    otherwise): for routes that NSSO users and secretariats reach with different scopes."""
    unknown = set(scopes) - ALL_SCOPES
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")

    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        if not any(principal.has_scope(s) for s in scopes):
            raise AuthError(
                403,
                "Forbidden",
                f"the token lacks one of the scopes {' '.join(scopes)}",
                {"WWW-Authenticate": 'Bearer realm="socsec", error="insufficient_scope"'},
            )
        return principal

    dependency.__name__ = f"require_any_{'_'.join(s.rsplit(':', 1)[-1] for s in scopes)}"
    return dependency
