"""One-statement reads on PostgreSQL: ``Database.first`` (straight on asyncpg,
``honnin.db.direct``) against the same read through SQLAlchemy's async engine, same run.

    honnin bench db_reads --json [-o reads=4000] [-o concurrency=50] [-o rounds=2]
                                 [-o postgres_url=...]

The read has the shape of the broker's callback look-up: an inquiry by its state digest
(here every column of it). Each round runs both paths, alternating, ``reads`` times each
with ``concurrency`` at once; the figures are this process's CPU per read (the client's
cost, which is what the direct path removes) and reads per second. The baseline is
``Database.read`` with a unit of work (``first_row``): what ``first`` ran before, and
still runs on SQLite. PostgreSQL: the URL comes from ``postgres_url`` or
HONNIN_TEST_POSTGRES_URL; a throw-away database is created on that server and dropped
afterwards.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select

from honnin.bench_runner import load
from honnin.contracts.models import Bank, Contract, Enterprise
from honnin.db import Database, first_row
from honnin.db.migrate import upgrade
from honnin.inquiries.models import Inquiry

scratch_database = load("_scratch").scratch_database

_TABLE = Inquiry.__table__
_BY_STATE = select(_TABLE).where(_TABLE.c.state_digest == bindparam("b_state"))
_ROWS = 1000


def _positive(options: dict[str, str], name: str, default: int) -> int:
    raw = options.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        msg = f"{name} must be a whole number of 1 or more, not {raw!r}"
        raise ValueError(msg)
    return int(raw)


async def _seed(db: Database) -> None:
    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    async with db.transaction() as session:
        await session.execute(insert(Enterprise).values(id="ent_bench", name="Bench", **stamps))
        await session.execute(insert(Bank).values(id="bench", name="Bench", **stamps))
        await session.execute(
            insert(Contract).values(
                id="con_bench",
                enterprise_id="ent_bench",
                bank_id="bench",
                claims=["family_name"],
                purposes=["account_opening"],
                valid_from=now,
                created_at=now,
            )
        )
        await session.execute(
            insert(_TABLE),
            [
                {
                    "id": f"inq_{i:08d}",
                    "enterprise_id": "ent_bench",
                    "bank_id": "bench",
                    "contract_id": "con_bench",
                    "purpose": "account_opening",
                    "claims": ["family_name", "given_name", "birthdate", "address"],
                    "return_url": "https://enterprise.example/done",
                    "status": "pending_consent",
                    "start_token_digest": f"{i:064x}",
                    "state_digest": f"{i + _ROWS:064x}",
                    "sealed_applicant": os.urandom(180),
                    "sealed_flow_secrets": os.urandom(120),
                    "request_digest": f"{i:064x}",
                    "created_at": now,
                    "expires_at": now + timedelta(minutes=15),
                }
                for i in range(_ROWS)
            ],
        )


async def _load(
    read: Callable[[str], Awaitable[Any]], *, reads: int, concurrency: int
) -> dict[str, float]:
    states = [f"{(i % _ROWS) + _ROWS:064x}" for i in range(reads)]
    queue = list(reversed(states))

    async def worker() -> None:
        while queue:
            if await read(queue.pop()) is None:
                msg = "a seeded inquiry was not found"
                raise RuntimeError(msg)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_us_per_read": 1e6 * cpu / reads, "reads_per_s": reads / wall}


async def _bench(url: str, *, reads: int, concurrency: int, rounds: int) -> dict[str, Any]:
    db = Database(url, pool_size=concurrency, max_overflow=0, direct_pool_size=concurrency)
    try:
        await _seed(db)

        async def direct(state: str) -> Any:
            return await db.first(_BY_STATE, {"b_state": state})

        async def through_sqlalchemy(state: str) -> Any:
            return await db.read(first_row(_BY_STATE, {"b_state": state}))

        paths = {"direct": direct, "sqlalchemy": through_sqlalchemy}
        for read in paths.values():  # warm: connections open, statements prepared
            await _load(read, reads=min(reads, 200), concurrency=concurrency)
        measured: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
        for round_ in range(rounds):
            order = list(paths) if round_ % 2 == 0 else list(reversed(paths))
            for name in order:
                measured[name].append(
                    await _load(paths[name], reads=reads, concurrency=concurrency)
                )
    finally:
        await db.dispose()

    def summary(name: str) -> dict[str, float]:
        rows = measured[name]
        return {key: round(statistics.mean(row[key] for row in rows), 1) for key in rows[0]}

    return {
        "benchmark": "db_reads",
        "reads_per_round": reads,
        "concurrency": concurrency,
        "rounds": rounds,
        "direct": summary("direct"),
        "baseline_sqlalchemy": summary("sqlalchemy"),
    }


def run(**options: str) -> dict[str, Any]:
    reads = _positive(options, "reads", 4000)
    concurrency = _positive(options, "concurrency", 50)
    rounds = _positive(options, "rounds", 2)
    server = options.get("postgres_url") or os.environ.get("HONNIN_TEST_POSTGRES_URL", "")
    if not server.startswith("postgresql"):
        msg = (
            "db_reads needs PostgreSQL (SQLite has no direct path): set -o postgres_url=..."
            " or HONNIN_TEST_POSTGRES_URL"
        )
        raise ValueError(msg)
    with scratch_database(server) as url:
        upgrade(url)
        return asyncio.run(_bench(url, reads=reads, concurrency=concurrency, rounds=rounds))
