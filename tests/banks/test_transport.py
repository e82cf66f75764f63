"""httpx over aiohttp (banks/transport.py) against real loopback servers: what goes on the
wire, what comes back, and which httpx error each kind of failure becomes."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from honnin.banks.connector import BankConnector
from honnin.banks.errors import BankTimeoutError, BankUnreachableError
from honnin.banks.transport import AiohttpTransport
from support.banks import momiji_connection
from support.server import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LIMITS = httpx.Limits(max_connections=10, keepalive_expiry=5)


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP server on loopback; yields its URL and a one-item list counting connections."""
    connections = [0]

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return head[0], headers, body


async def each_request(
    reader: asyncio.StreamReader,
) -> AsyncIterator[tuple[str, dict[str, str], bytes]]:
    """The requests of one kept-alive connection, until the client closes it."""
    while True:
        try:
            yield await read_request(reader)
        except asyncio.IncompleteReadError:
            return


def client(*, read_timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=LIMITS),
        timeout=httpx.Timeout(5.0, read=read_timeout),
    )


async def test_a_request_and_its_answer_cross_intact_over_one_kept_alive_connection() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []
    answer = gzip.compress(json.dumps({"name": "佐藤"}).encode())

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for request in each_request(reader):
            seen.append(request)
            writer.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                b"Content-Encoding: gzip\r\nSet-Cookie: session=abc; Path=/\r\n"
                b"X-Bank: momiji\r\nContent-Length: %d\r\n\r\n" % len(answer) + answer
            )
            await writer.drain()

    transport = AiohttpTransport(limits=LIMITS)
    async with raw_server(handler) as (url, connections), transport:
        http = httpx.AsyncClient(transport=transport)
        first = await http.post(
            f"{url}/token?x=1", data={"code": "c 1"}, headers={"Authorization": "Basic abc"}
        )
        # Straight to the transport: httpx's client has a cookie jar of its own.
        second = await transport.handle_async_request(httpx.Request("GET", f"{url}/kyc"))
    assert first.status_code == 201
    assert first.reason_phrase == "Created"
    assert first.json() == {"name": "佐藤"}  # httpx decoded the gzip body
    assert first.headers["x-bank"] == "momiji"
    line, headers, body = seen[0]
    assert line == "POST /token?x=1 HTTP/1.1"
    assert body == b"code=c+1"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["authorization"] == "Basic abc"
    assert headers["host"] == url.removeprefix("http://")
    assert headers["user-agent"].startswith("python-httpx/")
    assert seen[1][0] == "GET /kyc HTTP/1.1"
    assert "cookie" not in seen[1][1]  # the transport keeps no cookies
    assert second.status_code == 201
    assert connections == [1]


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/")


async def test_no_answer_within_the_read_timeout_is_a_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with raw_server(handler) as (url, _), client(read_timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{url}/slow")


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="not http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", id="cut body"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad chunk"
        ),
        pytest.param(b"", id="closed without an answer"),
    ],
)
async def test_a_broken_answer_is_a_protocol_error(reply: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    async with raw_server(handler) as (url, _), client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"{url}/")


async def test_only_http_and_https_are_sent() -> None:
    async with client() as http:
        with pytest.raises(httpx.UnsupportedProtocol):
            await http.get("ftp://127.0.0.1/file")


async def test_the_connector_reports_each_failure_with_its_own_code() -> None:
    connector = BankConnector(
        redirect_uri="http://honnin.test/broker/callback", timeout_seconds=0.3
    )

    async def silent(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"garbage\r\n\r\n")
        await writer.drain()

    try:
        with pytest.raises(BankUnreachableError):
            await connector.metadata(momiji_connection(f"http://127.0.0.1:{free_port()}"))
        async with raw_server(silent) as (url, _):
            with pytest.raises(BankTimeoutError):
                await connector.metadata(momiji_connection(url))
        async with raw_server(garbage) as (url, _):
            with pytest.raises(BankUnreachableError):
                await connector.metadata(momiji_connection(url))
    finally:
        await connector.aclose()


async def test_one_client_per_bank_that_keeps_no_cookies_and_closes_with_the_connector() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def bank(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for request in each_request(reader):
            seen.append(request)
            body = json.dumps({"issuer": url, "kyc_info_endpoint": f"{url}/kyc"}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nSet-Cookie: visitor=one-user; Path=/\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body
            )
            await writer.drain()

    connector = BankConnector(redirect_uri="http://honnin.test/broker/callback")
    async with raw_server(bank) as (url, _):
        connection = momiji_connection(url)
        assert (await connector.metadata(connection))["issuer"] == url
        await connector.fetch_kyc(connection, access_token="token-of-another-user")
        used = connector._plain_client(connection)
        assert connector._plain_client(connection) is used
        await connector.aclose()
    assert used.is_closed
    assert seen[1][0] == "GET /kyc HTTP/1.1"
    assert seen[1][1]["authorization"] == "Bearer token-of-another-user"
    assert "cookie" not in seen[1][1]
