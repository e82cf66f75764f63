"""``Database.first`` and ``Database.rows``: on PostgreSQL straight on asyncpg
(``honnin.db.direct``), on SQLite a unit of work; either way the values, names and errors
SQLAlchemy itself gives."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError

from honnin.db import Base, Database
from honnin.db.base import UTCDateTime
from honnin.db.direct import (
    UnsupportedStatementError,
    compile_select,
    connect_arguments,
)
from honnin.db.models_registry import import_all_models
from support.postgres import drop_every_connection


class _Tagged(TypeDecorator[str]):
    """Marks values on their way in and out: shows that both processors ran."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else f"in:{value}"

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else f"{value}:out"


_metadata = MetaData()
# One column of each type the platform's models store (see the test below).
_things = Table(
    "direct_things",
    _metadata,
    Column("id", String(20), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("note", Text, nullable=True),
    Column("count", Integer, nullable=True),
    Column("small", SmallInteger, nullable=True),
    Column("big", BigInteger, nullable=True),
    Column("ratio", Float, nullable=True),
    Column("day", Date, nullable=True),
    Column("active", Boolean, nullable=True),
    Column("blob", LargeBinary, nullable=True),
    Column("claims", JSON, nullable=True),
    Column("at", UTCDateTime(), nullable=True),
    Column("tag", _Tagged(), nullable=True),
)
_others = Table(
    "direct_others",
    _metadata,
    Column("id", String(20), primary_key=True),
    Column("status", String(20), nullable=False),
)

_BY_ID = select(_things).where(_things.c.id == bindparam("b_id"))
_OPEN_BY_ID = select(_things.c.id).where(
    _things.c.id == bindparam("b_id"), _things.c.status == "open"
)
_BOTH_STATUSES = (
    select(_things.c.status, _others.c.status)
    .join_from(_things, _others, _others.c.id == _things.c.id)
    .where(_things.c.id == bindparam("b_id"))
)
_AFTER = select(_things.c.id).where(_things.c.at > bindparam("b_at", type_=UTCDateTime()))
_BY_TAG = select(_things.c.id, _things.c.tag).where(_things.c.tag == bindparam("b_tag"))
_AMONG = select(_things.c.id).where(_things.c.id.in_(bindparam("b_ids", expanding=True)))

_FULL = {
    "id": "full",
    "status": "open",
    "note": "髙橋 﨑",
    "count": 7,
    "small": -3,
    "big": 2**40 + 1,
    "ratio": 0.515,
    "day": date(2026, 11, 21),
    "active": True,
    "blob": b"\x00sealed\xff",
    "claims": {"family_name": ["髙橋"], "n": 1},
    "at": datetime(2026, 11, 21, 9, 30, 15, 123456, tzinfo=UTC),
    "tag": "t",
}
_EMPTY = {"id": "empty", "status": "closed"}


@pytest.fixture
async def db(database: Database) -> Database:
    async with database.engine.begin() as connection:
        await connection.run_sync(_metadata.create_all)
        await connection.execute(insert(_things), _FULL)
        await connection.execute(insert(_things), _EMPTY)
        await connection.execute(insert(_others), [{"id": "full", "status": "other"}])
    return database


def test_the_checked_types_are_every_type_the_models_store() -> None:
    import_all_models()
    stored = {type(column.type) for table in Base.metadata.tables.values() for column in table.c}
    checked = {type(column.type) for column in _things.c} - {_Tagged}
    # A new column type in a model: add it to _things, so its values are compared below.
    assert stored <= checked, stored - checked


@pytest.mark.parametrize("row_id", ["full", "empty"])
async def test_a_row_reads_as_sqlalchemy_reads_it(db: Database, row_id: str) -> None:
    def through_sqlalchemy(connection: Connection) -> tuple[object, ...]:
        found = connection.execute(_BY_ID, {"b_id": row_id}).one()
        return tuple(found)

    expected = await db.run(through_sqlalchemy)
    row = await db.first(_BY_ID, {"b_id": row_id})
    assert tuple(row) == expected
    assert row.claims == (_FULL["claims"] if row_id == "full" else None)
    assert row.at == (_FULL["at"] if row_id == "full" else None)
    if row.at is not None:
        assert row.at.tzinfo is UTC


async def test_no_row_is_none(db: Database) -> None:
    assert await db.first(_BY_ID, {"b_id": "missing"}) is None


async def test_values_written_in_the_statement_are_bound_too(db: Database) -> None:
    assert tuple(await db.first(_OPEN_BY_ID, {"b_id": "full"})) == ("full",)
    assert await db.first(_OPEN_BY_ID, {"b_id": "empty"}) is None


async def test_a_column_type_converts_what_goes_in_and_comes_out(db: Database) -> None:
    assert tuple(await db.first(_BY_TAG, {"b_tag": "t"})) == ("full", "in:t:out")


async def test_bound_values_go_through_the_column_types(db: Database) -> None:
    before = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert tuple(await db.first(_AFTER, {"b_at": before})) == ("full",)
    with pytest.raises(StatementError):
        # UTCDateTime refuses a naive datetime, here as through SQLAlchemy.
        await db.first(_AFTER, {"b_at": before.replace(tzinfo=None)})


async def test_a_missing_value_is_a_statement_error(db: Database) -> None:
    with pytest.raises(StatementError, match="b_id"):
        await db.first(_BY_ID, {"b_other": "full"})


async def test_columns_of_one_name_are_told_apart_as_sqlalchemy_does(db: Database) -> None:
    row = await db.first(_BOTH_STATUSES, {"b_id": "full"})
    assert tuple(row) == ("open", "other")
    assert (row.status, row.status_1) == ("open", "other")


async def test_expanding_lists_run_through_sqlalchemy(db: Database) -> None:
    with pytest.raises(UnsupportedStatementError):
        compile_select(_AMONG, asyncpg_dialect())
    assert tuple(await db.first(_AMONG, {"b_ids": ["empty", "nope"]})) == ("empty",)


def test_only_select_statements_compile() -> None:
    with pytest.raises(UnsupportedStatementError):
        compile_select(insert(_things), asyncpg_dialect())  # type: ignore[arg-type]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_dropped_connection_fails_one_read_and_is_replaced(
    db: Database, database_url: str
) -> None:
    # The pool's connection, then dropped by the server.
    await db.first(_BY_ID, {"b_id": "full"})
    await drop_every_connection(database_url)
    outcomes: list[object] = []
    for _ in range(3):
        try:
            row = await db.first(_BY_ID, {"b_id": "full"})
        except DBAPIError as exc:
            outcomes.append(exc)
        else:
            outcomes.append(row.id)
    # The read on a dropped connection may fail, as the gateway's 503 database_unavailable
    # (connection_invalidated); the pool has replaced the others.
    first = outcomes[0]
    assert first == "full" or (isinstance(first, DBAPIError) and first.connection_invalidated)
    assert outcomes[1:] == ["full", "full"], outcomes


