"""The background loops of each platform process. Safe to run in several processes at once.

* :class:`MaintenanceLoop`: every ``interval_seconds``, expire overdue inquiries and purge
  data past retention.
* :class:`DeliveryLoop`: send due webhooks as soon as an inquiry queues one (``wake``) and
  every ``interval_seconds`` (retries that came due), up to the dispatcher's
  ``max_in_flight`` at once; a delivery is claimed when a slot is free, so a slow
  receiver holds only its own slots.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from honnin.inquiries.service import InquiryService
from honnin.inquiries.webhooks import WebhookDispatcher

log = structlog.get_logger("honnin.maintenance")
# How long stop() lets work in progress finish before cancelling it.
STOP_GRACE_SECONDS = 10.0


class MaintenanceLoop:
    """Runs a round (expire, purge) every ``interval_seconds``."""

    def __init__(
        self,
        *,
        inquiries: InquiryService,
        dispatcher: WebhookDispatcher,
        interval_seconds: float,
    ) -> None:
        self._inquiries = inquiries
        self._dispatcher = dispatcher
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> None:
        """Everything due now, at once: expire, deliver every due webhook (waiting for
        each attempt to be recorded), purge. For the CLI and tests; the background loops
        split this between them."""
        await self._inquiries.expire_overdue()
        await self._dispatcher.deliver_due()
        await self._inquiries.purge_due()

    async def _round(self) -> None:
        await self._inquiries.expire_overdue()
        await self._inquiries.purge_due()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._round()
            except Exception:
                log.exception("maintenance round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="honnin-maintenance")

    async def stop(self, *, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Let the round in progress finish, then end the loop; a round that outlasts
        ``grace_seconds`` is cancelled (its work is redone by the next one)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        await _finish(task, grace_seconds)


class DeliveryLoop:
    """Keeps up to the dispatcher's ``max_in_flight`` webhook deliveries going; each is
    recorded as soon as it ends (:meth:`WebhookDispatcher.deliver`)."""

    def __init__(
        self,
        *,
        dispatcher: WebhookDispatcher,
        interval_seconds: float,
        wake: asyncio.Event,
    ) -> None:
        self._dispatcher = dispatcher
        self._interval = interval_seconds
        self._wake = wake
        self._sending: set[asyncio.Task[bool]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # The last claim filled every free slot: more may be due, so an ending delivery
        # wakes the loop to claim again.
        self._backlog = False

    @property
    def in_flight(self) -> int:
        return len(self._sending)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._fill()
            except Exception:
                log.exception("claiming webhook deliveries failed")
            if self._stopping.is_set():  # stop() was called during the claim
                break
            # Wait for a queued webhook, a free slot while more may be due (see _sent) or
            # the timer. The wake is cleared only here, right after the wait: one set
            # during the claim above ends this wait at once, so no queued webhook waits
            # for the timer.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()

    async def _fill(self) -> None:
        """Claim as many due deliveries as there are free slots, and start each."""
        free = self._dispatcher.max_in_flight - len(self._sending)
        self._backlog = False
        if free < 1:
            return
        claimed = await self._dispatcher.claim(free)
        self._backlog = len(claimed) == free
        for item in claimed:
            sending = asyncio.create_task(
                self._dispatcher.deliver(item), name=f"honnin-webhook-{item.id}"
            )
            self._sending.add(sending)
            sending.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[bool]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # The attempt was not recorded; its lease runs out and it is sent again.
            log.error("webhook delivery failed", exc_info=error)
        if self._backlog:
            self._wake.set()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="honnin-webhooks")

    async def stop(self, *, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Claim nothing more and let the deliveries in progress finish and be recorded;
        cancelling one mid-send would make the receiver get it again once its lease runs
        out. Those that outlast ``grace_seconds`` are cancelled all the same."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wake.set()
        await _finish(task, grace_seconds)
        if self._sending:
            # Cancelling the gathering cancels each delivery still in flight.
            await _finish(asyncio.gather(*self._sending, return_exceptions=True), grace_seconds)


async def _finish(work: asyncio.Future[Any], grace_seconds: float) -> None:
    """Wait up to ``grace_seconds`` for ``work``, then cancel it and wait for that."""
    try:
        await asyncio.wait_for(asyncio.shield(work), timeout=grace_seconds)
    except TimeoutError:
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
