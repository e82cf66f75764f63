"""Per-process caches of what is safe to cache, and the single-flight loads behind them.

* :class:`TTLCache` - entries kept for a TTL, or for a lifetime given with each value (the
  bank connector keeps discovery documents and JWKS as long as the bank's
  ``Cache-Control`` / ``Expires`` allow, :mod:`honnin.gateway.httpcache`, RFC 9111).
  Concurrent misses of one key share one load (:class:`SharedLoads`), so a TTL expiring
  under load costs one query or request, not one per request in flight.
* :class:`CachingContractService` - the contract table as the request path reads it
  (banks an enterprise may ask, its contracts, a bank's status), kept per process for
  ``gateway_cache_ttl_seconds``. Changes made through this process drop the whole cache
  when their transaction commits; changes made elsewhere (CLI, other processes) are seen
  within the TTL. A session that has changed them reads past the cache until it ends: it
  must see its own changes, and the cache must not keep what may yet be rolled back.
  Validity windows are still decided per request against the clock, so an expiring
  contract stops applying at its instant.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.service import AuditService
from honnin.clock import Clock
from honnin.contracts.core import ContractTerms, choose_contract
from honnin.contracts.errors import BankNotFoundError
from honnin.contracts.service import BankView, ContractService, EnterpriseView
from honnin.db.engine import after_commit

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Set in a session's ``info`` once it has changed contracts, enterprises or banks.
_CHANGED_IN_SESSION = "honnin.contracts.changed"

# How long a loaded value may be kept: None means the cache's own TTL.
Lifetime = float | None


class _LeaderGoneError(Exception):
    """The call doing a shared load was cancelled; whoever waited on it loads again."""


def _fail(future: asyncio.Future[V], exc: BaseException) -> None:
    future.set_exception(exc)
    future.exception()  # waiters re-raise it; with none, asyncio must not warn "never retrieved"


class SharedLoads(Generic[K, V]):
    """Concurrent loads of one key share one call ("single flight").

    The first caller runs the load; callers arriving while it runs wait for its result,
    or its exception. When that first caller is cancelled (its request gave up), the
    others are not: one of them runs the load again. :meth:`forget` makes later callers
    start afresh instead of joining a load begun before a change.
    """

    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        while (pending := self._inflight.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except _LeaderGoneError:
                continue
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await load()
        except Exception as exc:
            _fail(future, exc)
            raise
        except BaseException:
            _fail(future, _LeaderGoneError())
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    def forget(self, key: K | None = None) -> None:
        """Later callers of ``key`` (of every key when None) do not join a load under way."""
        if key is None:
            self._inflight.clear()
        else:
            self._inflight.pop(key, None)


class TTLCache(Generic[K, V]):
    """A small in-process cache; entries expire ``ttl`` seconds after they were stored.

    Concurrent misses of one key share one load (:class:`SharedLoads`). A value whose load
    began before an :meth:`invalidate` or :meth:`clear` is handed to those who waited for
    it but not kept: the change that caused the invalidation may not be in it.
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._monotonic = monotonic
        self._entries: dict[K, tuple[float, V]] = {}
        self._generation = 0
        self._loads: SharedLoads[K, V] = SharedLoads()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V, *, ttl: Lifetime = None) -> None:
        lifetime = self._ttl if ttl is None else ttl
        if lifetime <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()  # rare; simpler and safer than an LRU for this size
        self._entries[key] = (self._monotonic() + lifetime, value)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, else ``load()``'s, kept for the cache's TTL."""
        found = self.get(key)
        if found is not None:
            return found

        async def for_default_lifetime() -> tuple[V, Lifetime]:
            return await load(), None

        return await self._load_shared(key, for_default_lifetime)

    async def get_or_fetch(self, key: K, fetch: Callable[[], Awaitable[tuple[V, Lifetime]]]) -> V:
        """Like :meth:`get_or_load`, for a load that also says how long its value may be
        kept (an HTTP answer's freshness); 0 keeps nothing."""
        found = self.get(key)
        if found is not None:
            return found
        return await self._load_shared(key, fetch)

    async def _load_shared(self, key: K, fetch: Callable[[], Awaitable[tuple[V, Lifetime]]]) -> V:
        async def fill() -> V:
            # A caller whose loader was cancelled runs this again: the value may be in.
            kept = self.get(key)
            if kept is not None:
                return kept
            generation = self._generation
            value, lifetime = await fetch()
            if generation == self._generation:
                self.put(key, value, ttl=lifetime)
            return value

        return await self._loads.run(key, fill)

    def invalidate(self, key: K) -> None:
        self._generation += 1
        self._entries.pop(key, None)
        self._loads.forget(key)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._loads.forget()


class CachingContractService(ContractService):
    """:class:`ContractService` whose request-path reads are cached (see module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock,
        audit: AuditService,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock=clock, audit=audit)
        self._now = clock
        self._cache: TTLCache[tuple[str, ...], Any] = TTLCache(ttl=ttl_seconds, monotonic=monotonic)

    def invalidate(self) -> None:
        self._cache.clear()

    def _changed(self, session: AsyncSession) -> None:
        session.info[_CHANGED_IN_SESSION] = True
        self._cache.clear()
        after_commit(session, self._cache.clear)

    async def _cached(
        self, session: AsyncSession, key: tuple[str, ...], load: Callable[[], Awaitable[Any]]
    ) -> Any:
        if session.info.get(_CHANGED_IN_SESSION):
            return await load()
        return await self._cache.get_or_load(key, load)

    # -- cached reads ----------------------------------------------------------------------

    async def allowed_banks(self, session: AsyncSession, *, enterprise_id: str) -> list[BankView]:
        # Cache the candidates (contract + bank status); decide "in force" at each call.
        rows: list[tuple[ContractTerms, BankView]] = await self._cached(
            session, ("allowed", enterprise_id), lambda: self._allowed_rows(session, enterprise_id)
        )
        now = self._now.now()
        seen: dict[str, BankView] = {}
        for terms, bank in rows:
            if terms.in_force(now) and bank.id not in seen:
                seen[bank.id] = bank
        return [seen[bank_id] for bank_id in sorted(seen)]

    async def _allowed_rows(
        self, session: AsyncSession, enterprise_id: str
    ) -> list[tuple[ContractTerms, BankView]]:
        banks = {b.id: b for b in await super().list_banks(session)}
        contracts = await super().list_contracts(session, enterprise_id=enterprise_id)
        return [
            (t, banks[t.bank_id])
            for t in contracts
            if t.status == "active" and t.bank_id in banks and banks[t.bank_id].status == "active"
        ]

    async def list_contracts(
        self,
        session: AsyncSession,
        *,
        enterprise_id: str | None = None,
        bank_id: str | None = None,
    ) -> list[ContractTerms]:
        if enterprise_id is None:
            return await super().list_contracts(session, enterprise_id=None, bank_id=bank_id)
        found: list[ContractTerms] = await self._cached(
            session,
            ("contracts", enterprise_id, bank_id or ""),
            lambda: super(CachingContractService, self).list_contracts(
                session, enterprise_id=enterprise_id, bank_id=bank_id
            ),
        )
        return list(found)

    async def authorize(
        self,
        session: AsyncSession,
        *,
        enterprise_id: str,
        bank_id: str,
        claims: Sequence[str],
        purpose: str,
    ) -> ContractTerms:
        bank: BankView | None = await self._cached(
            session, ("bank", bank_id), lambda: self._bank_or_none(session, bank_id)
        )
        if bank is None or bank.status != "active":
            raise BankNotFoundError(f"no bank {bank_id}")
        contracts = await self.list_contracts(session, enterprise_id=enterprise_id, bank_id=bank_id)
        return choose_contract(contracts, at=self._now.now(), claims=claims, purpose=purpose)

    async def _bank_or_none(self, session: AsyncSession, bank_id: str) -> BankView | None:
        try:
            return await super().get_bank(session, bank_id)
        except BankNotFoundError:
            return None

    # -- changes drop the cache when they commit ----------------------------------------------

    async def create_enterprise(
        self, session: AsyncSession, *, name: str, webhook_url: str | None, actor: str
    ) -> EnterpriseView:
        view = await super().create_enterprise(
            session, name=name, webhook_url=webhook_url, actor=actor
        )
        self._changed(session)
        return view

    async def revoke_enterprise(
        self, session: AsyncSession, enterprise_id: str, *, reason: str | None, actor: str
    ) -> EnterpriseView:
        view = await super().revoke_enterprise(session, enterprise_id, reason=reason, actor=actor)
        self._changed(session)
        return view

    async def create_bank(
        self,
        session: AsyncSession,
        *,
        bank_id: str,
        name: str,
        profile: dict[str, Any] | None,
        actor: str,
    ) -> BankView:
        view = await super().create_bank(
            session, bank_id=bank_id, name=name, profile=profile, actor=actor
        )
        self._changed(session)
        return view

    async def revoke_bank(
        self, session: AsyncSession, bank_id: str, *, reason: str | None, actor: str
    ) -> BankView:
        view = await super().revoke_bank(session, bank_id, reason=reason, actor=actor)
        self._changed(session)
        return view

    async def create_contract(
        self,
        session: AsyncSession,
        *,
        enterprise_id: str,
        bank_id: str,
        claims: Sequence[str],
        purposes: Sequence[str],
        valid_from: datetime | None,
        valid_until: datetime | None,
        rate_per_second: int | None,
        daily_quota: int | None,
        actor: str,
    ) -> ContractTerms:
        terms = await super().create_contract(
            session,
            enterprise_id=enterprise_id,
            bank_id=bank_id,
            claims=claims,
            purposes=purposes,
            valid_from=valid_from,
            valid_until=valid_until,
            rate_per_second=rate_per_second,
            daily_quota=daily_quota,
            actor=actor,
        )
        self._changed(session)
        return terms

    async def revoke_contract(
        self, session: AsyncSession, contract_id: str, *, reason: str | None, actor: str
    ) -> ContractTerms:
        terms = await super().revoke_contract(session, contract_id, reason=reason, actor=actor)
        self._changed(session)
        return terms
