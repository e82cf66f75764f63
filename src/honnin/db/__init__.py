"""Database: SQLAlchemy 2 async engine and session, declarative base, Alembic migrations."""

from honnin.db.base import Base
from honnin.db.engine import Database, conflict_insert, first_row

__all__ = ["Base", "Database", "conflict_insert", "first_row"]
