"""Benchmarks run in a database of their own (bench/_scratch.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from conftest import postgres_base_url
from honnin.bench_runner import load

scratch_database = load("_scratch").scratch_database


async def _databases(url: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return {row["datname"] for row in await conn.fetch("SELECT datname FROM pg_database")}
    finally:
        await conn.close()


def test_a_postgresql_run_gets_a_fresh_database_dropped_afterwards() -> None:
    server = postgres_base_url()
    with scratch_database(server) as url:
        name = url.rsplit("/", 1)[1]
        assert url != server
        assert url.rsplit("/", 1)[0] == server.rsplit("/", 1)[0]
        assert name in asyncio.run(_databases(server))
        assert asyncio.run(_databases(url))  # reachable as the same role
    assert name not in asyncio.run(_databases(server))


def test_other_databases_are_used_as_given(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    with scratch_database(url) as used:
        assert used == url
    with scratch_database("") as used:
        assert used == ""
