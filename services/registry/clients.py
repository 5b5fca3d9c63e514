"""API clients of the REST channel: who may ask the token endpoint for which scopes.

A client belongs to one organisation (its holder: a mandatary id such as ``M-EXEMPLUM``, a
seat or branch id, or an employer's 9-digit NSSO number) and authenticates at the token
endpoint either with a client secret (``client_secret_basic``) or with a JWT signed by one
of its registered public keys (``private_key_jwt``, RFC 7523), the way real Dimona clients
do (``shared/domain/dimona.md`` §3.1). Secrets are stored as salted scrypt hashes only and
shown once, when created or reset.

The organisation is not checked against the reference data here: a client may be registered
before its holder (the demo seeds both), and a mandate check (``socsec.kit.authz``) decides
anyway what the organisation may do for which employer.

The file holds the values and rules, the SQL and the use cases of API clients, then their
admin routes under ``/registry/v1/clients`` (operator scope).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from joserfc import jwk
from joserfc.errors import JoseError, SecurityWarning
from pydantic import BaseModel, Field

from socsec.kit.auth import (
    ALL_SCOPES,
    BATCH_SENDER_SCOPE,
    DIMONA_CONSULT_SCOPE,
    DIMONA_DECLARANT_SCOPE,
    DMFA_CONSULT_SCOPE,
    DMFA_DECLARANT_SCOPE,
    GENDER_ENCODINGS,
    INSPECTION_SCOPE,
    OPERATOR_SCOPE,
    Principal,
    require_scopes,
)

log = logging.getLogger(__name__)

CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{2,99}$"
ORGANISATION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"

#: What a declarant's client may do: declare and consult Dimona and DmfA, send batch files.
DECLARANT_SCOPES: tuple[str, ...] = (
    DIMONA_DECLARANT_SCOPE,
    DIMONA_CONSULT_SCOPE,
    DMFA_DECLARANT_SCOPE,
    DMFA_CONSULT_SCOPE,
    BATCH_SENDER_SCOPE,
)

DEMO_CLIENT_PREFIX = "self_service_expeditor_"
DEMO_OPERATOR_CLIENT_ID = "socsec_operator"

# scrypt cost: ~50 ms and 16 MiB per check. Generated secrets carry 256 bits, so the cost
# only matters for secrets chosen by people; it is paid once per token, not per request.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN = 2**14, 8, 1, 32
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


# -- Values and rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class ApiClient:
    """An API client as registered; ``secret_hash`` never leaves the registry."""

    client_id: str
    organisation: str
    scopes: frozenset[str]
    gender_encoding: str = "glossary"
    active: bool = True
    jwks: Mapping[str, Any] = field(default_factory=lambda: {"keys": []})
    secret_hash: str | None = field(default=None, repr=False)
    description: str | None = None
    created_at: datetime | None = None
    deactivated_at: datetime | None = None

    @property
    def keys(self) -> list[dict[str, Any]]:
        return list(self.jwks.get("keys", []))

    @property
    def auth_methods(self) -> list[str]:
        """The token endpoint authentication methods the client can use (RFC 7591 names)."""
        methods = []
        if self.secret_hash:
            methods.append("client_secret_basic")
        if self.keys:
            methods.append("private_key_jwt")
        return methods


class ClientError(Exception):
    """A refusal of the API-client register: a stable ``code`` and one HTTP status."""

    status = 422
    title = "Unprocessable Content"
    code = "client_invalid"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ClientNotFound(ClientError):
    status, title, code = 404, "Not Found", "client_not_found"


class ClientKeyNotFound(ClientError):
    status, title, code = 404, "Not Found", "client_key_not_found"


class ClientExists(ClientError):
    status, title, code = 409, "Conflict", "client_exists"


class ClientKeyExists(ClientError):
    status, title, code = 409, "Conflict", "client_key_exists"


class InvalidClientKey(ClientError):
    code = "invalid_client_key"


class UnknownScope(ClientError):
    code = "unknown_scope"


def new_secret() -> str:
    """A fresh client secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64): what is stored instead of the secret."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_SCRYPT_LEN
    )
    return "$".join(
        ("scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest))
    )


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a :func:`hash_secret` value (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            secret.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=2**26,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_secret_hash() -> str:
    """Verified against when the client is unknown, so that the answer takes as long as for
    a known client with a wrong secret (no client-id oracle by timing).
    """
    return hash_secret("no client has this secret", salt=b"\0" * 16)


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes as a set, refusing any the registry does not know."""
    wanted = frozenset(scopes)
    unknown = wanted - ALL_SCOPES
    if unknown:
        raise UnknownScope(
            f"unknown scope {' '.join(sorted(unknown))}; known: {' '.join(sorted(ALL_SCOPES))}"
        )
    return wanted


def public_client_key(data: Mapping[str, Any]) -> dict[str, Any]:
    """A client's public signature key, normalised; refuses private or weak keys.

    RSA keys of at least 2048 bits (RS256) and EC P-256 keys (ES256) only. A key arriving
    with private members is refused rather than stripped: the private key has left the
    client's hands and must be considered compromised.
    """
    if not isinstance(data, Mapping):
        raise InvalidClientKey("a key is a JSON object (JWK)")
    private = sorted(_PRIVATE_MEMBERS & set(data))
    if private:
        raise InvalidClientKey(
            f"the key contains private members ({', '.join(private)}); "
            "register the public key only and treat this private key as compromised"
        )
    kty = data.get("kty")
    if kty not in ("RSA", "EC"):
        raise InvalidClientKey("kty must be RSA (RS256) or EC (ES256, P-256)")
    if data.get("use", "sig") != "sig":
        raise InvalidClientKey("use must be sig")
    expected_alg = "RS256" if kty == "RSA" else "ES256"
    if data.get("alg", expected_alg) != expected_alg:
        raise InvalidClientKey(f"a {kty} key is used with {expected_alg}")
    if kty == "EC" and data.get("crv") != "P-256":
        raise InvalidClientKey("an EC key must be on the curve P-256")
    try:
        with warnings.catch_warnings():
            # joserfc warns about short RSA keys; they are refused just below.
            warnings.simplefilter("ignore", SecurityWarning)
            key = jwk.import_key(dict(data))
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidClientKey(f"the key cannot be read: {exc}") from None
    if kty == "RSA" and key.raw_value.key_size < 2048:
        raise InvalidClientKey("an RSA key must have at least 2048 bits")
    key.ensure_kid()
    return {**key.as_dict(private=False), "use": "sig", "alg": expected_alg}


def demo_client_id(organisation: str, sender: str | None = None) -> str:
    """``self_service_expeditor_<sender>``, or ``..._<organisation>`` without a sender."""
    tail = sender or re.sub(r"[^a-z0-9]+", "_", organisation.lower()).strip("_")
    return f"{DEMO_CLIENT_PREFIX}{tail}"


def demo_client_secret(client_id: str, seed: str) -> str:
    """The demo secret of a client: HMAC-SHA256(seed, client_id), base64url.

    Deterministic so that ``socsec registry seed-demo`` can print the secrets again and a
    demo script can compute them; never use seeded clients outside a demo.
    """
    return _b64(hmac.new(seed.encode(), client_id.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- SQL --------------------------------------------------------------------------------------

_COLUMNS = """client_id, organisation, secret_hash, jwks, scopes, gender_encoding, active,
              description, created_at, deactivated_at"""


def _json(value: Any) -> Any:
    """A jsonb value, whether or not the connection decodes JSON (plain asyncpg does not)."""
    return json.loads(value) if isinstance(value, str) else value


def _client(row: asyncpg.Record) -> ApiClient:
    return ApiClient(
        client_id=row["client_id"],
        organisation=row["organisation"],
        scopes=frozenset(row["scopes"]),
        gender_encoding=row["gender_encoding"],
        active=row["active"],
        jwks=_json(row["jwks"]),
        secret_hash=row["secret_hash"],
        description=row["description"],
        created_at=row["created_at"],
        deactivated_at=row["deactivated_at"],
    )


async def fetch_client(conn: asyncpg.Connection, client_id: str) -> ApiClient | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM api_clients WHERE client_id = $1", client_id)
    return _client(row) if row else None


async def fetch_clients(
    conn: asyncpg.Connection, *, organisation: str | None = None, active: bool | None = None
) -> list[ApiClient]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM api_clients
            WHERE ($1::text IS NULL OR organisation = $1)
              AND ($2::boolean IS NULL OR active = $2)
            ORDER BY client_id""",
        organisation,
        active,
    )
    return [_client(row) for row in rows]


async def _existing_ids(conn: asyncpg.Connection, client_ids: list[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT client_id FROM api_clients WHERE client_id = ANY($1::text[])", client_ids
    )
    return {row["client_id"] for row in rows}


async def insert_client(conn: asyncpg.Connection, client: ApiClient) -> ApiClient | None:
    """Insert unless the id is taken; ``None`` when it was."""
    row = await conn.fetchrow(
        f"""INSERT INTO api_clients
                (client_id, organisation, secret_hash, jwks, scopes, gender_encoding, description)
            VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7)
            ON CONFLICT (client_id) DO NOTHING
            RETURNING {_COLUMNS}""",
        client.client_id,
        client.organisation,
        client.secret_hash,
        json.dumps(dict(client.jwks)),
        sorted(client.scopes),
        client.gender_encoding,
        client.description,
    )
    return _client(row) if row else None


async def _update(conn: asyncpg.Connection, client_id: str, assignments: str, *args: Any) -> Any:
    return await conn.fetchrow(
        f"UPDATE api_clients SET {assignments} WHERE client_id = $1 RETURNING {_COLUMNS}",
        client_id,
        *args,
    )


async def _locked_client(conn: asyncpg.Connection, client_id: str) -> ApiClient:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM api_clients WHERE client_id = $1 FOR UPDATE", client_id
    )
    if row is None:
        raise ClientNotFound(f"no API client {client_id}")
    return _client(row)


async def record_assertion_jti(
    conn: asyncpg.Connection, client_id: str, jti: str, expires_at: datetime
) -> bool:
    """Remember a client assertion's ``jti``; ``False`` if it was already used (a replay).

    The client's expired ids are purged first: an expired assertion is refused on its
    ``exp`` anyway, so its id may be reused.
    """
    await conn.execute(
        "DELETE FROM client_assertion_jtis WHERE client_id = $1 AND expires_at < now()", client_id
    )
    inserted = await conn.fetchval(
        """INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (client_id, jti) DO NOTHING RETURNING true""",
        client_id,
        jti,
        expires_at,
    )
    return bool(inserted)


# -- Use cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterClient:
    """Register an API client; a secret is generated when ``with_secret``."""

    client_id: str
    organisation: str
    scopes: frozenset[str]
    gender_encoding: str = "glossary"
    with_secret: bool = True
    keys: tuple[Mapping[str, Any], ...] = ()
    description: str | None = None


async def register_client(
    conn: asyncpg.Connection, command: RegisterClient
) -> tuple[ApiClient, str | None]:
    """The registered client and its secret in clear (the only time it is available)."""
    scopes = check_scopes(command.scopes)
    if command.gender_encoding not in GENDER_ENCODINGS:
        raise ClientError(f"gender_encoding must be one of {', '.join(GENDER_ENCODINGS)}")
    keys = [public_client_key(key) for key in command.keys]
    if len({key["kid"] for key in keys}) != len(keys):
        raise ClientKeyExists("two keys have the same kid")
    secret = new_secret() if command.with_secret else None
    if secret is None and not keys:
        raise ClientError("a client needs a secret or at least one public key to authenticate")
    secret_hash = await asyncio.to_thread(hash_secret, secret) if secret else None
    client = await insert_client(
        conn,
        ApiClient(
            client_id=command.client_id,
            organisation=command.organisation,
            scopes=scopes,
            gender_encoding=command.gender_encoding,
            jwks={"keys": keys},
            secret_hash=secret_hash,
            description=command.description,
        ),
    )
    if client is None:
        raise ClientExists(f"the client id {command.client_id} is taken")
    log.info("API client %s registered for %s", client.client_id, client.organisation)
    return client, secret


async def deactivate_client(conn: asyncpg.Connection, client_id: str) -> ApiClient:
    """No new token for this client; tokens already issued live until they expire."""
    await _locked_client(conn, client_id)
    row = await _update(
        conn, client_id, "active = false, deactivated_at = coalesce(deactivated_at, now())"
    )
    log.info("API client %s deactivated", client_id)
    return _client(row)


async def add_client_key(
    conn: asyncpg.Connection, client_id: str, key: Mapping[str, Any]
) -> ApiClient:
    """Register one more public key (key rotation on the client's side)."""
    public = public_client_key(key)
    client = await _locked_client(conn, client_id)
    if any(existing.get("kid") == public["kid"] for existing in client.keys):
        raise ClientKeyExists(f"the client already has a key {public['kid']}")
    row = await _update(
        conn, client_id, "jwks = $2::text::jsonb", json.dumps({"keys": [*client.keys, public]})
    )
    log.info("API client %s: public key %s added", client_id, public["kid"])
    return _client(row)


async def remove_client_key(conn: asyncpg.Connection, client_id: str, kid: str) -> ApiClient:
    client = await _locked_client(conn, client_id)
    keys = [key for key in client.keys if key.get("kid") != kid]
    if len(keys) == len(client.keys):
        raise ClientKeyNotFound(f"the client {client_id} has no key {kid}")
    row = await _update(conn, client_id, "jwks = $2::text::jsonb", json.dumps({"keys": keys}))
    log.info("API client %s: public key %s removed", client_id, kid)
    return _client(row)


async def reset_client_secret(conn: asyncpg.Connection, client_id: str) -> tuple[ApiClient, str]:
    """A new secret replaces the old one at once."""
    await _locked_client(conn, client_id)
    secret = new_secret()
    secret_hash = await asyncio.to_thread(hash_secret, secret)
    row = await _update(conn, client_id, "secret_hash = $2", secret_hash)
    log.info("API client %s: secret reset", client_id)
    return _client(row), secret


async def seed_demo_clients(
    conn: asyncpg.Connection,
    organisations: list[str],
    *,
    seed: str = "socsec-demo-clients",
    senders: Mapping[str, str] | None = None,
    scopes: Iterable[str] = DECLARANT_SCOPES,
) -> list[dict[str, Any]]:
    """One declarant client per organisation, with a deterministic id and secret.

    Idempotent: an organisation whose client exists is left as it is (``created`` false).
    The id is ``self_service_expeditor_<sender>`` when ``senders`` maps the organisation to
    a sender number, else ``self_service_expeditor_<organisation>`` in lower case; the secret
    is :func:`demo_client_secret` of the id and ``seed`` (``RegistrySettings.
    demo_client_seed``), so the demo can print it again on every run.
    """
    wanted = check_scopes(scopes)
    senders = senders or {}
    plan = [(org, demo_client_id(org, senders.get(org))) for org in dict.fromkeys(organisations)]
    existing = await _existing_ids(conn, [client_id for _, client_id in plan])
    seeded = []
    for organisation, client_id in plan:
        secret = demo_client_secret(client_id, seed)
        created = False
        if client_id not in existing:
            secret_hash = await asyncio.to_thread(hash_secret, secret)
            client = ApiClient(client_id, organisation, wanted, secret_hash=secret_hash)
            created = await insert_client(conn, client) is not None
        seeded.append(
            {
                "client_id": client_id,
                "organisation": organisation,
                "client_secret": secret,
                "scopes": sorted(wanted),
                "created": created,
            }
        )
    log.info(
        "demo API clients: %d seeded, %d existed",
        sum(s["created"] for s in seeded),
        sum(not s["created"] for s in seeded),
    )
    return seeded


async def seed_operator_client(
    conn: asyncpg.Connection,
    *,
    seed: str = "socsec-demo-clients",
    client_id: str = DEMO_OPERATOR_CLIENT_ID,
    organisation: str = "NSSO",
) -> dict[str, Any]:
    """The demo's operator client (operator and inspection scopes), idempotent like
    :func:`seed_demo_clients`: it is what calls the admin API of a freshly seeded registry.
    """
    scopes = frozenset({OPERATOR_SCOPE, INSPECTION_SCOPE})
    secret = demo_client_secret(client_id, seed)
    created = False
    if not await _existing_ids(conn, [client_id]):
        secret_hash = await asyncio.to_thread(hash_secret, secret)
        client = ApiClient(client_id, organisation, scopes, secret_hash=secret_hash)
        created = await insert_client(conn, client) is not None
    return {
        "client_id": client_id,
        "organisation": organisation,
        "client_secret": secret,
        "scopes": sorted(scopes),
        "created": created,
    }


# -- HTTP -------------------------------------------------------------------------------------

router = APIRouter(prefix="/registry/v1/clients", tags=["API clients"])

_operator = require_scopes(OPERATOR_SCOPE)


class ClientCreate(BaseModel):
    client_id: str | None = Field(
        default=None,
        pattern=CLIENT_ID_PATTERN,
        description="Defaults to self_service_expeditor_<organisation>.",
        examples=["self_service_expeditor_54321"],
    )
    organisation: str = Field(
        pattern=ORGANISATION_PATTERN,
        description="Holder: mandatary id, seat or branch id, or employer NSSO number.",
        examples=["M-EXEMPLUM"],
    )
    scopes: list[str] = Field(min_length=1, examples=[[DIMONA_DECLARANT_SCOPE]])
    gender_encoding: Literal["glossary", "zero_based"] = "glossary"
    with_secret: bool = Field(
        default=True, description="Generate a client secret (client_secret_basic)."
    )
    jwks: dict[str, list[dict[str, Any]]] | None = Field(
        default=None, description='Public keys for private_key_jwt: {"keys": [JWK, ...]}.'
    )
    description: str | None = Field(default=None, max_length=500)


class ClientView(BaseModel):
    client_id: str
    organisation: str
    scopes: list[str]
    gender_encoding: str
    active: bool
    auth_methods: list[str]
    jwks: dict[str, list[dict[str, Any]]]
    description: str | None = None
    created_at: datetime | None = None
    deactivated_at: datetime | None = None

    @classmethod
    def of(cls, client: ApiClient) -> ClientView:
        return cls(
            client_id=client.client_id,
            organisation=client.organisation,
            scopes=sorted(client.scopes),
            gender_encoding=client.gender_encoding,
            active=client.active,
            auth_methods=client.auth_methods,
            jwks={"keys": client.keys},
            description=client.description,
            created_at=client.created_at,
            deactivated_at=client.deactivated_at,
        )


class ClientCreated(ClientView):
    client_secret: str | None = Field(
        default=None, description="Shown once: only its hash is kept."
    )


class ClientList(BaseModel):
    items: list[ClientView]


class SecretReset(BaseModel):
    client_id: str
    client_secret: str = Field(description="Shown once: only its hash is kept.")


def _problem(error: ClientError) -> JSONResponse:
    return JSONResponse(
        {"title": error.title, "status": error.status, "detail": error.detail, "code": error.code},
        status_code=error.status,
        media_type="application/problem+json",
    )


def _db(request: Request) -> Any:
    return request.app.state.runtime.db


@router.post(
    "",
    status_code=201,
    response_model=ClientCreated,
    summary="Register an API client (returns its secret once)",
)
async def post_client(
    body: ClientCreate, request: Request, _: Principal = Depends(_operator)
) -> Any:
    command = RegisterClient(
        client_id=body.client_id or demo_client_id(body.organisation),
        organisation=body.organisation,
        scopes=frozenset(body.scopes),
        gender_encoding=body.gender_encoding,
        with_secret=body.with_secret,
        keys=tuple(body.jwks.get("keys", [])) if body.jwks else (),
        description=body.description,
    )
    try:
        async with _db(request).transaction() as conn:
            client, secret = await register_client(conn, command)
    except ClientError as error:
        return _problem(error)
    created = ClientCreated(**ClientView.of(client).model_dump(), client_secret=secret)
    return JSONResponse(
        json.loads(created.model_dump_json()),
        status_code=201,
        headers={"Cache-Control": "no-store"},  # the secret must not linger in caches
    )


@router.get("", summary="API clients, optionally of one organisation")
async def get_clients(
    request: Request,
    organisation: str | None = None,
    active: bool | None = None,
    _: Principal = Depends(_operator),
) -> ClientList:
    async with _db(request).transaction() as conn:
        clients = await fetch_clients(conn, organisation=organisation, active=active)
    return ClientList(items=[ClientView.of(client) for client in clients])


@router.get("/{client_id}", response_model=ClientView, summary="One API client (never its secret)")
async def get_client(client_id: str, request: Request, _: Principal = Depends(_operator)) -> Any:
    async with _db(request).transaction() as conn:
        client = await fetch_client(conn, client_id)
    if client is None:
        return _problem(ClientNotFound(f"no API client {client_id}"))
    return ClientView.of(client)


@router.post(
    "/{client_id}/deactivate", response_model=ClientView, summary="Refuse new tokens to this client"
)
async def post_deactivate(
    client_id: str, request: Request, _: Principal = Depends(_operator)
) -> Any:
    try:
        async with _db(request).transaction() as conn:
            return ClientView.of(await deactivate_client(conn, client_id))
    except ClientError as error:
        return _problem(error)


@router.post(
    "/{client_id}/keys",
    status_code=201,
    response_model=ClientView,
    summary="Register a public key (JWK)",
)
async def post_key(
    client_id: str, key: dict[str, Any], request: Request, _: Principal = Depends(_operator)
) -> Any:
    try:
        async with _db(request).transaction() as conn:
            return ClientView.of(await add_client_key(conn, client_id, key))
    except ClientError as error:
        return _problem(error)


@router.delete(
    "/{client_id}/keys/{kid}", response_model=ClientView, summary="Withdraw a public key"
)
async def delete_key(
    client_id: str, kid: str, request: Request, _: Principal = Depends(_operator)
) -> Any:
    try:
        async with _db(request).transaction() as conn:
            return ClientView.of(await remove_client_key(conn, client_id, kid))
    except ClientError as error:
        return _problem(error)


@router.post(
    "/{client_id}/secret",
    response_model=SecretReset,
    summary="Replace the client secret (returned once)",
)
async def post_secret(client_id: str, request: Request, _: Principal = Depends(_operator)) -> Any:
    try:
        async with _db(request).transaction() as conn:
            client, secret = await reset_client_secret(conn, client_id)
    except ClientError as error:
        return _problem(error)
    body = SecretReset(client_id=client.client_id, client_secret=secret)
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})
