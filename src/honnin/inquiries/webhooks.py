"""Delivery of the webhook outbox (Standard Webhooks signatures, retries with backoff).

Due rows are claimed by pushing ``next_attempt_at`` forward by a lease, in one guarded
``UPDATE ... RETURNING`` (its due rows chosen ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so several processes share the work), sent outside any transaction, each on its own, and
each attempt recorded by itself as soon as it ends: delivered, rescheduled or dead, with
its trace event (one guarded write, :meth:`honnin.db.Database.write`). A slow receiver
therefore holds up only its own deliveries. A crash mid-send only delays the retry until
the lease ends: delivery is at least once, and receivers deduplicate on ``webhook-id``.

Sending goes through :class:`honnin.http_client.OutboundHttp`; only the receiver's status
counts and its body is never read.

Enterprises see their deliveries (:meth:`WebhookDispatcher.page`) and may ask for one that
died, or was delivered, to be sent again (:meth:`WebhookDispatcher.redeliver`): it becomes
due at once with a fresh retry schedule and the same ``webhook-id``, so a receiver that
already has it can tell.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Row, Select, Table, and_, bindparam, select, update

from honnin.audit.service import AuditService
from honnin.clock import Clock
from honnin.contracts.models import Enterprise
from honnin.db import Database, GuardedWrite, NewRow, conflict_insert, new_rows
from honnin.http_client import Answer, TransportError
from honnin.inquiries import core
from honnin.inquiries.errors import WebhookDeliveryNotFoundError, WebhookDeliveryPendingError
from honnin.inquiries.models import WebhookDelivery, WebhookKey
from honnin.inquiries.service import EventSink, NullEventSink, Page, page_of, page_query

# How long a claimed delivery is left to its dispatcher before another may take it. It
# outlasts a send (webhook_timeout_seconds, at most 60 s, bounds the wait for a pooled
# connection, the connect and the read of the answer's head) and its record.
CLAIM_LEASE = timedelta(minutes=4)
# Deliveries sent at once by default, by a round (deliver_due) or the delivery loop.
MAX_IN_FLIGHT = 32

_D = cast("Table", WebhookDelivery.__table__)
_ENTERPRISES = cast("Table", Enterprise.__table__)
_K = cast("Table", WebhookKey.__table__)
_KEY_COLUMNS = (_K.c.version, _K.c.previous_version, _K.c.previous_valid_until)


class WebhookHttp(Protocol):
    """What the dispatcher sends with (:class:`honnin.http_client.OutboundHttp`)."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        read_body: bool = True,
    ) -> Answer: ...


_DUE = and_(_D.c.status == "pending", _D.c.next_attempt_at <= bindparam("b_now"))
_OLDEST_DUE = select(_D.c.id).where(_DUE).order_by(_D.c.next_attempt_at).limit(bindparam("b_limit"))
_LEASED = (_D.c.id, _D.c.enterprise_id, _D.c.object_id, _D.c.payload, _D.c.attempts)


def _claim_on_postgresql() -> Select[Any]:
    """Lease the oldest due rows, at most ``b_limit``, and return them with their
    enterprise's webhook URL: one statement, atomic on its own.

    The rows are chosen ``FOR UPDATE SKIP LOCKED`` (other dispatchers' rows are skipped)
    in a ``MATERIALIZED`` CTE, so the choice is made once: as an ``IN (subquery)`` the
    planner may run the locking subquery again while updating, and more than ``LIMIT``
    rows were leased (seen here with a limit of 1). The due time and status are checked
    again in the ``UPDATE``: a row another dispatcher leased meanwhile is re-read before
    the update and no longer qualifies."""
    chosen = _OLDEST_DUE.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
    leased = (
        update(_D)
        .where(_D.c.id == chosen.c.id, _DUE)
        .values(next_attempt_at=bindparam("b_lease"))
        .returning(*_LEASED)
        .cte("leased")
    )
    return (
        select(leased, _ENTERPRISES.c.webhook_url, *_KEY_COLUMNS)
        .outerjoin(_ENTERPRISES, _ENTERPRISES.c.id == leased.c.enterprise_id)
        .outerjoin(_K, _K.c.enterprise_id == leased.c.enterprise_id)
    )


