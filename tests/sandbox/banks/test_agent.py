"""The lean user agent against canned HTTP/1.1 servers (asyncio streams on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from honnin.sandbox.banks.agent import AgentError, CookieJar, UserAgent

Handler = Callable[[bytes], bytes | None]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[list[bytes | None]], asyncio.Future[str]]]:
    servers: list[asyncio.Server] = []
    seen: list[bytes] = []

    async def start(answers: list[bytes | None]) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                if not answers:  # nothing left to say: hold the connection open
                    await reader.read()
                    break
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                seen.append(head + await reader.readexactly(length))
                answer = answers.pop(0)
                assert answer is not None
                writer.write(answer)
                await writer.drain()
                if answers and answers[0] is None:  # close after this answer
                    answers.pop(0)
                    break
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    start.seen = seen  # type: ignore[attr-defined]
    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


async def test_keep_alive_chunked_and_cookies(serve: Any) -> None:
    base = await serve(
        [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                b"Set-Cookie: a=1; Path=/interaction/x; HttpOnly\r\nSet-Cookie: b=2\r\n\r\nok"
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
            ),
            (
                b"HTTP/1.1 303 See Other\r\nLocation: /next\r\nContent-Length: 0\r\n"
                b"Set-Cookie: a=; Path=/interaction/x; Max-Age=0\r\n\r\n"
            ),
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ]
    )
    jar = CookieJar()
    async with UserAgent() as agent:
        first = await agent.request("GET", f"{base}/authorize?x=1", cookies=jar)
        assert (first.status, first.text) == (200, "ok")
        second = await agent.request(
            "POST", f"{base}/interaction/x/login", data={"u": "佐藤 花子"}, cookies=jar
        )
        assert second.body == b"abcde"
        third = await agent.request("POST", f"{base}/interaction/x/consent", data={}, cookies=jar)
        assert third.header("location") == "/next"
        await agent.request("GET", f"{base}/interaction/x", cookies=jar)
    requests = serve.seen
    assert requests[0].startswith(b"GET /authorize?x=1 HTTP/1.1\r\n")
    assert b"Cookie:" not in requests[0]
    assert b"Cookie: a=1; b=2" in requests[1]
    assert b"u=%E4%BD%90%E8%97%A4+%E8%8A%B1%E5%AD%90" in requests[1]
    assert b"Cookie: a=1; b=2" in requests[2]
    assert b"Cookie: b=2\r\n" in requests[3]  # a was deleted by Max-Age=0


async def test_stale_keep_alive_connection_is_replaced(serve: Any) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1"
    base = await serve([ok, None, ok])
    async with UserAgent() as agent:
        assert (await agent.request("GET", f"{base}/a")).text == "1"
        # The server silently dropped the kept-alive connection; the agent reconnects.
        assert (await agent.request("GET", f"{base}/b")).text == "1"


async def test_connection_close_and_read_to_end(serve: Any) -> None:
    base = await serve([b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"])
    async with UserAgent() as agent:
        assert (await agent.request("GET", f"{base}/")).text == "all of it"


async def test_truncated_body_is_an_error(serve: Any) -> None:
    base = await serve([b'HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n{"partial":', None])
    async with UserAgent() as agent:
        with pytest.raises(AgentError, match="IncompleteReadError"):
            await agent.request("GET", f"{base}/")


async def test_timeout_and_https_are_refused(serve: Any) -> None:
    base = await serve([])
    async with UserAgent(timeout=0.2) as agent:
        with pytest.raises(AgentError, match="in time"):
            await agent.request("GET", f"{base}/hang")
        with pytest.raises(AgentError, match="plain http"):
            await agent.request("GET", "https://127.0.0.1/")


async def test_json_body_and_request_headers(serve: Any) -> None:
    base = await serve([b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"])
    agent = UserAgent(timeout=5)
    response = await agent.request(
        "POST",
        f"{base}/v1/things",
        json_body={"name": "佐藤"},
        headers={"Authorization": "Bearer abc", "Idempotency-Key": "k1"},
    )
    await agent.aclose()
    assert response.status == 201
    sent: bytes = serve.seen[0]
    head, _, body = sent.partition(b"\r\n\r\n")
    assert b"\r\nAuthorization: Bearer abc\r\n" in head
    assert b"\r\nIdempotency-Key: k1\r\n" in head
    assert b"\r\nContent-Type: application/json\r\n" in head
    assert body == '{"name": "佐藤"}'.encode()
    assert f"Content-Length: {len(body)}".encode() in head


async def test_header_injection_and_two_bodies_are_refused() -> None:
    agent = UserAgent(timeout=5)
    with pytest.raises(AgentError):
        await agent.request("GET", "http://127.0.0.1:9/", headers={"X-A": "1\r\nX-B: 2"})
    with pytest.raises(AgentError):
        await agent.request("POST", "http://127.0.0.1:9/", data={"a": "1"}, json_body={"a": 1})
