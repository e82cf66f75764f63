"""Per-bank flow control around every outbound bank request: cap, rate, queue, breaker.

The bank connector wraps each call to a bank in :class:`BankFlow`::

    flow = BankFlow.from_settings(settings)           # once per process (app factory)

    async with flow.guard("momiji_rest") as ticket:   # one bank request
        response = await client.get(...)
        if response.status_code >= 500:
            ticket.failure()                          # counts for the circuit breaker
    # leaving the block normally counts as a success; an exception that is a transport
    # failure or timeout (TimeoutError, httpx.TransportError, BankUnreachableError and
    # its subclasses) counts as a failure; any other exception leaves the breaker alone.

    token = await flow.call("momiji_rest", fetch, idempotent=True)  # guard + retries

What :meth:`BankFlow.guard` does, in order:

1. operator closure of the bank (``honnin admin service close bank ...``): ``bank_closed``;
2. circuit breaker (:mod:`honnin.banks.flowcore`): open -> ``bank_unavailable`` at once;
   half-open -> one probe call passes, the rest fail fast;
3. in-flight cap: at most ``max_in_flight`` concurrent calls to the bank (all processes
   together when Redis is configured). Callers over the cap wait in a bounded queue
   (``queue_size`` waiters per process) up to ``queue_timeout_seconds``; a full queue or a
   passed deadline gives ``bank_busy``. Nothing is ever sent over the cap;
4. rate limit: at most ``rate_per_second`` calls start per second (``limits`` moving
   window), waiting inside the same deadline;
5. the body runs under ``timeout_seconds`` (``bank_timeout`` 504 when it passes).

:meth:`BankFlow.call` adds retries with full-jitter exponential back-off, only when the
caller says the request is idempotent (RFC 9110 §9.2.2), and only after failures that
count for the breaker. Every refusal is a :mod:`honnin.banks.flow_errors` error (503 with
``Retry-After``).

Two stores keep the shared state: :class:`MemoryFlowStore` (one process) and
:class:`RedisFlowStore` (``HONNIN_REDIS_URL``: Lua scripts make the in-flight semaphore
and breaker transitions atomic on the Redis server clock; slots are leases that expire
``timeout_seconds + 5`` after they were taken, so a killed process cannot leak them). When
Redis cannot be reached the guard fails closed with ``flow_control_unavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

import httpx
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from honnin.banks.errors import BankUnreachableError
from honnin.banks.flow_errors import (
    BankBusyError,
    BankClosedError,
    BankDeadlineError,
    BankUnavailableError,
    FlowBackendUnavailableError,
)
from honnin.banks.flowcore import (
    Admission,
    BankLimits,
    Breaker,
    admit,
    backoff_delay,
    limits_for,
    on_failure,
    on_success,
)
from honnin.rate_storage import MemoryWindowStorage

if TYPE_CHECKING:
    from honnin.config import Settings

T = TypeVar("T")
Outcome = Literal["success", "failure", "neutral"]
REDIS_PREFIX = "honnin:flow:"
# How often a waiter re-tries a Redis slot when no local release wakes it first.
REDIS_POLL_SECONDS = 0.01


def is_bank_failure(exc: BaseException) -> bool:
    """Does this exception say the bank is unhealthy (as opposed to refusing a request)?"""
    return isinstance(exc, TimeoutError | httpx.TransportError | BankUnreachableError)


_RETRYABLE: tuple[type[BaseException], ...] = (
    BankDeadlineError,
    TimeoutError,
    httpx.TransportError,
    BankUnreachableError,
)


class BankGate(Protocol):
    """Operator open/close state; :class:`honnin.gateway.closures.ClosureService` is one."""

    async def bank_closed_for(self, bank_id: str) -> float | None:
        """Seconds until the bank reopens (``Retry-After``) when closed, else None."""
        ...


class FlowStore(Protocol):
    """Where in-flight slots, rates and breaker state live."""

    async def try_acquire(self, bank_id: str, lease: str, *, limits: BankLimits) -> bool: ...
    async def release(self, bank_id: str, lease: str) -> None: ...
    async def in_flight(self, bank_id: str) -> int: ...
    async def try_rate(self, bank_id: str, *, limits: BankLimits) -> float:
        """0 when a call may start now, else seconds until the next one may."""
        ...

    async def admit(self, bank_id: str, *, limits: BankLimits) -> Admission: ...
    async def record(
        self, bank_id: str, outcome: Outcome, *, probe: bool, limits: BankLimits
    ) -> None: ...
    async def breaker(self, bank_id: str) -> Breaker: ...
    async def aclose(self) -> None: ...


def _rate_item(limits: BankLimits) -> RateLimitItem:
    rate = limits.rate_per_second
    if rate >= 1:
        return RateLimitItemPerSecond(round(rate))
    return RateLimitItemPerSecond(1, max(1, round(1 / rate)))


async def _try_rate(
    limiter: MovingWindowRateLimiter, bank_id: str, limits: BankLimits, *, now: float
) -> float:
    item = _rate_item(limits)
    if await limiter.hit(item, "bank", bank_id):
        return 0.0
    stats = await limiter.get_window_stats(item, "bank", bank_id)
    return max(0.001, stats.reset_time - now)


class MemoryFlowStore:
    """Flow state of one process: exact, but not shared with other processes."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._slots: dict[str, set[str]] = {}
        self._breakers: dict[str, Breaker] = {}
        self._limiter = MovingWindowRateLimiter(MemoryWindowStorage())

    async def try_acquire(self, bank_id: str, lease: str, *, limits: BankLimits) -> bool:
        slots = self._slots.setdefault(bank_id, set())
        if len(slots) >= limits.max_in_flight:
            return False
        slots.add(lease)
        return True

    async def release(self, bank_id: str, lease: str) -> None:
        self._slots.get(bank_id, set()).discard(lease)

    async def in_flight(self, bank_id: str) -> int:
        return len(self._slots.get(bank_id, ()))

    async def try_rate(self, bank_id: str, *, limits: BankLimits) -> float:
        return await _try_rate(self._limiter, bank_id, limits, now=time.time())

    async def admit(self, bank_id: str, *, limits: BankLimits) -> Admission:
        state = self._breakers.get(bank_id, Breaker())
        answer, state = admit(state, now=self._monotonic(), limits=limits)
        self._breakers[bank_id] = state
        return answer

    async def record(
        self, bank_id: str, outcome: Outcome, *, probe: bool, limits: BankLimits
    ) -> None:
        state = self._breakers.get(bank_id, Breaker())
        if outcome == "success":
            state = on_success(state)
        elif outcome == "failure":
            state = on_failure(state, now=self._monotonic(), limits=limits)
        elif probe and state.mode == "half_open":
            # The probe ended without a verdict (cancelled): let the next call probe.
            state = Breaker(mode="half_open", failures=state.failures, opened_at=state.opened_at)
        self._breakers[bank_id] = state

    async def breaker(self, bank_id: str) -> Breaker:
        return self._breakers.get(bank_id, Breaker())

    async def aclose(self) -> None:
        return None