_CLAIM_ON_POSTGRESQL = _claim_on_postgresql()
# SQLite runs one writing statement at a time, and an IN subquery once; it has no
# data-modifying WITH, so the leased rows are read again, with their URLs, in the same
# unit of work.
_CLAIM_ON_SQLITE = (
    update(_D)
    .where(_D.c.id.in_(_OLDEST_DUE.scalar_subquery()), _DUE)
    .values(next_attempt_at=bindparam("b_lease"))
    .returning(_D.c.id)
)
_LEASED_WITH_URLS = (
    select(*_LEASED, _ENTERPRISES.c.webhook_url, *_KEY_COLUMNS)
    .outerjoin(_ENTERPRISES, _ENTERPRISES.c.id == _D.c.enterprise_id)
    .outerjoin(_K, _K.c.enterprise_id == _D.c.enterprise_id)
    .where(_D.c.id.in_(bindparam("b_ids", expanding=True)))
)


def _claim_on_sqlite(values: dict[str, Any], connection: Connection) -> list[Row[Any]]:
    """The leased rows, as the PostgreSQL claim returns them (columns by name)."""
    ids = list(connection.execute(_CLAIM_ON_SQLITE, values).scalars())
    if not ids:
        return []
    return list(connection.execute(_LEASED_WITH_URLS, {"b_ids": ids}))


# An attempt is recorded only while its claim holds: if the lease ran out and another
# dispatcher leased the row again, that dispatcher's attempt is the one recorded.
_RECORD = update(_D).where(
    _D.c.id == bindparam("b_id"),
    _D.c.status == "pending",
    _D.c.next_attempt_at == bindparam("b_lease"),
)

_VIEW_COLUMNS = (
    _D.c.id,
    _D.c.object_id,
    _D.c.event_type,
    _D.c.status,
    _D.c.attempts,
    _D.c.next_attempt_at,
    _D.c.last_error,
    _D.c.created_at,
    _D.c.delivered_at,
)
_SELECT_ONE = select(*_VIEW_COLUMNS).where(
    _D.c.id == bindparam("b_id"), _D.c.enterprise_id == bindparam("b_enterprise_id")
)
# Only a delivery no dispatcher holds or will try again: a pending one may be in flight.
_REQUEUE = update(_D).where(
    _D.c.id == bindparam("b_id"),
    _D.c.enterprise_id == bindparam("b_enterprise_id"),
    _D.c.status.in_([core.DELIVERY_DELIVERED, core.DELIVERY_DEAD]),
)


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A webhook delivery as its enterprise sees it (the payload is the webhook itself)."""

    id: str
    object_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _view(row: Row[Any]) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        object_id=row.object_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        # Only a pending delivery has a next attempt; a finished one keeps its last lease.
        next_attempt_at=row.next_attempt_at if row.status == core.DELIVERY_PENDING else None,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased until ``lease`` by this dispatcher."""

    id: str
    enterprise_id: str
    object_id: str
    url: str | None
    body: bytes
    attempts: int
    lease: datetime
    keys: core.WebhookKeyState


