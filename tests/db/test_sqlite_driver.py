"""The SQLite adapter that runs each statement in one trip to aiosqlite's thread."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from honnin.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", pool_size=2)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield database
    await database.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every function sent to an aiosqlite connection thread, by name."""
    seen: Counter[str] = Counter()
    original: Callable[..., Any] = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen[getattr(fn, "__name__", type(fn).__name__)] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return seen


async def test_a_statement_is_one_trip_and_a_read_needs_no_commit(
    db: Database, trips: Counter[str]
) -> None:
    async with db.session() as session:
        await session.execute(text("SELECT 1"))  # connects the pool first
    trips.clear()
    async with db.session() as session:
        rows = (await session.execute(text("SELECT 1, 'x'"))).all()
    assert rows == [(1, "x")]
    # SQLAlchemy's own adapter makes four (cursor, execute, fetchall, close) plus a
    # rollback when the session ends; SQLite opened no transaction for the read.
    assert trips == Counter({"_run_statement": 1})


async def test_a_write_transaction_commits_once(db: Database, trips: Counter[str]) -> None:
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
        await session.execute(text("INSERT INTO t (v) VALUES ('b')"))
    assert trips == Counter({"_run_statement": 2, "commit": 1})
    async with db.session() as session:
        assert (await session.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all() == [
            "a",
            "b",
        ]


async def test_rowcount_lastrowid_returning_and_executemany(db: Database) -> None:
    async with db.transaction() as session:
        connection = await session.connection()
        inserted = await connection.execute(
            text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x"}, {"v": "y"}, {"v": "z"}]
        )
        assert inserted.rowcount == 3
        single = await connection.execute(text("INSERT INTO t (v) VALUES ('w')"))
        assert single.lastrowid == 4
        returned = await connection.execute(
            text("UPDATE t SET v = v || '!' WHERE v IN ('x', 'y') RETURNING id, v")
        )
        assert sorted(returned.all()) == [(1, "x!"), (2, "y!")]
        updated = await connection.execute(text("UPDATE t SET v = 'q' WHERE id > 99"))
        assert updated.rowcount == 0


async def _insert_twice(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('dup')"))
        await session.execute(text("INSERT INTO t (v) VALUES ('dup')"))


async def _select_missing(db: Database) -> None:
    async with db.session() as session:
        await session.execute(text("SELECT * FROM no_such_table"))


async def test_rollback_undoes_and_errors_are_the_dbapi_ones(db: Database) -> None:
    with pytest.raises(IntegrityError):
        await _insert_twice(db)
    with pytest.raises(OperationalError):
        await _select_missing(db)
    async with db.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_rolled_back_work_is_not_kept_by_the_next_user_of_the_connection(
    db: Database,
) -> None:
    async with db.session() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('left open')"))
        # no commit: the pool must roll it back before anyone else uses the connection
    async with db.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_streamed_results_still_work(db: Database) -> None:
    async with db.transaction() as session:
        connection = await session.connection()
        await connection.execute(
            text("INSERT INTO t (v) VALUES (:v)"), [{"v": str(i)} for i in range(50)]
        )
    async with db.engine.connect() as connection:
        result = await connection.stream(text("SELECT v FROM t ORDER BY id"))
        seen = [row[0] async for row in result]
    assert seen == [str(i) for i in range(50)]