# Lua scripts run atomically on the Redis server and use its clock (TIME), so every
# process sees the same instants. Times are milliseconds.
_NOW = "local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

ACQUIRE_LUA = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
  return 1
end
return 0
"""
)

IN_FLIGHT_LUA = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
)

ADMIT_LUA = (
    _NOW
    + """
local mode = redis.call('HGET', KEYS[1], 'mode') or 'closed'
if mode == 'closed' then return {1, 0, 0} end
local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0')
local probe_until = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
local reopen = opened + tonumber(ARGV[1])
if mode == 'open' and now < reopen then return {0, 0, reopen - now} end
if mode == 'half_open' and now < probe_until then return {0, 0, probe_until - now} end
redis.call('HSET', KEYS[1], 'mode', 'half_open', 'probe_until', now + tonumber(ARGV[2]))
return {1, 1, 0}
"""
)

RECORD_LUA = (
    _NOW
    + """
local outcome = ARGV[1]
if outcome == 'success' then
  redis.call('DEL', KEYS[1])
  return 'closed'
end
local mode = redis.call('HGET', KEYS[1], 'mode') or 'closed'
if outcome == 'neutral' then
  if mode == 'half_open' and ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'probe_until', 0) end
  return mode
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if mode == 'half_open' or (mode == 'closed' and failures >= tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], 'mode', 'open', 'opened_at', now, 'probe_until', 0)
  return 'open'
end
if mode == 'closed' then redis.call('HSET', KEYS[1], 'mode', 'closed') end
return mode
"""
)


def async_limits_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a ``redis://`` / ``rediss://`` URL."""
    return "async+" + redis_url if not redis_url.startswith("async+") else redis_url