async def test_dispose_closes_and_the_next_read_reopens(db: Database) -> None:
    await db.first(_BY_ID, {"b_id": "full"})
    await db.dispose()
    assert (await db.first(_BY_ID, {"b_id": "full"})).id == "full"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+asyncpg://honnin:pw@db.internal:6543/honnin",
            {
                "host": "db.internal",
                "port": 6543,
                "user": "honnin",
                "password": "pw",
                "database": "honnin",
            },
        ),
        (
            # SQLAlchemy's spelling of TLS for asyncpg reaches asyncpg as its own.
            "postgresql+asyncpg://honnin@db/honnin?ssl=require&prepared_statement_cache_size=50",
            {
                "host": "db",
                "user": "honnin",
                "database": "honnin",
                "ssl": "require",
                "statement_cache_size": 50,
            },
        ),
        ("postgresql+asyncpg://honnin@db/honnin?prepared_statement_cache_size=0", None),
    ],
)
def test_the_direct_pool_connects_as_sqlalchemy_does(
    url: str, expected: dict[str, object] | None
) -> None:
    assert connect_arguments(url, asyncpg_dialect()) == expected


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_url_that_turns_prepared_statements_off_still_reads(
    database_url: str,
) -> None:
    # The PgBouncer recipe. connect_arguments (above) keeps the direct pool off for it;
    # handed to asyncpg as it stands, the SQLAlchemy-only option would fail the connect.
    db = Database(f"{database_url}?prepared_statement_cache_size=0")
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
            await connection.execute(insert(_things), _EMPTY)
        assert await db.first(_OPEN_BY_ID, {"b_id": "empty"}) is None
        row = await db.first(_BY_ID, {"b_id": "empty"})
        assert (row.id, row.status) == ("empty", "closed")
    finally:
        await db.dispose()


