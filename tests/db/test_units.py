"""Units of work (``Database.run`` / ``Database.read``) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from honnin.db import Database

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@pytest.fixture
async def db(database: Database) -> Database:
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE unit_t (v VARCHAR(40) PRIMARY KEY)"))
    return database


def _insert(value: str, *, then_fail: bool = False) -> Callable[[Connection], int]:
    def work(connection: Connection) -> int:
        connection.execute(text("INSERT INTO unit_t (v) VALUES (:v)"), {"v": value})
        if then_fail:
            msg = "the unit's own error"
            raise LookupError(msg)
        return int(connection.execute(text("SELECT count(*) FROM unit_t")).scalar_one())

    return work


def _values(connection: Connection) -> list[str]:
    return [row.v for row in connection.execute(text("SELECT v FROM unit_t ORDER BY v"))]


async def test_run_commits_and_returns_the_work_result(db: Database) -> None:
    assert await db.run(_insert("a")) == 1
    assert await db.run(_insert("b")) == 2
    assert await db.read(_values) == ["a", "b"]
    async with db.session() as session:  # the async engine sees the same data
        assert (await session.execute(text("SELECT count(*) FROM unit_t"))).scalar_one() == 2


async def test_run_rolls_back_everything_when_the_work_raises(db: Database) -> None:
    await db.run(_insert("kept"))
    with pytest.raises(LookupError, match="the unit's own error"):
        await db.run(_insert("lost", then_fail=True))
    with pytest.raises(IntegrityError):
        await db.run(_insert("kept"))
    assert await db.read(_values) == ["kept"]


async def test_units_work_again_after_dispose(db: Database) -> None:
    await db.run(_insert("before"))
    await db.dispose()  # closes what is open; the database stays usable, like the engine
    await db.run(_insert("after"))
    assert await db.read(_values) == ["after", "before"]


async def test_work_sees_the_callers_context(db: Database) -> None:
    _request_id.set("req-7")
    assert await db.read(lambda _connection: _request_id.get()) == "req-7"
    assert await db.run(lambda _connection: _request_id.get()) == "req-7"


async def test_concurrent_units_each_commit_once(db: Database) -> None:
    await asyncio.gather(*(db.run(_insert(f"v{i:02d}")) for i in range(40)))
    assert await db.read(_values) == [f"v{i:02d}" for i in range(40)]


async def test_sqlite_unit_waiting_for_the_write_lock_does_not_stop_the_event_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE unit_t (v VARCHAR(40) PRIMARY KEY)"))
        holder = sqlite3.connect(path, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # another process holds SQLite's one write lock
        loop_thread = threading.get_ident()
        ran_in: list[int] = []

        def write(connection: Connection) -> None:
            ran_in.append(threading.get_ident())
            connection.execute(text("INSERT INTO unit_t (v) VALUES ('after the lock')"))

        unit = asyncio.ensure_future(db.run(write))
        ticks = 0
        while not ran_in or ticks < 5:  # the loop keeps turning while the unit waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not unit.done()
        holder.rollback()
        await asyncio.wait_for(unit, 60)  # a deadlock guard, not a timing assertion
        assert ran_in[0] != loop_thread
        assert await db.read(_values) == ["after the lock"]
        holder.close()
    finally:
        await db.dispose()
