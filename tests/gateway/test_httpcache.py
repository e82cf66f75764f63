"""RFC 9111 freshness rules for bank metadata and JWKS, and the CachingFetcher over a real
HTTP server (a small Starlette app on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from honnin.gateway.cache import CachingFetcher, TTLCache
from honnin.gateway.httpcache import freshness_seconds, parse_cache_control
from support.server import serve_in_thread


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 300.0),
        ({"cache-control": "max-age=60"}, 60.0),
        ({"cache-control": "public, max-age=60", "age": "15"}, 45.0),
        ({"cache-control": "max-age=999999"}, 3600.0),
        ({"cache-control": "no-store"}, 0.0),
        ({"cache-control": "no-cache, max-age=60"}, 0.0),
        ({"cache-control": "max-age=abc"}, 0.0),
        ({"cache-control": 'max-age="30"'}, 30.0),
        (
            {"expires": "Sat, 21 Nov 2026 05:10:00 GMT", "date": "Sat, 21 Nov 2026 05:00:00 GMT"},
            600.0,
        ),
        ({"expires": "0", "date": "Sat, 21 Nov 2026 05:00:00 GMT"}, 0.0),
    ],
)
def test_freshness(headers: dict[str, str], expected: float) -> None:
    assert freshness_seconds(headers, default=300, maximum=3600) == expected


@given(st.text(max_size=200))
def test_any_cache_control_value_parses(value: str) -> None:
    directives = parse_cache_control(value)
    assert directives.max_age is None or 0 <= directives.max_age <= 2**31


@given(st.dictionaries(st.sampled_from(["cache-control", "expires", "date", "age"]), st.text()))
@example({"age": "²"})  # found by Hypothesis: str.isdigit() takes it, float() does not
@example({"cache-control": "max-age=²"})
@example({"cache-control": "max-age=" + "9" * 5000})  # int() refuses 4300+ digits
def test_freshness_is_bounded_for_any_headers(headers: dict[str, str]) -> None:
    assert 0 <= freshness_seconds(headers, default=300, maximum=3600) <= 3600


def test_ttl_cache_expires_and_clears() -> None:
    now = [0.0]
    cache: TTLCache[str, int] = TTLCache(ttl=10, monotonic=lambda: now[0])
    cache.put("a", 1)
    assert cache.get("a") == 1
    now[0] = 10.0
    assert cache.get("a") is None
    cache.put("b", 2, ttl=0)
    assert cache.get("b") is None
    cache.put("c", 3)
    cache.clear()
    assert cache.get("c") is None


class Bank:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.cache_control = "max-age=60"

    async def document(self, request: Request) -> JSONResponse:
        name = request.path_params["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        await asyncio.sleep(0.05)
        if name == "broken":
            return JSONResponse({"error": "x"}, status_code=500)
        return JSONResponse({"n": self.hits[name]}, headers={"cache-control": self.cache_control})


@pytest.fixture(scope="module")
def bank() -> Iterator[tuple[Bank, str]]:
    state = Bank()
    app = Starlette(routes=[Route("/{name}", state.document)])
    with serve_in_thread(app) as url:
        yield state, url


async def test_fetcher_reuses_fresh_documents_and_shares_misses(bank: tuple[Bank, str]) -> None:
    state, url = bank
    async with httpx.AsyncClient() as client:
        fetcher = CachingFetcher.for_client(client)
        results = await asyncio.gather(*(fetcher.get(f"{url}/jwks") for _ in range(5)))
        assert {r.json()["n"] for r in results} == {1}
        assert state.hits["jwks"] == 1
        assert (await fetcher.get(f"{url}/jwks")).json()["n"] == 1
        refreshed = await fetcher.get(f"{url}/jwks", refresh=True)  # key rotation
        assert refreshed.json()["n"] == 2
        fetcher.invalidate(f"{url}/jwks")
        assert (await fetcher.get(f"{url}/jwks")).json()["n"] == 3


async def test_fetcher_does_not_keep_errors_or_no_store(bank: tuple[Bank, str]) -> None:
    state, url = bank
    async with httpx.AsyncClient() as client:
        fetcher = CachingFetcher.for_client(client)
        for _ in range(2):
            assert (await fetcher.get(f"{url}/broken")).status_code == 500
        assert state.hits["broken"] == 2
        state.cache_control = "no-store"
        try:
            await fetcher.get(f"{url}/meta")
            await fetcher.get(f"{url}/meta")
        finally:
            state.cache_control = "max-age=60"
        assert state.hits["meta"] == 2


async def test_fetcher_failure_reaches_every_waiter() -> None:
    async def refuse(url: str) -> httpx.Response:
        await asyncio.sleep(0.01)
        raise httpx.ConnectError("refused")

    fetcher = CachingFetcher(refuse)
    results = await asyncio.gather(
        *(fetcher.get("http://bank.invalid/jwks") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, httpx.ConnectError) for r in results)
