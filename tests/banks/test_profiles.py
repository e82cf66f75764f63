"""Opened bank connection profiles: cached per process, dropped when a change commits."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import update

from honnin.audit.service import AuditService
from honnin.banks.connection import seal_connection
from honnin.banks.errors import BankConnectionError
from honnin.banks.profiles import ConnectionProfiles
from honnin.banks.service import BankConnectionService
from honnin.contracts.errors import BankNotFoundError
from honnin.contracts.models import Bank
from honnin.contracts.service import ContractService
from honnin.db import Database
from honnin.security.aead import KeyRing
from support.banks import momiji_connection
from support.clock import MovableClock


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key_ring() -> KeyRing:
    return KeyRing.from_setting(base64.b64encode(os.urandom(32)).decode())


async def _add_bank(database: Database, audit: AuditService) -> None:
    contracts = ContractService(clock=MovableClock(), audit=audit)
    async with database.transaction() as session:
        await contracts.create_bank(
            session, bank_id="momiji_rest", name="Momiji", profile=None, actor="test"
        )


async def test_profile_is_opened_once_per_ttl(database: Database, key_ring: KeyRing) -> None:
    audit = AuditService(clock=MovableClock())
    await _add_bank(database, audit)
    ticks = Ticks()
    profiles = ConnectionProfiles(key_ring=key_ring, ttl_seconds=5, monotonic=ticks)
    service = BankConnectionService(key_ring=key_ring, audit=audit)
    async with database.transaction() as session:
        await service.configure(session, momiji_connection("https://old.example"), actor="test")
    assert (await profiles.open(database, "momiji_rest")).issuer == "https://old.example"

    # Another process changes the profile: this one keeps what it opened until the TTL.
    sealed = seal_connection(momiji_connection("https://new.example"), key_ring)
    async with database.transaction() as session:
        await session.execute(update(Bank).where(Bank.id == "momiji_rest").values(profile=sealed))
    opened = await profiles.open(database, "momiji_rest")
    assert opened.issuer == "https://old.example"
    assert opened.client_secret == "secret-0123456789abcdef"
    ticks.now += 5
    assert (await profiles.open(database, "momiji_rest")).issuer == "https://new.example"


async def test_change_through_this_process_applies_when_it_commits(
    database: Database, key_ring: KeyRing
) -> None:
    audit = AuditService(clock=MovableClock())
    await _add_bank(database, audit)
    profiles = ConnectionProfiles(key_ring=key_ring, ttl_seconds=3600, monotonic=Ticks())
    service = BankConnectionService(key_ring=key_ring, audit=audit, on_change=profiles.invalidate)
    async with database.transaction() as session:
        await service.configure(session, momiji_connection("https://old.example"), actor="test")
    assert (await profiles.open(database, "momiji_rest")).issuer == "https://old.example"

    # A change that rolls back leaves the cache alone ...
    async with database.session() as session:
        await service.configure(session, momiji_connection("https://rolled.example"), actor="t")
        await session.rollback()
    assert (await profiles.open(database, "momiji_rest")).issuer == "https://old.example"

    # ... and a committed one is seen by the next open, TTL or not.
    async with database.transaction() as session:
        await service.configure(session, momiji_connection("https://new.example"), actor="test")
    assert (await profiles.open(database, "momiji_rest")).issuer == "https://new.example"


async def test_unknown_and_unconfigured_banks_are_refused_and_not_cached(
    database: Database, key_ring: KeyRing
) -> None:
    audit = AuditService(clock=MovableClock())
    profiles = ConnectionProfiles(key_ring=key_ring, ttl_seconds=3600, monotonic=Ticks())
    with pytest.raises(BankNotFoundError):
        await profiles.open(database, "momiji_rest")
    await _add_bank(database, audit)
    with pytest.raises(BankConnectionError):
        await profiles.open(database, "momiji_rest")
    service = BankConnectionService(key_ring=key_ring, audit=audit)
    async with database.transaction() as session:
        await service.configure(session, momiji_connection("https://bank.example"), actor="test")
    assert (await profiles.open(database, "momiji_rest")).issuer == "https://bank.example"
