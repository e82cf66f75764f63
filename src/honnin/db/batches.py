"""Many rows in one PostgreSQL statement: ``unnest`` over one array per column.

An executemany runs its statement once per row on the server, and SQLAlchemy processes
each row's parameters on the client. ``unnest($1::T[], $2::U[]) AS batch(a, b)`` turns
arrays, one per column, into the rows of a ``FROM`` item (PostgreSQL documentation,
"Array Functions and Operators": ``unnest(anyarray, anyarray [, ...])``), so one
execution writes a whole batch: ``INSERT ... SELECT ... FROM batch`` or
``UPDATE ... FROM batch WHERE table.key = batch.key``. SQLite has no arrays; callers keep
an executemany there.

This module builds statement parts and does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import String, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine


def unnest_batch(name: str, columns: Mapping[str, TypeEngine[Any]]) -> TableValuedAlias:
    """``unnest(:b_col1, :b_col2, ...) AS name(col1, col2, ...)``, each parameter an array
    of its column's type; :func:`batch_parameters` gives the values."""
    arrays = [
        bindparam(f"b_{column}", type_=ARRAY(_element_type(type_)))
        for column, type_ in columns.items()
    ]
    return func.unnest(*arrays).table_valued(*columns).render_derived(name=name)


def _element_type(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    # The driver casts each parameter to its type (``$1::VARCHAR(20)[]``), and an explicit
    # cast to a character type with a length cuts a longer value short without an error.
    # Without the length the value reaches the column whole, and storing it fails as a
    # row-by-row insert would.
    if isinstance(type_, String) and type_.length is not None:
        return String()
    return type_


def batch_parameters(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    """The parameters of :func:`unnest_batch` for ``rows``, each a tuple in ``columns``'
    order: one list per column."""
    return {f"b_{column}": [row[i] for row in rows] for i, column in enumerate(columns)}
