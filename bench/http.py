"""The load generator's HTTP client: HTTP/1.1 with keep-alive over asyncio streams, JSON in and
out, and nothing else (#22).

The officers and applicants ``bench`` plays share the machine's two cores with the system it
measures, so whatever the load generator spends is taken from the API, the worker and the
Temporal server. httpx spent ~1.1 ms of CPU a request against a trivial local app, ~40 % of
it in its connection pool's bookkeeping (every idle connection's expiry asked through anyio on
each request); in section 1 the bench process took ~6.5 ms per completed task, more than any
figure it was there to compare. This client spends ~0.06 ms a request on the same app: a
request takes an idle connection or opens one, writes its head and body, and reads the
status, the headers and a ``Content-Length`` (or chunked) body.

What it leaves out, because the API does not use it here: redirects, cookies, compression,
HTTP/2, TLS. A connection idle for :data:`KEEPALIVE_EXPIRY` seconds is closed before it is
used again, so that a request is never written on one uvicorn is closing (its keep-alive ends
after 5 s), where a POST could not be retried."""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

KEEPALIVE_EXPIRY = 2.0  # seconds; uvicorn closes an idle connection after 5


class HttpError(RuntimeError):
    """A reply the caller did not expect (see :meth:`Reply.raise_for_status`), or a connection
    the server closed before answering."""


@dataclass(frozen=True)
class Reply:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HttpError(f"HTTP {self.status_code}: {self.text[:500]}")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.used = time.monotonic()

    def close(self) -> None:
        self.writer.close()

    async def exchange(self, head: bytes, body: bytes) -> tuple[Reply, bool]:
        """Send one request; the reply, and whether the connection may be used again."""
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise HttpError("the server closed the connection without answering")
        status = int(status_line.split(None, 2)[1])
        length, chunked, keep = 0, False, True
        for line in await self._field_lines():
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = b"close" not in value.lower()
        if chunked:
            content = await self._chunks()
        else:
            content = await self.reader.readexactly(length) if length else b""
        self.used = time.monotonic()
        return Reply(status, content), keep

    async def _field_lines(self) -> list[bytes]:
        """The header (or trailer) lines up to the blank line that ends them."""
        lines: list[bytes] = []
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            lines.append(line)
        return lines

    async def _chunks(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self._field_lines()  # the trailers, unused
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)  # the CRLF after each chunk


class Http:
    """Requests to one base URL, each on an idle connection of its own or a new one: as many
    connections as requests in flight, as the officers' browsers would hold."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self._idle: list[_Connection] = []

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.used < KEEPALIVE_EXPIRY:
                return conn
            conn.close()
        return _Connection(*await asyncio.open_connection(self.host, self.port))

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = b"" if json is None else jsonlib.dumps(json).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ]
        if json is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        conn = await self._connection()
        try:
            async with asyncio.timeout(self.timeout):
                reply, keep = await conn.exchange(head, body)
        except BaseException:
            conn.close()
            raise
        if keep:
            self._idle.append(conn)
        else:
            conn.close()
        return reply

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()
