"""The background loop of each platform process: expire overdue inquiries, deliver due
webhooks, purge data past retention. Safe to run in several processes at once."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from honnin.inquiries.service import InquiryService
from honnin.inquiries.webhooks import WebhookDispatcher

log = structlog.get_logger("honnin.maintenance")
# How long stop() lets a round in progress finish before cancelling it.
STOP_GRACE_SECONDS = 10.0


class MaintenanceLoop:
    """Runs a round (expire, deliver, purge) every ``interval_seconds``, and at once when
    ``wake`` is set (an inquiry queued a webhook), so webhooks do not wait for the timer."""

    def __init__(
        self,
        *,
        inquiries: InquiryService,
        dispatcher: WebhookDispatcher,
        interval_seconds: float,
        wake: asyncio.Event,
    ) -> None:
        self._inquiries = inquiries
        self._dispatcher = dispatcher
        self._interval = interval_seconds
        self._wake = wake
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> None:
        await self._inquiries.expire_overdue()
        await self._dispatcher.deliver_due()
        await self._inquiries.purge_due()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("maintenance round failed")
            # stop() sets the wake too, so a stop during the round ends the wait at once.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="honnin-maintenance")

    async def stop(self, *, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Let the round in progress finish, then end the loop. Cancelling mid-round
        could cut a webhook off between being sent and being recorded, and the receiver
        would get it again once the claim lease runs out; a round that outlasts
        ``grace_seconds`` is cancelled all the same (its claims are then retried)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace_seconds)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
