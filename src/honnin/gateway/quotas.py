"""Per-enterprise limits: requests per second (``limits`` moving window) and per day (DB).

The per-second window lives in the ``limits`` storage: in-process memory, or Redis when
``HONNIN_REDIS_URL`` is set (then all processes share it). If Redis cannot be reached the
per-second limit fails open (logged): the bank-side caps of :mod:`honnin.banks.flow`
still protect the banks, and they fail closed.

Daily quotas are rows of ``gateway_quota_usage`` (enterprise, API, UTC day) holding the
units handed out so far. A process takes a *reservation* of several units with one
conditional upsert in a short transaction of its own::

    INSERT ... VALUES (e, api, day, :n)
    ON CONFLICT (enterprise_id, api, day) DO UPDATE SET count = count + :n
        WHERE gateway_quota_usage.count + :n <= :quota
    RETURNING count

and admits requests from it in memory until it is used up (no database write on the
request path meanwhile). The reservation size shrinks as the quota runs out
(:func:`honnin.gateway.core.reservation_size`: a 64th of what is left, at most
``MAX_RESERVATION``, and exactly one unit near the end), so:

* no enterprise ever gets more than its quota, across any number of processes;
* counts survive restarts; a graceful shutdown gives unused units back, a crash loses
  at most one reservation per process (the enterprise gets slightly fewer, never more);
* ``RateLimit`` remaining counts are this process's view, exact to within a reservation.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

import structlog
from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from honnin.clock import Clock
from honnin.db import Database, conflict_insert
from honnin.gateway.core import (
    DAY_SECONDS,
    LimitPolicy,
    LimitState,
    quota_day,
    ratelimit_field,
    ratelimit_policy_field,
    reservation_size,
    retry_after,
    seconds_to_day_end,
)
from honnin.gateway.errors import QuotaExceededError, RateLimitedError
from honnin.gateway.models import QuotaUsage
from honnin.rate_storage import MemoryWindowStorage

log = structlog.get_logger("honnin.gateway")


def rate_storage(redis_url: str) -> Storage:
    if not redis_url:
        return MemoryWindowStorage()
    uri = redis_url if redis_url.startswith("async+") else "async+" + redis_url
    return RedisStorage(
        uri,
        implementation="redispy",
        key_prefix="honnin-gateway-rate",
        wrap_exceptions=True,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )


# A process reserves up to this many units of a daily quota per database write; see
# :func:`honnin.gateway.core.reservation_size`.
MAX_RESERVATION = 1000


class _Reservation:
    """Units of one (enterprise, API, day) quota this process reserved and not yet used."""

    __slots__ = ("db_count", "left", "refill")

    def __init__(self) -> None:
        self.left = 0
        self.db_count = 0  # the shared counter after this process's last reservation
        self.refill: asyncio.Task[None] | None = None


class EnterpriseLimiter:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        storage: Storage,
        max_reservation: int = MAX_RESERVATION,
    ) -> None:
        self._database = database
        self._clock = clock
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._max_reservation = max_reservation
        self._reservations: dict[tuple[str, str, date], _Reservation] = {}
        self._locks: dict[tuple[str, str, date], asyncio.Lock] = {}

    @property
    def storage(self) -> Storage:
        return self._storage

    async def admit(
        self, *, enterprise_id: str, api: str, rate_per_second: int, daily_quota: int
    ) -> tuple[LimitState, LimitState]:
        """Count one request or refuse it (429). Returns the states for the header fields."""
        second = await self._per_second(enterprise_id, api, rate_per_second)
        day = LimitPolicy("day", daily_quota, DAY_SECONDS)
        if second.exceeded:
            raise RateLimitedError(
                f"more than {rate_per_second} requests per second to the {api} API",
                headers=headers(second, None, refused=second),
            )
        now = self._clock.now()
        used = await self._take(enterprise_id, api, daily_quota, quota_day(now))
        reset = seconds_to_day_end(now)
        if used is None:
            spent = LimitState(day, -1, reset)
            raise QuotaExceededError(
                f"the daily quota of {daily_quota} requests to the {api} API is spent",
                headers=headers(second, spent, refused=spent),
            )
        return second, LimitState(day, daily_quota - used, reset)

    async def _per_second(self, enterprise_id: str, api: str, rate: int) -> LimitState:
        policy = LimitPolicy("second", rate, 1)
        item = RateLimitItemPerSecond(rate)
        try:
            allowed = await self._limiter.hit(item, enterprise_id, api)
            stats = await self._limiter.get_window_stats(item, enterprise_id, api)
        except Exception as exc:  # noqa: BLE001 - any store failure: fail open, see docstring
            log.warning("rate-limit store unavailable", error_type=type(exc).__name__)
            return LimitState(policy, rate, 1.0)
        reset = max(0.0, stats.reset_time - time.time())
        return LimitState(policy, stats.remaining if allowed else -1, reset)

    async def _take(self, enterprise_id: str, api: str, quota: int, day: date) -> int | None:
        """One unit of today's quota, or None when spent; returns units used (approx.)."""
        key = (enterprise_id, api, day)
        held = self._reservations.get(key)
        if held is None:
            if len(self._reservations) > 10_000:  # drop entries of other days
                self._reservations = {k: v for k, v in self._reservations.items() if k[2] == day}
                self._locks = {k: v for k, v in self._locks.items() if k[2] == day}
            held = self._reservations.setdefault(key, _Reservation())
        if held.left == 0:
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:
                if held.left == 0:
                    want = reservation_size(quota, held.db_count, self._max_reservation)
                    granted = await self._reserve(key, quota, want)
                    if granted is None:
                        return None
                    held.left, held.db_count = granted
        held.left -= 1
        used = held.db_count - held.left
        if held.left * 4 < self._max_reservation and held.refill is None and held.left > 0:
            # Reserve the next block while this one lasts, off the request path.
            held.refill = asyncio.create_task(self._prefetch(key, held, quota))
        return used

    async def _prefetch(self, key: tuple[str, str, date], held: _Reservation, quota: int) -> None:
        try:
            async with self._locks.setdefault(key, asyncio.Lock()):
                want = reservation_size(quota, held.db_count, self._max_reservation)
                if want <= 1:
                    return  # near the end of the quota: one unit at a time, on demand
                granted = await self._reserve(key, quota, want)
                if granted is not None:
                    held.left += granted[0]
                    held.db_count = granted[1]
        except Exception as exc:  # noqa: BLE001 - the next request reserves on demand instead
            log.warning("quota prefetch failed", error_type=type(exc).__name__)
        finally:
            held.refill = None

    async def _reserve(
        self, key: tuple[str, str, date], quota: int, want: int
    ) -> tuple[int, int] | None:
        """Add ``want`` (or, near the end of the quota, 1) to the shared counter."""
        for size in (want, 1) if want > 1 else (1,):
            count = await self._add(key, quota, size)
            if count is not None:
                return size, count
        return None

    async def _add(self, key: tuple[str, str, date], quota: int, size: int) -> int | None:
        enterprise_id, api, day = key
        statement: Any = conflict_insert(self._database.dialect, QuotaUsage).values(
            enterprise_id=enterprise_id, api=api, day=day, count=size
        )
        statement = statement.on_conflict_do_update(
            index_elements=["enterprise_id", "api", "day"],
            set_={"count": QuotaUsage.count + size},
            where=QuotaUsage.count + size <= quota,
        ).returning(QuotaUsage.count)
        async with self._database.transaction() as session:
            count = (await session.execute(statement)).scalar_one_or_none()
        return int(count) if count is not None else None

    async def release_reservations(self) -> None:
        """Give unused reserved units back (graceful shutdown) so no quota is lost."""
        today = quota_day(self._clock.now())
        pending = [h.refill for h in self._reservations.values() if h.refill is not None]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for (enterprise_id, api, day), held in list(self._reservations.items()):
            if day != today or held.left == 0:
                continue
            try:
                await self._give_back((enterprise_id, api, day), held.left)
            except DBAPIError as exc:
                # Shutdown goes on (the bank flow and the rate storage still close); the
                # units stay counted until the day ends, and the log says how many.
                log.warning(
                    "quota reservation not released",
                    enterprise_id=enterprise_id,
                    api=api,
                    units=held.left,
                    error_type=type(exc.orig).__name__,
                )
            held.left = 0
        self._reservations.clear()

    async def _give_back(self, key: tuple[str, str, date], units: int) -> None:
        enterprise_id, api, day = key
        statement = (
            update(QuotaUsage)
            .where(
                QuotaUsage.enterprise_id == enterprise_id,
                QuotaUsage.api == api,
                QuotaUsage.day == day,
            )
            .values(count=QuotaUsage.count - units)
        )
        for attempt in (1, 2):
            try:
                async with self._database.transaction() as session:
                    await session.execute(statement)
            except DBAPIError as exc:
                # A connection the server dropped (restart, failover): the pool has
                # replaced the others, so once more on a fresh one.
                if attempt == 2 or not exc.connection_invalidated:
                    raise
            else:
                return

    async def used_today(self, enterprise_id: str, api: str) -> int:
        """Units counted in the database today (reserved by processes, used or not)."""
        async with self._database.session() as session:
            row = await session.get(QuotaUsage, (enterprise_id, api, quota_day(self._clock.now())))
        return row.count if row is not None else 0


def headers(
    second: LimitState, day: LimitState | None, *, refused: LimitState | None = None
) -> dict[str, str]:
    """``RateLimit-Policy``, ``RateLimit`` and, on refusal, ``Retry-After``."""
    states = [s for s in (second, day) if s is not None]
    fields = {
        "RateLimit-Policy": ratelimit_policy_field(s.policy for s in states),
        "RateLimit": ratelimit_field(states),
    }
    if refused is not None:
        fields["Retry-After"] = retry_after(refused.reset_seconds)
    return fields
