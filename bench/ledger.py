"""Ledger benchmark: batched appends/s and proof generation time on SQLite and PostgreSQL.

    honnin bench ledger --json [-o entries=1000000] [-o batch=5000] [-o proofs=500]
                               [-o backends=sqlite,postgresql] [-o postgres_url=...]

PostgreSQL: the URL comes from ``postgres_url`` or HONNIN_TEST_POSTGRES_URL (an existing
server; a throw-away database is created on it and dropped afterwards). Baselines in the
same run: one-entry batches (group commit off), and proofs recomputed from all leaf
hashes in memory (what a log without stored subtree hashes does).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from honnin.bench_runner import load
from honnin.db import Database
from honnin.db.migrate import upgrade
from honnin.ledger import merkle, note
from honnin.ledger.log import NewEntry, TransparencyLog
from honnin.ledger.models import LedgerEntry

scratch_database = load("_scratch").scratch_database

ORIGIN = "bench.test/ledger"


def _entry(i: int) -> NewEntry:
    # ~200 bytes, the size of a canonical verification record
    data = (
        '{"kind":"verification","record":{"assurance_level":"IAL2","evidence_digest":"'
        f'{i:064x}","method":"jp_he","provider":"bench.test/ledger","subject_id":"'
        f'{i * 7919:064x}"}},"v":1}}'
    ).encode()
    return NewEntry(data=data, kind="verification", subject_id=f"{i * 7919:064x}")


def _clock() -> datetime:
    return datetime.now(UTC)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 4)


async def _bench(url: str, entries: int, batch: int, proofs: int) -> dict[str, Any]:
    db = Database(url)
    signer = note.Signer.generate(ORIGIN)
    log = TransparencyLog(database=db, signer=signer, origin=ORIGIN, clock=_clock, batch_size=batch)
    out: dict[str, Any] = {}
    try:
        start = time.perf_counter()
        for chunk in range(0, entries, batch):
            await log.append_many([_entry(i) for i in range(chunk, min(entries, chunk + batch))])
        elapsed = time.perf_counter() - start
        out["appends_per_s_batched"] = round(entries / elapsed)
        out["append_seconds"] = round(elapsed, 1)

        # baseline: one entry per transaction and checkpoint (no batching)
        single = TransparencyLog(
            database=db, signer=signer, origin=ORIGIN, clock=_clock, batch_size=1
        )
        count = 300
        start = time.perf_counter()
        for i in range(count):
            await single.append_many([_entry(entries + i)])
        out["baseline_appends_per_s_unbatched"] = round(count / (time.perf_counter() - start))
        size = (await log.tree_head()).size

        rng = random.Random(1)
        indices = [rng.randrange(size) for _ in range(proofs)]
        cold = TransparencyLog(database=db, signer=signer, origin=ORIGIN, clock=_clock)
        cold_times = []
        for index in indices:
            t = time.perf_counter()
            await cold.inclusion_proof(index, size)
            cold_times.append(time.perf_counter() - t)
        warm_times = []
        for index in indices:
            t = time.perf_counter()
            await cold.inclusion_proof(index, size)
            warm_times.append(time.perf_counter() - t)
        out["inclusion_proof_ms_p50_cold_cache"] = _ms(statistics.median(cold_times))
        out["inclusion_proof_ms_p99_cold_cache"] = _ms(
            sorted(cold_times)[int(len(cold_times) * 0.99) - 1]
        )
        out["inclusion_proof_ms_p50_warm_cache"] = _ms(statistics.median(warm_times))
        cons = []
        for index in indices[:100]:
            t = time.perf_counter()
            await cold.consistency_proof(max(1, index), size)
            cons.append(time.perf_counter() - t)
        out["consistency_proof_ms_p50"] = _ms(statistics.median(cons))

        # baseline: recompute proofs from every leaf hash held in memory
        from sqlalchemy import select

        t = time.perf_counter()
        async with db.session() as session:
            hashes = [
                bytes(h)
                for h in await session.scalars(
                    select(LedgerEntry.leaf_hash).order_by(LedgerEntry.idx)
                )
            ]
        out["baseline_load_all_leaf_hashes_s"] = round(time.perf_counter() - t, 2)
        naive = []
        for index in indices[:3]:
            t = time.perf_counter()
            proof = merkle.inclusion_proof_of_hashes(hashes, index)
            naive.append(time.perf_counter() - t)
            assert proof == await cold.inclusion_proof(index, size)
        out["baseline_inclusion_proof_ms_in_memory_recompute"] = _ms(statistics.median(naive))
        out["tree_size"] = size
    finally:
        await db.dispose()
    return out


def run(**options: str) -> dict[str, Any]:
    entries = int(options.get("entries", "1000000"))
    batch = int(options.get("batch", "5000"))
    proofs = int(options.get("proofs", "500"))
    backends = options.get("backends", "sqlite,postgresql").split(",")
    pg_base = options.get("postgres_url") or os.environ.get("HONNIN_TEST_POSTGRES_URL", "")
    result: dict[str, Any] = {
        "entries": entries,
        "batch": batch,
        "targets": {"appends_per_s": 10_000, "inclusion_proof_ms": 1.0},
    }
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                upgrade(url)
                result["sqlite"] = asyncio.run(_bench(url, entries, batch, proofs))
        elif backend == "postgresql":
            if not pg_base:
                result["postgresql"] = "skipped: set -o postgres_url or HONNIN_TEST_POSTGRES_URL"
                continue
            with scratch_database(pg_base) as url:
                upgrade(url)
                result["postgresql"] = asyncio.run(_bench(url, entries, batch, proofs))
        else:
            result[backend] = "unknown backend"
    return result
