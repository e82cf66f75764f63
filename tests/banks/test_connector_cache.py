"""The connector's discovery documents and key sets over real loopback HTTP: kept as long
as the bank's Cache-Control allows (RFC 9111), errors never kept, concurrent misses
sharing one request, a key set fetched again on demand (key rotation)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import pytest
from joserfc.jwk import ECKey

from honnin.banks.connection import BankConnection
from honnin.banks.connector import METADATA_MAX_TTL_SECONDS, BankConnector
from honnin.banks.errors import BankServerError
from support.banks import momiji_connection
from support.rawhttp import answer, each_request, raw_server


@dataclass
class Bank:
    """A bank's discovery and JWKS endpoints that count their requests."""

    url: str = ""
    cache_control: str | None = "max-age=60"
    status: int = 200
    hits: Counter[str] = field(default_factory=Counter)
    key: dict[str, object] = field(
        default_factory=lambda: dict(ECKey.generate_key("P-256").as_dict(private=False))
    )

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for request_line, _headers, _body in each_request(reader):
            path = request_line.split(" ")[1]
            self.hits[path] += 1
            await asyncio.sleep(0.05)  # long enough for concurrent callers to miss together
            if path == "/jwks":
                document: dict[str, object] = {"keys": [self.key]}
            else:
                document = {"issuer": self.url, "jwks_uri": f"{self.url}/jwks"}
            head = b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n" % self.status
            if self.cache_control is not None:
                head += b"Cache-Control: %s\r\n" % self.cache_control.encode()
            await answer(writer, head, json.dumps(document).encode())


@pytest.fixture
async def bank() -> AsyncIterator[Bank]:
    state = Bank()
    async with raw_server(state.serve) as (url, _):
        state.url = url
        yield state


OAUTH_METADATA = "/.well-known/oauth-authorization-server"


def connector(now: list[float]) -> BankConnector:
    return BankConnector(redirect_uri="http://honnin.test/cb", monotonic=lambda: now[0])


def oidc(bank: Bank) -> BankConnection:
    return replace(momiji_connection(bank.url), protocol="oidc")


async def test_discovery_is_kept_as_long_as_the_bank_says(bank: Bank) -> None:
    now = [0.0]
    client = connector(now)
    try:
        connection = momiji_connection(bank.url)
        assert (await client.metadata(connection))["issuer"] == bank.url
        now[0] = 59.0
        await client.metadata(connection)
        assert bank.hits[OAUTH_METADATA] == 1
        now[0] = 61.0
        await client.metadata(connection)
        assert bank.hits[OAUTH_METADATA] == 2
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("cache_control", "kept_for"),
    [
        (None, 300.0),  # says nothing: the default
        ("no-store", 0.0),
        ("no-cache", 0.0),
        ("max-age=31536000", METADATA_MAX_TTL_SECONDS),  # a year: capped
    ],
)
async def test_what_the_bank_says_or_not_about_caching(
    bank: Bank, cache_control: str | None, kept_for: float
) -> None:
    bank.cache_control = cache_control
    now = [0.0]
    client = connector(now)
    try:
        connection = momiji_connection(bank.url)
        await client.metadata(connection)
        now[0] = max(kept_for - 1, 0)
        await client.metadata(connection)
        assert bank.hits[OAUTH_METADATA] == (1 if kept_for else 2)
        now[0] = kept_for + 1
        await client.metadata(connection)
        assert bank.hits[OAUTH_METADATA] == (2 if kept_for else 3)
    finally:
        await client.aclose()


async def test_concurrent_misses_share_one_request_and_errors_are_not_kept(bank: Bank) -> None:
    client = connector([0.0])
    try:
        connection = momiji_connection(bank.url)
        bank.status = 503
        failures = await asyncio.gather(
            *(client.metadata(connection) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(f, BankServerError) for f in failures)
        assert bank.hits[OAUTH_METADATA] == 1
        bank.status = 200
        documents = await asyncio.gather(*(client.metadata(connection) for _ in range(5)))
        assert {d["issuer"] for d in documents} == {bank.url}
        assert bank.hits[OAUTH_METADATA] == 2  # the 503 was not kept; one request for five
    finally:
        await client.aclose()


async def test_key_set_is_shared_kept_and_fetched_again_on_rotation(bank: Bank) -> None:
    client = connector([0.0])
    try:
        connection = oidc(bank)
        first = await asyncio.gather(*(client._jwks_for(connection) for _ in range(4)))
        assert len({id(keys) for keys in first}) == 1
        assert (bank.hits["/jwks"], bank.hits["/.well-known/openid-configuration"]) == (1, 1)
        assert await client._jwks_for(connection) is first[0]
        bank.key = dict(ECKey.generate_key("P-256").as_dict(private=False))  # rotated
        rotated = await client._jwks_for(connection, refresh=True)
        assert rotated.keys[0].thumbprint() != first[0].keys[0].thumbprint()
        assert await client._jwks_for(connection) is rotated
        assert (bank.hits["/jwks"], bank.hits["/.well-known/openid-configuration"]) == (2, 1)
    finally:
        await client.aclose()
