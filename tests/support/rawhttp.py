"""Raw HTTP/1.1 servers on loopback, for answers no well-behaved server library would send:
cut bodies, bad chunks, endless streams, compression bombs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


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


async def answer(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> None:
    """Write one whole answer: ``head`` holds the status line and any headers but the
    length, which is added."""
    writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()


async def endless_chunks(
    writer: asyncio.StreamWriter, head: bytes, chunk: bytes, *, first: bytes = b""
) -> None:
    """A chunked answer that never ends: ``first``, then ``chunk`` again and again until
    the client hangs up."""
    writer.write(head + b"Transfer-Encoding: chunked\r\n\r\n")
    if first:
        writer.write(b"%x\r\n" % len(first) + first + b"\r\n")
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    try:
        while True:
            writer.write(frame)
            await writer.drain()
    except ConnectionError:
        return
