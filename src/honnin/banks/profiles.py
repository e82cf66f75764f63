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

from sqlalchemy.ext.asyncio import AsyncSession

from honnin.banks.connection import BankConnection, open_connection
from honnin.contracts.errors import BankNotFoundError
from honnin.contracts.models import Bank
from honnin.security.aead import KeyRing


class ConnectionProfiles:
    def __init__(
        self,
        *,
        key_ring: KeyRing,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key_ring = key_ring
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, BankConnection]] = {}
        self._generation = 0

    async def open(self, session: AsyncSession, bank_id: str) -> BankConnection:
        """The bank's opened profile; raises when the bank is unknown or not configured."""
        entry = self._entries.get(bank_id)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        generation = self._generation
        bank = await session.get(Bank, bank_id)
        if bank is None:
            raise BankNotFoundError(f"no bank {bank_id}")
        connection = open_connection(bank_id, bank.profile, self._key_ring)
        # A change committed while this read ran must not be overwritten by what it read.
        if self._ttl > 0 and generation == self._generation:
            self._entries[bank_id] = (self._monotonic() + self._ttl, connection)
        return connection

    def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()
