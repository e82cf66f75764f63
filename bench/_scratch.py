"""A PostgreSQL database of its own for each benchmark run.

A benchmark given a PostgreSQL URL runs in a fresh database it creates on that server and
drops afterwards, so a run never sees an earlier run's rows: neither their volume (the
figures would drift from run to run) nor their sealed secrets (every ``inquiry`` run makes
new keys, and the platform refuses signing keys sealed under another data key).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """``url`` itself unless it is PostgreSQL; then the URL of a new, empty database on the
    same server (the role of ``url`` must be allowed to create databases), dropped on exit."""
    if not url.startswith("postgresql"):
        yield url
        return
    path, _, query = url.partition("?")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(url, f'CREATE DATABASE "{name}"'))
    try:
        yield path.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    finally:
        asyncio.run(_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
