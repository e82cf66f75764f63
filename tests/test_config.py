"""Settings: the database pool each backend gets unless told otherwise."""

from __future__ import annotations

from honnin.config import Settings


def test_postgresql_keeps_its_connections_and_opens_no_overflow() -> None:
    settings = Settings(database_url="postgresql+asyncpg://honnin@db/honnin")
    # An overflow connection is closed on its way back to a full pool; under load that
    # was a new server backend, connect and statement preparation every few flows.
    assert settings.database_pool == (30, 0)


def test_sqlite_gets_a_small_pool() -> None:
    assert Settings(database_url="sqlite+aiosqlite:///x.db").database_pool == (4, 0)


def test_the_pool_settings_win() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://honnin@db/honnin",
        database_pool_size=12,
        database_max_overflow=6,
    )
    assert settings.database_pool == (12, 6)
