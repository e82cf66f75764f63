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
"""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import httpx
from multidict import CIMultiDict

__all__ = ["AiohttpTransport", "map_error"]


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
    (``HTTPS_PROXY``, ``NO_PROXY``), as with httpx's default transport.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._limits = limits
        # httpx's own trust store and TLS defaults (certifi), so verification is unchanged.
        self._ssl = (
            verify
            if isinstance(verify, ssl.SSLContext)
            else httpx.create_ssl_context(verify=verify)
        )
        self._session: aiohttp.ClientSession | None = None

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
            trust_env=True,
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
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        try:
            async with self._session.request(
                request.method,
                str(request.url),
                headers=CIMultiDict(
                    (key.decode("latin-1"), value.decode("latin-1"))
                    for key, value in request.headers.raw
                ),
                data=body or None,
                allow_redirects=False,  # httpx decides on redirects
                timeout=timeout,
            ) as answer:
                content = await answer.read()
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
            stream=httpx.ByteStream(content),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
