"""The verifications' maintenance loop (a sibling of the inquiries' one): expire sessions
nobody submitted, purge uploads and results past retention. Safe in several processes:
each round works in one transaction and only on rows still in the state it looks for."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from honnin.verifications.service import VerificationService

log = structlog.get_logger("honnin.verifications.maintenance")


class VerificationMaintenance:
    def __init__(self, *, service: VerificationService, interval_seconds: float) -> None:
        self._service = service
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> tuple[int, int]:
        expired = await self._service.expire_overdue()
        purged = await self._service.purge_due()
        return expired, purged

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("verification maintenance round failed")
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="honnin-verifications-maintenance")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
