"""PostgreSQL's one-statement reads and writes, compiled by SQLAlchemy, run on asyncpg.

The bank-inquiry flow's reads by key and its guarded writes (:mod:`honnin.db.writes`) are
one statement each, outside a transaction of ours, and so is the webhook outbox's claim
(a ``SELECT`` over data-modifying ``WITH`` queries, :meth:`honnin.db.Database.rows`).
Through SQLAlchemy's async engine each costs, on the client, a pool checkout and checkin,
a greenlet hand-off, an execution context and a cursor adaptation around asyncpg's own
work: about 215 µs of CPU, against 70-80 µs for the same prepared statement on an asyncpg
pool (docs/benchmarks.md, inquiry, tenth round). Here SQLAlchemy still builds and compiles
the statement (its asyncpg dialect: ``$n`` placeholders, bind casts) and every value
still goes through the bind and result processors SQLAlchemy's own execution would apply;
only the execution moves, to asyncpg connections of the :class:`~honnin.db.Database`'s own
(:class:`~honnin.db.statement_pool.StatementPool`), with the JSON codecs SQLAlchemy's
asyncpg dialect sets on its connections.

Only ``SELECT`` statements whose parameters are all plain binds run here; anything else
(``IN`` lists that expand, ``literal_execute``) is refused with
:class:`UnsupportedStatementError` at compile time, and the database runs it through
SQLAlchemy instead.

Errors keep SQLAlchemy's types, so callers and the gateway's translation see one
vocabulary: a value that cannot be bound is a :class:`sqlalchemy.exc.StatementError`, a
constraint violation an :class:`sqlalchemy.exc.IntegrityError`, a lost connection an
:class:`sqlalchemy.exc.OperationalError` with ``connection_invalidated`` set (the gateway
answers 503 ``database_unavailable``), and the pool drops that connection.
"""

from __future__ import annotations

import collections
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Executable, Select
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import (
    DatabaseError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    StatementError,
)
from sqlalchemy.types import TypeEngine

from honnin.db.statement_pool import StatementPool

_Processor = Callable[[Any], Any] | None

# A connection idle this long is closed; the pool opens connections on demand.
IDLE_SECONDS = 300.0


class UnsupportedStatementError(ValueError):
    """A statement this module does not run; SQLAlchemy runs it instead."""


