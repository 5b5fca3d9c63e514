"""Helpers of the auth tests: a started registry, its operator, clients and their keys."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from joserfc import jwk, jwt

from socsec.registry import clients
from socsec.registry.main import create_app

V5 = "/REST/oauth/v5/token"
V3 = "/REST/oauth/v3/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SEED = "test-seed"


def basic(client_id: str, secret: str) -> dict[str, str]:
    value = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {**FORM, "Authorization": f"Basic {value}"}


def client_key(kind: str = "RSA") -> jwk.Key:
    """A client's key pair, as a real client would generate it."""
    if kind == "RSA":
        return jwk.generate_key("RSA", 2048, auto_kid=True)
    return jwk.generate_key("EC", "P-256", auto_kid=True)


def assertion(
    key: jwk.Key,
    client_id: str,
    aud: str | list[str],
    *,
    jti: str | None = None,
    iat: float | None = None,
    exp: float | None = None,
    kid: str | None = None,
) -> str:
    """A client assertion (RFC 7523) signed by ``key``."""
    now = int(time.time())
    alg = "RS256" if key.key_type == "RSA" else "ES256"
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "jti": jti or uuid.uuid4().hex,
        "iat": int(iat if iat is not None else now),
        "exp": int(exp if exp is not None else now + 120),
    }
    return jwt.encode({"alg": alg, "kid": kid or key.kid}, claims, key, algorithms=[alg])


def assertion_form(signed: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        **extra,
    }


@dataclass
class Registry:
    """A started registry app, an HTTP client on it and its operator's token."""

    app: FastAPI
    http: httpx.AsyncClient
    base_url: str
    operator: dict[str, str]

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def token(
        self, client_id: str, secret: str, *, scope: str | None = None, path: str = V5
    ) -> httpx.Response:
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        return await self.http.post(path, data=form, headers=basic(client_id, secret))

    async def create_client(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post("/registry/v1/clients", json=body, headers=self.operator)
        assert response.status_code == 201, response.text
        return response.json()


async def operator_headers(app: FastAPI, http: httpx.AsyncClient) -> dict[str, str]:
    async with app.state.runtime.db.transaction() as conn:
        operator = await clients.seed_operator_client(conn, seed=SEED)
    response = await http.post(
        V5,
        data={"grant_type": "client_credentials"},
        headers=basic(operator["client_id"], operator["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def registry(env) -> AsyncIterator[Registry]:
    """The registry in-process (ASGI transport), as the service skeleton tests run it."""
    base_url = "http://registry.test"
    app = create_app(env.settings("registry", auth_issuer=base_url))
    await app.state.runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield Registry(app, http, base_url, await operator_headers(app, http))
    finally:
        await app.state.runtime.stop()


@asynccontextmanager
async def serve_registry(env, **overrides: Any) -> AsyncIterator[Registry]:
    """The registry served by uvicorn on a free port: other services fetch its JWKS over
    real HTTP. The socket is bound first so the issuer URL can name the port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(env.settings("registry", auth_issuer=base_url, **overrides))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert not task.done(), "uvicorn stopped while starting the registry"
            assert time.monotonic() < deadline, "the registry did not start within 60 s"
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=base_url) as http:
            yield Registry(app, http, base_url, await operator_headers(app, http))
    finally:
        server.should_exit = True
        await task
        sock.close()
