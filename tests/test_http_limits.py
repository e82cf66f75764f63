"""Bounded reads of answers from servers Honnin does not run (honnin/http_limits.py),
against real loopback servers through httpx's own transport."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib

import httpx
import pytest

from honnin.http_limits import BodyTooLargeError, read_capped, send_capped, with_body
from support.rawhttp import answer, endless_chunks, raw_server, read_request


def endless_gzip() -> tuple[bytes, bytes]:
    """The start of a gzip stream of zeros, and a block to repeat after it: each copy is a
    flushed deflate block of a MiB of zeros (about a KiB on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    again = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return first, again


async def test_a_body_up_to_the_limit_is_read_and_one_byte_more_is_not() -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, _headers, _body = await read_request(reader)
        size = int(line.split()[1].removeprefix("/"))
        await answer(writer, b"HTTP/1.1 200 OK\r\n", b"a" * size)

    async with raw_server(server) as (url, _), httpx.AsyncClient() as http:
        kept = await send_capped(http, "GET", f"{url}/5000", limit=5000)
        assert kept.content == b"a" * 5000
        with pytest.raises(BodyTooLargeError, match="larger than 5000 bytes"):
            await send_capped(http, "GET", f"{url}/5001", limit=5000)


async def test_an_endless_compressed_body_is_refused_as_it_is_decoded() -> None:
    """Decoding the whole body first would never end; the 60 s bound only turns such a
    hang into a failure."""
    first, again = endless_gzip()

    async def bomb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
        await endless_chunks(writer, head, again, first=first)

    async with (
        raw_server(bomb) as (url, _),
        httpx.AsyncClient() as http,
        http.stream("GET", f"{url}/") as response,
    ):
        with pytest.raises(BodyTooLargeError):
            await asyncio.wait_for(read_capped(response, limit=4 << 20), 60)


async def test_a_read_answer_keeps_status_and_headers_and_reads_as_decoded() -> None:
    document = {"名前": "佐藤", "n": 1}

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        head = (
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
            b"Content-Encoding: gzip\r\nX-Bank: momiji\r\n"
        )
        await answer(writer, head, gzip.compress(json.dumps(document).encode()))

    async with raw_server(server) as (url, _), httpx.AsyncClient() as http:
        response = await send_capped(http, "GET", f"{url}/", limit=1000)
    assert response.status_code == 201
    assert response.json() == document
    assert response.headers["x-bank"] == "momiji"
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    assert with_body(response, b"{}").json() == {}


async def test_an_undecodable_body_is_a_decoding_error() -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await answer(writer, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", b"not gzip")

    async with raw_server(server) as (url, _), httpx.AsyncClient() as http:
        with pytest.raises(httpx.DecodingError):
            await send_capped(http, "GET", f"{url}/", limit=1000)
