"""Per-enterprise limits: requests per second (``limits`` moving window) and per day (DB).

The per-second window lives in the ``limits`` storage: in-process memory, or Redis when
``HONNIN_REDIS_URL`` is set (then all processes share it). If Redis cannot be reached the
per-second limit fails open (logged): the bank-side caps of :mod:`honnin.banks.flow`
still protect the banks, and they fail closed.

Daily quotas are rows of ``gateway_quota_usage`` (enterprise, API, UTC day), incremented
by one conditional upsert in a short transaction of its own::

    INSERT ... VALUES (e, api, day, 1)
    ON CONFLICT (enterprise_id, api, day) DO UPDATE SET count = count + 1
        WHERE gateway_quota_usage.count < :quota
    RETURNING count

No row back means the quota is spent. The count survives restarts and is exact across
processes on both SQLite and PostgreSQL (the upsert is atomic under either's locking).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import structlog
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.dialects import postgresql, sqlite

from honnin.clock import Clock
from honnin.db import Database
from honnin.gateway.core import (
    DAY_SECONDS,
    LimitPolicy,
    LimitState,
    quota_day,
    ratelimit_field,
    ratelimit_policy_field,
    retry_after,
    seconds_to_day_end,
)
from honnin.gateway.errors import QuotaExceededError, RateLimitedError
from honnin.gateway.models import QuotaUsage

log = structlog.get_logger("honnin.gateway")


def rate_storage(redis_url: str) -> Storage:
    if not redis_url:
        return MemoryStorage()
    uri = redis_url if redis_url.startswith("async+") else "async+" + redis_url
    return RedisStorage(
        uri,
        implementation="redispy",
        key_prefix="honnin-gateway-rate",
        wrap_exceptions=True,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )


class EnterpriseLimiter:
    def __init__(self, *, database: Database, clock: Clock, storage: Storage) -> None:
        self._database = database
        self._clock = clock
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._insert = postgresql.insert if database.dialect == "postgresql" else sqlite.insert

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
        count = await self._count_today(enterprise_id, api, daily_quota, now)
        reset = seconds_to_day_end(now)
        if count is None:
            spent = LimitState(day, -1, reset)
            raise QuotaExceededError(
                f"the daily quota of {daily_quota} requests to the {api} API is spent",
                headers=headers(second, spent, refused=spent),
            )
        return second, LimitState(day, daily_quota - count, reset)

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

    async def _count_today(
        self, enterprise_id: str, api: str, quota: int, now: datetime
    ) -> int | None:
        statement: Any = self._insert(QuotaUsage).values(
            enterprise_id=enterprise_id, api=api, day=quota_day(now), count=1
        )
        statement = statement.on_conflict_do_update(
            index_elements=["enterprise_id", "api", "day"],
            set_={"count": QuotaUsage.count + 1},
            where=QuotaUsage.count < quota,
        ).returning(QuotaUsage.count)
        async with self._database.transaction() as session:
            count = (await session.execute(statement)).scalar_one_or_none()
        return int(count) if count is not None else None

    async def used_today(self, enterprise_id: str, api: str) -> int:
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
