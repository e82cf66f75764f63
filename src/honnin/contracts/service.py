"""Contract-table use cases: enterprises, banks, contracts. Every change is audited.

Methods work inside the caller's session so a change and its audit event commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.service import AuditService
from honnin.clock import Clock
from honnin.contracts.core import ContractTerms, choose_contract, validate_terms
from honnin.contracts.errors import (
    BankNotFoundError,
    ContractNotFoundError,
    DuplicateBankError,
    EnterpriseNotFoundError,
    InvalidContractError,
)
from honnin.contracts.models import Bank, Contract, Enterprise
from honnin.ids import new_id


@dataclass(frozen=True)
class EnterpriseView:
    id: str
    name: str
    status: str
    webhook_url: str | None
    created_at: datetime


@dataclass(frozen=True)
class BankView:
    id: str
    name: str
    status: str
    profile: dict[str, Any]
    created_at: datetime


def _enterprise_view(row: Enterprise) -> EnterpriseView:
    return EnterpriseView(
        id=row.id,
        name=row.name,
        status=row.status,
        webhook_url=row.webhook_url,
        created_at=row.created_at,
    )


def _bank_view(row: Bank) -> BankView:
    return BankView(
        id=row.id, name=row.name, status=row.status, profile=row.profile, created_at=row.created_at
    )


def _terms(row: Contract) -> ContractTerms:
    return ContractTerms(
        id=row.id,
        enterprise_id=row.enterprise_id,
        bank_id=row.bank_id,
        claims=tuple(row.claims),
        purposes=tuple(row.purposes),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        rate_per_second=row.rate_per_second,
        daily_quota=row.daily_quota,
        status=row.status,
    )


class ContractService:
    def __init__(self, *, clock: Clock, audit: AuditService) -> None:
        self._clock = clock
        self._audit = audit

    # -- enterprises -------------------------------------------------------------------

    async def create_enterprise(
        self, session: AsyncSession, *, name: str, webhook_url: str | None, actor: str
    ) -> EnterpriseView:
        now = self._clock.now()
        row = Enterprise(
            id=new_id("ent"),
            name=name,
            status="active",
            webhook_url=webhook_url,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await self._audit.record(
            session,
            actor=actor,
            action="enterprise.create",
            object_type="enterprise",
            object_id=row.id,
            details={"name": name},
        )
        return _enterprise_view(row)

    async def _enterprise_row(self, session: AsyncSession, enterprise_id: str) -> Enterprise:
        row = await session.get(Enterprise, enterprise_id)
        if row is None:
            raise EnterpriseNotFoundError(f"no enterprise {enterprise_id}")
        return row

    async def get_enterprise(self, session: AsyncSession, enterprise_id: str) -> EnterpriseView:
        return _enterprise_view(await self._enterprise_row(session, enterprise_id))

    async def list_enterprises(self, session: AsyncSession) -> list[EnterpriseView]:
        rows = (await session.scalars(select(Enterprise).order_by(Enterprise.created_at))).all()
        return [_enterprise_view(r) for r in rows]

    async def revoke_enterprise(
        self, session: AsyncSession, enterprise_id: str, *, reason: str | None, actor: str
    ) -> EnterpriseView:
        row = await self._enterprise_row(session, enterprise_id)
        row.status = "revoked"
        row.updated_at = self._clock.now()
        await self._audit.record(
            session,
            actor=actor,
            action="enterprise.revoke",
            object_type="enterprise",
            object_id=row.id,
            details={"reason": reason},
        )
        return _enterprise_view(row)

    # -- banks -------------------------------------------------------------------------

    async def create_bank(
        self,
        session: AsyncSession,
        *,
        bank_id: str,
        name: str,
        profile: dict[str, Any] | None,
        actor: str,
    ) -> BankView:
        if await session.get(Bank, bank_id) is not None:
            raise DuplicateBankError(f"bank {bank_id} already exists")
        now = self._clock.now()
        row = Bank(
            id=bank_id,
            name=name,
            status="active",
            profile=profile or {},
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await self._audit.record(
            session,
            actor=actor,
            action="bank.create",
            object_type="bank",
            object_id=bank_id,
            details={"name": name},
        )
        return _bank_view(row)

    async def _bank_row(self, session: AsyncSession, bank_id: str) -> Bank:
        row = await session.get(Bank, bank_id)
        if row is None:
            raise BankNotFoundError(f"no bank {bank_id}")
        return row

    async def get_bank(self, session: AsyncSession, bank_id: str) -> BankView:
        return _bank_view(await self._bank_row(session, bank_id))

    async def list_banks(self, session: AsyncSession) -> list[BankView]:
        rows = (await session.scalars(select(Bank).order_by(Bank.id))).all()
        return [_bank_view(r) for r in rows]

    async def revoke_bank(
        self, session: AsyncSession, bank_id: str, *, reason: str | None, actor: str
    ) -> BankView:
        row = await self._bank_row(session, bank_id)
        row.status = "revoked"
        row.updated_at = self._clock.now()
        await self._audit.record(
            session,
            actor=actor,
            action="bank.revoke",
            object_type="bank",
            object_id=bank_id,
            details={"reason": reason},
        )
        return _bank_view(row)

    # -- contracts ---------------------------------------------------------------------

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
        enterprise = await self._enterprise_row(session, enterprise_id)
        bank = await self._bank_row(session, bank_id)
        if enterprise.status != "active" or bank.status != "active":
            raise InvalidContractError("enterprise and bank must both be active")
        start = valid_from or self._clock.now()
        validate_terms(
            claims=claims,
            purposes=purposes,
            valid_from=start,
            valid_until=valid_until,
            rate_per_second=rate_per_second,
            daily_quota=daily_quota,
        )
        row = Contract(
            id=new_id("ctr"),
            enterprise_id=enterprise_id,
            bank_id=bank_id,
            claims=sorted(set(claims)),
            purposes=sorted(set(purposes)),
            valid_from=start,
            valid_until=valid_until,
            rate_per_second=rate_per_second,
            daily_quota=daily_quota,
            status="active",
            created_at=self._clock.now(),
        )
        session.add(row)
        await self._audit.record(
            session,
            actor=actor,
            action="contract.create",
            object_type="contract",
            object_id=row.id,
            details={
                "enterprise_id": enterprise_id,
                "bank_id": bank_id,
                "claims": row.claims,
                "purposes": row.purposes,
                "valid_from": start.isoformat(),
                "valid_until": valid_until.isoformat() if valid_until else None,
                "rate_per_second": rate_per_second,
                "daily_quota": daily_quota,
            },
        )
        return _terms(row)

    async def get_contract(
        self, session: AsyncSession, contract_id: str, *, enterprise_id: str | None = None
    ) -> ContractTerms:
        """A contract; with ``enterprise_id`` only that enterprise's (others look absent)."""
        row = await session.get(Contract, contract_id)
        if row is None or (enterprise_id is not None and row.enterprise_id != enterprise_id):
            raise ContractNotFoundError(f"no contract {contract_id}")
        return _terms(row)

    async def list_contracts(
        self,
        session: AsyncSession,
        *,
        enterprise_id: str | None = None,
        bank_id: str | None = None,
    ) -> list[ContractTerms]:
        query = select(Contract).order_by(Contract.created_at, Contract.id)
        if enterprise_id is not None:
            query = query.where(Contract.enterprise_id == enterprise_id)
        if bank_id is not None:
            query = query.where(Contract.bank_id == bank_id)
        return [_terms(r) for r in (await session.scalars(query)).all()]

    async def revoke_contract(
        self, session: AsyncSession, contract_id: str, *, reason: str | None, actor: str
    ) -> ContractTerms:
        row = await session.get(Contract, contract_id)
        if row is None:
            raise ContractNotFoundError(f"no contract {contract_id}")
        if row.status != "revoked":
            row.status = "revoked"
            row.revoked_at = self._clock.now()
            row.revoke_reason = reason
            await self._audit.record(
                session,
                actor=actor,
                action="contract.revoke",
                object_type="contract",
                object_id=contract_id,
                details={"reason": reason},
            )
        return _terms(row)

    # -- decisions ---------------------------------------------------------------------

    async def allowed_banks(self, session: AsyncSession, *, enterprise_id: str) -> list[BankView]:
        """Active banks the enterprise has a contract in force with, right now."""
        now = self._clock.now()
        query = (
            select(Contract, Bank)
            .join(Bank, Bank.id == Contract.bank_id)
            .where(Contract.enterprise_id == enterprise_id, Contract.status == "active")
            .where(Bank.status == "active")
            .order_by(Bank.id)
        )
        seen: dict[str, BankView] = {}
        for contract, bank in await session.execute(query):
            if _terms(contract).in_force(now) and bank.id not in seen:
                seen[bank.id] = _bank_view(bank)
        return list(seen.values())

    async def authorize(
        self,
        session: AsyncSession,
        *,
        enterprise_id: str,
        bank_id: str,
        claims: Sequence[str],
        purpose: str,
    ) -> ContractTerms:
        """The contract in force covering this request, or a refusal with a clear code."""
        bank = await self._bank_row(session, bank_id)
        if bank.status != "active":
            raise BankNotFoundError(f"no bank {bank_id}")
        contracts = await self.list_contracts(session, enterprise_id=enterprise_id, bank_id=bank_id)
        return choose_contract(contracts, at=self._clock.now(), claims=claims, purpose=purpose)
