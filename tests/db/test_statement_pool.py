"""The direct path's connection pool (``honnin.db.statement_pool``) against the real
PostgreSQL: bounded, most recent first, idle connections closed, a connection whose use
did not end cleanly never reused, and closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from honnin.db.statement_pool import StatementPool

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Connector:
    """Opens real connections and counts them."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+asyncpg", "postgresql")
        self.opened: list[asyncpg.Connection] = []
        self.fail_next = False

    async def __call__(self) -> asyncpg.Connection:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionRefusedError("no server here")
        connection = await asyncpg.connect(self.url)
        self.opened.append(connection)
        return connection


async def closed_soon(connection: asyncpg.Connection) -> bool:
    """Whether the pool's closing task (in the background) has closed ``connection``."""
    for _ in range(200):
        if connection.is_closed():
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def connector(database_url: str) -> Connector:
    return Connector(database_url)


@pytest.fixture
async def pool(connector: Connector, clock: Clock) -> AsyncIterator[StatementPool]:
    pool = StatementPool(size=2, connect=connector, idle_seconds=60, clock=clock)
    try:
        yield pool
    finally:
        await pool.close()
        for connection in connector.opened:
            connection.terminate()


async def test_connections_are_opened_on_demand_and_the_latest_reused(
    pool: StatementPool, connector: Connector
) -> None:
    first = await pool.acquire()
    second = await pool.acquire()
    assert len(connector.opened) == 2
    pool.release(first, reusable=True)
    pool.release(second, reusable=True)
    again = await pool.acquire()
    assert again is second  # the most recently used
    assert await again.fetchval("SELECT 1") == 1
    pool.release(again, reusable=True)
    assert len(connector.opened) == 2
    assert pool.open_connections == 2


async def test_at_most_size_in_use_a_third_caller_waits_for_a_release(
    pool: StatementPool,
) -> None:
    held = [await pool.acquire(), await pool.acquire()]
    third = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    assert not third.done()
    pool.release(held[0], reusable=True)
    assert await third is held[0]
    pool.release(held[1], reusable=True)
    pool.release(held[0], reusable=True)


async def test_a_connection_whose_use_did_not_end_cleanly_is_not_reused(
    pool: StatementPool, connector: Connector
) -> None:
    connection = await pool.acquire()
    pool.release(connection, reusable=False)
    assert connection.is_closed()
    fresh = await pool.acquire()
    assert fresh is not connection
    assert len(connector.opened) == 2
    pool.release(fresh, reusable=True)


async def test_a_connection_left_in_a_transaction_is_not_reused(pool: StatementPool) -> None:
    connection = await pool.acquire()
    await connection.execute("BEGIN")
    await connection.execute("CREATE TEMPORARY TABLE left_behind (n int)")
    pool.release(connection, reusable=True)
    assert connection.is_closed()
    fresh = await pool.acquire()
    assert not fresh.is_in_transaction()
    assert await fresh.fetchval("SELECT to_regclass('pg_temp.left_behind')") is None
    pool.release(fresh, reusable=True)


async def test_a_cancelled_statement_frees_its_slot_and_its_connection_is_dropped(
    pool: StatementPool,
) -> None:
    connection = await pool.acquire()
    statement = asyncio.create_task(connection.fetchval("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.1)
    statement.cancel()
    with pytest.raises(asyncio.CancelledError):
        await statement
    pool.release(connection, reusable=False)
    one, two = await pool.acquire(), await pool.acquire()
    assert connection not in (one, two)
    assert [await c.fetchval("SELECT 2") for c in (one, two)] == [2, 2]
    pool.release(one, reusable=True)
    pool.release(two, reusable=True)


async def test_idle_connections_are_closed_when_taken_or_when_others_come_back(
    pool: StatementPool, clock: Clock
) -> None:
    old, newer = await pool.acquire(), await pool.acquire()
    pool.release(old, reusable=True)
    clock.now += 50
    pool.release(newer, reusable=True)
    clock.now += 20  # old idle 70 s, newer 20 s
    taken = await pool.acquire()
    assert taken is newer
    pool.release(taken, reusable=True)  # trims the stale one on its way back
    assert await closed_soon(old)
    assert pool.open_connections == 1
    clock.now += 61
    fresh = await pool.acquire()  # the only idle one went stale too
    assert fresh is not newer
    assert await closed_soon(newer)
    pool.release(fresh, reusable=True)


async def test_a_failed_connect_frees_its_slot(pool: StatementPool, connector: Connector) -> None:
    connector.fail_next = True
    with pytest.raises(ConnectionRefusedError):
        await pool.acquire()
    held = [await pool.acquire(), await pool.acquire()]  # both slots still there
    for connection in held:
        pool.release(connection, reusable=True)


async def test_close_closes_idle_connections_now_and_busy_ones_when_they_return(
    pool: StatementPool, connector: Connector
) -> None:
    idle, busy = await pool.acquire(), await pool.acquire()
    pool.release(idle, reusable=True)
    await pool.close()
    assert idle.is_closed()
    assert not busy.is_closed()
    assert await busy.fetchval("SELECT 3") == 3  # its statement goes on
    pool.release(busy, reusable=True)
    assert await closed_soon(busy)
    # The pool opens again on demand.
    reopened = await pool.acquire()
    assert reopened not in (idle, busy)
    pool.release(reopened, reusable=True)
    assert len(connector.opened) == 3
