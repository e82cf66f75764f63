"""The in-process moving-window storage (rate_storage.py): the library's answers, expired
entries swept on the event loop, and no thread hop per key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from honnin.rate_storage import MemoryWindowStorage


class FakeClocks:
    def __init__(self) -> None:
        self.wall = 1_000_000.0
        self.mono = 0.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> FakeClocks:
    fake = FakeClocks()
    # Entries and windows read time.time() inside limits; the sweep reads the monotonic clock.
    monkeypatch.setattr(time, "time", lambda: fake.wall)
    return fake


hits = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 3), st.integers(1, 5)),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(hits)
def test_the_same_answers_as_the_library_memory_storage(
    sequence: list[tuple[str, int, int]],
) -> None:
    async def answers(storage: MemoryStorage) -> list[tuple[bool, int, bool]]:
        limiter = MovingWindowRateLimiter(storage)
        seen = []
        for key, amount, limit in sequence:
            item = RateLimitItemPerMinute(limit)
            allowed = await limiter.hit(item, key, cost=amount)
            stats = await limiter.get_window_stats(item, key)
            seen.append((allowed, stats.remaining, await limiter.test(item, key)))
        return seen

    async def both() -> tuple[list[Any], list[Any]]:
        return await answers(MemoryStorage()), await answers(MemoryWindowStorage())

    library, ours = asyncio.run(both())
    assert ours == library


async def test_expired_entries_are_swept_on_the_loop_and_free_the_window(
    clocks: FakeClocks,
) -> None:
    storage = MemoryWindowStorage(sweep_interval=1.0, monotonic=lambda: clocks.mono)
    limiter = MovingWindowRateLimiter(storage)
    three_a_second = RateLimitItemPerSecond(3)
    assert [await limiter.hit(three_a_second, "bank", "momiji") for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    clocks.advance(0.5)
    assert not await limiter.hit(three_a_second, "bank", "momiji")
    clocks.advance(0.6)  # the first three left the window; no sweep needed for that
    assert await limiter.hit(three_a_second, "bank", "momiji")
    assert storage.sweeps == 1
    assert len(storage.events["LIMITER/bank/momiji/3/1/second"]) == 1  # the other three swept
    clocks.advance(2.0)
    assert await limiter.hit(three_a_second, "bank", "sakura")
    assert storage.sweeps == 2
    assert list(storage.events) == ["LIMITER/bank/sakura/3/1/second"]  # momiji's all expired


async def test_no_sweep_hands_work_to_a_thread(
    clocks: FakeClocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[object] = []
    to_thread = asyncio.to_thread

    async def counting(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        handed.append(fn)
        return await to_thread(fn, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)

    async def hit_many_keys(storage: MemoryStorage) -> None:
        limiter = MovingWindowRateLimiter(storage)
        for step in range(50):
            await limiter.hit(RateLimitItemPerSecond(5), f"enterprise-{step % 10}")
            clocks.advance(0.1)
            await asyncio.sleep(0)  # the library's sweep is a task

    ours = MemoryWindowStorage(monotonic=lambda: clocks.mono)
    await hit_many_keys(ours)
    assert ours.sweeps >= 4
    assert handed == []
    # The library's own storage: a thread hop per key and sweep (why this module exists).
    await hit_many_keys(MemoryStorage())
    await asyncio.sleep(0.05)
    assert len(handed) > 10
