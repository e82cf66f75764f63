"""Database.reader: bare connections for independent reads, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from honnin.contracts.models import Bank
from honnin.db import Database


async def test_reader_sees_committed_rows_and_leaves_no_transaction(
    database: Database,
) -> None:
    async with database.transaction() as session:
        now = datetime.now(UTC)
        session.add(
            Bank(
                id="reader_bank",
                name="Reader",
                status="active",
                profile={},
                created_at=now,
                updated_at=now,
            )
        )
    async with database.reader() as connection:
        found = (await connection.execute(select(Bank.__table__.c.name))).scalars().all()
        assert "Reader" in found
    # The pool got the connection back clean: the next transaction can write and commit.
    async with database.transaction() as session:
        bank = await session.get(Bank, "reader_bank")
        assert bank is not None
        bank.name = "Renamed"
    async with database.reader() as connection:
        names = (await connection.execute(select(Bank.__table__.c.name))).scalars().all()
        assert "Renamed" in names
