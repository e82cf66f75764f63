"""The migrations build the schema the models describe, and each package's branch goes
down and up again (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import honnin.db.models_registry  # noqa: F401 - every model on the metadata
from honnin.db.base import Base
from honnin.db.migrate import downgrade, upgrade


def _differences(database_url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async def read() -> list[Any]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    # An index, column or table in a model without its migration (or the reverse) is a
    # difference here: what the tests' ORM sees would not be what production has.
    assert _differences(database_url) == []


def test_the_inquiries_branch_goes_down_and_up_again(database_url: str) -> None:
    downgrade(database_url, "0400_inquiries")
    kinds = sorted((change[0], change[1].name) for change in _differences(database_url))
    assert kinds == [
        ("add_index", "ix_bank_inquiries_enterprise_created"),
        ("add_index", "ix_webhook_deliveries_enterprise_created"),
        ("add_table", "webhook_keys"),
        ("remove_index", "ix_bank_inquiries_enterprise_id"),
        ("remove_index", "ix_webhook_deliveries_enterprise_id"),
    ]
    upgrade(database_url)
    assert _differences(database_url) == []