class RedisFlowStore:
    """Flow state shared by every process that uses the same Redis."""

    def __init__(self, redis_url: str, *, socket_timeout: float = 1.0) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(
            redis_url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            decode_responses=True,
        )
        storage: Storage = RedisStorage(
            async_limits_uri(redis_url),
            implementation="redispy",
            key_prefix="honnin-flow-rate",
            wrap_exceptions=True,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
        )
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._acquire = self._redis.register_script(ACQUIRE_LUA)
        self._in_flight = self._redis.register_script(IN_FLIGHT_LUA)
        self._admit = self._redis.register_script(ADMIT_LUA)
        self._record = self._redis.register_script(RECORD_LUA)

    @staticmethod
    def _slots_key(bank_id: str) -> str:
        return f"{REDIS_PREFIX}{{{bank_id}}}:slots"

    @staticmethod
    def _breaker_key(bank_id: str) -> str:
        return f"{REDIS_PREFIX}{{{bank_id}}}:breaker"

    async def try_acquire(self, bank_id: str, lease: str, *, limits: BankLimits) -> bool:
        lease_ms = int(limits.lease_seconds * 1000)
        result = await self._acquire(
            keys=[self._slots_key(bank_id)], args=[limits.max_in_flight, lease_ms, lease]
        )
        return bool(int(result))

    async def release(self, bank_id: str, lease: str) -> None:
        await self._redis.zrem(self._slots_key(bank_id), lease)

    async def in_flight(self, bank_id: str) -> int:
        return int(await self._in_flight(keys=[self._slots_key(bank_id)], args=[]))

    async def try_rate(self, bank_id: str, *, limits: BankLimits) -> float:
        return await _try_rate(self._limiter, bank_id, limits, now=time.time())

    async def admit(self, bank_id: str, *, limits: BankLimits) -> Admission:
        allowed, probe, wait_ms = await self._admit(
            keys=[self._breaker_key(bank_id)],
            args=[int(limits.breaker_open_seconds * 1000), int(limits.lease_seconds * 1000)],
        )
        return Admission(
            allowed=bool(int(allowed)), probe=bool(int(probe)), retry_after=int(wait_ms) / 1000
        )

    async def record(
        self, bank_id: str, outcome: Outcome, *, probe: bool, limits: BankLimits
    ) -> None:
        await self._record(
            keys=[self._breaker_key(bank_id)],
            args=[outcome, limits.breaker_failures, "1" if probe else "0"],
        )

    async def breaker(self, bank_id: str) -> Breaker:
        raw = cast("Mapping[str, str]", await self._redis.hgetall(self._breaker_key(bank_id)))
        mode = raw.get("mode", "closed")
        return Breaker(
            mode=mode if mode in ("open", "half_open") else "closed",  # type: ignore[arg-type]
            failures=int(raw.get("failures", 0)),
            opened_at=float(raw.get("opened_at", 0)) / 1000,
            probe_until=float(raw.get("probe_until", 0)) / 1000,
        )

    async def reset(self) -> None:
        """Forget all flow state (tests and operators after an incident)."""
        keys = [key async for key in self._redis.scan_iter(match=REDIS_PREFIX + "*")]
        if keys:
            await self._redis.delete(*keys)
        await self._storage.reset()

    async def aclose(self) -> None:
        await self._redis.aclose()


def _store_errors() -> tuple[type[BaseException], ...]:
    from limits.errors import StorageError
    from redis.exceptions import RedisError

    return (RedisError, StorageError, OSError)


class FlowTicket:
    """One admitted bank call; lets the body state its outcome when no exception says it."""

    __slots__ = ("bank_id", "outcome", "probe")

    def __init__(self, bank_id: str, *, probe: bool) -> None:
        self.bank_id = bank_id
        self.probe = probe
        self.outcome: Outcome | None = None

    def success(self) -> None:
        self.outcome = "success"

    def failure(self) -> None:
        """The bank misbehaved (for example a 5xx answer) although nothing was raised."""
        self.outcome = "failure"


@dataclass(frozen=True, slots=True)
class BankFlowStatus:
    bank_id: str
    breaker: str
    consecutive_failures: int
    in_flight: int
    waiting: int
    limits: BankLimits


