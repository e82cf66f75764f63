"""Guarded writes: one statement that changes at most one row, and rows inserted only if
it did, atomically (:meth:`honnin.db.Database.write`).

This is the shape of every state change on the bank-inquiry path: an inquiry inserted
with its trace event; a guarded ``UPDATE`` (``WHERE status = 'pending_consent'``) with
its trace event, the user's receipt or the webhook's outbox row. Done as a unit of work,
PostgreSQL needs ``BEGIN``, each statement and ``COMMIT``: a round trip each, with the
client's and the server's CPU for every one. Here the same writes become one statement
with data-modifying ``WITH`` queries (PostgreSQL documentation, "Data-Modifying
Statements in WITH"): the guarded statement ``RETURNING 1``, each insert an
``INSERT ... SELECT ... WHERE EXISTS (SELECT FROM changed)``, and the statement's result
the number of rows the guarded statement changed. One statement is atomic on its own, so
it runs without a transaction of ours. SQLite has no data-modifying ``WITH``; there the
statements run one after another in one transaction (:meth:`GuardedWrite.run`).

This module builds statements and does no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    func,
    insert,
    literal_column,
    select,
)


@dataclass(frozen=True, slots=True)
class NewRow:
    """A row to insert: ``values`` by column name, every column with a Python-side
    default among them (see :func:`_left_out`)."""

    table: Table
    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        _left_out(self.table, self.values, "default")


@dataclass(frozen=True, slots=True)
class GuardedWrite:
    """``statement`` with ``values``; then, only if it changed a row, each of ``then``.

    ``statement`` is an ``INSERT`` or an ``UPDATE`` that changes at most one row (its
    ``WHERE`` names the primary key). As when SQLAlchemy executes a statement without a
    ``VALUES``/``SET`` clause, the keys of ``values`` that name a column of its table
    become that clause; the other keys are its bound parameters (``b_id``, ...).
    """

    statement: Insert | Update
    values: Mapping[str, Any]
    then: Sequence[NewRow] = field(default=())

    def __post_init__(self) -> None:
        table = self.statement.table
        assert isinstance(table, Table)
        _left_out(
            table, self.values, "default" if isinstance(self.statement, Insert) else "onupdate"
        )

    def run(self, connection: Connection) -> bool:
        """The statements one by one, in ``connection``'s transaction; whether the
        guarded statement changed a row."""
        if connection.execute(self.statement, dict(self.values)).rowcount < 1:
            return False
        for row in self.then:
            connection.execute(_insert(row.table), dict(row.values))
        return True


def new_rows(*rows: NewRow | None) -> list[NewRow]:
    """The rows a guarded write inserts, leaving out the absent ones (a null event sink
    gives no event row)."""
    return [row for row in rows if row is not None]


def _left_out(table: Table, values: Mapping[str, Any], kind: str) -> None:
    """Refuse a row that leaves out a column with a Python-side ``default`` (an insert) or
    ``onupdate`` (an update). Inside one composed statement SQLAlchemy binds such a column
    but computes no value for it, so PostgreSQL would store NULL where SQLite's unit of
    work stores the default: the caller gives the value instead."""
    missing = [key for key in _with_python_side(table, kind) if key not in values]
    if missing:
        msg = f"{table.name}: give {', '.join(missing)} (a Python-side {kind}) explicitly"
        raise ValueError(msg)


@functools.cache
def _with_python_side(table: Table, kind: str) -> tuple[str, ...]:
    # Checked for every row of the hot path; a table's columns do not change.
    return tuple(sorted(column.key for column in table.c if getattr(column, kind) is not None))


@functools.cache
def _insert(table: Table) -> Insert:
    # Built once per table: a statement's cache key is memoised on the object.
    return insert(table)


def single_statement(write: GuardedWrite) -> tuple[Select[int], dict[str, Any]]:
    """``write`` as one PostgreSQL statement and its parameters; the statement returns
    how many rows the guarded statement changed (0 or 1)."""
    statement = _compose(
        write.statement,
        tuple(write.values),
        tuple((row.table, tuple(row.values)) for row in write.then),
    )
    parameters = dict(write.values)
    for position, row in enumerate(write.then):
        for column, value in row.values.items():
            parameters[_then_name(position, column)] = value
    return statement, parameters


def _then_name(position: int, column: str) -> str:
    return f"then{position}_{column}"


# Keyed by the statement object and the parameter names: a few shapes per process, each
# compiled once and then found in SQLAlchemy's compiled cache.
@functools.lru_cache(maxsize=256)
def _compose(
    statement: Insert | Update,
    keys: tuple[str, ...],
    then: tuple[tuple[Table, tuple[str, ...]], ...],
) -> Select[int]:
    table = statement.table
    assert isinstance(table, Table)
    columns = {key: bindparam(key, type_=table.c[key].type) for key in keys if key in table.c}
    guarded = statement.values(columns) if columns else statement
    changed = guarded.returning(literal_column("1").label("one")).cte("changed")
    if_changed = select(changed.c.one).exists()
    inserts = []
    for position, (target, names) in enumerate(then):
        row = select(
            *(bindparam(_then_name(position, name), type_=target.c[name].type) for name in names)
        ).where(if_changed)
        inserts.append(insert(target).from_select(list(names), row).cte(f"then{position}"))
    return select(func.count()).select_from(changed).add_cte(*inserts)
