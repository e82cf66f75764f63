"""The maintenance loop's shutdown: a round in progress is allowed to finish, so a webhook
is never cut off between being sent and being recorded."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from honnin.inquiries.worker import MaintenanceLoop


class _Inquiries:
    async def expire_overdue(self) -> int:
        return 0

    async def purge_due(self) -> int:
        return 0


class _Dispatcher:
    """A delivery round that blocks until released, and says how it ended."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.rounds_finished = 0
        self.cancelled = False

    async def deliver_due(self) -> int:
        self.entered.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.rounds_finished += 1
        return 1


def _loop(dispatcher: _Dispatcher) -> MaintenanceLoop:
    return MaintenanceLoop(
        inquiries=cast("Any", _Inquiries()),
        dispatcher=cast("Any", dispatcher),
        interval_seconds=3600,
        wake=asyncio.Event(),
    )


def _loop_task() -> asyncio.Task[Any]:
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "honnin-maintenance"]
    return task


async def test_stop_lets_the_round_in_progress_finish() -> None:
    dispatcher = _Dispatcher()
    loop = _loop(dispatcher)
    loop.start()
    await dispatcher.entered.wait()
    stopping = asyncio.create_task(loop.stop())
    await asyncio.sleep(0)
    assert not stopping.done()  # still waiting for the round
    dispatcher.release.set()
    await stopping
    assert dispatcher.rounds_finished == 1
    assert not dispatcher.cancelled


async def test_stop_cancels_a_round_that_outlasts_the_grace() -> None:
    dispatcher = _Dispatcher()
    loop = _loop(dispatcher)
    loop.start()
    await dispatcher.entered.wait()
    await loop.stop(grace_seconds=0)
    assert dispatcher.cancelled
    assert dispatcher.rounds_finished == 0


async def test_stop_ends_an_idle_loop_and_can_be_called_twice() -> None:
    dispatcher = _Dispatcher()
    dispatcher.release.set()
    loop = _loop(dispatcher)
    loop.start()
    await dispatcher.entered.wait()
    task = _loop_task()
    await loop.stop()
    assert task.done()
    assert not task.cancelled()  # it woke and ended by itself, within the grace period
    await loop.stop()
    assert dispatcher.rounds_finished == 1
