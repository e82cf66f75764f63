"""The background loops: the maintenance round (expire, purge) and the webhook delivery
loop. Work in progress is allowed to finish on stop, so a webhook is never cut off between
being sent and being recorded; the delivery loop keeps at most ``max_in_flight`` going
and claims again as soon as a slot frees or a webhook is queued."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

from honnin.inquiries.worker import DeliveryLoop, MaintenanceLoop

FOREVER = 3600.0  # a timer that never fires during a test: only wakes move the loops


class _Inquiries:
    """An expiry round that blocks until released, and says how it ended."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.rounds_finished = 0
        self.cancelled = False

    async def expire_overdue(self) -> int:
        self.entered.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return 0

    async def purge_due(self) -> int:
        self.rounds_finished += 1
        return 0


def _maintenance(inquiries: _Inquiries) -> MaintenanceLoop:
    return MaintenanceLoop(
        inquiries=cast("Any", inquiries), dispatcher=cast("Any", None), interval_seconds=FOREVER
    )


def _task(name: str) -> asyncio.Task[Any]:
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == name]
    return task


async def test_stop_lets_the_round_in_progress_finish() -> None:
    inquiries = _Inquiries()
    loop = _maintenance(inquiries)
    loop.start()
    await inquiries.entered.wait()
    stopping = asyncio.create_task(loop.stop())
    await asyncio.sleep(0)
    assert not stopping.done()  # still waiting for the round
    inquiries.release.set()
    await stopping
    assert inquiries.rounds_finished == 1
    assert not inquiries.cancelled


async def test_stop_cancels_a_round_that_outlasts_the_grace() -> None:
    inquiries = _Inquiries()
    loop = _maintenance(inquiries)
    loop.start()
    await inquiries.entered.wait()
    await loop.stop(grace_seconds=0)
    assert inquiries.cancelled
    assert inquiries.rounds_finished == 0


async def test_stop_ends_an_idle_loop_and_can_be_called_twice() -> None:
    inquiries = _Inquiries()
    inquiries.release.set()
    loop = _maintenance(inquiries)
    loop.start()
    await inquiries.entered.wait()
    task = _task("honnin-maintenance")
    await loop.stop()
    assert task.done()
    assert not task.cancelled()  # it woke and ended by itself, within the grace period
    await loop.stop()
    assert inquiries.rounds_finished == 1


@dataclass(frozen=True)
class _Claimed:
    id: str


