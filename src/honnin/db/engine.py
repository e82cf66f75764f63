"""Async engine and session factory for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from honnin.db.sqlite_driver import one_hop_dbapi


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; busy_timeout makes writers wait, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int = 20,
    pre_ping: bool = False,
) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        extra: dict[str, Any] = {}
        if parsed.get_driver_name() == "aiosqlite":
            extra["module"] = one_hop_dbapi()  # one thread hand-off per statement
        engine = create_async_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, **extra
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    # No ping per checkout by default (asyncpg's costs three round trips: BEGIN, ";",
    # ROLLBACK): a connection the server dropped fails the one transaction using it, and
    # SQLAlchemy then invalidates every connection older than the failure. Connections are
    # recycled after 30 minutes; ``pre_ping`` is for networks that drop idle connections.
    return create_async_engine(
        url,
        echo=echo,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        pool_size=pool_size,
        max_overflow=max_overflow,
    )


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction commits (not if it rolls back)."""

    def fire(_session: Any) -> None:
        callback()

    event.listen(session.sync_session, "after_commit", fire, once=True)


class Database:
    """The one engine of a process and the sessions made from it.

    ``request_slots`` bounds how many request transactions hold a connection at once to
    half the pool. A request may open a second, short session inside its transaction (a
    cache refresh, a quota reservation); without the bound, a burst of requests could take
    every connection and then wait forever for those second ones.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        max_overflow: int = 20,
        pre_ping: bool = False,
    ) -> None:
        self.url = url
        self.engine = create_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pre_ping=pre_ping
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL reads outside a transaction of ours skip BEGIN and ROLLBACK (two round
        # trips); SQLite opens no transaction for reads, and switching modes would cost.
        self._reads = (
            self.engine
            if self.engine.dialect.name == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.request_slots = asyncio.Semaphore(max(1, (pool_size + max_overflow) // 2))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection for independent reads (each statement sees committed data);
        no session, no transaction of its own."""
        async with self._reads.connect() as connection:
            yield connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
