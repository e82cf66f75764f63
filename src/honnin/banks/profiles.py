"""Opened bank connection profiles, kept per process for a short time.

Every step of a bank inquiry (create, the user's start link, the callback) needs the
bank's connection profile: a database read and the unsealing of its client secret or key.
The profile changes only when an operator sets it, so a process keeps the opened profile
for ``ttl_seconds``. A change made through this process drops the cache when its
transaction commits (:class:`honnin.banks.service.BankConnectionService` calls
:meth:`ConnectionProfiles.invalidate`); a change made elsewhere (another process, the
CLI) is seen within the TTL, like the contract look-ups of
:class:`honnin.gateway.cache.CachingContractService`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, bindparam, select

from honnin.banks.connection import BankConnection, open_connection
from honnin.contracts.errors import BankNotFoundError
from honnin.contracts.models import Bank
from honnin.db import Database
from honnin.gateway.cache import TTLCache
from honnin.security.aead import KeyRing

_BANKS = cast("Table", Bank.__table__).c
_SELECT_PROFILE = select(_BANKS.profile).where(_BANKS.id == bindparam("b_bank_id"))


class ConnectionProfiles:
    def __init__(
        self,
        *,
        key_ring: KeyRing,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key_ring = key_ring
        self._cache: TTLCache[str, BankConnection] = TTLCache(ttl=ttl_seconds, monotonic=monotonic)

    async def open(self, database: Database, bank_id: str) -> BankConnection:
        """The bank's opened profile; raises when the bank is unknown or not configured."""
        return await self._cache.get_or_load(bank_id, lambda: self._load(database, bank_id))

    async def _load(self, database: Database, bank_id: str) -> BankConnection:
        found = await database.first(_SELECT_PROFILE, {"b_bank_id": bank_id})
        if found is None:
            raise BankNotFoundError(f"no bank {bank_id}")
        return open_connection(bank_id, found.profile, self._key_ring)

    def invalidate(self) -> None:
        self._cache.clear()
