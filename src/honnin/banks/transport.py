"""An httpx transport that sends HTTP/1.1 requests through aiohttp's client.

The bank connector speaks httpx, because Authlib's client authentication for the token
and PAR requests is an ``httpx.Auth``. httpx's own transport (httpcore, h11, anyio) is
pure Python and cost about 1.0-1.3 ms of CPU per request on the 2-core benchmark box;
aiohttp parses HTTP in C and pools connections per host, and the same requests through
this transport cost about 0.3-0.5 ms (docs/benchmarks.md, "Fourth round"). The client
above stays httpx: requests, auth flows, timeouts, ``Content-Encoding`` decoding.

Written here rather than taken from the ``httpx-aiohttp`` package, which reports every
connection failure (a refused connection included) as ``httpx.ConnectTimeout``, lets
aiohttp's protocol errors through unmapped and keeps one cookie jar for every request.
This one maps each aiohttp failure to the httpx exception a caller of httpx expects
(:func:`map_error`), keeps no cookies (a bank's cookies belong to no one user here) and
reads the whole body before returning, so a connection goes back to the pool at once.
That read stops at ``max_body_bytes`` (:class:`ResponseTooLargeError`): a bank that
answers with an endless or enormous body must not fill the platform's memory. The body
is handed to httpx in the chunks it arrived in, so httpx decodes a compressed body chunk
by chunk and a caller that streams it can stop early (the connector caps what it
decodes as well).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
import httpx
from multidict import CIMultiDict

__all__ = [
    "AiohttpTransport",
    "ProxyChoice",
    "ResponseTooLargeError",
    "choose_proxy",
    "map_error",
]

# Read size: also what httpx decodes at once, so a compressed chunk expands to at most
# about a thousand times this (deflate's limit) before a streaming caller can stop.
CHUNK_BYTES = 16_384
# Proxy choices remembered per scheme, host and port (a bank has a handful of hosts).
MAX_REMEMBERED_PROXY_CHOICES = 1024


@dataclass(frozen=True, slots=True)
class ProxyChoice:
    """Where a request goes: through ``url`` with ``headers`` for the proxy, or direct."""

    url: str | None = None
    headers: Mapping[str, str] | None = None


def choose_proxy(url: httpx.URL, environment: Mapping[str, str]) -> ProxyChoice:
    """The proxy for ``url`` under ``environment`` (``urllib.request.getproxies_environment``).

    ``no_proxy`` lists hosts, with or without a port, that are reached directly, each
    with its subdomains (``*`` for all), as urllib and httpx read it; credentials in the
    proxy's URL are sent as its ``Proxy-Authorization``.
    """
    named = environment.get(url.scheme)
    if not named or not url.host or _bypassed(url, environment.get("no", "")):
        return ProxyChoice()
    proxy = httpx.URL(named)
    if not proxy.username:
        return ProxyChoice(url=str(proxy))
    return ProxyChoice(
        url=str(proxy.copy_with(userinfo=b"")),
        headers={"Proxy-Authorization": aiohttp.encode_basic_auth(proxy.username, proxy.password)},
    )


def _bypassed(url: httpx.URL, no_proxy: str) -> bool:
    names = {name.strip().lstrip(".").lower() for name in no_proxy.split(",")} - {""}
    if "*" in names:
        return True
    host = url.host.lower()
    candidates = (host,) if url.port is None else (host, f"{host}:{url.port}")
    return any(
        candidate == name or candidate.endswith(f".{name}")
        for candidate in candidates
        for name in names
    )


class ResponseTooLargeError(httpx.TransportError):
    """The answer's body is longer than the transport's ``max_body_bytes``."""


class _Chunks(httpx.AsyncByteStream):
    """A body already read, handed on in the chunks it arrived in."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def map_error(error: Exception, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception that stands for an aiohttp (or asyncio) failure."""
    message = str(error) or type(error).__name__
    mapped: type[httpx.TransportError]
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        mapped = httpx.ConnectTimeout
    elif isinstance(error, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        mapped = httpx.ReadTimeout
    elif isinstance(error, aiohttp.ClientConnectorError):
        mapped = httpx.ConnectError  # refused, unresolvable, TLS handshake failed
    elif isinstance(error, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        mapped = httpx.RemoteProtocolError  # not HTTP, a cut chunked body, bad headers
    elif isinstance(error, aiohttp.ServerDisconnectedError):
        mapped = httpx.RemoteProtocolError  # closed before a complete response, as httpx
    elif isinstance(error, aiohttp.InvalidURL):
        mapped = httpx.UnsupportedProtocol
    else:  # ClientOSError (reset, broken pipe) and anything else aiohttp raises
        mapped = httpx.ReadError
    return mapped(message, request=request)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (one connection pool) per transport.

    The session is made on the first request: aiohttp binds it to the running event loop.
    ``limits.max_connections`` caps the open connections; idle ones close after
    ``limits.keepalive_expiry`` seconds. Proxy settings come from the environment
    (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``, credentials in the proxy's URL) as it
    was when the transport was made, as with httpx's default transport; the choice for
    each scheme, host and port is made once. (aiohttp's own ``trust_env`` looks the
    environment, the proxy bypass list and ``~/.netrc`` up again on every request, which
    was about 3 % of the platform's CPU in the inquiry benchmark.) A body longer
    than ``max_body_bytes`` (as sent, before any ``Content-Encoding`` is decoded) raises
    :class:`ResponseTooLargeError`; ``None`` reads any length.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        verify: ssl.SSLContext | bool = True,
        max_body_bytes: int | None = None,
    ) -> None:
        self._limits = limits
        self._max_body = max_body_bytes
        # httpx's own trust store and TLS defaults (certifi), so verification is unchanged.
        self._ssl = (
            verify
            if isinstance(verify, ssl.SSLContext)
            else httpx.create_ssl_context(verify=verify)
        )
        self._session: aiohttp.ClientSession | None = None
        self._environment_proxies = urllib.request.getproxies_environment()
        self._proxies: dict[tuple[str, str, int | None], ProxyChoice] = {}

    def _proxy_for(self, url: httpx.URL) -> ProxyChoice:
        key = (url.scheme, url.host, url.port)
        proxy = self._proxies.get(key)
        if proxy is None:
            if len(self._proxies) >= MAX_REMEMBERED_PROXY_CHOICES:
                self._proxies.clear()
            proxy = self._proxies[key] = choose_proxy(url, self._environment_proxies)
        return proxy

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 5.0,
            ssl=self._ssl,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # httpx decodes Content-Encoding itself
            trust_env=False,  # proxies: _proxy_for
            # httpx sends its own User-Agent, Accept and Accept-Encoding.
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            msg = f"unsupported URL scheme {request.url.scheme!r}"
            raise httpx.UnsupportedProtocol(msg, request=request)
        if self._session is None or self._session.closed:
            self._session = self._open()
        body = await request.aread()
        proxy = self._proxy_for(request.url)
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        sent = CIMultiDict(
            (key.decode("latin-1"), value.decode("latin-1")) for key, value in request.headers.raw
        )
        proxy_headers = proxy.headers
        if proxy_headers and request.url.scheme == "http":
            # A plain-HTTP request goes to the proxy as it is (no CONNECT), so the proxy's
            # credentials go with it; aiohttp sends proxy_headers only with a CONNECT.
            sent.update(proxy_headers)
            proxy_headers = None
        try:
            async with self._session.request(
                request.method,
                str(request.url),
                headers=sent,
                data=body or None,
                allow_redirects=False,  # httpx decides on redirects
                timeout=timeout,
                proxy=proxy.url,
                proxy_headers=proxy_headers,
            ) as answer:
                chunks = await self._read_body(answer, request)
                status = answer.status
                headers = list(answer.raw_headers)
                reason = answer.reason
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise map_error(exc, request) from exc
        extensions: dict[str, object] = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("latin-1", errors="replace")
        return httpx.Response(
            status,
            headers=headers,
            stream=_Chunks(chunks),
            request=request,
            extensions=extensions,
        )

    async def _read_body(
        self, answer: aiohttp.ClientResponse, request: httpx.Request
    ) -> list[bytes]:
        limit = self._max_body
        if limit is not None and (answer.content_length or 0) > limit:
            msg = f"the answer's body is {answer.content_length} bytes, over {limit}"
            raise ResponseTooLargeError(msg, request=request)
        chunks: list[bytes] = []
        size = 0
        async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if limit is not None and size > limit:
                msg = f"the answer's body runs over {limit} bytes"
                raise ResponseTooLargeError(msg, request=request)
            chunks.append(chunk)
        return chunks

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