class _Dispatcher:
    """An outbox of ``due`` deliveries; each delivery blocks until its release is set."""

    def __init__(self, due: int, *, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.due = [f"msg_{number}" for number in range(due)]
        self.claims: list[int] = []  # the limit of each claim
        self.started: list[str] = []
        self.recorded: list[str] = []
        self.cancelled: list[str] = []
        self.releases: dict[str, asyncio.Event] = {}
        self.changed = asyncio.Event()
        self.fail_claims = 0
        self.fail_deliveries: set[str] = set()

    async def claim(self, limit: int) -> list[_Claimed]:
        self.claims.append(limit)
        if self.fail_claims:
            self.fail_claims -= 1
            raise RuntimeError("database unavailable")
        taken, self.due = self.due[:limit], self.due[limit:]
        return [_Claimed(id=item) for item in taken]

    async def deliver(self, claimed: _Claimed) -> bool:
        item = claimed.id
        self.started.append(item)
        release = self.releases.setdefault(item, asyncio.Event())
        self.changed.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        if item in self.fail_deliveries:
            raise RuntimeError("the record could not be written")
        self.recorded.append(item)
        self.changed.set()
        return True

    def release(self, item: str) -> None:
        self.releases.setdefault(item, asyncio.Event()).set()

    async def until(self, condition: Any) -> None:
        while not condition():
            self.changed.clear()
            await self.changed.wait()


def _deliveries(dispatcher: _Dispatcher) -> tuple[DeliveryLoop, Any]:
    wake = asyncio.Event()
    loop = DeliveryLoop(dispatcher=cast("Any", dispatcher), interval_seconds=FOREVER, wake=wake)
    return loop, wake


async def test_deliveries_fill_the_free_slots_and_a_slow_one_holds_only_its_own() -> None:
    dispatcher = _Dispatcher(due=5, max_in_flight=2)
    loop, _wake = _deliveries(dispatcher)
    loop.start()
    await dispatcher.until(lambda: len(dispatcher.started) == 2)
    assert dispatcher.claims == [2]
    assert loop.in_flight == 2
    # msg_0 hangs (a slow receiver); each delivery that ends frees a slot for the next.
    for item in ("msg_1", "msg_2", "msg_3"):
        dispatcher.release(item)
        await dispatcher.until(lambda item=item: item in dispatcher.recorded)
    await dispatcher.until(lambda: "msg_4" in dispatcher.started)
    assert dispatcher.recorded == ["msg_1", "msg_2", "msg_3"]
    assert all(limit <= 2 for limit in dispatcher.claims)
    dispatcher.release("msg_4")
    dispatcher.release("msg_0")
    await loop.stop()
    assert sorted(dispatcher.recorded) == [f"msg_{n}" for n in range(5)]
    assert dispatcher.cancelled == []


async def test_a_queued_webhook_is_claimed_at_once_not_at_the_timer() -> None:
    dispatcher = _Dispatcher(due=0, max_in_flight=4)
    loop, wake = _deliveries(dispatcher)
    loop.start()
    await asyncio.sleep(0)
    assert dispatcher.claims == [4]  # the first look, at start
    dispatcher.due.append("msg_new")
    wake.set()  # what a finished inquiry does
    await dispatcher.until(lambda: "msg_new" in dispatcher.started)
    dispatcher.release("msg_new")
    await loop.stop()
    assert dispatcher.recorded == ["msg_new"]


async def test_stop_claims_nothing_more_and_lets_deliveries_in_progress_be_recorded() -> None:
    dispatcher = _Dispatcher(due=3, max_in_flight=2)
    loop, wake = _deliveries(dispatcher)
    loop.start()
    await dispatcher.until(lambda: len(dispatcher.started) == 2)
    stopping = asyncio.create_task(loop.stop())
    await asyncio.sleep(0)
    assert not stopping.done()
    dispatcher.release("msg_0")
    dispatcher.release("msg_1")
    await stopping
    assert sorted(dispatcher.recorded) == ["msg_0", "msg_1"]
    assert dispatcher.due == ["msg_2"]  # left for the next process; never claimed
    wake.set()
    await asyncio.sleep(0)
    assert dispatcher.claims == [2]


async def test_stop_cancels_deliveries_that_outlast_the_grace() -> None:
    dispatcher = _Dispatcher(due=1, max_in_flight=2)
    loop, _wake = _deliveries(dispatcher)
    loop.start()
    await dispatcher.until(lambda: dispatcher.started == ["msg_0"])
    await loop.stop(grace_seconds=0)
    assert dispatcher.cancelled == ["msg_0"]
    assert loop.in_flight == 0


async def test_a_failed_claim_or_delivery_does_not_stop_the_loop() -> None:
    dispatcher = _Dispatcher(due=2, max_in_flight=1)
    dispatcher.fail_claims = 1
    dispatcher.fail_deliveries = {"msg_0"}
    loop, wake = _deliveries(dispatcher)
    loop.start()
    await asyncio.sleep(0)
    assert dispatcher.started == []  # the first claim failed
    wake.set()
    await dispatcher.until(lambda: dispatcher.started == ["msg_0"])
    dispatcher.release("msg_0")  # its record fails: logged, its lease will run out
    await dispatcher.until(lambda: "msg_1" in dispatcher.started)
    dispatcher.release("msg_1")
    await loop.stop()
    assert dispatcher.recorded == ["msg_1"]
