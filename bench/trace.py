# ruff: noqa: A005 - `honnin bench trace` loads bench/<name>.py; the name is the contract
"""Trace benchmark: event insert rate and query latency at 1e6 events, SQLite and PostgreSQL.

    honnin bench trace --json [-o events=1000000] [-o repeats=15]
                              [-o backends=sqlite,postgresql] [-o postgres_url=...]

Figures per backend:
- ``record_*``: :meth:`TraceService.record` (validation, digest, ORM row) committed one
  event per transaction (what a state change does) and 500 per transaction.
- ``bulk_insert_per_s``: loading the table to ``events`` rows (core INSERT, 10k per
  transaction, all six indexes maintained); digests are stand-ins there.
- query latencies (median / p95 ms over ``repeats``) of 100-row keyset pages: newest
  page, per enterprise, per bank in one day, per subject, and a page half-way down one
  enterprise's history; the **baseline** is the same deep page by LIMIT/OFFSET.
- the console dashboard over 24 h, and export throughput (one enterprise, CSV).

PostgreSQL: URL from ``postgres_url`` or HONNIN_TEST_POSTGRES_URL (an existing server; a
throw-away database is created and dropped).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from honnin.audit.service import AuditService
from honnin.bench_runner import load
from honnin.db import Database
from honnin.db.migrate import upgrade
from honnin.trace import core
from honnin.trace.core import Cursor, TraceFilter
from honnin.trace.dashboard import build_dashboard
from honnin.trace.models import TraceEventRow
from honnin.trace.service import TraceService

scratch_database = load("_scratch").scratch_database

END = datetime(2026, 11, 21, tzinfo=UTC)
SPAN = timedelta(days=30)
ENTERPRISES = 50
BANKS = ("sakura_oidc", "momiji_rest", "kaede_xml", "tsubaki_api", "hinoki_xml")
KINDS = ("inquiry.created", "consent.given", "bank.fetched", "webhook.delivered", "consent.refused")
SUBJECTS = 100_000
_T = TraceEventRow.__table__.c


class _Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def _rows(start: int, count: int, total: int) -> list[dict[str, Any]]:
    step = SPAN / total
    claims = ["address", "birthdate", "family_name", "given_name"]
    rows = []
    for i in range(start, start + count):
        kind = KINDS[i % 5]
        rows.append(
            {
                "at": END - SPAN + step * i,
                "kind": kind,
                "enterprise_id": f"ent_{(i * 7) % ENTERPRISES:04d}",
                "bank_id": BANKS[(i // 5) % len(BANKS)],
                "method": "bank_oauth",
                "claims": claims,
                "purpose": "account_opening",
                "outcome": "access_denied" if kind == "consent.refused" else "ok",
                "latency_ms": 150 + (i * 37) % 700 if kind == "bank.fetched" else None,
                "subject_id": f"{(i // 5) % SUBJECTS:064x}",
                "object_type": "inquiry",
                "object_id": f"inq_{i // 5:012d}",
                "digest": hashlib.sha256(i.to_bytes(8, "big")).hexdigest(),
            }
        )
    return rows


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


async def _timed(repeats: int, fn: Any) -> dict[str, float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {
        "median_ms": _ms(statistics.median(samples)),
        "p95_ms": _ms(samples[min(len(samples) - 1, int(len(samples) * 0.95))]),
    }


async def _record_rates(db: Database, trace: TraceService) -> dict[str, float]:
    def event(i: int) -> core.TraceEvent:
        return core.TraceEvent(
            kind="bank.fetched",
            object_id=f"inq_rec_{i}",
            enterprise_id="ent_0001",
            bank_id="sakura_oidc",
            method="bank_oauth",
            claims=("family_name", "birthdate"),
            outcome="match",
            latency_ms=200,
            subject_id=f"{i:064x}",
        )

    single = 1000
    start = time.perf_counter()
    for i in range(single):
        async with db.transaction() as session:
            await trace.record(session, event(i))
    per_txn = single / (time.perf_counter() - start)
    batched = 20_000
    start = time.perf_counter()
    for chunk in range(0, batched, 500):
        async with db.transaction() as session:
            for i in range(chunk, chunk + 500):
                await trace.record(session, event(single + i))
    return {
        "record_one_per_txn_per_s": round(per_txn),
        "record_500_per_txn_per_s": round(batched / (time.perf_counter() - start)),
    }


async def _bench(url: str, events: int, repeats: int) -> dict[str, Any]:
    db = Database(url)
    clock = _Clock(END)
    trace = TraceService(
        clock=clock, audit=AuditService(clock=clock), subject_key=b"b" * 32, base_url="http://x"
    )
    out: dict[str, Any] = {}
    try:
        out.update(await _record_rates(db, trace))
        start = time.perf_counter()
        for chunk in range(0, events, 10_000):
            async with db.transaction() as session:
                await session.execute(
                    insert(TraceEventRow.__table__),
                    _rows(chunk, min(10_000, events - chunk), events),
                )
        out["bulk_insert_per_s"] = round(events / (time.perf_counter() - start))
        async with db.transaction() as session:
            await session.execute(
                text("ANALYZE" if db.dialect == "sqlite" else "ANALYZE trace_events")
            )

        async with db.session() as session:
            total = await session.scalar(select(text("count(*)")).select_from(TraceEventRow))
            ent = "ent_0003"
            ent_rows = await session.scalar(
                select(text("count(*)")).select_from(TraceEventRow).where(_T.enterprise_id == ent)
            )
            depth = int(ent_rows or 0) // 2
            all_depth = int(total or 0) // 2

            async def cursor_at(offset: int, *conditions: Any) -> str:
                mid = (
                    await session.execute(
                        select(_T.at, _T.id)
                        .where(*conditions)
                        .order_by(_T.at.desc(), _T.id.desc())
                        .offset(offset)
                        .limit(1)
                    )
                ).one()
                return core.encode_cursor(Cursor(at=mid.at, id=mid.id))

            deep_cursor = await cursor_at(depth, _T.enterprise_id == ent)
            all_cursor = await cursor_at(all_depth)

            async def page(filters: TraceFilter, cursor: str | None = None) -> None:
                result = await trace.page(session, filters, limit=100, cursor=cursor)
                assert len(result.events) == 100

            async def offset_page(offset: int, *conditions: Any) -> None:
                rows = (
                    await session.execute(
                        select(TraceEventRow.__table__)
                        .where(*conditions)
                        .order_by(_T.at.desc(), _T.id.desc())
                        .offset(offset)
                        .limit(100)
                    )
                ).all()
                assert len(rows) == 100

            day = TraceFilter(bank_id="momiji_rest", since=END - timedelta(days=1), until=END)
            queries = {
                "newest_page": lambda: page(TraceFilter()),
                "enterprise_page": lambda: page(TraceFilter(enterprise_id=ent)),
                "bank_one_day_page": lambda: page(day),
                "enterprise_denials_page": lambda: page(
                    TraceFilter(enterprise_id=ent, outcome="access_denied")
                ),
                "deep_keyset_page": lambda: page(TraceFilter(enterprise_id=ent), deep_cursor),
                "baseline_deep_offset_page": lambda: offset_page(depth, _T.enterprise_id == ent),
                "mid_table_keyset_page": lambda: page(TraceFilter(), all_cursor),
                "baseline_mid_table_offset_page": lambda: offset_page(all_depth),
            }
            latencies = {name: await _timed(repeats, fn) for name, fn in queries.items()}

            subject = f"{12345:064x}"

            async def subject_page() -> None:
                await trace.page(session, TraceFilter(subject_id=subject), limit=100)

            latencies["subject_history"] = await _timed(repeats, subject_page)

            async def dashboard() -> None:
                await build_dashboard(session, trace=trace, now=END - timedelta(seconds=1))

            latencies["dashboard_24h"] = await _timed(max(3, repeats // 5), dashboard)
        out["rows"] = int(total or 0)
        out["deep_page_depth"] = {"enterprise": depth, "table": all_depth}
        out["latency"] = latencies

        def speedup(baseline: str, keyset: str) -> float:
            return round(
                latencies[baseline]["median_ms"] / max(latencies[keyset]["median_ms"], 1e-6), 1
            )

        out["keyset_speedup_vs_offset"] = {
            "enterprise_deep": speedup("baseline_deep_offset_page", "deep_keyset_page"),
            "mid_table": speedup("baseline_mid_table_offset_page", "mid_table_keyset_page"),
        }
        exported = 0
        start = time.perf_counter()
        async for chunk in trace.export(db, TraceFilter(enterprise_id=ent), fmt="csv"):
            exported += chunk.count(b"\n")
        seconds = time.perf_counter() - start
        out["export_rows"] = exported - 1
        out["export_rows_per_s"] = round((exported - 1) / seconds)
    finally:
        await db.dispose()
    return out


def run(**options: str) -> dict[str, Any]:
    events = int(options.get("events", "1000000"))
    repeats = int(options.get("repeats", "15"))
    backends = options.get("backends", "sqlite,postgresql").split(",")
    pg_base = options.get("postgres_url") or os.environ.get("HONNIN_TEST_POSTGRES_URL", "")
    result: dict[str, Any] = {"events": events, "repeats": repeats, "page_size": 100}
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                upgrade(url)
                result["sqlite"] = asyncio.run(_bench(url, events, repeats))
        elif backend == "postgresql":
            if not pg_base:
                result["postgresql"] = "skipped: set -o postgres_url or HONNIN_TEST_POSTGRES_URL"
                continue
            with scratch_database(pg_base) as url:
                upgrade(url)
                result["postgresql"] = asyncio.run(_bench(url, events, repeats))
        else:
            result[backend] = "unknown backend"
    return result
