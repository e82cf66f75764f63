"""Exports stream: 1e5 events leave over real HTTP with bounded memory (tracemalloc).

No time limit (speed is measured in bench/trace.py): the assertion is that the peak of
Python allocations while the whole export is read stays a small fraction of its size.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import tracemalloc
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import insert

from honnin.audit.service import AuditService
from honnin.clock import SystemClock
from honnin.db import Database
from honnin.gateway.dependencies import parse_admin_tokens
from honnin.gateway.problems import install_problem_handlers
from honnin.trace import api as trace_api
from honnin.trace.models import TraceEventRow
from honnin.trace.service import TraceService
from support.platform import ADMIN_HEADERS, TEST_ADMIN_TOKEN
from support.server import serve_in_thread

EVENTS = 100_000
START = datetime(2026, 11, 1, tzinfo=UTC)


def event_rows(count: int, *, offset: int = 0) -> list[dict[str, object]]:
    """Plausible events for a bulk insert (the digest is a stand-in: not under test here)."""
    banks = ("sakura_oidc", "momiji_rest", "kaede_xml")
    kinds = ("inquiry.created", "consent.given", "bank.fetched", "delivered", "consent.refused")
    claims = ["address", "birthdate", "family_name", "given_name"]
    rows: list[dict[str, object]] = []
    for i in range(offset, offset + count):
        kind = kinds[i % len(kinds)]
        rows.append(
            {
                "at": START + timedelta(milliseconds=i * 10),
                "kind": kind,
                "enterprise_id": f"ent_{i % 17:04d}",
                "bank_id": banks[i % 3],
                "method": "bank_oauth",
                "claims": claims,
                "purpose": "account_opening",
                "outcome": "access_denied" if kind == "consent.refused" else "ok",
                "latency_ms": (i * 37) % 900 if kind == "bank.fetched" else None,
                "subject_id": f"{i % 5000:064x}",
                "object_type": "inquiry",
                "object_id": f"inq_{i // 5:012d}",
                "digest": hashlib.sha256(str(i).encode()).hexdigest(),
            }
        )
    return rows


async def _seed(url: str) -> None:
    database = Database(url)
    try:
        for offset in range(0, EVENTS, 5000):
            async with database.transaction() as session:
                await session.execute(
                    insert(TraceEventRow.__table__), event_rows(5000, offset=offset)
                )
    finally:
        await database.dispose()


def _app(url: str) -> FastAPI:
    clock = SystemClock()
    app = FastAPI()
    app.state.database = Database(url)
    app.state.trace = TraceService(
        clock=clock,
        audit=AuditService(clock=clock),
        subject_key=b"0123456789abcdef0123",
        base_url="http://127.0.0.1",
        export_batch=1000,
    )
    app.state.admin_tokens = parse_admin_tokens(TEST_ADMIN_TOKEN)
    install_problem_handlers(app)
    app.include_router(trace_api.admin_router)
    return app


def test_csv_export_of_1e5_events_streams_in_bounded_memory(database_url: str) -> None:
    asyncio.run(_seed(database_url))
    with serve_in_thread(_app(database_url)) as base:
        total_bytes = 0
        lines = 0
        tail = b""
        tracemalloc.start()
        try:
            with (
                httpx.Client(base_url=base, timeout=120) as client,
                client.stream("GET", "/admin/v1/trace/export", headers=ADMIN_HEADERS) as response,
            ):
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/csv")
                # Chunked transfer: the server never knew the length up front.
                assert "content-length" not in response.headers
                for chunk in response.iter_bytes():
                    total_bytes += len(chunk)
                    lines += chunk.count(b"\n")
                    tail = (tail + chunk)[-4096:]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert lines == EVENTS + 1
    last = next(csv.reader(io.StringIO(tail.decode().splitlines()[-1])))
    assert last[1] == "2026-11-01T00:00:00.000000Z"  # newest first, so the oldest is last
    assert total_bytes > 25_000_000
    # Whole export ~30 MB; one batch of 1000 rows plus driver buffers stays far below.
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for {total_bytes / 1e6:.1f} MB"
