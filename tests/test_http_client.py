"""The outbound HTTP client (http_client.py: bank calls, webhooks) against real loopback
servers: what goes on the wire, what comes back, and which error each kind of failure
becomes."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from honnin.banks.connector import MAX_RESPONSE_BYTES, BankConnector
from honnin.banks.errors import (
    BankPayloadError,
    BankProtocolError,
    BankTimeoutError,
    BankUnreachableError,
)
from honnin.http_client import (
    ACCEPT_ENCODING,
    ConnectError,
    DecodingError,
    OutboundHttp,
    ProtocolError,
    ResponseTooLargeError,
    TransportTimeoutError,
    UnsupportedSchemeError,
    choose_proxy,
    decode_body,
)
from support.banks import momiji_connection
from support.rawhttp import answer, each_request, endless_chunks, raw_server, read_request
from support.server import free_port


def client(*, timeout: float = 5.0, max_body_bytes: int | None = None) -> OutboundHttp:
    return OutboundHttp(
        max_connections=10,
        keepalive_seconds=5.0,
        timeout_seconds=timeout,
        max_body_bytes=max_body_bytes,
    )


@asynccontextmanager
async def open_client(
    *, timeout_seconds: float = 5.0, max_body_bytes: int | None = None
) -> AsyncIterator[OutboundHttp]:
    """A client closed when the test leaves it, whatever happened."""
    http = client(timeout=timeout_seconds, max_body_bytes=max_body_bytes)
    try:
        yield http
    finally:
        await http.aclose()


async def test_a_request_and_its_answer_cross_intact_over_one_kept_alive_connection() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []
    document = gzip.compress(json.dumps({"name": "佐藤"}).encode())

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for request in each_request(reader):
            seen.append(request)
            writer.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                b"Content-Encoding: gzip\r\nSet-Cookie: session=abc; Path=/\r\n"
                b"X-Bank: momiji\r\nContent-Length: %d\r\n\r\n" % len(document) + document
            )
            await writer.drain()

    http = client()
    async with raw_server(handler) as (url, connections):
        first = await http.request(
            "POST",
            f"{url}/token?x=1",
            headers={
                "Authorization": "Basic abc",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body=b"code=c+1",
        )
        second = await http.request("GET", f"{url}/kyc")
        await http.aclose()
    assert first.status == 201
    assert first.json() == {"name": "佐藤"}  # the gzip body, decoded
    assert first.headers["x-bank"] == "momiji"
    line, headers, body = seen[0]
    assert line == "POST /token?x=1 HTTP/1.1"
    assert body == b"code=c+1"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["authorization"] == "Basic abc"
    assert headers["host"] == url.removeprefix("http://")
    assert headers["user-agent"].startswith("honnin")
    assert headers["accept-encoding"] == ACCEPT_ENCODING
    assert seen[1][0] == "GET /kyc HTTP/1.1"
    assert "cookie" not in seen[1][1]  # the client keeps no cookies
    assert second.status == 201
    assert connections == [1]
    assert http.closed


async def test_without_its_body_an_answer_gives_its_status_and_an_empty_body() -> None:
    """What the webhook dispatcher asks for: a whole empty answer keeps its connection;
    one with a body, even one that never ends, gives its status at once and its
    connection is closed, not read to the end."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for request in each_request(reader):
            if request[0].startswith("POST /empty"):
                await answer(writer, b"HTTP/1.1 204 No Content\r\n", b"")
            else:
                await endless_chunks(writer, b"HTTP/1.1 200 OK\r\n", b"ok " * 5000)
                return

    async with open_client() as http, raw_server(handler) as (url, connections):
        for _ in range(2):
            empty = await http.request("POST", f"{url}/empty", body=b"{}", read_body=False)
            assert (empty.status, empty.body) == (204, b"")
        assert connections == [1]
        flooded = await asyncio.wait_for(
            http.request("POST", f"{url}/flood", body=b"{}", read_body=False), 60
        )
        assert (flooded.status, flooded.body) == (200, b"")
        again = await http.request("POST", f"{url}/empty", body=b"{}", read_body=False)
        assert again.status == 204
        assert connections == [2]  # the flooded connection was not reused


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with open_client() as http:
        with pytest.raises(ConnectError):
            await http.request("GET", f"http://127.0.0.1:{free_port()}/")


