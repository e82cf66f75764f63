"""Caches of what is safe to cache: bank discovery documents and JWKS, contract look-ups.

* :class:`CachingFetcher` - GETs of bank metadata (OpenID discovery, RFC 8414 metadata,
  JWKS) reused for as long as the bank's ``Cache-Control`` / ``Expires`` allow
  (:mod:`honnin.gateway.httpcache`, RFC 9111), capped; concurrent misses for one URL share
  one request. ``invalidate(url)`` / ``get(url, refresh=True)`` drop an entry, e.g. when an
  ID token names a key the cached JWKS lacks (OIDC Core §10.1.1 key rotation).
* :class:`CachingContractService` - the contract table as the request path reads it
  (banks an enterprise may ask, its contracts, a bank's status), kept per process for
  ``gateway_cache_ttl_seconds``. Changes made through this process drop the whole cache
  when their transaction commits; changes made elsewhere (CLI, other processes) are seen
  within the TTL. Validity windows are still decided per request against the clock, so an
  expiring contract stops applying at its instant.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.service import AuditService
from honnin.clock import Clock
from honnin.contracts.core import ContractTerms, choose_contract
from honnin.contracts.errors import BankNotFoundError
from honnin.contracts.service import BankView, ContractService, EnterpriseView
from honnin.db.engine import after_commit
from honnin.gateway.httpcache import freshness_seconds

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A small in-process cache; entries expire ``ttl`` seconds after they were stored."""

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

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V, *, ttl: float | None = None) -> None:
        lifetime = self._ttl if ttl is None else ttl
        if lifetime <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()  # rare; simpler and safer than an LRU for this size
        self._entries[key] = (self._monotonic() + lifetime, value)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        found = self.get(key)
        if found is not None:
            return found
        generation = self._generation
        value = await load()
        # A change committed while loading may have made the value stale: do not keep it.
        if generation == self._generation:
            self.put(key, value)
        return value

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()


@dataclass(frozen=True, slots=True)
class CachedResponse:
    url: str
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.content)


class CachingFetcher:
    """GET with a private cache honouring ``Cache-Control``; for bank metadata and JWKS.

    ``fetch`` does the request (the connector passes its flow-guarded GET); responses
    other than 200 are never cached.
    """

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[httpx.Response]],
        *,
        default_ttl: float = 300.0,
        max_ttl: float = 86_400.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._default_ttl = default_ttl
        self._max_ttl = max_ttl
        self._cache: TTLCache[str, CachedResponse] = TTLCache(ttl=default_ttl, monotonic=monotonic)
        self._inflight: dict[str, asyncio.Future[CachedResponse]] = {}

    @classmethod
    def for_client(cls, client: httpx.AsyncClient, **kwargs: Any) -> CachingFetcher:
        return cls(client.get, **kwargs)

    async def get(self, url: str, *, refresh: bool = False) -> CachedResponse:
        if not refresh:
            cached = self._cache.get(url)
            if cached is not None:
                return cached
            pending = self._inflight.get(url)
            if pending is not None:
                return await asyncio.shield(pending)
        future: asyncio.Future[CachedResponse] = asyncio.get_running_loop().create_future()
        self._inflight[url] = future
        try:
            result = await self._load(url)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # waiters re-raise it; do not warn "never retrieved"
            raise
        else:
            future.set_result(result)
            return result
        finally:
            if self._inflight.get(url) is future:
                del self._inflight[url]

    async def _load(self, url: str) -> CachedResponse:
        response = await self._fetch(url)
        result = CachedResponse(
            url=url,
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=response.content,
        )
        if response.status_code == httpx.codes.OK:  # only plain successes are reused
            lifetime = freshness_seconds(
                result.headers, default=self._default_ttl, maximum=self._max_ttl
            )
            self._cache.put(url, result, ttl=lifetime)
        return result

    def invalidate(self, url: str) -> None:
        self._cache.invalidate(url)

    def clear(self) -> None:
        self._cache.clear()


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
        self._cache.clear()
        after_commit(session, self._cache.clear)

    # -- cached reads ----------------------------------------------------------------------

    async def allowed_banks(self, session: AsyncSession, *, enterprise_id: str) -> list[BankView]:
        # Cache the candidates (contract + bank status); decide "in force" at each call.
        rows: list[tuple[ContractTerms, BankView]] = await self._cache.get_or_load(
            ("allowed", enterprise_id), lambda: self._allowed_rows(session, enterprise_id)
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
        found: list[ContractTerms] = await self._cache.get_or_load(
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
        bank: BankView | None = await self._cache.get_or_load(
            ("bank", bank_id), lambda: self._bank_or_none(session, bank_id)
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
