"""The load generator's HTTP client (bench/http.py) against a server that answers as uvicorn
may: a JSON body by length, a chunked body, a 204, a connection closed after its answer or
before it, and an idle connection left for a new one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from bench import http
from bench.http import Http, HttpError

JSON = b'{"id": "\xe5\x88\x9d\xe5\xae\xa1"}'  # 初审, as UTF-8

ANSWERS: dict[str, bytes] = {
    "/json": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(JSON)).encode()
    + b"\r\n\r\n"
    + JSON,
    "/chunked": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
    "/empty": b"HTTP/1.1 204 No Content\r\n\r\n",
    "/close": b"HTTP/1.1 422 Unprocessable\r\nconnection: close\r\ncontent-length: 3\r\n\r\nbad",
}


@asynccontextmanager
async def server() -> AsyncIterator[tuple[str, list[bytes], Callable[[], int]]]:
    """A server on a free port: the base URL, every request head it read, and the number of
    connections it accepted."""
    heads: list[bytes] = []
    accepted = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break  # the client closed the connection
            heads.append(head)
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            body = await reader.readexactly(length)
            path = head.split(b" ")[1].decode().split("?")[0]
            if path == "/vanish":
                break  # closed without an answer
            writer.write(ANSWERS[path] if path != "/echo" else _echo(body))
            await writer.drain()
            if path == "/close":
                break
        writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield f"http://127.0.0.1:{port}", heads, lambda: accepted[0]


def _echo(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


async def test_bodies_by_length_chunked_and_none_on_one_connection() -> None:
    async with server() as (base, heads, accepted):
        client = Http(base)
        reply = await client.get("/json", params={"cap": 10, "q": "初审"})
        assert reply.status_code == 200 and reply.json() == {"id": "初审"}
        assert heads[0].startswith(b"GET /json?cap=10&q=%E5%88%9D%E5%AE%A1 HTTP/1.1\r\n")
        chunked = await client.get("/chunked")
        assert chunked.text == "hello world"
        assert (await client.post("/empty")).status_code == 204
        echoed = await client.post("/echo", json={"outcome": "accept"}, headers={"X-A": "1"})
        assert echoed.json() == {"outcome": "accept"}
        assert b"Content-Type: application/json\r\n" in heads[-1] and b"X-A: 1\r\n" in heads[-1]
        assert accepted() == 1  # kept alive throughout
        await client.aclose()


async def test_a_connection_closed_by_the_server_is_not_used_again() -> None:
    async with server() as (base, _, accepted):
        client = Http(base)
        refused = await client.post("/close", json={})
        assert refused.status_code == 422
        with pytest.raises(HttpError, match="HTTP 422: bad"):
            refused.raise_for_status()
        assert (await client.get("/json")).status_code == 200
        assert accepted() == 2
        with pytest.raises(HttpError, match="closed the connection without answering"):
            await client.post("/vanish", json={})
        await client.aclose()


async def test_an_idle_connection_is_let_go_before_the_servers_keep_alive_ends_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with server() as (base, _, accepted):
        client = Http(base)
        await client.get("/json")
        monkeypatch.setattr(http, "KEEPALIVE_EXPIRY", 0.0)  # every idle connection too old
        await client.get("/json")
        assert accepted() == 2
        await client.aclose()