class WebhookDispatcher:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        http: WebhookHttp,
        master_secret: bytes,
        events: EventSink | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        on_due: Callable[[], None] | None = None,
    ) -> None:
        self._on_due = on_due
        self._events = events or NullEventSink()
        self.max_in_flight = max_in_flight
        self._database = database
        self._clock = clock
        self._http = http
        self._master_secret = master_secret

    async def deliver_due(self, *, limit: int | None = None) -> int:
        """Send what is due now (at most ``limit``, by default ``max_in_flight``: no more
        than the client has connections for), all at once, and wait for every attempt to
        be recorded; returns how many were delivered."""
        claimed = await self.claim(self.max_in_flight if limit is None else limit)
        outcomes = await asyncio.gather(*(self.deliver(item) for item in claimed))
        return sum(outcomes)

    async def claim(self, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries (oldest first) for this dispatcher."""
        if limit < 1:
            return []
        now = self._clock.now()
        lease = now + CLAIM_LEASE
        values = {"b_now": now, "b_limit": limit, "b_lease": lease}
        if self._database.dialect == "postgresql":
            rows = await self._database.rows(_CLAIM_ON_POSTGRESQL, values)
        else:
            rows = await self._database.run(functools.partial(_claim_on_sqlite, values))
        return [
            Claimed(
                id=row.id,
                enterprise_id=row.enterprise_id,
                object_id=row.object_id,
                url=row.webhook_url,
                body=json.dumps(row.payload, ensure_ascii=False).encode(),
                attempts=row.attempts,
                lease=lease,
                keys=_key_state(row),
            )
            for row in rows
        ]

    async def deliver(self, item: Claimed) -> bool:
        """Send one claimed delivery and record the attempt; whether it was delivered."""
        error = await self._send(item) if item.url else "no webhook URL configured"
        await self._record(item, error)
        return error is None

    async def _send(self, item: Claimed) -> str | None:
        assert item.url is not None
        now = self._clock.now()
        timestamp = int(now.timestamp())
        secrets = [
            core.enterprise_webhook_secret(self._master_secret, item.enterprise_id, version)
            for version in item.keys.signing_versions(now)
        ]
        headers = {
            "Content-Type": "application/json",
            "webhook-id": item.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": core.signature_header(
                secrets=secrets, message_id=item.id, timestamp=timestamp, body=item.body
            ),
        }
        try:
            # Only the status counts; the receiver's body is never read, however long it is.
            answer = await self._http.request(
                "POST", item.url, headers=headers, body=item.body, read_body=False
            )
        except TransportError as exc:
            return f"transport error: {exc}"
        if 200 <= answer.status < 300:
            return None
        return f"receiver answered HTTP {answer.status}"

    async def _record(self, item: Claimed, error: str | None) -> None:
        now = self._clock.now()
        attempts = item.attempts + 1
        values: dict[str, Any] = {"b_id": item.id, "b_lease": item.lease, "attempts": attempts}
        event = None
        if error is None:
            values |= {"status": "delivered", "delivered_at": now, "last_error": None}
            event = self._event(item, kind="webhook.delivered", outcome="delivered")
        else:
            values["last_error"] = error[:200]
            delay = core.next_retry_delay(attempts)
            if delay is None:
                values["status"] = "dead"
                event = self._event(item, kind="webhook.failed", outcome="dead")
            else:
                values["next_attempt_at"] = now + delay
        await self._database.write(GuardedWrite(_RECORD, values, new_rows(event)))

    # -- what the enterprise sees and asks ------------------------------------------------

    async def page(
        self,
        *,
        enterprise_id: str,
        status: str | None = None,
        object_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[DeliveryView]:
        """The enterprise's deliveries newest first, optionally of one status or inquiry."""
        conditions = []
        if status is not None:
            conditions.append(_D.c.status == status)
        if object_id is not None:
            conditions.append(_D.c.object_id == object_id)
        query = page_query(
            _D,
            _VIEW_COLUMNS,
            enterprise_id=enterprise_id,
            conditions=conditions,
            cursor=cursor,
            limit=limit,
        )
        rows = await self._database.read(lambda connection: list(connection.execute(query)))
        return page_of(rows, limit, _view)

    async def redeliver(self, *, enterprise_id: str, delivery_id: str) -> DeliveryView:
        """Send a dead (or delivered) delivery again: due now, attempts from zero, the
        same ``webhook-id`` and body. Another enterprise's delivery is a missing one."""
        now = self._clock.now()
        values = {
            "b_id": delivery_id,
            "b_enterprise_id": enterprise_id,
            "status": core.DELIVERY_PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": None,
        }
        found = await self._database.first(
            _SELECT_ONE, {"b_id": delivery_id, "b_enterprise_id": enterprise_id}
        )
        if found is None:
            raise WebhookDeliveryNotFoundError(f"no webhook delivery {delivery_id}")
        event = self._events.event_row(
            kind="webhook.requeued",
            object_id=found.object_id,
            enterprise_id=enterprise_id,
            outcome="requeued",
        )
        if not await self._database.write(GuardedWrite(_REQUEUE, values, new_rows(event))):
            # Pending: scheduled, retrying or being sent right now.
            raise WebhookDeliveryPendingError(
                "this delivery is still pending; it is sent again on its own schedule"
            )
        if self._on_due is not None:
            self._on_due()
        after = await self._database.first(
            _SELECT_ONE, {"b_id": delivery_id, "b_enterprise_id": enterprise_id}
        )
        return _view(after)

    def _event(self, item: Claimed, *, kind: str, outcome: str) -> NewRow | None:
        return self._events.event_row(
            kind=kind, object_id=item.object_id, enterprise_id=item.enterprise_id, outcome=outcome
        )


def _key_state(row: Row[Any]) -> core.WebhookKeyState:
    """The key state of a row with :data:`_KEY_COLUMNS` (all None: never rotated)."""
    if row.version is None:
        return core.WebhookKeyState()
    return core.WebhookKeyState(
        version=row.version,
        previous_version=row.previous_version,
        previous_valid_until=row.previous_valid_until,
    )


_SELECT_KEYS = select(*_KEY_COLUMNS).where(_K.c.enterprise_id == bindparam("b_enterprise_id"))


@dataclass(frozen=True, slots=True)
class WebhookKeyView:
    """The key an enterprise verifies its webhooks with (``whsec_`` form)."""

    secret: str
    version: int
    previous_valid_until: datetime | None


class WebhookKeys:
    """An enterprise's webhook signing key, and its rotation.

    A rotation moves the enterprise to the next derived key at once; for ``overlap``
    afterwards every webhook carries a signature by the previous key too (Standard
    Webhooks' space-separated list), so receivers can switch without losing a message.
    Only the latest previous key is honoured: a second rotation within the overlap ends
    the older one's."""

    def __init__(
        self, *, database: Database, clock: Clock, master_secret: bytes, audit: AuditService
    ) -> None:
        self._database = database
        self._clock = clock
        self._master_secret = master_secret
        self._audit = audit

    async def current(self, enterprise_id: str) -> WebhookKeyView:
        row = await self._database.first(_SELECT_KEYS, {"b_enterprise_id": enterprise_id})
        state = core.WebhookKeyState() if row is None else _key_state(row)
        return self._view(enterprise_id, state)

    async def rotate(self, *, enterprise_id: str, actor: str, overlap: timedelta) -> WebhookKeyView:
        """Move to the next key; the previous one also signs for ``overlap`` (0: not at
        all). One atomic upsert, so concurrent rotations each move one version on."""
        if not timedelta(0) <= overlap <= core.MAX_ROTATION_OVERLAP:
            msg = f"overlap must be between 0 and {core.MAX_ROTATION_OVERLAP}"
            raise ValueError(msg)
        now = self._clock.now()
        until = now + overlap
        first = conflict_insert(self._database.dialect, _K).values(
            enterprise_id=enterprise_id,
            version=1,
            previous_version=0,
            previous_valid_until=until,
            rotated_at=now,
        )
        upsert = first.on_conflict_do_update(
            index_elements=[_K.c.enterprise_id],
            set_={
                "version": _K.c.version + 1,
                "previous_version": _K.c.version,
                "previous_valid_until": until,
                "rotated_at": now,
            },
        ).returning(*_KEY_COLUMNS)
        async with self._database.transaction() as session:
            row = (await session.execute(upsert)).one()
            state = _key_state(row)
            await self._audit.record(
                session,
                actor=actor,
                action="webhook_key.rotated",
                object_type="enterprise",
                object_id=enterprise_id,
                details={"version": state.version, "previous_valid_until": until.isoformat()},
            )
        return self._view(enterprise_id, state)

    def _view(self, enterprise_id: str, state: core.WebhookKeyState) -> WebhookKeyView:
        secret = core.enterprise_webhook_secret(self._master_secret, enterprise_id, state.version)
        previous_until = None
        if len(state.signing_versions(self._clock.now())) > 1:
            previous_until = state.previous_valid_until
        return WebhookKeyView(
            secret=core.display_secret(secret),
            version=state.version,
            previous_valid_until=previous_until,
        )
