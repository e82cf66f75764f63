"""Trace event digests reach the real transparency log (outbox, at most once per event)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from honnin.db import Database
from honnin.ledger import merkle, records
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