@dataclass(frozen=True, slots=True)
class CompiledSelect:
    """A ``SELECT`` as asyncpg runs it: its SQL, the order and conversion of the values
    for its ``$n`` placeholders, and its columns' types and names."""

    sql: str
    names: tuple[str, ...]
    fixed: Mapping[str, Any]
    binds: tuple[_Processor, ...]
    types: tuple[TypeEngine[Any], ...]
    row: type[tuple[Any, ...]]
    dialect: Dialect

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``values`` (by bind name), converted."""
        arguments = []
        for name, process in zip(self.names, self.binds, strict=True):
            if name in values:
                value = values[name]
            elif name in self.fixed:
                value = self.fixed[name]
            else:
                msg = f"A value is required for bind parameter {name!r}"
                raise StatementError(msg, self.sql, dict(values), None)
            try:
                arguments.append(value if process is None else process(value))
            except Exception as exc:
                msg = f"bind parameter {name!r} cannot take its value ({type(exc).__name__})"
                raise StatementError(msg, self.sql, dict(values), exc) from exc
        return arguments

    def result_processors(self, type_codes: Sequence[int]) -> tuple[_Processor, ...]:
        """Each column's result processor, given the server's type of each (its OID, as
        SQLAlchemy's asyncpg cursor describes them: numeric processors depend on it)."""
        if len(type_codes) != len(self.types):
            msg = f"{len(type_codes)} columns described for {len(self.types)} selected"
            raise UnsupportedStatementError(msg)
        return tuple(
            column_type.result_processor(self.dialect, type_code)
            for column_type, type_code in zip(self.types, type_codes, strict=True)
        )

    def convert(self, record: Sequence[Any], processors: Sequence[_Processor]) -> tuple[Any, ...]:
        """One row as SQLAlchemy would give it: converted values, columns by name."""
        return self.row(
            *(
                value if process is None else process(value)
                for value, process in zip(record, processors, strict=True)
            )
        )


# Keyed by the statement object (kept alive here) and the dialect: the hot statements are
# module constants or built once per shape (honnin.db.writes), so each compiles once.
@functools.lru_cache(maxsize=512)
def compile_select(statement: Executable, dialect: Dialect) -> CompiledSelect:
    """``statement`` compiled by ``dialect`` (SQLAlchemy's asyncpg dialect), with the
    processors SQLAlchemy's own execution would apply. Pure: no I/O."""
    if not isinstance(statement, Select):
        msg = f"only SELECT statements run directly, not {type(statement).__name__}"
        raise UnsupportedStatementError(msg)
    compiled = statement.compile(dialect=dialect)
    sql = str(compiled)
    if "__[POSTCOMPILE_" in sql:
        raise UnsupportedStatementError("parameters rendered at execution are not supported")
    names = tuple(compiled.positiontup or ())
    fixed: dict[str, Any] = {}
    binds: list[_Processor] = []
    for name in names:
        bind = compiled.binds[name]
        if not bind.required:
            fixed[name] = bind.effective_value
        binds.append(bind.type.dialect_impl(dialect).bind_processor(dialect))
    columns = list(statement.selected_columns)
    # As SQLAlchemy's Row names them (a second ``status`` is ``status_1``); a name that is
    # no Python identifier reads by position only.
    keys = list(statement.selected_columns.keys())
    fields = [key if key.isidentifier() and keys.count(key) == 1 else "_" for key in keys]
    return CompiledSelect(
        sql=sql,
        names=names,
        fixed=fixed,
        binds=tuple(binds),
        types=tuple(column.type.dialect_impl(dialect) for column in columns),
        row=collections.namedtuple("Row", fields, rename=True),
        dialect=dialect,
    )


def _json_from_bytes(value: bytes) -> Any:
    return json.loads(value.decode())


def _jsonb_to_bytes(text: str) -> bytes:
    return b"\x01" + text.encode()  # jsonb's binary format: a version byte, then text


def _jsonb_from_bytes(value: bytes) -> Any:
    return json.loads(value[1:].decode())


async def _set_codecs(connection: asyncpg.Connection) -> None:
    # As SQLAlchemy's asyncpg dialect sets them: JSON arrives serialised by the bind
    # processor and comes back decoded (that dialect's JSON has no result processor).
    await connection.set_type_codec(
        "json", encoder=str.encode, decoder=_json_from_bytes, schema="pg_catalog", format="binary"
    )
    await connection.set_type_codec(
        "jsonb",
        encoder=_jsonb_to_bytes,
        decoder=_jsonb_from_bytes,
        schema="pg_catalog",
        format="binary",
    )


# What asyncpg (or the socket under it) raises; PostgresError includes the server's
# refusals to connect (too many clients, starting up).
_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
)


_CONNECTION_LOST = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InternalClientError,
    OSError,
)


def translated(
    exc: Exception, sql: str, arguments: Sequence[Any], *, lost: bool = False
) -> DBAPIError:
    """asyncpg's error as the SQLAlchemy error its dialect would raise; ``lost``: the
    connection is gone (closed, or never opened), as SQLAlchemy's ``is_disconnect``."""
    parameters = list(arguments)
    if isinstance(exc, asyncpg.exceptions.IntegrityConstraintViolationError):
        return IntegrityError(sql, parameters, exc)
    if lost or isinstance(exc, _CONNECTION_LOST):
        return OperationalError(sql, parameters, exc, connection_invalidated=True)
    return DatabaseError(sql, parameters, exc)


