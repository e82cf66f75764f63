"""A lean HTTP/1.1 user agent (RFC 9112) for the automated customer: plain ``http://`` only.

Benchmarks drive hundreds of consent flows a second on a two-core machine, and a general
client spends most of a flow's CPU on itself (connection-pool bookkeeping, cookie-jar
policy, header models). This agent keeps only what a browser needs here: keep-alive
connections per origin, ``Content-Length`` and chunked bodies, redirects left to the
caller, and host-only cookies with ``Path`` / ``Max-Age`` / ``Expires`` (RFC 6265 §5.3,
simplified: no ``Domain`` sharing, no ``Secure``-only cookies over plain HTTP).

One :class:`UserAgent` may serve many concurrent flows; each flow gets its own
:class:`CookieJar` (a private window per customer).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode, urlsplit

from honnin.sandbox.banks.errors import SandboxBankError

MAX_HEADER_LINES = 100
MAX_BODY_BYTES = 4 * 1024 * 1024


class AgentError(SandboxBankError):
    """The agent could not complete an HTTP exchange."""

    code = "sandbox_agent_error"
    status = 502


@dataclass(frozen=True, slots=True)
class AgentResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(slots=True)
class _Cookie:
    value: str
    path: str
    expires: float | None


@dataclass(slots=True)
class CookieJar:
    """Host-only cookies of one simulated browser profile."""

    _cookies: dict[tuple[str, str, str], _Cookie] = field(default_factory=dict)

    def store(self, origin: str, set_cookie: str, *, now: float) -> None:
        parsed: SimpleCookie = SimpleCookie()
        try:
            parsed.load(set_cookie)
        except CookieError:
            return
        for name, morsel in parsed.items():
            path = morsel["path"] or "/"
            expires: float | None = None
            if morsel["max-age"]:
                try:
                    expires = now + int(morsel["max-age"])
                except ValueError:
                    expires = None
            elif morsel["expires"]:
                stamp = email.utils.parsedate_to_datetime(morsel["expires"])
                expires = stamp.timestamp() if stamp else None
            key = (origin, path, name)
            if expires is not None and expires <= now:
                self._cookies.pop(key, None)
            else:
                self._cookies[key] = _Cookie(morsel.value, path, expires)

    def header_for(self, origin: str, path: str, *, now: float) -> str:
        pairs = []
        for (cookie_origin, cookie_path, name), cookie in self._cookies.items():
            if cookie_origin != origin or (cookie.expires is not None and cookie.expires <= now):
                continue
            if path == cookie_path or path.startswith(cookie_path.rstrip("/") + "/"):
                pairs.append(f"{name}={cookie.value}")
        return "; ".join(pairs)


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _StaleConnectionError(Exception):
    """Nothing was read back: the server had already closed the kept-alive connection."""


class UserAgent:
    """Keep-alive connections per origin, shared by the flows that use this agent."""

    def __init__(self, *, timeout: float = 10.0, user_agent: str = "honnin-sandbox-user") -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
        cookies: CookieJar | None = None,
    ) -> AgentResponse:
        """One exchange: ``data`` is sent as a form, ``json_body`` as JSON (not both);
        ``headers`` are added as given (an enterprise's ``Authorization``, say)."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise AgentError("the lean user agent speaks plain http:// only")
        host, port = parts.hostname, parts.port or 80
        origin = f"{host}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        now = time.time()
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            f"User-Agent: {self.user_agent}",
            "Accept: text/html,application/json;q=0.9,*/*;q=0.8",
        ]
        if cookies is not None and (cookie := cookies.header_for(origin, parts.path, now=now)):
            lines.append(f"Cookie: {cookie}")
        lines.extend(_header_lines(headers or {}))
        body, content_type = _body(data, json_body)
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if body or method not in {"GET", "HEAD"}:
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        try:
            async with asyncio.timeout(self.timeout):
                response, reusable, connection = await self._exchange((host, port), raw)
        except TimeoutError as exc:
            raise AgentError("the server did not answer in time") from exc
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            _StaleConnectionError,
            ValueError,
            UnicodeError,
        ) as exc:
            raise AgentError(f"HTTP exchange failed ({type(exc).__name__})") from exc
        if reusable:
            self._idle.setdefault((host, port), []).append(connection)
        else:
            connection[1].close()
        if cookies is not None:
            for name, value in response.headers:
                if name == "set-cookie":
                    cookies.store(origin, value, now=now)
        return response

    async def _exchange(
        self, address: tuple[str, int], raw: bytes
    ) -> tuple[AgentResponse, bool, _Connection]:
        idle = self._idle.get(address)
        while idle:
            connection = idle.pop()
            try:
                return await self._send(connection, raw)
            except _StaleConnectionError:
                # The server had closed this idle connection before reading the request.
                connection[1].close()
            except BaseException:
                connection[1].close()
                raise
        connection = await asyncio.open_connection(*address)
        try:
            return await self._send(connection, raw)
        except BaseException:
            connection[1].close()
            raise

    @staticmethod
    async def _send(connection: _Connection, raw: bytes) -> tuple[AgentResponse, bool, _Connection]:
        reader, writer = connection
        try:
            writer.write(raw)
            await writer.drain()
            status_line = await reader.readuntil(b"\r\n")
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise _StaleConnectionError from exc
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            raise _StaleConnectionError from exc
        version, status, *_ = status_line.decode("latin-1").split(" ", 2)
        headers: list[tuple[str, str]] = []
        for _ in range(MAX_HEADER_LINES):
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        else:
            raise ValueError("too many header lines")
        fields = dict(headers)
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        elif "content-length" in fields:
            length = int(fields["content-length"])
            if length > MAX_BODY_BYTES:
                raise ValueError("response body too large")
            body = await reader.readexactly(length)
        elif int(status) in {204, 304} or 100 <= int(status) < 200:
            body = b""
        else:
            body = await reader.read(MAX_BODY_BYTES)
            fields["connection"] = "close"
        reusable = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
        return AgentResponse(int(status), headers, body), reusable, connection

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                writer.close()
        self._idle.clear()

    async def __aenter__(self) -> UserAgent:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def _header_lines(headers: Mapping[str, str]) -> list[str]:
    lines = []
    for name, value in headers.items():
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise AgentError("header names and values are single lines")
        lines.append(f"{name}: {value}")
    return lines


def _body(data: Mapping[str, str] | None, json_body: object) -> tuple[bytes, str | None]:
    if data is not None and json_body is not None:
        raise AgentError("send a form or a JSON body, not both")
    if data is not None:
        return urlencode(data).encode(), "application/x-www-form-urlencoded"
    if json_body is not None:
        return json.dumps(json_body, ensure_ascii=False).encode(), "application/json"
    return b"", None


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields are ignored
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise ValueError("response body too large")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
