"""Database: SQLAlchemy 2 async engine and session, declarative base, Alembic migrations."""

from honnin.db.base import Base
from honnin.db.engine import Database, conflict_insert, first_row
from honnin.db.writes import GuardedWrite, NewRow, new_rows

__all__ = [
    "Base",
    "Database",
    "GuardedWrite",
    "NewRow",
    "conflict_insert",
    "first_row",
    "new_rows",
]
