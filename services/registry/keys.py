"""The registry's token-signing keys: created on first use, rotated, published as a JWKS.

The private keys stay in the registry's own schema (table ``signing_keys``), readable only by
the role ``socsec_registry``; they are never logged nor returned by any route. Several keys
are published at once so that a rotation never invalidates tokens already issued: the
newest key signs, the older ones keep validating until an operator retires them (after the
token lifetime has passed, typically).

There is no start hook for service code in the runtime (and tests start the runtime without
the FastAPI lifespan), so the first key is created on first use: the first token request or
the first JWKS read. An advisory lock makes concurrent first uses create only one key.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from joserfc import jwk
from pydantic import BaseModel, Field

from socsec.kit.auth import OPERATOR_SCOPE, SIGNING_ALGORITHMS, Principal, require_scopes

log = logging.getLogger(__name__)

SigningAlgorithm = Literal["RS256", "ES256"]

_LOCK = "socsec-registry:signing-keys"


@dataclass(frozen=True)
class SigningKey:
    """One key of the registry: its private half signs, its public half is published."""

    kid: str
    alg: str
    private: jwk.Key
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None = None

    def __repr__(self) -> str:  # never let a private key reach a log line by accident
        return f"SigningKey(kid={self.kid!r}, alg={self.alg!r})"


def generate_signing_key(alg: str) -> tuple[jwk.Key, dict[str, Any]]:
    """A new private key for ``alg`` and its public JWK (``kid`` = RFC 7638 thumbprint)."""
    if alg == "RS256":
        key: jwk.Key = jwk.generate_key("RSA", 2048, parameters={"alg": alg, "use": "sig"})
    elif alg == "ES256":
        key = jwk.generate_key("EC", "P-256", parameters={"alg": alg, "use": "sig"})
    else:
        raise ValueError(f"signing algorithm must be one of {', '.join(SIGNING_ALGORITHMS)}")
    key.ensure_kid()
    return key, key.as_dict(private=False)


# -- SQL ---------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    """A jsonb value, whether or not the connection decodes JSON (plain asyncpg does not)."""
    return json.loads(value) if isinstance(value, str) else value


async def _insert_key(conn: asyncpg.Connection, alg: str) -> str:
    private, public = generate_signing_key(alg)
    await conn.execute(
        """INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk)
           VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb)""",
        private.kid,
        alg,
        json.dumps(private.as_dict(private=True)),
        json.dumps(public),
    )
    log.info("new token-signing key %s (%s)", private.kid, alg)
    return str(private.kid)


async def newest_kid(conn: asyncpg.Connection) -> str | None:
    """The ``kid`` of the key that signs now: the newest one not retired."""
    return await conn.fetchval(
        """SELECT kid FROM signing_keys WHERE retired_at IS NULL
           ORDER BY id DESC LIMIT 1"""
    )


async def ensure_signing_key(conn: asyncpg.Connection, alg: str) -> str:
    """The newest key's ``kid``, creating a first key when there is none.

    Runs in the caller's transaction, which holds the advisory lock until it commits.
    """
    kid = await newest_kid(conn)
    if kid is not None:
        return kid
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK)
    kid = await newest_kid(conn)  # another instance may have created it meanwhile
    if kid is None:
        kid = await _insert_key(conn, alg)
    return kid


async def load_signing_key(conn: asyncpg.Connection, kid: str) -> SigningKey:
    row = await conn.fetchrow(
        """SELECT kid, alg, private_jwk, public_jwk, created_at, retired_at
           FROM signing_keys WHERE kid = $1""",
        kid,
    )
    if row is None:
        raise LookupError(f"no signing key {kid}")
    return SigningKey(
        kid=row["kid"],
        alg=row["alg"],
        private=jwk.import_key(_json(row["private_jwk"])),
        public_jwk=_json(row["public_jwk"]),
        created_at=row["created_at"],
        retired_at=row["retired_at"],
    )


async def published_keys(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """The public JWK of every key not retired, newest first (only the public columns)."""
    rows = await conn.fetch(
        """SELECT public_jwk FROM signing_keys WHERE retired_at IS NULL
           ORDER BY id DESC"""
    )
    return [_json(row["public_jwk"]) for row in rows]


async def list_keys(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT kid, alg, created_at, retired_at FROM signing_keys
           ORDER BY id DESC"""
    )
    return [dict(row) for row in rows]