def connect_arguments(url: str, dialect: Dialect) -> dict[str, Any] | None:
    """``asyncpg.connect`` arguments for ``url`` as SQLAlchemy's asyncpg dialect derives
    them (host, port, user, password, database, ``ssl`` ...), or None when the URL turns
    asyncpg's statement cache off (``prepared_statement_cache_size=0``, the PgBouncer
    recipe): prepared statements are what this module is for. Pure."""
    _, arguments = dialect.create_connect_args(make_url(url))
    arguments = dict(arguments)
    cache_size = arguments.pop("prepared_statement_cache_size", None)
    if cache_size is not None:
        if int(cache_size) <= 0:
            return None
        arguments["statement_cache_size"] = int(cache_size)
    return arguments


class DirectStatements:
    """Runs compiled ``SELECT`` statements on a pool of asyncpg connections opened on first
    use, again after :meth:`close`."""

    def __init__(self, connect: Mapping[str, Any], *, dialect: Dialect, size: int) -> None:
        self._connect = dict(connect)
        self._dialect = dialect
        self._size = size
        self._pool: StatementPool | None = None
        # Each statement is described by the server once per process (its columns' types).
        self._processors: dict[tuple[str, tuple[TypeEngine[Any], ...]], tuple[_Processor, ...]]
        self._processors = {}

    def compiled(self, statement: Select[Any]) -> CompiledSelect:
        """Raises :class:`UnsupportedStatementError` for what does not run here."""
        return compile_select(statement, self._dialect)

    def runs(self, statement: Select[Any]) -> bool:
        """Whether ``statement`` runs here (else SQLAlchemy runs it)."""
        try:
            self.compiled(statement)
        except UnsupportedStatementError:
            return False
        return True

    async def first(self, statement: Select[Any], values: Mapping[str, Any]) -> Any:
        """``statement``'s first row with ``values`` (a named tuple), or None."""
        rows = await self._run(statement, values, every=False)
        return rows[0] if rows else None

    async def all(self, statement: Select[Any], values: Mapping[str, Any]) -> list[Any]:
        """Every row of ``statement`` with ``values`` (named tuples)."""
        return await self._run(statement, values, every=True)

    async def _run(
        self, statement: Select[Any], values: Mapping[str, Any], *, every: bool
    ) -> list[Any]:
        compiled = self.compiled(statement)
        arguments = compiled.arguments(values)
        pool = self._pool or self._open()
        try:
            connection = await pool.acquire()
        except _DRIVER_ERRORS as exc:  # opening a connection for the pool
            raise translated(exc, compiled.sql, arguments, lost=True) from exc
        reusable = False
        try:
            records, processors = await self._fetch(connection, compiled, arguments, every=every)
            reusable = True
        except _DRIVER_ERRORS as exc:
            # A server's answer ends the statement and leaves the connection idle, unless
            # the answer was that the server is going away.
            reusable = isinstance(exc, asyncpg.PostgresError) and not isinstance(
                exc, _CONNECTION_LOST
            )
            lost = connection.is_closed()
            raise translated(exc, compiled.sql, arguments, lost=lost) from exc
        finally:
            pool.release(connection, reusable=reusable)
        return [compiled.convert(record, processors) for record in records]

    async def _fetch(
        self,
        connection: asyncpg.Connection,
        compiled: CompiledSelect,
        arguments: list[Any],
        *,
        every: bool,
    ) -> tuple[list[asyncpg.Record], tuple[_Processor, ...]]:
        key = (compiled.sql, compiled.types)
        processors = self._processors.get(key)
        if processors is None:
            prepared = await connection.prepare(compiled.sql)
            processors = compiled.result_processors(
                [attribute.type.oid for attribute in prepared.get_attributes()]
            )
            self._processors[key] = processors
            records = (
                await prepared.fetch(*arguments) if every else [await prepared.fetchrow(*arguments)]
            )
        elif every:
            records = await connection.fetch(compiled.sql, *arguments)
        else:
            records = [await connection.fetchrow(compiled.sql, *arguments)]
        # fetchrow gives None when there is no row.
        return [record for record in records if record is not None], processors

    def _open(self) -> StatementPool:
        self._pool = StatementPool(
            size=self._size, connect=self._new_connection, idle_seconds=IDLE_SECONDS
        )
        return self._pool

    async def _new_connection(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(**self._connect)
        try:
            await _set_codecs(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
