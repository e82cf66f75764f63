"""Operator use case: set a bank's connection profile (secrets sealed, change audited)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.service import AuditService
from honnin.banks.connection import BankConnection, seal_connection
from honnin.banks.errors import BankConnectionError
from honnin.banks.mapping import available_mappings
from honnin.contracts.errors import BankNotFoundError
from honnin.contracts.models import Bank
from honnin.db.engine import after_commit
from honnin.security.aead import KeyRing


class BankConnectionService:
    def __init__(
        self,
        *,
        key_ring: KeyRing,
        audit: AuditService,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._key_ring = key_ring
        self._audit = audit
        # Called once a change commits: caches of opened profiles drop what they hold.
        self._on_change = on_change

    async def configure(
        self, session: AsyncSession, connection: BankConnection, *, actor: str
    ) -> None:
        bank = await session.get(Bank, connection.bank_id)
        if bank is None:
            raise BankNotFoundError(f"no bank {connection.bank_id}")
        if connection.mapping not in available_mappings():
            raise BankConnectionError(f"no bundled mapping named {connection.mapping!r}")
        bank.profile = seal_connection(connection, self._key_ring)
        if self._on_change is not None:
            after_commit(session, self._on_change)
        await self._audit.record(
            session,
            actor=actor,
            action="bank.connection.configure",
            object_type="bank",
            object_id=connection.bank_id,
            details={
                "issuer": connection.issuer,
                "client_id": connection.client_id,
                "auth_method": connection.auth_method,
                "mapping": connection.mapping,
            },
        )