async def rotate_signing_key(conn: asyncpg.Connection, alg: str) -> str:
    """Create a new key that signs from now on; older keys stay published."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK)
    return await _insert_key(conn, alg)


class KeyRetirementRefused(Exception):
    """Retiring this key would leave nothing to sign with, or it does not exist."""


async def retire_signing_key(conn: asyncpg.Connection, kid: str) -> None:
    """Stop publishing a key: tokens it signed stop validating once services refresh."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK)
    published = await conn.fetchval(
        "SELECT count(*) FROM signing_keys WHERE kid = $1 AND retired_at IS NULL", kid
    )
    if not published:
        raise KeyRetirementRefused(f"no published signing key {kid}")
    if kid == await newest_kid(conn):
        raise KeyRetirementRefused("the newest key signs new tokens; rotate before retiring it")
    await conn.execute("UPDATE signing_keys SET retired_at = now() WHERE kid = $1", kid)
    log.info("token-signing key %s retired", kid)


# -- The key a registry instance signs with ---------------------------------------------------


class KeyRing:
    """Remembers the imported signing key of one registry process.

    Each use asks PostgreSQL for the newest ``kid`` (one indexed query in the request's
    transaction), so a rotation made by another instance is followed at once; the private
    key is imported only when that ``kid`` changes.
    """

    def __init__(self, alg: str) -> None:
        self.alg = alg
        self._current: SigningKey | None = None

    async def signing_key(self, conn: asyncpg.Connection) -> SigningKey:
        kid = await ensure_signing_key(conn, self.alg)
        if self._current is None or self._current.kid != kid:
            self._current = await load_signing_key(conn, kid)
        return self._current

    async def jwks(self, conn: asyncpg.Connection) -> dict[str, Any]:
        """The JWKS document: public keys only."""
        await ensure_signing_key(conn, self.alg)
        return {"keys": await published_keys(conn)}


def key_ring(request: Request) -> KeyRing:
    """The :class:`KeyRing` of the app serving ``request``."""
    return key_ring_for(request.app)


def key_ring_for(app: Any) -> KeyRing:
    """The app's :class:`KeyRing`, created on first use."""
    state = app.state
    ring = getattr(state, "signing_key_ring", None)
    if ring is None:
        ring = KeyRing(state.runtime.settings.token_signing_alg)
        state.signing_key_ring = ring
    return ring


# -- Admin routes ---------------------------------------------------------------------------

router = APIRouter(prefix="/registry/v1/signing-keys", tags=["signing keys"])

_operator = require_scopes(OPERATOR_SCOPE)


class SigningKeyView(BaseModel):
    kid: str
    alg: str
    created_at: datetime
    retired_at: datetime | None = None
    signing: bool = Field(description="The key that signs new tokens.")


class RotateRequest(BaseModel):
    alg: SigningAlgorithm | None = Field(
        default=None, description="Defaults to the registry's token_signing_alg setting."
    )


async def _views(conn: asyncpg.Connection) -> list[SigningKeyView]:
    signing = await newest_kid(conn)
    return [SigningKeyView(**row, signing=row["kid"] == signing) for row in await list_keys(conn)]


@router.get("", summary="Every token-signing key (public metadata only)")
async def get_signing_keys(
    request: Request, _: Principal = Depends(_operator)
) -> list[SigningKeyView]:
    async with request.app.state.runtime.db.transaction() as conn:
        await ensure_signing_key(conn, key_ring(request).alg)
        return await _views(conn)


@router.post("/rotate", status_code=201, summary="Create a new signing key; old ones stay valid")
async def post_rotate(
    request: Request,
    body: RotateRequest | None = None,
    _: Principal = Depends(_operator),
) -> SigningKeyView:
    alg = (body.alg if body else None) or key_ring(request).alg
    async with request.app.state.runtime.db.transaction() as conn:
        kid = await rotate_signing_key(conn, alg)
        return next(view for view in await _views(conn) if view.kid == kid)


@router.post("/{kid}/retire", summary="Stop publishing an old signing key")
async def post_retire(kid: str, request: Request, _: Principal = Depends(_operator)) -> Any:
    async with request.app.state.runtime.db.transaction() as conn:
        try:
            await retire_signing_key(conn, kid)
        except KeyRetirementRefused as exc:
            return JSONResponse(
                {"title": "Conflict", "status": 409, "detail": str(exc), "code": "key_retirement"},
                status_code=409,
                media_type="application/problem+json",
            )
        return next(view for view in await _views(conn) if view.kid == kid)
