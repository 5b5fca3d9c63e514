"""The OAuth2 token endpoint of the REST channel, its JWKS and its metadata.

``POST /REST/oauth/v5/token`` (alias ``/REST/oauth/v3/token``, as the real NSSO publishes
both; ``shared/domain/dimona.md`` §3.1) takes ``grant_type=client_credentials`` and
authenticates the client by one of:

- ``client_secret_basic``: HTTP Basic with the client id and secret (RFC 6749 §2.3.1);
- ``private_key_jwt``: ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:
  jwt-bearer`` and ``client_assertion``, a JWT signed (RS256/ES256) by one of the client's
  registered keys with ``iss = sub = client_id``, ``aud`` = the token URL (either alias, or
  the issuer), a ``jti`` never seen before, ``iat``, and ``exp`` at most
  ``assertion_max_lifetime_seconds`` ahead (RFC 7523 §3).

The answer is an access token (a JWT, RFC 9068 profile) signed with the registry's newest
key (``keys.py``) carrying the client's organisation, scopes and gender encoding, which every
service checks locally with ``socsec.kit.auth``. Refusals follow RFC 6749 §5.2: a JSON body
``{"error", "error_description"}``, 401 ``invalid_client`` with ``WWW-Authenticate`` when the
client cannot be authenticated, 400 otherwise.

Lifetimes are wall-clock time, not business time: see ``socsec.kit.auth``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from joserfc import jwk, jws, jwt
from joserfc.errors import JoseError
from prometheus_client import Counter

from socsec.kit.auth import ACCESS_TOKEN_TYPE, ALL_SCOPES, SIGNING_ALGORITHMS
from socsec.registry import clients, keys
from socsec.registry.clients import ApiClient
from socsec.registry.keys import SigningKey

log = logging.getLogger(__name__)

TOKEN_PATHS = ("/REST/oauth/v5/token", "/REST/oauth/v3/token")
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRANT_TYPE = "client_credentials"

_MAX_FORM_BYTES = 64 * 1024
_JWS_REGISTRY = jws.JWSRegistry(algorithms=list(SIGNING_ALGORITHMS))
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


# -- Values and rules ------------------------------------------------------------------------


class OAuthError(Exception):
    """A refusal of the token endpoint in RFC 6749 §5.2 terms."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="socsec", charset="UTF-8"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, 401)


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


@dataclass(frozen=True)
class BasicCredentials:
    client_id: str
    secret: str = ""

    def __repr__(self) -> str:  # keep the secret out of any log or traceback
        return f"BasicCredentials(client_id={self.client_id!r})"


@dataclass(frozen=True)
class AssertionCredentials:
    assertion: str

    def __repr__(self) -> str:
        return "AssertionCredentials(...)"


@dataclass(frozen=True)
class TokenRequest:
    """A token request as received: which grant, which scopes, which client credentials."""

    grant_type: str
    scope: str | None
    credentials: BasicCredentials | AssertionCredentials
    client_id: str | None = None  # the optional ``client_id`` form field

    @property
    def method(self) -> str:
        if isinstance(self.credentials, BasicCredentials):
            return "client_secret_basic"
        return "private_key_jwt"


