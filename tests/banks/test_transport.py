"""httpx over aiohttp (banks/transport.py) against real loopback servers: what goes on the
wire, what comes back, and which httpx error each kind of failure becomes."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json

import httpx
import pytest

from honnin.banks.connector import MAX_RESPONSE_BYTES, BankConnector
from honnin.banks.errors import BankPayloadError, BankTimeoutError, BankUnreachableError
from honnin.banks.transport import (
    CHUNK_BYTES,
    AiohttpTransport,
    ResponseTooLargeError,
    choose_proxy,
)
from support.banks import momiji_connection
from support.rawhttp import answer, each_request, endless_chunks, raw_server, read_request
from support.server import free_port

LIMITS = httpx.Limits(max_connections=10, keepalive_expiry=5)


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


async def test_a_body_over_the_limit_is_refused_whether_declared_or_streamed() -> None:
    limit = 100_000

    async def declared(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await answer(writer, b"HTTP/1.1 200 OK\r\n", b"x" * (limit + 1))

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await endless_chunks(writer, b"HTTP/1.1 200 OK\r\n", b"y" * 4096)

    async def at_the_limit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await answer(writer, b"HTTP/1.1 200 OK\r\n", b"z" * limit)

    transport = AiohttpTransport(limits=LIMITS, max_body_bytes=limit)
    async with httpx.AsyncClient(transport=transport) as http:
        for refuse in (declared, endless):
            async with raw_server(refuse) as (url, _):
                with pytest.raises(ResponseTooLargeError, match=str(limit)):
                    await http.get(f"{url}/")
        async with raw_server(at_the_limit) as (url, _):
            assert len((await http.get(f"{url}/")).content) == limit


async def test_the_body_reaches_httpx_in_the_chunks_it_arrived_in() -> None:
    """So httpx decodes a compressed body piece by piece, and a streaming caller can stop."""

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(8):
            writer.write(b"4000\r\n" + b"c" * 0x4000 + b"\r\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with (
        raw_server(chunked) as (url, _),
        httpx.AsyncClient(transport=AiohttpTransport(limits=LIMITS)) as http,
        http.stream("GET", f"{url}/") as response,
    ):
        raw = [chunk async for chunk in response.aiter_raw()]
    assert b"".join(raw) == b"c" * 8 * 0x4000
    assert len(raw) > 1
    assert max(len(chunk) for chunk in raw) <= CHUNK_BYTES


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        # 64 MiB of zeros in 64 KiB of gzip: refused while it is being decoded.
        pytest.param(gzip.compress(bytes(64 << 20)), b"gzip", "larger than", id="gzip bomb"),
        pytest.param(b"plain text, not gzip", b"gzip", "does not decode", id="not gzip"),
        pytest.param(b"{" * (MAX_RESPONSE_BYTES + 1), b"", "larger than", id="too long"),
    ],
)
async def test_the_connector_refuses_answers_too_large_or_undecodable(
    body: bytes, encoding: bytes, message: str
) -> None:
    async def bank(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if encoding:
            head += b"Content-Encoding: " + encoding + b"\r\n"
        await answer(writer, head, body)

    connector = BankConnector(redirect_uri="http://honnin.test/broker/callback")
    try:
        async with raw_server(bank) as (url, _):
            with pytest.raises(BankPayloadError, match=message) as info:
                await connector.metadata(momiji_connection(url))
    finally:
        await connector.aclose()
    assert info.value.code == "bank_payload_invalid"


async def test_the_connector_reads_a_compressed_answer_under_the_limit() -> None:
    document = {"issuer": "", "kyc_info_endpoint": "/kyc", "padding": "p" * 500_000}

    async def bank(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        document["issuer"] = url
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        await answer(writer, head, gzip.compress(json.dumps(document).encode()))

    connector = BankConnector(redirect_uri="http://honnin.test/broker/callback")
    try:
        async with raw_server(bank) as (url, _):
            metadata = await connector.metadata(momiji_connection(url))
    finally:
        await connector.aclose()
    assert metadata["padding"] == document["padding"]


async def test_proxies_from_the_environment_are_used_and_bypassed_as_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for line, headers, _ in each_request(reader):
            seen.append((line, headers))
            await answer(writer, b"HTTP/1.1 200 OK\r\n", b"via proxy")

    async with raw_server(proxy) as (proxy_url, _):
        monkeypatch.setenv("HTTP_PROXY", proxy_url.replace("http://", "http://ops:s%40fe@"))
        monkeypatch.setenv("NO_PROXY", "direct.example, .internal.example")
        transport = AiohttpTransport(limits=LIMITS)
        # The environment is read when the transport is made, not per request.
        monkeypatch.delenv("HTTP_PROXY")
        async with transport, httpx.AsyncClient(transport=transport) as http:
            proxied = await http.get("http://bank.example:8080/kyc?x=1")
            again = await http.get("http://bank.example:8080/token")
            for bypassed in ("http://direct.example/", "http://kyc.internal.example/"):
                with pytest.raises(httpx.ConnectError):  # tried directly: no such host
                    await http.get(bypassed)
    assert (proxied.status_code, proxied.text, again.text) == (200, "via proxy", "via proxy")
    assert [line for line, _ in seen] == [
        "GET http://bank.example:8080/kyc?x=1 HTTP/1.1",
        "GET http://bank.example:8080/token HTTP/1.1",
    ]
    credentials = base64.b64encode(b"ops:s@fe").decode()
    assert seen[0][1]["proxy-authorization"] == f"Basic {credentials}"


@pytest.mark.parametrize(
    ("url", "no_proxy", "proxy"),
    [
        ("http://bank.example/", "", "http://proxy:3128"),
        ("https://bank.example/", "", None),  # no HTTPS_PROXY named
        ("http://bank.example/", "*", None),
        ("http://bank.example/", "example", None),
        ("http://bank.example/", ".bank.example", None),
        ("http://bank.example:8443/", "bank.example:8443", None),
        ("http://bank.example:8443/", "bank.example:9000", "http://proxy:3128"),
        ("http://notbank.example/", "bank.example", "http://proxy:3128"),
        ("http://BANK.example/", " bank.example ,other", None),
    ],
)
def test_choose_proxy_reads_no_proxy_as_urllib_does(
    url: str, no_proxy: str, proxy: str | None
) -> None:
    chosen = choose_proxy(httpx.URL(url), {"http": "http://proxy:3128", "no": no_proxy})
    assert chosen.url == proxy
    assert chosen.headers is None
