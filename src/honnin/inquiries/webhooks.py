"""Delivery of the webhook outbox (Standard Webhooks signatures, retries with backoff).

Rows are claimed by pushing ``next_attempt_at`` forward by a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several processes share the work), sent outside any
transaction, then marked delivered, rescheduled or dead. A crash mid-send only delays the
retry until the lease ends: delivery is at least once, and receivers deduplicate on
``webhook-id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from honnin.clock import Clock
from honnin.contracts.models import Enterprise
from honnin.db import Database
from honnin.inquiries import core
from honnin.inquiries.models import WebhookDelivery
from honnin.inquiries.service import EventSink, NullEventSink

CLAIM_LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class _Claimed:
    id: str
    enterprise_id: str
    url: str | None
    body: bytes
    attempts: int


class WebhookDispatcher:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        http: httpx.AsyncClient,
        master_secret: bytes,
        events: EventSink | None = None,
    ) -> None:
        self._events = events or NullEventSink()
        self._database = database
        self._clock = clock
        self._http = http
        self._master_secret = master_secret

    async def deliver_due(self, *, limit: int = 50) -> int:
        """Send what is due now; returns how many were delivered."""
        claimed = await self._claim(limit)
        delivered = 0
        for item in claimed:
            error = await self._send(item) if item.url else "no webhook URL configured"
            await self._record(item, error)
            delivered += error is None
        return delivered

    async def _claim(self, limit: int) -> list[_Claimed]:
        now = self._clock.now()
        async with self._database.transaction() as session:
            query = (
                select(WebhookDelivery, Enterprise.webhook_url)
                .join(Enterprise, Enterprise.id == WebhookDelivery.enterprise_id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(limit)
            )
            if self._database.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
            rows = (await session.execute(query)).all()
            claimed = []
            for delivery, url in rows:
                # Guarded by the due time just read: SQLite has no FOR UPDATE, so two
                # dispatchers may read the same row; only one of them moves its lease.
                leased = await session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery.id,
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at == delivery.next_attempt_at,
                    )
                    .values(next_attempt_at=now + CLAIM_LEASE)
                    .execution_options(synchronize_session=False)
                )
                if leased.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                claimed.append(
                    _Claimed(
                        id=delivery.id,
                        enterprise_id=delivery.enterprise_id,
                        url=url,
                        body=json.dumps(delivery.payload, ensure_ascii=False).encode(),
                        attempts=delivery.attempts,
                    )
                )
            return claimed

    async def _send(self, item: _Claimed) -> str | None:
        assert item.url is not None
        timestamp = int(self._clock.now().timestamp())
        secret = core.enterprise_webhook_secret(self._master_secret, item.enterprise_id)
        headers = {
            "content-type": "application/json",
            "webhook-id": item.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": core.sign_webhook(
                secret=secret, message_id=item.id, timestamp=timestamp, body=item.body
            ),
        }
        try:
            # Only the status counts; the receiver's body is never read, however long it is.
            async with self._http.stream(
                "POST", item.url, content=item.body, headers=headers
            ) as response:
                status = response.status_code
        except httpx.HTTPError as exc:
            return f"transport error: {type(exc).__name__}"
        if 200 <= status < 300:
            return None
        return f"receiver answered HTTP {status}"

    async def _record(self, item: _Claimed, error: str | None) -> None:
        now = self._clock.now()
        async with self._database.transaction() as session:
            delivery = await session.get(WebhookDelivery, item.id)
            if delivery is None:
                return
            delivery.attempts = item.attempts + 1
            if error is None:
                delivery.status = "delivered"
                delivery.delivered_at = now
                delivery.last_error = None
                await self._events.record(
                    session,
                    kind="webhook.delivered",
                    object_id=delivery.object_id,
                    enterprise_id=delivery.enterprise_id,
                    outcome="delivered",
                )
                return
            delivery.last_error = error[:200]
            delay = core.next_retry_delay(delivery.attempts)
            if delay is None:
                delivery.status = "dead"
                await self._events.record(
                    session,
                    kind="webhook.failed",
                    object_id=delivery.object_id,
                    enterprise_id=delivery.enterprise_id,
                    outcome="dead",
                )
            else:
                delivery.next_attempt_at = now + delay