class BankFlow:
    """Per-bank flow control for one process (state shared through the store)."""

    def __init__(
        self,
        *,
        store: FlowStore,
        defaults: BankLimits,
        per_bank: Mapping[str, Mapping[str, object]] | None = None,
        gate: BankGate | None = None,
        rng: random.Random | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self._store = store
        self._defaults = defaults
        self._per_bank = dict(per_bank or {})
        self._limits: dict[str, BankLimits] = {}
        self._gate = gate
        # Back-off jitter and lease ids need no secrecy; a seedable generator keeps tests exact.
        self._rng = rng or random.Random()  # noqa: S311
        self._poll = (
            poll_seconds
            if poll_seconds is not None
            else (REDIS_POLL_SECONDS if isinstance(store, RedisFlowStore) else 1.0)
        )
        self._waiting: dict[str, int] = {}
        self._released: dict[str, asyncio.Event] = {}
        self._errors = _store_errors()
        for bank_id in self._per_bank:
            self.limits(bank_id)  # refuse bad per-bank settings at start-up

    @classmethod
    def from_settings(cls, settings: Settings, *, gate: BankGate | None = None) -> BankFlow:
        defaults = BankLimits(
            max_in_flight=settings.bank_max_in_flight,
            rate_per_second=settings.bank_rate_per_second,
            queue_size=settings.bank_queue_size,
            queue_timeout_seconds=settings.bank_queue_timeout_seconds,
            timeout_seconds=settings.bank_timeout_seconds,
            retries=settings.bank_retries,
            retry_backoff_seconds=settings.bank_retry_backoff_seconds,
            retry_backoff_max_seconds=settings.bank_retry_backoff_max_seconds,
            breaker_failures=settings.bank_breaker_failures,
            breaker_open_seconds=settings.bank_breaker_open_seconds,
        )
        store: FlowStore = (
            RedisFlowStore(settings.redis_url) if settings.redis_url else MemoryFlowStore()
        )
        return cls(store=store, defaults=defaults, per_bank=settings.bank_flow, gate=gate)

    @property
    def store(self) -> FlowStore:
        return self._store

    def set_gate(self, gate: BankGate) -> None:
        self._gate = gate

    def limits(self, bank_id: str) -> BankLimits:
        found = self._limits.get(bank_id)
        if found is None:
            found = limits_for(bank_id, defaults=self._defaults, per_bank=self._per_bank)
            self._limits[bank_id] = found
        return found

    async def aclose(self) -> None:
        await self._store.aclose()

    # -- the API the connector calls ----------------------------------------------------

    @contextlib.asynccontextmanager
    async def guard(self, bank_id: str) -> AsyncIterator[FlowTicket]:
        """Hold one in-flight slot of ``bank_id`` for the body (see the module docstring)."""
        limits = self.limits(bank_id)
        if self._gate is not None:
            wait = await self._gate.bank_closed_for(bank_id)
            if wait is not None:
                raise BankClosedError(f"{bank_id} is closed by the operator", retry_after=wait)
        admission = await self._backend(self._store.admit(bank_id, limits=limits))
        if not admission.allowed:
            raise BankUnavailableError(
                f"{bank_id} is failing; calls are suspended for a while",
                retry_after=admission.retry_after,
            )
        ticket = FlowTicket(bank_id, probe=admission.probe)
        lease = await self._enter(bank_id, limits, probe=admission.probe)
        try:
            async with asyncio.timeout(limits.timeout_seconds):
                yield ticket
        except TimeoutError as exc:
            ticket.outcome = "failure"
            raise BankDeadlineError(
                f"{bank_id} did not answer within {limits.timeout_seconds:g} s"
            ) from exc
        except BaseException as exc:
            if ticket.outcome is None:
                ticket.outcome = "failure" if is_bank_failure(exc) else "neutral"
            raise
        finally:
            await self._leave(bank_id, lease, ticket, limits)

    async def call(
        self, bank_id: str, fn: Callable[[], Awaitable[T]], *, idempotent: bool = False
    ) -> T:
        """``await fn()`` inside :meth:`guard`; retried with back-off when idempotent."""
        limits = self.limits(bank_id)
        attempts = limits.retries + 1 if idempotent else 1
        for attempt in range(attempts):
            try:
                async with self.guard(bank_id):
                    return await fn()
            except _RETRYABLE:
                if attempt + 1 >= attempts:
                    raise
            await asyncio.sleep(backoff_delay(attempt, limits=limits, unit=self._rng.random()))
        raise AssertionError  # pragma: no cover - the loop returns or raises

    async def record_success(self, bank_id: str) -> None:
        """Outside :meth:`guard` (rare): tell the breaker a call to the bank worked."""
        await self._backend(
            self._store.record(bank_id, "success", probe=False, limits=self.limits(bank_id))
        )

    async def record_failure(self, bank_id: str) -> None:
        await self._backend(
            self._store.record(bank_id, "failure", probe=False, limits=self.limits(bank_id))
        )

    async def status(self, bank_id: str) -> BankFlowStatus:
        breaker = await self._backend(self._store.breaker(bank_id))
        return BankFlowStatus(
            bank_id=bank_id,
            breaker=breaker.mode,
            consecutive_failures=breaker.failures,
            in_flight=await self._backend(self._store.in_flight(bank_id)),
            waiting=self._waiting.get(bank_id, 0),
            limits=self.limits(bank_id),
        )

    # -- internals ------------------------------------------------------------------------

    async def _backend(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except self._errors as exc:
            raise FlowBackendUnavailableError(
                "flow control cannot reach its shared store; bank calls are refused"
            ) from exc

    async def _enter(self, bank_id: str, limits: BankLimits, *, probe: bool) -> str:
        lease = f"{secrets.token_hex(8)}"
        try:
            await self._wait_for_slot(bank_id, lease, limits)
        except BaseException:
            if probe:
                with contextlib.suppress(*self._errors):
                    await self._store.record(bank_id, "neutral", probe=True, limits=limits)
            raise
        return lease

    async def _wait_for_slot(self, bank_id: str, lease: str, limits: BankLimits) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.queue_timeout_seconds
        if await self._backend(self._store.try_acquire(bank_id, lease, limits=limits)):
            await self._rate_or_release(bank_id, lease, limits, deadline)
            return
        if self._waiting.get(bank_id, 0) >= limits.queue_size:
            raise BankBusyError(f"{bank_id} is at capacity; try again shortly", retry_after=1)
        self._waiting[bank_id] = self._waiting.get(bank_id, 0) + 1
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise BankBusyError(
                        f"{bank_id} stayed at capacity for "
                        f"{limits.queue_timeout_seconds:g} s; try again shortly",
                        retry_after=1,
                    )
                event = self._released.setdefault(bank_id, asyncio.Event())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(self._poll, remaining))
                if await self._backend(self._store.try_acquire(bank_id, lease, limits=limits)):
                    break
        finally:
            self._waiting[bank_id] -= 1
        await self._rate_or_release(bank_id, lease, limits, deadline)

    async def _rate_or_release(
        self, bank_id: str, lease: str, limits: BankLimits, deadline: float
    ) -> None:
        try:
            await self._wait_for_rate(bank_id, limits, deadline)
        except BaseException:
            await self._release(bank_id, lease)
            raise

    async def _wait_for_rate(self, bank_id: str, limits: BankLimits, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            wait = await self._backend(self._store.try_rate(bank_id, limits=limits))
            if wait <= 0:
                return
            if loop.time() + wait > deadline:
                raise BankBusyError(
                    f"{bank_id} is at its request rate; try again shortly", retry_after=wait
                )
            await asyncio.sleep(wait)

    async def _release(self, bank_id: str, lease: str) -> None:
        # When Redis is gone the lease simply expires; nothing else to do.
        with contextlib.suppress(*self._errors):
            await self._store.release(bank_id, lease)
        event = self._released.pop(bank_id, None)
        if event is not None:
            event.set()

    async def _leave(
        self, bank_id: str, lease: str, ticket: FlowTicket, limits: BankLimits
    ) -> None:
        await self._release(bank_id, lease)
        outcome: Outcome = ticket.outcome or "success"
        with contextlib.suppress(*self._errors):
            await self._store.record(bank_id, outcome, probe=ticket.probe, limits=limits)


def describe(status: BankFlowStatus) -> dict[str, Any]:
    """A JSON-ready view of :class:`BankFlowStatus` for the admin API and CLI."""
    limits = status.limits
    return {
        "bank_id": status.bank_id,
        "breaker": status.breaker,
        "consecutive_failures": status.consecutive_failures,
        "in_flight": status.in_flight,
        "waiting": status.waiting,
        "limits": {
            "max_in_flight": limits.max_in_flight,
            "rate_per_second": limits.rate_per_second,
            "queue_size": limits.queue_size,
            "queue_timeout_seconds": limits.queue_timeout_seconds,
            "timeout_seconds": limits.timeout_seconds,
            "retries": limits.retries,
            "breaker_failures": limits.breaker_failures,
            "breaker_open_seconds": limits.breaker_open_seconds,
        },
    }
