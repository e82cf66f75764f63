"""Per-bank flow control (honnin.banks.flow) on both stores: in-process and real Redis."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from conftest import redis_url
from honnin.banks.flow import BankFlow, FlowStore, MemoryFlowStore, RedisFlowStore, describe
from honnin.banks.flow_errors import (
    BankBusyError,
    BankClosedError,
    BankDeadlineError,
    BankUnavailableError,
    FlowBackendUnavailableError,
)
from honnin.banks.flowcore import BankLimits

FAST = BankLimits(
    max_in_flight=3,
    rate_per_second=10_000,
    queue_size=100,
    queue_timeout_seconds=5.0,
    timeout_seconds=2.0,
    retries=2,
    retry_backoff_seconds=0.001,
    retry_backoff_max_seconds=0.005,
    breaker_failures=3,
    breaker_open_seconds=0.2,
    lease_margin_seconds=1.0,
)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[FlowStore]:
    if request.param == "memory":
        yield MemoryFlowStore()
        return
    redis_store = RedisFlowStore(redis_url())
    try:
        yield redis_store
    finally:
        await redis_store.aclose()


def bank() -> str:
    # Unique per test: a shared Redis may hold state of other runs.
    return f"bank_{uuid.uuid4().hex[:12]}"


def make_flow(store: FlowStore, limits: BankLimits = FAST, **kwargs: object) -> BankFlow:
    return BankFlow(store=store, defaults=limits, rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


class Recorder:
    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self.calls = 0

    async def work(self, seconds: float = 0.01) -> str:
        self.current += 1
        self.calls += 1
        self.peak = max(self.peak, self.current)
        try:
            await asyncio.sleep(seconds)
        finally:
            self.current -= 1
        return "ok"


async def test_cap_holds_under_a_burst_of_ten_times_the_cap(store: FlowStore) -> None:
    flow, bank_id, recorder = make_flow(store), bank(), Recorder()

    async def one() -> str:
        async with flow.guard(bank_id):
            return await recorder.work()

    results = await asyncio.gather(*(one() for _ in range(30)))
    assert results == ["ok"] * 30
    assert recorder.peak == FAST.max_in_flight
    status = await flow.status(bank_id)
    assert (status.in_flight, status.waiting, status.breaker) == (0, 0, "closed")


async def test_two_flows_share_the_cap_only_through_redis() -> None:
    """Two processes' flows: one Redis store holds the cap, separate memory stores do not."""
    shared_url = redis_url()
    bank_id = bank()

    async def peak_of(first: FlowStore, second: FlowStore) -> int:
        flows = [make_flow(first), make_flow(second)]
        recorder = Recorder()

        async def one(i: int) -> None:
            async with flows[i % 2].guard(bank_id):
                await recorder.work(0.02)

        await asyncio.gather(*(one(i) for i in range(10 * FAST.max_in_flight)))
        return recorder.peak

    assert await peak_of(MemoryFlowStore(), MemoryFlowStore()) == 2 * FAST.max_in_flight
    first, second = RedisFlowStore(shared_url), RedisFlowStore(shared_url)
    try:
        assert await peak_of(first, second) == FAST.max_in_flight
    finally:
        await first.aclose()
        await second.aclose()


async def test_full_queue_refuses_at_once_with_bank_busy(store: FlowStore) -> None:
    flow, bank_id = make_flow(store, replace(FAST, max_in_flight=1, queue_size=0)), bank()
    release = asyncio.Event()

    async def holder() -> None:
        async with flow.guard(bank_id):
            await release.wait()

    task = asyncio.create_task(holder())
    await asyncio.sleep(0.05)
    with pytest.raises(BankBusyError) as caught:
        async with flow.guard(bank_id):
            pytest.fail("entered over the cap")
    assert caught.value.code == "bank_busy"
    assert caught.value.status == 503
    assert caught.value.extra["headers"]["Retry-After"] == "1"
    release.set()
    await task


