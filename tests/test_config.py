"""Settings: the database pool each backend gets unless told otherwise."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from honnin.config import Settings


def test_postgresql_keeps_its_connections_and_opens_no_overflow() -> None:
    settings = Settings(database_url="postgresql+asyncpg://honnin@db/honnin")
    # An overflow connection is closed on its way back to a full pool; under load that
    # was a new server backend, connect and statement preparation every few flows.
    assert settings.database_pool == (20, 0)
    # The broker's one-statement reads and writes have an asyncpg pool of their own.
    assert settings.database_direct_pool_size == 20


def test_the_direct_pool_size_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HONNIN_DATABASE_DIRECT_POOL_SIZE", "8")
    assert Settings().database_direct_pool_size == 8
    monkeypatch.setenv("HONNIN_DATABASE_DIRECT_POOL_SIZE", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_sqlite_gets_a_small_pool() -> None:
    assert Settings(database_url="sqlite+aiosqlite:///x.db").database_pool == (4, 0)


def test_the_pool_settings_win() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://honnin@db/honnin",
        database_pool_size=12,
        database_max_overflow=6,
    )
    assert settings.database_pool == (12, 6)