def parse_token_request(
    body: bytes, content_type: str | None, authorization: str | None
) -> TokenRequest:
    """The token request from the raw HTTP parts (RFC 6749 §3.2, §4.4.2; RFC 7521 §4.2)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise invalid_request("the body must be application/x-www-form-urlencoded")
    if len(body) > _MAX_FORM_BYTES:
        raise invalid_request("the request body is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise invalid_request("the body is not a valid form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise invalid_request(f"the parameter {name} is repeated")
        form[name] = value

    grant_type = form.get("grant_type")
    if not grant_type:
        raise invalid_request("grant_type is required")
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", f"only grant_type={GRANT_TYPE} is supported")

    basic = _basic_credentials(authorization)
    assertion_type = form.get("client_assertion_type")
    assertion = form.get("client_assertion")
    if "client_secret" in form:
        raise invalid_request(
            "client_secret_post is not supported: use HTTP Basic or a client assertion"
        )
    if (assertion_type is None) != (assertion is None):
        raise invalid_request("client_assertion and client_assertion_type go together")
    credentials: BasicCredentials | AssertionCredentials
    if assertion is not None:
        if basic is not None:
            raise invalid_request("use one client authentication method, not two")
        if assertion_type != CLIENT_ASSERTION_TYPE:
            raise invalid_request(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}")
        if not assertion:
            raise invalid_client("the client assertion is empty")
        credentials = AssertionCredentials(assertion)
    elif basic is not None:
        credentials = basic
    else:
        raise invalid_client(
            "client authentication is required: HTTP Basic (client_secret_basic) "
            "or a signed client assertion (private_key_jwt)"
        )
    scope = form.get("scope")
    return TokenRequest(
        grant_type=grant_type,
        scope=scope if scope and scope.strip() else None,
        credentials=credentials,
        client_id=form.get("client_id") or None,
    )


def _basic_credentials(authorization: str | None) -> BasicCredentials | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("only the Basic scheme authenticates a client in a header")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("the Basic credentials are not valid base64 of id:secret") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise invalid_client("the Basic credentials are not id:secret")
    # RFC 6749 §2.3.1: both parts are form-encoded before the Basic encoding.
    return BasicCredentials(unquote_plus(client_id), unquote_plus(secret))


def granted_scopes(client: ApiClient, requested: str | None) -> frozenset[str]:
    """The requested scopes if the client holds them all, else ``invalid_scope``.

    No ``scope`` parameter means every scope the client holds (RFC 6749 §3.3 lets the server
    pick a default).
    """
    if requested is None:
        if not client.scopes:
            raise OAuthError("invalid_scope", "the client holds no scope")
        return client.scopes
    wanted = frozenset(requested.split())
    unknown = wanted - ALL_SCOPES
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope {' '.join(sorted(unknown))}")
    refused = wanted - client.scopes
    if refused:
        raise OAuthError(
            "invalid_scope", f"the client is not allowed the scope {' '.join(sorted(refused))}"
        )
    return wanted


def assertion_issuer(assertion: str) -> str:
    """The client id a client assertion claims to come from, before any verification."""
    try:
        obj = jws.extract_compact(assertion.encode(), registry=_JWS_REGISTRY)
        claims = json.loads(obj.payload)
    except (JoseError, ValueError, TypeError):
        raise invalid_client("the client assertion is not a signed JWT") from None
    if not isinstance(claims, dict):
        raise invalid_client("the client assertion's claims are not a JSON object")
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss:
        raise invalid_client("the client assertion has no iss")
    if iss != sub:
        raise invalid_client("the client assertion's iss and sub must both be the client id")
    return iss


@dataclass(frozen=True)
class VerifiedAssertion:
    jti: str
    exp: float


def verify_client_assertion(
    assertion: str,
    client: ApiClient,
    *,
    audiences: frozenset[str],
    now: float,
    leeway: float,
    max_lifetime: float,
) -> VerifiedAssertion:
    """Check a client assertion's signature and claims (RFC 7523 §3); not its replay."""
    try:
        obj = jws.extract_compact(assertion.encode(), registry=_JWS_REGISTRY)
    except (JoseError, ValueError, TypeError):
        raise invalid_client("the client assertion is not a signed JWT") from None
    header = obj.headers()
    alg = header.get("alg")
    if alg not in SIGNING_ALGORITHMS:
        raise invalid_client(
            f"the client assertion must be signed with {' or '.join(SIGNING_ALGORITHMS)}"
        )
    if not client.keys:
        raise invalid_client("the client has no registered public key")
    kty = "RSA" if alg == "RS256" else "EC"
    kid = header.get("kid")
    candidates = [
        key
        for key in client.keys
        if key.get("kty") == kty and (kid is None or key.get("kid") == kid)
    ]
    if not candidates:
        raise invalid_client("no registered key of the client matches the assertion's kid/alg")
    if not any(_verifies(obj, key) for key in candidates):
        raise invalid_client("the client assertion's signature does not verify")

    try:
        claims = json.loads(obj.payload)
    except ValueError:
        raise invalid_client("the client assertion's claims are not JSON") from None
    if not isinstance(claims, dict):
        raise invalid_client("the client assertion's claims are not a JSON object")
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise invalid_client("the client assertion's iss and sub must both be the client id")
    aud = claims.get("aud")
    stated = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
    if not {str(a).rstrip("/") for a in stated} & audiences:
        raise invalid_client("the client assertion's aud must be the token endpoint URL")
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not _numeric(exp):
        raise invalid_client("the client assertion has no numeric exp")
    if exp <= now - leeway:
        raise invalid_client("the client assertion has expired")
    if exp > now + max_lifetime + leeway:
        raise invalid_client(
            f"the client assertion's exp is more than {int(max_lifetime)} seconds ahead"
        )
    if not _numeric(iat):
        raise invalid_client("the client assertion has no numeric iat")
    if iat > now + leeway:
        raise invalid_client("the client assertion was issued in the future (iat)")
    if nbf is not None and (not _numeric(nbf) or nbf > now + leeway):
        raise invalid_client("the client assertion is not valid yet (nbf)")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise invalid_client("the client assertion needs a jti (at most 256 characters)")
    return VerifiedAssertion(jti=jti, exp=float(exp))


