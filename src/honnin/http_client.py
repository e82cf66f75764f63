"""HTTP/1.1 out of the platform (RFC 9110, RFC 9112) on aiohttp's client: the bank
connector's discovery, key set, PAR, token and KYC requests, and the webhooks delivered
to enterprises (inquiries/webhooks.py).

aiohttp parses HTTP in C and pools connections per host without scanning them (httpx's
own pool cost more CPU per request the more connections it held). Until the eleventh
round of the inquiry benchmark (docs/benchmarks.md) the connector sent through httpx with
aiohttp underneath as httpx's transport; httpx's request and response models, auth flow,
cookie jar and decoders then cost about as much CPU again as aiohttp itself (0.45-0.55
against 0.22-0.24 ms a request with 100 in flight); the webhooks went through httpx's own
pure-Python transport until the twelfth. Client authentication to the banks is still
Authlib's, through its pure ``ClientAuth.prepare`` (connector).

What is kept of a general client, and why:

* the answer is read whole before :meth:`OutboundHttp.request` returns, so its connection
  goes back to the pool at once; the read stops past ``max_body_bytes`` as sent
  (:class:`ResponseTooLargeError`): a bank that answers with an endless or enormous body
  must not fill the platform's memory. A caller that needs only the status (a webhook's
  receiver) asks for no body: none is read, and the connection is kept only if the
  whole answer had already arrived (a 204 has); otherwise it is closed;
* ``Content-Encoding`` ``gzip`` and ``deflate`` (RFC 9110 §8.4.1, the codings offered in
  ``Accept-Encoding``) are decoded under the same limit (:func:`decode_body`): a small
  compressed body can decode to gigabytes;
* no cookies (a server's cookies belong to no one user here) and no redirects (the caller
  refuses a 3xx as it refuses any status it does not expect);
* proxies from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``, credentials
  in the proxy's URL) as they were when the client was made, as urllib and httpx read
  them, chosen once per scheme, host and port. (aiohttp's own ``trust_env`` reads the
  environment and ``~/.netrc`` again on every request: about 3 % of the platform's CPU
  in the inquiry benchmark.)

Every failure is one of this module's :class:`TransportError` subclasses; the connector
names the bank and gives each its stable code, the webhook dispatcher records it as the
attempt's error. Messages carry nothing the server sent.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import aiohttp
import certifi
from multidict import CIMultiDictProxy
from yarl import URL

__all__ = [
    "Answer",
    "ConnectError",
    "DecodingError",
    "NetworkError",
    "OutboundHttp",
    "ProtocolError",
    "ProxyChoice",
    "ResponseTooLargeError",
    "TransportError",
    "TransportTimeoutError",
    "UnsupportedSchemeError",
    "choose_proxy",
    "decode_body",
]

# Read size of the body as it arrives.
CHUNK_BYTES = 16_384
# Proxy choices remembered per scheme, host and port (a bank has a handful of hosts, the
# webhooks one per enterprise); past this many they are chosen afresh.
MAX_REMEMBERED_PROXY_CHOICES = 1024
# What decode_body undoes, and so all that is offered (RFC 9110 §12.5.3).
ACCEPT_ENCODING = "gzip, deflate"


def _user_agent() -> str:
    try:
        return f"honnin/{version('honnin')}"
    except PackageNotFoundError:  # run from a source tree without installing
        return "honnin"


class TransportError(Exception):
    """A request that got no usable answer."""


class NetworkError(TransportError):
    """The connection failed or was reset while the request was under way."""


class ConnectError(NetworkError):
    """No connection: refused, a name that does not resolve, a failed TLS handshake."""


class TransportTimeoutError(TransportError):
    """No connection, or no answer, within the client's timeout."""


class ProtocolError(TransportError):
    """The answer is not HTTP, or it was cut off."""


class ResponseTooLargeError(TransportError):
    """The answer's body is longer than the client's ``max_body_bytes``, as sent or decoded."""


class DecodingError(TransportError):
    """The body does not decode as its ``Content-Encoding`` says."""


