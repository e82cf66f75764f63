"""Bounded reads of httpx answers from parties Honnin does not run: peer logs and witnesses
(the ledger). Bank calls and webhooks go through ``honnin.http_client`` instead.

httpx reads a whole body into memory, and a small compressed body (RFC 9110 §8.4
``Content-Encoding``) can decode to gigabytes. A caller that sends with ``stream=True``
reads the answer here instead: decoded chunk by chunk, refused as soon as it runs over the
limit it allows.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx


class BodyTooLargeError(Exception):
    """The decoded body ran over the caller's limit; what was read so far is dropped."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer's body is larger than {limit} bytes")
        self.limit = limit


async def read_capped(response: httpx.Response, *, limit: int) -> bytes:
    """The decoded body of a streamed ``response``, at most ``limit`` bytes.

    Raises :class:`BodyTooLargeError` past the limit and ``httpx.DecodingError`` for a body
    its ``Content-Encoding`` cannot decode. The caller closes the response.
    """
    declared = response.headers.get("content-length", "")
    # A declared length counts only without Content-Encoding: it is the encoded size then.
    if declared.isdigit() and "content-encoding" not in response.headers and int(declared) > limit:
        raise BodyTooLargeError(limit)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError(limit)
    return bytes(body)


_ENCODED_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """A read response: ``response``'s status and headers with its decoded ``body``.

    The headers that described the encoded body (``Content-Encoding``, ``Content-Length``,
    ``Transfer-Encoding``) go, so ``.content``, ``.text`` and ``.json()`` read ``body``.
    """
    return httpx.Response(
        response.status_code,
        headers=[
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in _ENCODED_BODY_HEADERS
        ],
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


async def send_capped(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    limit: int,
    content: bytes | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.Response:
    """Send a request (with ``auth``, else the client's own) and read its answer with
    :func:`read_capped`; the connection is released either way."""
    request = client.build_request(method, url, content=content, data=data, headers=headers)
    response = await client.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT, stream=True)
    try:
        body = await read_capped(response, limit=limit)
    finally:
        await response.aclose()
    return with_body(response, body)
