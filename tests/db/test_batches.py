"""A batch of rows in one PostgreSQL statement (``honnin.db.batches``): insert and guarded
update through ``unnest``, with NULLs and bytes, against the real server."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.exc import DBAPIError

from honnin.db import Database
from honnin.db.batches import batch_parameters, unnest_batch

_metadata = MetaData()
_rows = Table(
    "batch_rows",
    _metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(20), nullable=True),
    Column("blob", LargeBinary, nullable=False),
    Column("mark", Integer, nullable=True),
)
_COLUMNS = ("id", "name", "blob")
_NEW = unnest_batch("new_rows", {name: _rows.c[name].type for name in _COLUMNS})
_INSERT = insert(_rows).from_select(list(_COLUMNS), select(*(_NEW.c[n] for n in _COLUMNS)))
_MARKS = unnest_batch("marks", {"id": BigInteger(), "mark": Integer()})
_MARK = (
    update(_rows)
    .where(_rows.c.id == _MARKS.c.id, _rows.c.mark.is_(None))
    .values(mark=_MARKS.c.mark)
)


def test_the_statements_read_one_array_per_column() -> None:
    sql = str(_MARK.compile(dialect=asyncpg.dialect()))
    assert "FROM unnest($1::BIGINT[], $2::INTEGER[]) AS marks(id, mark)" in sql
    assert batch_parameters(("id", "mark"), [(1, 10), (2, 20)]) == {
        "b_id": [1, 2],
        "b_mark": [10, 20],
    }
    assert batch_parameters(("id", "mark"), []) == {"b_id": [], "b_mark": []}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_batch_is_inserted_then_marked_once(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(_metadata.create_all)
        rows = [(1, "一", b"\x00\x01"), (2, None, b""), (3, "c", b"\xff" * 40)]
        await connection.execute(_INSERT, batch_parameters(_COLUMNS, rows))
        # The guard keeps a mark already set: 2 stays 20 when marked again.
        await connection.execute(_MARK, batch_parameters(("id", "mark"), [(2, 20)]))
        changed = await connection.execute(
            _MARK, batch_parameters(("id", "mark"), [(1, 10), (2, 99), (3, 30), (4, 40)])
        )
        assert changed.rowcount == 2
        # An empty batch is a statement that changes nothing.
        await connection.execute(_INSERT, batch_parameters(_COLUMNS, []))
        stored = (await connection.execute(select(_rows).order_by(_rows.c.id))).all()
    assert [tuple(r) for r in stored] == [
        (1, "一", b"\x00\x01", 10),
        (2, None, b"", 20),
        (3, "c", b"\xff" * 40, 30),
    ]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_edge_values_round_trip(database: Database) -> None:
    rows = [
        (-(2**63), "", b""),
        (2**63 - 1, "'; DROP TABLE x; --", b"\x00" * 3),
        (0, "髙﨑 \u3000カナ", bytes(range(256))),
        (7, None, b"{}"),
    ]
    async with database.engine.begin() as connection:
        await connection.run_sync(_metadata.create_all)
        await connection.execute(_INSERT, batch_parameters(_COLUMNS, rows))
        stored = (await connection.execute(select(_rows.c.id, _rows.c.name, _rows.c.blob))).all()
    assert sorted(tuple(r) for r in stored) == sorted(rows)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_value_too_long_for_its_column_fails_the_batch(database: Database) -> None:
    # Not cut to the column's length (as an explicit cast to VARCHAR(20) would do).
    async with database.engine.begin() as connection:
        await connection.run_sync(_metadata.create_all)

    async def insert_batch() -> None:
        async with database.engine.begin() as connection:
            rows = [(1, "fits", b""), (2, "x" * 21, b"")]
            await connection.execute(_INSERT, batch_parameters(_COLUMNS, rows))

    with pytest.raises(DBAPIError, match="too long"):
        await insert_batch()
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(_rows))).all() == []