async def test_waiter_gives_up_at_the_queue_deadline(store: FlowStore) -> None:
    limits = replace(FAST, max_in_flight=1, queue_timeout_seconds=0.1)
    flow, bank_id = make_flow(store, limits), bank()
    release = asyncio.Event()

    async def holder() -> None:
        async with flow.guard(bank_id):
            await release.wait()

    task = asyncio.create_task(holder())
    await asyncio.sleep(0.05)
    with pytest.raises(BankBusyError, match="stayed at capacity"):
        async with flow.guard(bank_id):
            pytest.fail("entered over the cap")
    release.set()
    await task
    async with flow.guard(bank_id):  # the slot came back
        pass


async def test_waiter_gets_the_slot_when_it_frees(store: FlowStore) -> None:
    flow, bank_id = make_flow(store, replace(FAST, max_in_flight=1)), bank()
    order: list[str] = []

    async def holder() -> None:
        async with flow.guard(bank_id):
            order.append("holder")
            await asyncio.sleep(0.05)

    task = asyncio.create_task(holder())
    await asyncio.sleep(0.01)
    async with flow.guard(bank_id):
        order.append("waiter")
    await task
    assert order == ["holder", "waiter"]


async def test_rate_limit_refuses_when_the_wait_passes_the_deadline(store: FlowStore) -> None:
    limits = replace(FAST, rate_per_second=2, queue_timeout_seconds=0.2)
    flow, bank_id = make_flow(store, limits), bank()
    for _ in range(2):
        async with flow.guard(bank_id):
            pass
    with pytest.raises(BankBusyError, match="request rate"):
        async with flow.guard(bank_id):
            pytest.fail("started over the rate")
    assert (await flow.status(bank_id)).in_flight == 0


async def test_failures_open_the_breaker_then_a_probe_closes_it(store: FlowStore) -> None:
    flow, bank_id = make_flow(store), bank()
    for _ in range(FAST.breaker_failures):
        with pytest.raises(httpx.ConnectError):
            async with flow.guard(bank_id):
                raise httpx.ConnectError("refused")
    assert (await flow.status(bank_id)).breaker == "open"
    with pytest.raises(BankUnavailableError) as caught:
        async with flow.guard(bank_id):
            pytest.fail("called an open bank")
    assert caught.value.code == "bank_unavailable"
    await asyncio.sleep(FAST.breaker_open_seconds + 0.05)

    probe_inside = asyncio.Event()
    finish_probe = asyncio.Event()

    async def probe() -> None:
        async with flow.guard(bank_id):
            probe_inside.set()
            await finish_probe.wait()

    task = asyncio.create_task(probe())
    await probe_inside.wait()
    assert (await flow.status(bank_id)).breaker == "half_open"
    with pytest.raises(BankUnavailableError):  # only one probe at a time
        async with flow.guard(bank_id):
            pytest.fail("second call while probing")
    finish_probe.set()
    await task
    assert (await flow.status(bank_id)).breaker == "closed"
    async with flow.guard(bank_id):
        pass


async def test_failed_probe_reopens_the_breaker(store: FlowStore) -> None:
    flow, bank_id = make_flow(store), bank()
    for _ in range(FAST.breaker_failures):
        await flow.record_failure(bank_id)
    await asyncio.sleep(FAST.breaker_open_seconds + 0.05)
    with pytest.raises(httpx.ReadError):
        async with flow.guard(bank_id):
            raise httpx.ReadError("connection closed")
    assert (await flow.status(bank_id)).breaker == "open"


async def test_ticket_failure_counts_without_an_exception(store: FlowStore) -> None:
    flow, bank_id = make_flow(store, replace(FAST, breaker_failures=2)), bank()
    for _ in range(2):
        async with flow.guard(bank_id) as ticket:
            ticket.failure()  # e.g. the bank answered 503
    with pytest.raises(BankUnavailableError):
        async with flow.guard(bank_id):
            pass


async def test_refusals_by_the_bank_do_not_count_as_failures(store: FlowStore) -> None:
    flow, bank_id = make_flow(store, replace(FAST, breaker_failures=1)), bank()
    with pytest.raises(ValueError, match="refused"):
        async with flow.guard(bank_id):
            raise ValueError("refused")
    assert (await flow.status(bank_id)).breaker == "closed"