def _verifies(obj: jws.CompactSignature, data: Mapping[str, Any]) -> bool:
    try:
        return jws.validate_compact(obj, jwk.import_key(dict(data)), registry=_JWS_REGISTRY)
    except (JoseError, ValueError, TypeError):
        return False


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def mint_access_token(
    key: SigningKey,
    *,
    issuer: str,
    audience: str,
    client_id: str,
    organisation: str,
    scopes: frozenset[str],
    gender_encoding: str,
    lifetime: int,
    now: float,
) -> tuple[str, int]:
    """A signed access token and its ``exp``; claims per RFC 9068 plus ``org`` and
    ``gender_encoding``, which every service needs without asking the registry.
    """
    issued_at = int(now)
    expires = issued_at + lifetime
    claims = {
        "iss": issuer,
        "sub": client_id,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": " ".join(sorted(scopes)),
        "org": organisation,
        "gender_encoding": gender_encoding,
    }
    header = {"alg": key.alg, "kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    return jwt.encode(header, claims, key.private, algorithms=[key.alg]), expires


# -- Use case ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPolicy:
    """What the registry's settings say about tokens and assertions."""

    issuer: str
    audience: str
    lifetime: int
    leeway: float
    assertion_max_lifetime: float
    assertion_audiences: frozenset[str]


async def authenticate_client(
    conn: asyncpg.Connection, request: TokenRequest, policy: TokenPolicy, now: float
) -> ApiClient:
    """The client the request's credentials prove, or ``invalid_client``."""
    credentials = request.credentials
    if isinstance(credentials, BasicCredentials):
        client_id = credentials.client_id
    else:
        client_id = assertion_issuer(credentials.assertion)
    if request.client_id is not None and request.client_id != client_id:
        raise invalid_client("client_id does not match the authenticated client")

    client = await clients.fetch_client(conn, client_id)
    if isinstance(credentials, BasicCredentials):
        stored = client.secret_hash if client and client.secret_hash else None
        # Same work whether the client exists or not: no client-id oracle by timing.
        matches = await asyncio.to_thread(
            clients.verify_secret, credentials.secret, stored or clients.dummy_secret_hash()
        )
        if client is None or stored is None or not matches:
            raise invalid_client("unknown client or wrong client secret")
    else:
        if client is None:
            raise invalid_client("unknown client")
        verified = verify_client_assertion(
            credentials.assertion,
            client,
            audiences=policy.assertion_audiences,
            now=now,
            leeway=policy.leeway,
            max_lifetime=policy.assertion_max_lifetime,
        )
        expires_at = datetime.fromtimestamp(verified.exp + policy.leeway, UTC)
        if not await clients.record_assertion_jti(conn, client.client_id, verified.jti, expires_at):
            raise invalid_client("the client assertion was already used (jti replay)")
    if not client.active:
        raise invalid_client("the client is deactivated")
    return client


async def issue_token(
    conn: asyncpg.Connection,
    request: TokenRequest,
    *,
    key_ring: keys.KeyRing,
    policy: TokenPolicy,
    now: float,
) -> dict[str, Any]:
    """The token response for an authenticated client within its allowed scopes."""
    client = await authenticate_client(conn, request, policy, now)
    scopes = granted_scopes(client, request.scope)
    key = await key_ring.signing_key(conn)
    token, _ = mint_access_token(
        key,
        issuer=policy.issuer,
        audience=policy.audience,
        client_id=client.client_id,
        organisation=client.organisation,
        scopes=scopes,
        gender_encoding=client.gender_encoding,
        lifetime=policy.lifetime,
        now=now,
    )
    log.info(
        "access token for %s (%s) by %s, kid %s, scope %s",
        client.client_id,
        client.organisation,
        request.method,
        key.kid,
        " ".join(sorted(scopes)),
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": policy.lifetime,
        "scope": " ".join(sorted(scopes)),
    }


# -- HTTP ---------------------------------------------------------------------------------

router = APIRouter()
router.include_router(clients.router)
router.include_router(keys.router)


@dataclass
class _Metrics:
    issued: Counter
    refused: Counter


def _metrics(request: Request) -> _Metrics:
    state = request.app.state
    metrics = getattr(state, "token_metrics", None)
    if metrics is None:
        registry = state.runtime.metrics
        metrics = _Metrics(
            Counter(
                "oauth_tokens_issued_total",
                "Access tokens issued, by client authentication method.",
                ["method"],
                registry=registry,
            ),
            Counter(
                "oauth_token_refusals_total",
                "Token requests refused, by RFC 6749 error code.",
                ["error"],
                registry=registry,
            ),
        )
        state.token_metrics = metrics
    return metrics


def _policy(request: Request) -> TokenPolicy:
    settings = request.app.state.runtime.settings
    issuer = settings.auth_issuer.rstrip("/")
    base = str(request.base_url).rstrip("/")
    audiences = {issuer} | {f"{root}{path}" for root in (issuer, base) for path in TOKEN_PATHS}
    return TokenPolicy(
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        lifetime=settings.token_lifetime_seconds,
        leeway=settings.auth_leeway_seconds,
        assertion_max_lifetime=settings.assertion_max_lifetime_seconds,
        assertion_audiences=frozenset(audiences),
    )


_TOKEN_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": [GRANT_TYPE]},
                        "scope": {"type": "string", "description": "Space-separated scopes."},
                        "client_assertion_type": {
                            "type": "string",
                            "enum": [CLIENT_ASSERTION_TYPE],
                        },
                        "client_assertion": {"type": "string", "description": "Signed JWT."},
                        "client_id": {"type": "string"},
                    },
                }
            }
        },
    }
}