class UnsupportedSchemeError(TransportError):
    """The URL is not an ``http`` or ``https`` URL with a host."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A bank's answer, its body read and decoded."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (``ValueError`` when it is not)."""
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class ProxyChoice:
    """Where a request goes: through ``url`` with ``headers`` for the proxy, or direct."""

    url: str | None = None
    headers: Mapping[str, str] | None = None


def choose_proxy(url: URL, environment: Mapping[str, str]) -> ProxyChoice:
    """The proxy for ``url`` under ``environment`` (``urllib.request.getproxies_environment``).

    ``no_proxy`` lists hosts, with or without a port, that are reached directly, each
    with its subdomains (``*`` for all), as urllib and httpx read it; credentials in the
    proxy's URL are sent as its ``Proxy-Authorization``.
    """
    named = environment.get(url.scheme)
    if not named or not url.host or _bypassed(url, environment.get("no", "")):
        return ProxyChoice()
    proxy = URL(named)
    if not proxy.user:
        return ProxyChoice(url=str(proxy))
    return ProxyChoice(
        url=str(proxy.with_user(None)),
        headers={
            "Proxy-Authorization": aiohttp.encode_basic_auth(proxy.user, proxy.password or "")
        },
    )


def _bypassed(url: URL, no_proxy: str) -> bool:
    names = {name.strip().lstrip(".").lower() for name in no_proxy.split(",")} - {""}
    if "*" in names:
        return True
    host = (url.host or "").lower()
    port = url.explicit_port
    candidates = (host,) if port is None else (host, f"{host}:{port}")
    return any(
        candidate == name or candidate.endswith(f".{name}")
        for candidate in candidates
        for name in names
    )


def decode_body(body: bytes, content_encoding: str, *, limit: int | None) -> bytes:
    """``body`` with its content codings undone, last applied first (RFC 9110 §8.4).

    ``gzip`` (``x-gzip``), ``deflate`` (zlib, or raw as some servers send it) and
    ``identity``; any other coding, a corrupt stream or one that ends early is a
    :class:`DecodingError`. Decoding stops as soon as the output would pass ``limit``
    (:class:`ResponseTooLargeError`), so no more than ``limit + 1`` bytes are ever held.
    """
    codings = [coding.strip().lower() for coding in content_encoding.split(",")]
    for coding in reversed(codings):
        if coding in ("", "identity"):
            continue
        if coding in ("gzip", "x-gzip"):
            body = _inflate(body, zlib.MAX_WBITS | 16, limit)
        elif coding == "deflate":
            try:
                body = _inflate(body, zlib.MAX_WBITS, limit)
            except DecodingError:
                body = _inflate(body, -zlib.MAX_WBITS, limit)
        else:
            raise DecodingError("the body is in a content coding that was not offered")
    return body


def _inflate(data: bytes, wbits: int, limit: int | None) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    try:
        decoded = decompressor.decompress(data, 0 if limit is None else limit + 1)
        if limit is None or len(decoded) <= limit:
            # The output stopped short of the cap, so all input was taken; flush() would
            # otherwise decode whatever input the cap left, without a bound.
            decoded += decompressor.flush()
    except zlib.error as exc:
        raise DecodingError("the body does not decode as its Content-Encoding says") from exc
    if limit is not None and len(decoded) > limit:
        raise ResponseTooLargeError(f"the answer's body decodes to more than {limit} bytes")
    if not decompressor.eof:
        raise DecodingError("the compressed body ends early")
    return decoded