async def test_no_answer_within_the_timeout_is_a_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with open_client(timeout_seconds=0.2) as http, raw_server(handler) as (url, _):
        with pytest.raises(TransportTimeoutError):
            await http.request("GET", f"{url}/slow")


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

    async with open_client() as http, raw_server(handler) as (url, _):
        with pytest.raises(ProtocolError):
            await http.request("GET", f"{url}/")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/file", "http://127.0.0.1:99999/", "http:///no-host", "/kyc"]
)
async def test_only_http_and_https_urls_with_a_host_are_sent(url: str) -> None:
    http = client()
    with pytest.raises(UnsupportedSchemeError):
        await http.request("GET", url)
    assert http.closed  # refused before any connection pool was made


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

    async def ftp_endpoint(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for _ in each_request(reader):
            document = {"issuer": url, "kyc_info_endpoint": "ftp://bank.example/kyc"}
            await answer(writer, b"HTTP/1.1 200 OK\r\n", json.dumps(document).encode())

    try:
        with pytest.raises(BankUnreachableError) as refused:
            await connector.metadata(momiji_connection(f"http://127.0.0.1:{free_port()}"))
        assert refused.value.code == "bank_unreachable"
        async with raw_server(silent) as (url, _):
            with pytest.raises(BankTimeoutError) as late:
                await connector.metadata(momiji_connection(url))
        assert late.value.code == "bank_timeout"
        async with raw_server(garbage) as (url, _):
            with pytest.raises(BankUnreachableError) as broken:
                await connector.metadata(momiji_connection(url))
        assert broken.value.code == "bank_unreachable"
        async with raw_server(ftp_endpoint) as (url, _):
            with pytest.raises(BankProtocolError, match="not an http or https URL"):
                await connector.fetch_kyc(momiji_connection(url), access_token="t")
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
        used = connector._client(connection)
        assert connector._client(connection) is used
        assert not used.closed
        await connector.aclose()
    assert used.closed
    assert seen[1][0] == "GET /kyc HTTP/1.1"
    assert seen[1][1]["authorization"] == "Bearer token-of-another-user"
    assert "cookie" not in seen[1][1]


async def test_the_connector_sends_forms_with_authlib_client_authentication() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def bank(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for request in each_request(reader):
            seen.append(request)
            if request[0].startswith("GET"):
                body = json.dumps(
                    {"issuer": url, "token_endpoint": f"{url}/token", "kyc_info_endpoint": "x"}
                ).encode()
            else:
                body = json.dumps({"access_token": "at", "token_type": "Bearer"}).encode()
            await answer(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", body)

    connector = BankConnector(redirect_uri="http://honnin.test/broker/callback")
    try:
        async with raw_server(bank) as (url, _):
            token = await connector.exchange_code(
                momiji_connection(url), code="c/1 2", code_verifier="v" * 43, nonce="n"
            )
    finally:
        await connector.aclose()
    assert token.access_token == "at"
    line, headers, body = seen[1]
    assert line == "POST /token HTTP/1.1"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["authorization"].startswith("Basic ")
    assert body == (
        b"grant_type=authorization_code&code=c%2F1+2"
        b"&redirect_uri=http%3A%2F%2Fhonnin.test%2Fbroker%2Fcallback&code_verifier=" + b"v" * 43
    )


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

    async with open_client(max_body_bytes=limit) as http:
        for refuse in (declared, endless):
            async with raw_server(refuse) as (url, _):
                with pytest.raises(ResponseTooLargeError, match=str(limit)):
                    await http.request("GET", f"{url}/")
        async with raw_server(at_the_limit) as (url, _):
            assert len((await http.request("GET", f"{url}/")).body) == limit


async def test_a_chunked_body_is_read_whole() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(8):
            writer.write(b"4000\r\n" + b"c" * 0x4000 + b"\r\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with open_client() as http, raw_server(chunked) as (url, _):
        received = await http.request("GET", f"{url}/")
    assert received.body == b"c" * 8 * 0x4000


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        # 64 MiB of zeros in 64 KiB of gzip: refused while it is being decoded.
        pytest.param(gzip.compress(bytes(64 << 20)), b"gzip", "larger than", id="gzip bomb"),
        pytest.param(b"plain text, not gzip", b"gzip", "does not decode", id="not gzip"),
        pytest.param(gzip.compress(b"{}")[:-12], b"gzip", "does not decode", id="cut gzip"),
        pytest.param(b"{}", b"br", "does not decode", id="coding not offered"),
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


def _deflate(data: bytes, *, raw: bool) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@given(st.binary(max_size=4096))
def test_decode_body_undoes_each_offered_coding_in_order(data: bytes) -> None:
    assert decode_body(gzip.compress(data), "gzip", limit=None) == data
    assert decode_body(gzip.compress(data), "X-Gzip", limit=len(data)) == data
    assert decode_body(_deflate(data, raw=False), "deflate", limit=None) == data
    assert decode_body(_deflate(data, raw=True), "deflate", limit=None) == data
    # Listed in the order applied: deflate first, then gzip.
    twice = gzip.compress(_deflate(data, raw=False))
    assert decode_body(twice, "deflate, gzip", limit=None) == data
    assert decode_body(data, "identity", limit=None) == data


@given(st.binary(min_size=1, max_size=4096))
def test_decode_body_refuses_one_byte_over_the_limit(data: bytes) -> None:
    with pytest.raises(ResponseTooLargeError):
        decode_body(gzip.compress(data), "gzip", limit=len(data) - 1)
    assert decode_body(gzip.compress(data), "gzip", limit=len(data)) == data


@pytest.mark.parametrize(
    ("body", "coding"),
    [
        pytest.param(b"\x1f\x8b not really", "gzip", id="corrupt gzip"),
        pytest.param(gzip.compress(b"x" * 1000)[:20], "gzip", id="cut gzip"),
        pytest.param(b"anything", "compress", id="unknown coding"),
        pytest.param(_deflate(b"x", raw=False), "gzip", id="deflate sent as gzip"),
    ],
)
def test_decode_body_refuses_what_does_not_decode(body: bytes, coding: str) -> None:
    with pytest.raises(DecodingError):
        decode_body(body, coding, limit=None)


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
        async with open_client() as http:
            # The environment is read when the client is made, not per request.
            monkeypatch.delenv("HTTP_PROXY")
            proxied = await http.request("GET", "http://bank.example:8080/kyc?x=1")
            again = await http.request("GET", "http://bank.example:8080/token")
            for bypassed in ("http://direct.example/", "http://kyc.internal.example/"):
                with pytest.raises(ConnectError):  # tried directly: no such host
                    await http.request("GET", bypassed)
    assert (proxied.status, proxied.body, again.body) == (200, b"via proxy", b"via proxy")
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
    chosen = choose_proxy(URL(url), {"http": "http://proxy:3128", "no": no_proxy})
    assert chosen.url == proxy
    assert chosen.headers is None
