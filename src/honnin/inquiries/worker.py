"""The background loop of each platform process: expire overdue inquiries, deliver due
webhooks, purge data past retention. Safe to run in several processes at once."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from honnin.inquiries.service import InquiryService
from honnin.inquiries.webhooks import WebhookDispatcher

log = structlog.get_logger("honnin.maintenance")
WAKE_COALESCE_SECONDS = 0.05


class MaintenanceLoop:
    """Runs a full round (expire, deliver, purge) every ``interval_seconds``; when ``wake``
    is set (an inquiry queued a webhook) it delivers at once, without the sweeps."""

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

    async def run_once(self) -> None:
        await self._inquiries.expire_overdue()
        await self._dispatcher.deliver_due()
        await self._inquiries.purge_due()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("maintenance round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="honnin-maintenance")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