async def test_hanging_call_times_out_and_counts(store: FlowStore) -> None:
    limits = replace(FAST, timeout_seconds=0.05, breaker_failures=1)
    flow, bank_id = make_flow(store, limits), bank()
    with pytest.raises(BankDeadlineError) as caught:
        async with flow.guard(bank_id):
            await asyncio.sleep(10)
    assert caught.value.status == 504
    assert caught.value.code == "bank_timeout"
    status = await flow.status(bank_id)
    assert (status.breaker, status.in_flight) == ("open", 0)


async def test_call_retries_idempotent_work_only(store: FlowStore) -> None:
    flow, bank_id = make_flow(store, replace(FAST, breaker_failures=10)), bank()
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise httpx.ConnectError("refused")
        return "fetched"

    assert await flow.call(bank_id, flaky, idempotent=True) == "fetched"
    assert attempts == 3
    attempts = 0
    with pytest.raises(httpx.ConnectError):
        await flow.call(bank_id, flaky, idempotent=False)
    assert attempts == 1


async def test_call_does_not_retry_refusals(store: FlowStore) -> None:
    flow, bank_id = make_flow(store), bank()
    attempts = 0

    async def refused() -> None:
        nonlocal attempts
        attempts += 1
        raise ValueError("invalid_grant")

    with pytest.raises(ValueError, match="invalid_grant"):
        await flow.call(bank_id, refused, idempotent=True)
    assert attempts == 1


async def test_cancelled_probe_lets_the_next_call_probe(store: FlowStore) -> None:
    flow, bank_id = make_flow(store), bank()
    for _ in range(FAST.breaker_failures):
        await flow.record_failure(bank_id)
    await asyncio.sleep(FAST.breaker_open_seconds + 0.05)
    inside = asyncio.Event()

    async def probe() -> None:
        async with flow.guard(bank_id):
            inside.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(probe())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with flow.guard(bank_id):  # a new probe is admitted and closes the breaker
        pass
    assert (await flow.status(bank_id)).breaker == "closed"


class ClosedGate:
    async def bank_closed_for(self, bank_id: str) -> float | None:
        return 42.0 if bank_id.startswith("bank_") else None


async def test_closed_bank_is_refused_before_anything_else(store: FlowStore) -> None:
    flow, bank_id = make_flow(store, gate=ClosedGate()), bank()
    with pytest.raises(BankClosedError) as caught:
        async with flow.guard(bank_id):
            pytest.fail("called a closed bank")
    assert caught.value.extra["headers"]["Retry-After"] == "42"


async def test_per_bank_overrides_and_status_view(store: FlowStore) -> None:
    flow = make_flow(store, per_bank={"slow_bank": {"max_in_flight": 1, "timeout_seconds": 3}})
    assert flow.limits("slow_bank").max_in_flight == 1
    assert flow.limits("other").max_in_flight == FAST.max_in_flight
    view = describe(await flow.status("slow_bank"))
    assert view["limits"]["max_in_flight"] == 1
    assert view["breaker"] == "closed"


async def test_redis_slot_of_a_dead_holder_expires() -> None:
    store = RedisFlowStore(redis_url())
    # A 1 s lease: long enough that "still held" cannot lapse on a slow machine.
    limits = replace(FAST, max_in_flight=1, timeout_seconds=0.5, lease_margin_seconds=0.5)
    bank_id = bank()
    try:
        assert await store.try_acquire(bank_id, "dead-process", limits=limits)
        assert not await store.try_acquire(bank_id, "live", limits=limits)
        await asyncio.sleep(1.2)
        assert await store.try_acquire(bank_id, "live", limits=limits)
    finally:
        await store.aclose()


async def test_unreachable_redis_fails_closed() -> None:
    store = RedisFlowStore("redis://127.0.0.1:9/0", socket_timeout=0.2)
    flow = make_flow(store)
    try:
        with pytest.raises(FlowBackendUnavailableError) as caught:
            async with flow.guard(bank()):
                pytest.fail("called a bank without flow control")
        assert caught.value.code == "flow_control_unavailable"
        assert caught.value.status == 503
    finally:
        await flow.aclose()