async def token(request: Request) -> JSONResponse:
    """Client credentials grant (RFC 6749 §4.4) with client_secret_basic or private_key_jwt."""
    metrics = _metrics(request)
    runtime = request.app.state.runtime
    try:
        token_request = parse_token_request(
            await request.body(),
            request.headers.get("content-type"),
            request.headers.get("authorization"),
        )
        async with runtime.db.transaction() as conn:
            answer = await issue_token(
                conn,
                token_request,
                key_ring=keys.key_ring(request),
                policy=_policy(request),
                now=time.time(),  # wall clock: token lifetimes are not business time
            )
    except OAuthError as refusal:
        metrics.refused.labels(refusal.error).inc()
        log.info("token request refused: %s", refusal)  # descriptions never hold secrets
        return refusal.response()
    metrics.issued.labels(token_request.method).inc()
    return JSONResponse(answer, headers=_NO_STORE)


for _path in TOKEN_PATHS:
    router.add_api_route(
        _path,
        token,
        methods=["POST"],
        tags=["OAuth2"],
        summary="Access token (client credentials)",
        openapi_extra=_TOKEN_DOC,
        response_class=JSONResponse,
    )


@router.get(JWKS_PATH, tags=["OAuth2"], summary="Public keys that sign access tokens")
async def jwks(request: Request) -> JSONResponse:
    async with request.app.state.runtime.db.transaction() as conn:
        document = await keys.key_ring(request).jwks(conn)
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})


@router.get(METADATA_PATH, tags=["OAuth2"], summary="Authorization server metadata (RFC 8414)")
async def metadata(request: Request) -> dict[str, Any]:
    issuer = request.app.state.runtime.settings.auth_issuer
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "token_endpoint": f"{base}{TOKEN_PATHS[0]}",
        "jwks_uri": f"{base}{JWKS_PATH}",
        "grant_types_supported": [GRANT_TYPE],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "scopes_supported": sorted(ALL_SCOPES),
        "response_types_supported": [],
    }
