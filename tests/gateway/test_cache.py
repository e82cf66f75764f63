"""TTLCache and SharedLoads (pure asyncio): expiry, shared misses, failures, cancelled
loaders, and invalidation while a load is under way."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from honnin.gateway.cache import SharedLoads, TTLCache


class Source:
    """A load that counts its calls and waits until told to finish."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def load(self) -> int:
        self.calls += 1
        number = self.calls
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return number


async def started(*tasks: asyncio.Task[object]) -> None:
    """Let every task run up to its first wait."""
    for _ in range(5):
        await asyncio.sleep(0)
    assert not any(t.done() for t in tasks)


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
    cache.put("d", 4, ttl=30)
    now[0] = 25.0
    assert (cache.get("c"), cache.get("d")) == (None, 4)
    cache.clear()
    assert cache.get("d") is None


async def test_concurrent_misses_share_one_load() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    source = Source()
    tasks = [asyncio.create_task(cache.get_or_load("k", source.load)) for _ in range(10)]
    await started(*tasks)
    source.release.set()
    assert await asyncio.gather(*tasks) == [1] * 10
    assert source.calls == 1
    assert await cache.get_or_load("k", source.load) == 1  # kept
    assert source.calls == 1


async def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    source = Source()
    source.fail = ConnectionError("refused")
    tasks = [asyncio.create_task(cache.get_or_load("k", source.load)) for _ in range(3)]
    await started(*tasks)
    source.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert source.calls == 1
    source.fail = None
    assert await cache.get_or_load("k", source.load) == 2


async def test_a_cancelled_loader_does_not_cancel_those_waiting_on_it() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    source = Source()
    first = asyncio.create_task(cache.get_or_load("k", source.load))
    await started(first)
    waiters = [asyncio.create_task(cache.get_or_load("k", source.load)) for _ in range(4)]
    await started(*waiters)
    first.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    source.release.set()
    assert await asyncio.gather(*waiters) == [2] * 4  # one of them loaded again, for all
    assert first.cancelled()
    assert source.calls == 2


async def test_a_waiter_cancelled_leaves_the_load_to_the_others() -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    source = Source()
    first = asyncio.create_task(cache.get_or_load("k", source.load))
    await started(first)
    impatient = asyncio.create_task(cache.get_or_load("k", source.load))
    await started(first, impatient)
    impatient.cancel()
    source.release.set()
    assert await first == 1
    assert impatient.cancelled()
    assert source.calls == 1


@pytest.mark.parametrize("how", ["clear", "invalidate"])
async def test_a_load_begun_before_an_invalidation_is_not_kept_nor_joined(how: str) -> None:
    cache: TTLCache[str, int] = TTLCache(ttl=60)
    old, new = Source(), Source()
    before = asyncio.create_task(cache.get_or_load("k", old.load))
    await started(before)
    cache.clear() if how == "clear" else cache.invalidate("k")
    after = asyncio.create_task(cache.get_or_load("k", new.load))
    await started(before, after)
    old.release.set()
    assert await before == 1  # the caller that asked before the change gets its answer
    new.release.set()
    assert await after == 1
    assert (old.calls, new.calls) == (1, 1)  # the later caller did not join the old load
    assert cache.get("k") == 1  # and what is kept is the later load's value
    assert await cache.get_or_load("k", old.load) == 1
    assert old.calls == 1


async def test_a_fetch_says_how_long_its_value_is_kept() -> None:
    now = [0.0]
    cache: TTLCache[str, str] = TTLCache(ttl=300, monotonic=lambda: now[0])
    calls: list[str] = []

    async def fetch(lifetime: float) -> tuple[str, float]:
        calls.append("x")
        return f"v{len(calls)}", lifetime

    assert await cache.get_or_fetch("a", lambda: fetch(30)) == "v1"
    now[0] = 29.0
    assert await cache.get_or_fetch("a", lambda: fetch(30)) == "v1"
    now[0] = 31.0
    assert await cache.get_or_fetch("a", lambda: fetch(0)) == "v2"  # expired; not kept
    assert await cache.get_or_fetch("a", lambda: fetch(0)) == "v3"


@settings(max_examples=60, deadline=None)
@given(cancelled=st.lists(st.booleans(), min_size=1, max_size=8))
def test_every_caller_left_gets_a_value_whoever_is_cancelled(cancelled: list[bool]) -> None:
    """Callers join one key in turn; those marked are cancelled while the load runs. Each
    caller not cancelled gets a value, and there is at most one load per cancelled leader
    plus one."""

    async def scenario() -> None:
        loads = SharedLoads[str, int]()
        calls = [0]
        release = asyncio.Event()

        async def load() -> int:
            calls[0] += 1
            await release.wait()
            return calls[0]

        tasks = []
        for _ in cancelled:
            tasks.append(asyncio.create_task(loads.run("k", load)))
            await asyncio.sleep(0)
        for task, cancel in zip(tasks, cancelled, strict=True):
            if cancel:
                task.cancel()
        for _ in range(3):
            await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result, cancel in zip(results, cancelled, strict=True):
            if cancel:
                assert isinstance(result, asyncio.CancelledError)
            else:
                assert isinstance(result, int)
        assert len({r for r in results if isinstance(r, int)}) <= 1
        assert calls[0] <= sum(cancelled) + 1

    asyncio.run(scenario())
