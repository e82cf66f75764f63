"""Connections for single statements: the direct path's pool (:mod:`honnin.db.direct`).

Each statement on the direct path takes a connection, runs, and gives it back. asyncpg's
``Pool`` spent ~55 µs of CPU per use on the project's 2-core box (a proxy object, a
future, a reset coroutine, and an inactivity timer cancelled and armed again per use),
about as much as the statement itself on a connection in hand; this one spends 11-17 µs
(docs/benchmarks.md, inquiry, thirteenth round). It has only what single statements
need:

* at most ``size`` connections, opened on demand (a semaphore bounds them; a caller
  waits for a slot);
* idle connections on a stack, the most recently used taken first;
* a connection idle for ``idle_seconds`` is closed, when connections are taken or given
  back (no timer);
* a connection whose use did not end cleanly (the caller says so,
  :meth:`StatementPool.release`), that an answer closed, or that is left inside a
  transaction is not reused: it is terminated;
* :meth:`StatementPool.close` closes the idle connections at once and each one in use
  when it comes back; ``acquire`` opens the pool again afterwards.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable

import asyncpg


class StatementPool:
    def __init__(
        self,
        *,
        size: int,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._slots = asyncio.Semaphore(size)
        # (connection, given back at), oldest first.
        self._idle: collections.deque[tuple[asyncpg.Connection, float]] = collections.deque()
        self._in_use: set[asyncpg.Connection] = set()
        # In use when the pool was closed: closed when given back.
        self._retired: set[asyncpg.Connection] = set()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def open_connections(self) -> int:
        return len(self._idle) + len(self._in_use) + len(self._retired)

    async def acquire(self) -> asyncpg.Connection:
        """A connection for one statement; give it back with :meth:`release`."""
        await self._slots.acquire()
        try:
            connection = self._take_idle() or await self._connect()
        except BaseException:
            self._slots.release()
            raise
        self._in_use.add(connection)
        return connection

    def release(self, connection: asyncpg.Connection, *, reusable: bool) -> None:
        """Give ``connection`` back; ``reusable``: its statement ended with the
        connection idle (a result, or the server's error answer)."""
        self._slots.release()
        retired = connection in self._retired
        self._retired.discard(connection)
        self._in_use.discard(connection)
        if connection.is_closed():
            return
        if not reusable or connection.is_in_transaction():
            # After a cancellation or a lost socket its protocol state is unknown; a
            # transaction left open would hold its locks and snapshot for the next user.
            connection.terminate()
        elif retired:
            self._close_later(connection)
        else:
            self._idle.append((connection, self._clock()))
            self._close_stale()

    async def close(self) -> None:
        """Close the idle connections; those in use are closed when given back."""
        idle = [connection for connection, _ in self._idle]
        self._idle.clear()
        self._retired |= self._in_use
        self._in_use = set()
        await asyncio.gather(*(self._close_quietly(c) for c in idle), *self._closing)

    def _take_idle(self) -> asyncpg.Connection | None:
        now = self._clock()
        while self._idle:
            connection, since = self._idle.pop()
            if connection.is_closed():
                continue
            if now - since < self._idle_seconds:
                return connection
            self._close_later(connection)
        return None

    def _close_stale(self) -> None:
        now = self._clock()
        while self._idle and now - self._idle[0][1] >= self._idle_seconds:
            self._close_later(self._idle.popleft()[0])

    def _close_later(self, connection: asyncpg.Connection) -> None:
        task = asyncio.get_running_loop().create_task(self._close_quietly(connection))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close_quietly(connection: asyncpg.Connection) -> None:
        try:
            await connection.close(timeout=5)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            connection.terminate()
