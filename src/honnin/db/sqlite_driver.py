"""SQLite under asyncio with one thread hop per statement (aiosqlite + SQLAlchemy's adapter).

SQLAlchemy's aiosqlite adapter makes each statement four trips to aiosqlite's connection
thread (open a cursor, execute, fetch, close), and every trip is a queue hand-off to that
thread and a wake-up of the event loop back. On a small machine those hand-offs, not
SQLite, were most of the CPU of a short transaction. This adapter keeps aiosqlite's thread
(SQLite still never blocks the event loop, and ``busy_timeout`` waits there) but runs the
whole statement (cursor, execute, fetch every row, close) as one function in that thread.

Only the plain cursor changes; server-side cursors (``stream_results``), commit, rollback,
connect and close are SQLAlchemy's own. The adapter is passed to ``create_async_engine``
as its DBAPI ``module``, so URLs stay ``sqlite+aiosqlite://``.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any], int, int | None]


def _run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any, *, many: bool
) -> _Outcome:
    """Runs in aiosqlite's thread: the whole statement, so one hand-off in each direction."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose results are fetched with the statement."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here (that was a trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows: deque[Any] = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # every row is fetched with the statement

    async def _async_soft_close(self) -> None:
        pass  # nothing is open in the thread once the statement returned

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        return self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        return self._run(operation, seq_of_parameters, many=True)

    def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        try:
            outcome = await_(self._execute_one_hop(operation, parameters, many=many))
        except Exception as error:  # noqa: BLE001 - translated like SQLAlchemy's own cursor
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = deque(rows)

    async def _execute_one_hop(self, operation: Any, parameters: Any, *, many: bool) -> _Outcome:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await connection._execute(  # type: ignore[no-untyped-call]
                _run_statement,
                connection._conn,
                operation,
                parameters,
                many=many,
            )
            return outcome

    def nextset(self) -> None:
        return None


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment] # SQLAlchemy types it by its base

    def _idle(self) -> bool:
        # A plain attribute read: no statement runs now (SQLAlchemy serialises them).
        native: sqlite3.Connection | None = self._connection._connection
        return native is not None and not native.in_transaction

    def rollback(self) -> None:
        if not self._idle():  # SQLite started no transaction for reads alone
            super().rollback()

    def commit(self) -> None:
        if not self._idle():
            super().commit()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module handed to SQLAlchemy; connections use :class:`OneHopCursor`."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> OneHopDBAPI:
    return OneHopDBAPI(aiosqlite, sqlite3)
