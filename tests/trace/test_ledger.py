"""Trace event digests reach the real transparency log (outbox, once per event, also with
publishers in several processes on PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from honnin.db import Database
from honnin.ledger import merkle, records
from honnin.ledger.log import Receipt
from honnin.ledger.service import build_ledger_service
from honnin.trace.models import TraceEventRow
from honnin.trace.service import LEDGER_KIND, TraceLedgerPublisher, TraceService
from support.platform import platform_settings


async def test_each_event_digest_is_appended_once(
    database: Database, database_url: str, trace: TraceService, tmp_path: Path
) -> None:
    async with database.transaction() as session:
        for kind in ("inquiry.created", "consent.given", "bank.fetched"):
            await trace.record(
                session, kind=kind, object_id="inq_l1", enterprise_id="ent_a", outcome="ok"
            )
    settings = platform_settings(database_url, var_dir=tmp_path)
    ledger = build_ledger_service(settings=settings, database=database)
    try:
        publisher = TraceLedgerPublisher(database=database, ledger=ledger, batch_size=2)
        assert await publisher.publish_pending() == 3
        assert await publisher.publish_pending() == 0
        head = await ledger.log.tree_head()
        async with database.session() as session:
            rows = (await session.scalars(select(TraceEventRow).order_by(TraceEventRow.id))).all()
        assert sorted(r.ledger_index for r in rows if r.ledger_index is not None) == [0, 1, 2]
        assert head.size == 3
        # Each leaf is the canonical entry of the event's digest: provable by inclusion.
        for row in rows:
            assert row.ledger_index is not None
            entry = records.event_entry(LEDGER_KIND, {"event": str(row.id), "digest": row.digest})
            proof = await ledger.log.inclusion_proof(row.ledger_index, head.size)
            merkle.verify_inclusion(
                merkle.leaf_hash(entry), row.ledger_index, head.size, proof, head.root_hash
            )
    finally:
        await ledger.aclose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_publishers_of_two_processes_append_each_digest_once(
    database: Database, database_url: str, trace: TraceService, tmp_path: Path
) -> None:
    async with database.transaction() as session:
        for n in range(40):
            await trace.record(
                session,
                kind="bank.fetched",
                object_id=f"inq_{n}",
                enterprise_id="ent_a",
                outcome="ok",
            )
    settings = platform_settings(database_url, var_dir=tmp_path)
    # As two workers have them: each its own engine, log and publisher, one database.
    other = Database(database_url)
    ledgers = [
        build_ledger_service(settings=settings, database=database),
        build_ledger_service(settings=settings, database=other),
    ]
    try:
        publishers = [
            TraceLedgerPublisher(database=db, ledger=ledger, batch_size=5)
            for db, ledger in zip((database, other), ledgers, strict=True)
        ]
        published = await asyncio.gather(*(p.publish_pending() for p in publishers))
        assert sum(published) == 40
        head = await ledgers[0].log.tree_head()
        async with database.session() as session:
            indexes = (await session.scalars(select(TraceEventRow.ledger_index))).all()
        # Without the claim both took the same rows and the log held duplicates.
        assert head.size == 40
        assert sorted(i for i in indexes if i is not None) == list(range(40))
    finally:
        for ledger in ledgers:
            await ledger.aclose()
        await other.dispose()


class _BusyLedger:
    """Appends like a log, while other requests keep recording events meanwhile."""

    def __init__(self, database: Database, trace: TraceService) -> None:
        self._database = database
        self._trace = trace
        self.appended: list[str] = []

    async def append_events(
        self, kind: str, payloads: Sequence[Mapping[str, Any]]
    ) -> list[Receipt]:
        assert kind == LEDGER_KIND
        receipts = []
        for payload in payloads:
            self.appended.append(str(payload["event"]))
            receipts.append(Receipt(len(self.appended) - 1, b"\0" * 32))
            if len(self.appended) > 20:  # the requests stop at last
                continue
            async with self._database.transaction() as session:
                await self._trace.record(
                    session, kind="bank.fetched", object_id="inq_busy", outcome="ok"
                )
        return receipts


async def test_a_round_publishes_what_was_pending_and_leaves_newer_events_to_the_next(
    database: Database, trace: TraceService
) -> None:
    async with database.transaction() as session:
        for n in range(3):
            await trace.record(session, kind="inquiry.created", object_id=f"inq_{n}", outcome="ok")
    ledger = _BusyLedger(database, trace)
    publisher = TraceLedgerPublisher(database=database, ledger=ledger, batch_size=10)
    # Each append records one more event, as requests do under load; chasing them would
    # never end (or end in batches of a few events, each its own ledger transaction).
    assert await publisher.publish_pending() == 3
    assert await publisher.publish_pending() == 3
    async with database.session() as session:
        pending = (
            await session.scalars(
                select(TraceEventRow.id).where(TraceEventRow.ledger_index.is_(None))
            )
        ).all()
    assert len(pending) == 3
    assert len(ledger.appended) == len(set(ledger.appended)) == 6