def _mapped(error: Exception) -> TransportError:
    """The :class:`TransportError` that stands for an aiohttp (or asyncio) failure."""
    name = type(error).__name__
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return TransportTimeoutError(f"no connection within the timeout ({name})")
    if isinstance(error, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return TransportTimeoutError(f"no answer within the timeout ({name})")
    if isinstance(error, aiohttp.ClientConnectorError):
        return ConnectError(f"no connection ({name})")  # refused, unresolvable, TLS
    if isinstance(
        error,
        aiohttp.ClientPayloadError | aiohttp.ClientResponseError | aiohttp.ServerDisconnectedError,
    ):
        return ProtocolError(f"no complete HTTP answer ({name})")  # not HTTP, cut off
    if isinstance(error, aiohttp.InvalidURL):
        return UnsupportedSchemeError(f"not a URL this client can send to ({name})")
    return NetworkError(f"the connection failed ({name})")  # reset, broken pipe, others


class OutboundHttp:
    """One connection pool (an aiohttp session), made on the first request: aiohttp binds
    it to the running event loop.

    At most ``max_connections`` are open; idle ones close after ``keepalive_seconds``.
    ``timeout_seconds`` bounds the wait for a pooled connection, the connect and each read
    of the answer. A body longer than ``max_body_bytes``, as sent or decoded, raises
    :class:`ResponseTooLargeError`; ``None`` reads any length.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_seconds: float,
        timeout_seconds: float,
        max_body_bytes: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive = keepalive_seconds
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeout_seconds,
            sock_connect=timeout_seconds,
            sock_read=timeout_seconds,
        )
        self._max_body = max_body_bytes
        # certifi's trust store, as httpx (the connector's client before) used.
        self._ssl = ssl_context or ssl.create_default_context(cafile=certifi.where())
        self._session: aiohttp.ClientSession | None = None
        self._environment_proxies = urllib.request.getproxies_environment()
        self._proxies: dict[tuple[str, str | None, int | None], ProxyChoice] = {}

    @property
    def closed(self) -> bool:
        return self._session is None or self._session.closed

    def _proxy_for(self, url: URL) -> ProxyChoice:
        key = (url.scheme, url.host, url.explicit_port)
        proxy = self._proxies.get(key)
        if proxy is None:
            if len(self._proxies) >= MAX_REMEMBERED_PROXY_CHOICES:
                self._proxies.clear()
            proxy = self._proxies[key] = choose_proxy(url, self._environment_proxies)
        return proxy

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, keepalive_timeout=self._keepalive, ssl=self._ssl
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # decode_body, under the size limit
            trust_env=False,  # proxies: _proxy_for
            timeout=self._timeout,
            headers={"User-Agent": _user_agent(), "Accept-Encoding": ACCEPT_ENCODING},
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        read_body: bool = True,
    ) -> Answer:
        """Send one request and read its whole answer (``read_body=False``: its status and
        headers, and an empty body whatever was sent)."""
        try:
            target = URL(url)
        except (ValueError, TypeError) as exc:  # e.g. a port out of range
            raise UnsupportedSchemeError("not a URL this client can send to") from exc
        if target.scheme not in ("http", "https") or not target.host:
            raise UnsupportedSchemeError("only http and https URLs are sent")
        session = self._session
        if session is None or session.closed:
            session = self._session = self._open()
        proxy = self._proxy_for(target)
        sent: Mapping[str, str] | None = headers
        proxy_headers = proxy.headers
        if proxy_headers and target.scheme == "http":
            # A plain-HTTP request goes to the proxy as it is (no CONNECT), so the proxy's
            # credentials go with it; aiohttp sends proxy_headers only with a CONNECT.
            sent = {**(headers or {}), **proxy_headers}
            proxy_headers = None
        try:
            async with session.request(
                method,
                target,
                headers=sent,
                data=body,
                allow_redirects=False,
                proxy=proxy.url,
                proxy_headers=proxy_headers,
            ) as answer:
                raw = await self._read_body(answer) if read_body else b""
                status = answer.status
                received = answer.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _mapped(exc) from exc
        coding = received.get("Content-Encoding")
        if coding and read_body:
            raw = decode_body(raw, coding, limit=self._max_body)
        return Answer(status=status, headers=received, body=raw)

    async def _read_body(self, answer: aiohttp.ClientResponse) -> bytes:
        limit = self._max_body
        if limit is not None and (answer.content_length or 0) > limit:
            raise ResponseTooLargeError(f"the answer's body is longer than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if limit is not None and size > limit:
                raise ResponseTooLargeError(f"the answer's body runs over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
