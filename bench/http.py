"""A lean HTTP/1.1 keep-alive client for load generation.

The load generator shares the machine with the system it measures, so every microsecond it
spends per request is taken from the service. General-purpose clients (aiohttp, httpx) do
much more per request than a benchmark needs: cookies, redirects, tracing hooks, timeouts
per phase, content decoding. This client only writes a request on a kept-alive connection
and parses the answer with ``httptools`` (the parser uvicorn uses): status, headers, body.
It speaks plain HTTP/1.1 to one host and port, with ``Content-Length`` bodies or chunked
answers, and no redirects, TLS, compression or pipelining.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import httptools


class HttpError(Exception):
    """The connection failed or the answer could not be read."""


class _Connection(asyncio.Protocol):
    """One TCP connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._answer: asyncio.Future[tuple[int, dict[str, str], bytes]] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._keep_alive = True
        #: A request went out on this connection before; bytes of the current answer came.
        self.exchanged = False
        self.answered = False

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpError(f"unreadable answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HttpError(f"connection lost: {exc or 'closed by the server'}"))

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self.answered = True
        self._headers = {}
        self._body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._keep_alive = self.parser.should_keep_alive()
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_result((self.parser.get_status_code(), self._headers, b"".join(self._body)))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, within_s: float) -> tuple[int, dict[str, str], bytes]:
        assert self.transport is not None and self._answer is None
        loop = asyncio.get_running_loop()
        answer = self._answer = loop.create_future()
        self.answered = False
        self.transport.write(request)
        self.exchanged = True
        timer = loop.call_later(within_s, self._fail, TimeoutError(f"no answer in {within_s} s"))
        try:
            result = await answer
        finally:
            timer.cancel()
        if not self._keep_alive:
            self.closed = True
            self.transport.close()
        return result


class KeepAliveClient:
    """Up to ``connections`` kept-alive connections to the host and port of ``base``
    (``http://host:port``); a request waits for a free one."""

    def __init__(self, base: str, connections: int, *, timeout: float = 30.0) -> None:
        parts = urlsplit(base)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"an http://host:port address is needed, not {base!r}")
        self.base = base.rstrip("/")
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self._limit = connections
        self._open = 0
        self._idle: list[_Connection] = []
        self._waiting: list[asyncio.Future[None]] = []
        self._host_header = f"Host: {parts.netloc}\r\n".encode()

    async def _acquire(self) -> _Connection:
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
                self._open -= 1
            if self._open < self._limit:
                self._open += 1
                try:
                    _, connection = await asyncio.get_running_loop().create_connection(
                        _Connection, self.host, self.port
                    )
                except OSError as exc:
                    self._open -= 1
                    raise HttpError(f"cannot connect to {self.base}: {exc}") from exc
                return connection
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            await turn

    def _release(self, connection: _Connection) -> None:
        if connection.closed:
            self._open -= 1
        else:
            self._idle.append(connection)
        while self._waiting:
            turn = self._waiting.pop(0)
            if not turn.done():
                turn.set_result(None)
                break

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body). ``target`` is a path or an
        absolute URL on this client's host; ``body`` is sent as JSON."""
        if target.startswith(self.base):
            target = target[len(self.base) :]
        lines = [f"{method} {target} HTTP/1.1\r\n".encode(), self._host_header]
        lines += [f"{name}: {value}\r\n".encode() for name, value in headers.items()]
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            lines.append(
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            )
            lines.append(payload)
        else:
            lines.append(b"\r\n")
        request = b"".join(lines)
        for attempt in (1, 2):
            connection = await self._acquire()
            reused = connection.exchanged
            try:
                return await connection.exchange(request, self.timeout)
            except HttpError:
                # The server closed a kept-alive connection as the request left (its idle
                # timeout): it never read the request, which goes again on a new one.
                if attempt == 2 or not reused or connection.answered:
                    raise
            finally:
                self._release(connection)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        for connection in self._idle:
            if connection.transport is not None:
                connection.transport.close()
        self._idle.clear()
