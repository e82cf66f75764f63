"""Async engine and session factory for SQLite (WAL) and PostgreSQL, and units of work.

A *unit of work* (:meth:`Database.run`, :meth:`Database.read`) is a plain function of a
synchronous SQLAlchemy ``Connection``. On PostgreSQL it runs through the async engine
(``AsyncConnection.run_sync``: asyncpg, on the event loop). On SQLite it runs whole in a
worker thread on a synchronous engine over the same file: SQLite's calls block, so under
asyncio every statement is otherwise a hand-off to aiosqlite's thread and back, and those
hand-offs plus SQLAlchemy's async plumbing cost more CPU than the statements themselves.
With one hand-off per unit instead of one or more per statement, the database part of
the bank-inquiry flow's skeleton went from ~10 to ~3 ms of CPU per flow
(docs/benchmarks.md, ``stack_floor``). ``busy_timeout`` waits in the worker thread, never
on the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row, Select, event, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from honnin.db.direct import DirectStatements, connect_arguments
from honnin.db.sqlite_driver import one_hop_dbapi
from honnin.db.writes import GuardedWrite, single_statement

T = TypeVar("T")


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


def _sqlite_sync_engine(url: str, *, echo: bool, threads: int) -> Engine | None:
    """A synchronous engine over the same SQLite file, for units of work; None otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    # pysqlite's file databases use a QueuePool and allow a connection in any thread.
    engine = create_sync_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        echo=echo,
        pool_size=threads,
        max_overflow=0,
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def first_row(
    statement: Executable, values: Mapping[str, Any]
) -> Callable[[Connection], Row[Any] | None]:
    """A read unit of work: ``statement``'s first row with ``values``, or None."""

    def work(connection: Connection) -> Row[Any] | None:
        return connection.execute(statement, values).first()

    return work


def conflict_insert(dialect: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` into ``table`` in ``dialect``'s own construct, which has the
    ``ON CONFLICT`` clauses (``on_conflict_do_nothing`` / ``_do_update``) both spell alike."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


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
        direct_pool_size: int = 20,
    ) -> None:
        self.url = url
        self.engine = create_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pre_ping=pre_ping
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Outside a transaction of ours: PostgreSQL reads and single-statement guarded
        # writes skip BEGIN and ROLLBACK/COMMIT (two round trips); SQLite opens no
        # transaction for reads, and switching modes would cost.
        self._autocommit = (
            self.engine
            if self.engine.dialect.name == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.request_slots = asyncio.Semaphore(max(1, (pool_size + max_overflow) // 2))
        # SQLite: one thread per connection of the units' own pool (a unit holds both).
        self._threads = max(1, min(pool_size, 4))
        self._sync_engine = _sqlite_sync_engine(url, echo=echo, threads=self._threads)
        # Started on first use and again after dispose(), which, as for the async engine,
        # closes what is open and leaves the database usable.
        self._workers: ThreadPoolExecutor | None = None
        # PostgreSQL's one-statement reads and guarded writes run on asyncpg directly
        # (honnin.db.direct), unless connections are to be pinged before use (that pool
        # does not ping) or the URL turns prepared statements off.
        self._direct: DirectStatements | None = None
        if self.engine.dialect.name == "postgresql" and not pre_ping:
            connect = connect_arguments(url, self.engine.dialect)
            if connect is not None:
                self._direct = DirectStatements(
                    connect, dialect=self.engine.dialect, size=direct_pool_size
                )

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
        async with self._autocommit.connect() as connection:
            yield connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in one transaction: committed when it returns, rolled back
        when it raises (the exception propagates). See the module docstring."""
        if self._sync_engine is not None:
            return await self._in_worker(self._transact, work)
        async with self.engine.begin() as connection:
            return await connection.run_sync(work)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` for independent reads, outside a transaction of ours (like
        :meth:`reader`); it must not write."""
        if self._sync_engine is not None:
            return await self._in_worker(self._look, work)
        async with self._autocommit.connect() as connection:
            return await connection.run_sync(work)

    async def first(self, statement: Select[Any], values: Mapping[str, Any]) -> Any:
        """``statement``'s first row with ``values``, or None: a read outside a
        transaction of ours, as :meth:`read`. The row's columns read by name or position.

        PostgreSQL: straight on asyncpg (:mod:`honnin.db.direct`) when the statement
        allows it. SQLite: a unit of work."""
        if self._direct is not None and self._direct.runs(statement):
            return await self._direct.first(statement, values)
        return await self.read(first_row(statement, values))

    async def rows(self, statement: Select[Any], values: Mapping[str, Any]) -> list[Any]:
        """Every row of ``statement`` with ``values``, as one statement that commits on its
        own: a read, or a ``SELECT`` over data-modifying ``WITH`` queries (PostgreSQL;
        atomic on its own). PostgreSQL: straight on asyncpg when the statement allows it;
        otherwise, and on SQLite, a unit of work (:meth:`run`)."""
        if self._direct is not None and self._direct.runs(statement):
            return await self._direct.all(statement, values)
        return await self.run(lambda connection: list(connection.execute(statement, values)))

    async def write(self, write: GuardedWrite) -> bool:
        """``write`` atomically: its guarded statement and, only if that changed a row,
        its inserts. Whether the guarded statement changed a row (False: nothing written).

        PostgreSQL: one statement outside a transaction of ours, no ``BEGIN``/``COMMIT``
        (:mod:`honnin.db.writes`), on asyncpg directly as :meth:`first`. SQLite: a unit of
        work, as :meth:`run`."""
        if self.dialect != "postgresql":
            return await self.run(write.run)
        statement, parameters = single_statement(write)
        if self._direct is not None and self._direct.runs(statement):
            row = await self._direct.first(statement, parameters)
            return bool(row[0])
        async with self._autocommit.connect() as connection:
            return bool(await connection.scalar(statement, parameters))

    async def _in_worker(
        self,
        how: Callable[[Engine, Callable[[Connection], T]], T],
        work: Callable[[Connection], T],
    ) -> T:
        assert self._sync_engine is not None
        if self._workers is None:
            self._workers = ThreadPoolExecutor(
                max_workers=self._threads, thread_name_prefix="honnin-db"
            )
        loop = asyncio.get_running_loop()
        # The caller's context (request id, log bindings) goes with the work, as with
        # asyncio.to_thread.
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._workers, context.run, how, self._sync_engine, work)

    @staticmethod
    def _transact(engine: Engine, work: Callable[[Connection], T]) -> T:
        with engine.begin() as connection:
            return work(connection)

    @staticmethod
    def _look(engine: Engine, work: Callable[[Connection], T]) -> T:
        with engine.connect() as connection:
            return work(connection)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=True)
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._direct is not None:
            await self._direct.close()
        await self.engine.dispose()
