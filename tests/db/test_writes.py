"""Guarded writes (``Database.write``) on SQLite and PostgreSQL: one statement on
PostgreSQL, a unit of work on SQLite, the same outcome on both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from honnin.db import Database, GuardedWrite, NewRow
from honnin.db.writes import single_statement

_metadata = MetaData()
_items = Table(
    "write_items",
    _metadata,
    Column("id", String(20), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("blob", LargeBinary, nullable=True),
    Column("changed_at", DateTime(timezone=True), nullable=True),
)
_events = Table(
    "write_events",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(20), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("claims", JSON, nullable=False),
)
_notes = Table(
    "write_notes",
    _metadata,
    Column("id", String(20), primary_key=True),
    Column("item_id", String(20), nullable=False),
)

_INSERT_ITEM = insert(_items)
# SET columns from the parameters' keys, as SQLAlchemy does for a bare UPDATE.
_FINISH = update(_items).where(_items.c.id == bindparam("b_id"), _items.c.status == "open")
_TOUCH = (
    update(_items)
    .where(_items.c.id == bindparam("b_id"), _items.c.changed_at.is_(None))
    .values(changed_at=bindparam("b_now"))
)
_NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


@pytest.fixture
async def db(database: Database) -> Database:
    async with database.engine.begin() as connection:
        await connection.run_sync(_metadata.create_all)
    return database


def _event(item_id: str, kind: str) -> NewRow:
    return NewRow(_events, {"item_id": item_id, "kind": kind, "claims": ["family_name"]})


def _state(connection: Connection) -> dict[str, object]:
    return {
        # SQLite keeps no zone; both hold UTC here.
        "items": [
            (r.id, r.status, r.blob, r.changed_at and r.changed_at.replace(tzinfo=UTC))
            for r in connection.execute(select(_items).order_by(_items.c.id))
        ],
        "events": [
            (r.item_id, r.kind, r.claims)
            for r in connection.execute(select(_events).order_by(_events.c.id))
        ],
        "notes": [tuple(r) for r in connection.execute(select(_notes).order_by(_notes.c.id))],
    }


async def test_an_insert_and_the_rows_that_go_with_it(db: Database) -> None:
    item = {"id": "a", "status": "open", "blob": b"\x00sealed"}
    written = await db.write(GuardedWrite(_INSERT_ITEM, item, [_event("a", "created")]))
    assert written is True
    assert await db.read(_state) == {
        "items": [("a", "open", b"\x00sealed", None)],
        "events": [("a", "created", ["family_name"])],
        "notes": [],
    }


async def test_a_guarded_update_writes_its_rows_once_and_only_while_the_guard_holds(
    db: Database,
) -> None:
    await db.write(GuardedWrite(_INSERT_ITEM, {"id": "a", "status": "open"}))
    finish = GuardedWrite(
        _FINISH,
        {"b_id": "a", "status": "done", "changed_at": _NOW},
        [_event("a", "finished"), NewRow(_notes, {"id": "n1", "item_id": "a"})],
    )
    assert await db.write(finish) is True
    # Replayed: the guard (status = 'open') no longer holds, so nothing is written again;
    # the same note id would otherwise fail the primary key.
    assert await db.write(finish) is False
    state = await db.read(_state)
    assert state["items"] == [("a", "done", None, _NOW)]
    assert state["events"] == [("a", "finished", ["family_name"])]
    assert state["notes"] == [("n1", "a")]


async def test_an_update_with_its_own_set_clause(db: Database) -> None:
    await db.write(GuardedWrite(_INSERT_ITEM, {"id": "a", "status": "open"}))
    touch = GuardedWrite(_TOUCH, {"b_id": "a", "b_now": _NOW}, [_event("a", "touched")])
    assert await db.write(touch) is True
    assert await db.write(touch) is False
    assert (await db.read(_state))["events"] == [("a", "touched", ["family_name"])]


async def test_nothing_is_written_when_the_guard_matches_no_row(db: Database) -> None:
    missing = GuardedWrite(_FINISH, {"b_id": "nope", "status": "done"}, [_event("x", "lost")])
    assert await db.write(missing) is False
    assert await db.read(_state) == {"items": [], "events": [], "notes": []}


async def test_a_failing_row_undoes_the_guarded_statement(db: Database) -> None:
    await db.write(GuardedWrite(_INSERT_ITEM, {"id": "a", "status": "open"}))
    await db.write(GuardedWrite(_INSERT_ITEM, {"id": "b", "status": "open"}))
    await db.write(
        GuardedWrite(
            _FINISH, {"b_id": "b", "status": "done"}, [NewRow(_notes, {"id": "n1", "item_id": "b"})]
        )
    )
    clash = GuardedWrite(
        _FINISH,
        {"b_id": "a", "status": "done"},
        [_event("a", "finished"), NewRow(_notes, {"id": "n1", "item_id": "a"})],
    )
    with pytest.raises(IntegrityError):
        await db.write(clash)
    state = await db.read(_state)
    assert ("a", "open", None, None) in state["items"]
    assert state["events"] == []
    assert state["notes"] == [("n1", "b")]


async def test_a_conflicting_insert_writes_none_of_its_rows(db: Database) -> None:
    await db.write(GuardedWrite(_INSERT_ITEM, {"id": "a", "status": "open"}))
    again = GuardedWrite(_INSERT_ITEM, {"id": "a", "status": "open"}, [_event("a", "created")])
    with pytest.raises(IntegrityError):
        await db.write(again)
    assert (await db.read(_state))["events"] == []


def test_postgresql_gets_one_statement_that_counts_the_changed_rows() -> None:
    write = GuardedWrite(
        _FINISH,
        {"b_id": "a", "status": "done"},
        [_event("a", "finished"), NewRow(_notes, {"id": "n1", "item_id": "a"})],
    )
    statement, parameters = single_statement(write)
    sql = " ".join(str(statement.compile(dialect=postgresql.dialect())).split())
    assert sql.startswith("WITH changed AS (UPDATE write_items SET status=")
    assert "RETURNING 1 AS one" in sql
    assert sql.count("WHERE EXISTS (SELECT changed.one FROM changed)") == 2
    assert sql.endswith("SELECT count(*) AS count_1 FROM changed")
    assert parameters == {
        "b_id": "a",
        "status": "done",
        "then0_item_id": "a",
        "then0_kind": "finished",
        "then0_claims": ["family_name"],
        "then1_id": "n1",
        "then1_item_id": "a",
    }
    # One composed statement per shape, reused (and so compiled once).
    assert single_statement(write)[0] is statement


_defaulted = Table(
    "write_defaulted",
    _metadata,
    Column("id", String(20), primary_key=True),
    Column("state", String(20), nullable=False, default="pending"),
)


def test_a_row_must_give_its_python_side_defaults() -> None:
    # Inside one composed statement SQLAlchemy would bind NULL for them on PostgreSQL,
    # where SQLite's unit of work fills them in: refused on both, before any I/O.
    with pytest.raises(ValueError, match="write_defaulted: give state"):
        NewRow(_defaulted, {"id": "d1"})
    with pytest.raises(ValueError, match="write_defaulted: give state"):
        GuardedWrite(insert(_defaulted), {"id": "d1"})
    assert NewRow(_defaulted, {"id": "d1", "state": "pending"}).values["state"] == "pending"
