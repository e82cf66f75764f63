"""PostgreSQL test helpers."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def drop_every_connection(database_url: str) -> None:
    """Have the server end every other session on the database (a restart, a failover)."""
    killer = create_async_engine(database_url)
    try:
        async with killer.connect() as connection:
            killed = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await killer.dispose()
    assert killed