async def test_rows_gives_every_row_as_first_gives_one(db: Database) -> None:
    rows = await db.rows(select(_things).order_by(_things.c.id), {})
    assert [row.id for row in rows] == ["empty", "full"]
    assert rows[1] == await db.first(_BY_ID, {"b_id": "full"})
    assert await db.rows(_OPEN_BY_ID, {"b_id": "nothing"}) == []


# What the webhook claim is: a SELECT over a data-modifying WITH (PostgreSQL only).
_CLOSED = (
    update(_things)
    .where(_things.c.status == "open")
    .values(status="closed")
    .returning(_things.c.id, _things.c.claims)
    .cte("closed")
)
_CLOSE_AND_JOIN = select(_CLOSED, _others.c.status.label("other")).outerjoin(
    _others, _others.c.id == _CLOSED.c.id
)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "through-sqlalchemy"])
async def test_rows_of_a_data_modifying_with_are_committed(
    database_url: str, *, direct: bool
) -> None:
    # The direct path takes it (it is a SELECT with plain binds); the PgBouncer URL
    # sends it through SQLAlchemy instead.
    assert compile_select(_CLOSE_AND_JOIN, asyncpg_dialect()).sql.startswith("WITH closed AS")
    db = Database(database_url if direct else f"{database_url}?prepared_statement_cache_size=0")
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
            await connection.execute(insert(_things), _FULL)
            await connection.execute(insert(_things), _EMPTY)
            await connection.execute(insert(_others), [{"id": "full", "status": "other"}])
        (closed,) = await db.rows(_CLOSE_AND_JOIN, {})
        assert (closed.id, closed.claims, closed.other) == ("full", _FULL["claims"], "other")
        assert await db.rows(_CLOSE_AND_JOIN, {}) == []  # the first one's change was kept
        row = await db.first(_BY_ID, {"b_id": "full"})
        assert row.status == "closed"
    finally:
        await db.dispose()


async def test_a_server_that_cannot_be_reached_is_a_lost_connection() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there now: what the gateway answers with 503 database_unavailable.
    db = Database(f"postgresql+asyncpg://honnin@127.0.0.1:{port}/honnin")
    try:
        with pytest.raises(DBAPIError) as raised:
            await db.first(_BY_ID, {"b_id": "full"})
        assert raised.value.connection_invalidated
    finally:
        await db.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_statement_cancelled_mid_way_leaves_the_pool_usable(
    db: Database, database_url: str
) -> None:
    # A request that gives up (client gone, timeout) cancels its statement; its slot comes
    # back (one slot here: a lost one would leave the next statement waiting for ever)
    # and the connection is dropped (tests/db/test_statement_pool.py).
    single = Database(database_url, direct_pool_size=1)
    try:
        slow = asyncio.create_task(single.first(select(func.pg_sleep(5).is_(None)), {}))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # A guard against a hang, not a speed limit.
        row = await asyncio.wait_for(single.first(_BY_ID, {"b_id": "full"}), timeout=30)
        assert row.id == "full"
    finally:
        await single.dispose()
