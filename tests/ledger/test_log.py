"""The database-backed log: batched appends, tiles, proofs and crash-safe checkpoints."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from honnin.db import Database
from honnin.ledger import checkpoint as checkpoint_mod
from honnin.ledger import merkle, note, tiles
from honnin.ledger.errors import LogIntegrityError, RangeError
from honnin.ledger.log import NewEntry, TransparencyLog
from honnin.ledger.models import LedgerState, LedgerTile

ORIGIN = "log.test/ledger"
SKEY = note.Signer.generate(ORIGIN).skey


def clock() -> datetime:
    return datetime(2026, 11, 21, 5, 0, tzinfo=UTC)


def make_log(database: Database, batch_size: int = 64) -> TransparencyLog:
    return TransparencyLog(
        database=database,
        signer=note.Signer.from_skey(SKEY),
        origin=ORIGIN,
        clock=clock,
        batch_size=batch_size,
    )


def entries(start: int, count: int) -> list[NewEntry]:
    return [NewEntry(data=f"e{i}".encode(), kind="test") for i in range(start, start + count)]


def open_checkpoint(text: str) -> checkpoint_mod.Checkpoint:
    opened = note.open_note(text, [note.Signer.from_skey(SKEY).verifier])
    return checkpoint_mod.parse(opened.text)


async def test_appends_proofs_and_tiles_match_the_in_memory_tree(database: Database) -> None:
    log = make_log(database, batch_size=37)
    receipts = await log.append_many(entries(0, 600))
    assert [r.index for r in receipts] == list(range(600))
    hashes = [merkle.leaf_hash(f"e{i}".encode()) for i in range(600)]
    cp = await log.latest_checkpoint()
    assert cp is not None
    assert cp.checkpoint.size == 600
    parsed = open_checkpoint(cp.note)
    assert parsed.root_hash == merkle.root_of_hashes(hashes)
    for size in (1, 37, 255, 256, 257, 511, 512, 600):
        root = await log.root_at(size)
        assert root == merkle.root_of_hashes(hashes[:size])
        for index in {0, size // 2, size - 1}:
            proof = await log.inclusion_proof(index, size)
            merkle.verify_inclusion(hashes[index], index, size, proof, root)
        for old in (0, 1, size // 3, size - 1):
            proof = await log.consistency_proof(old, size)
            assert proof == merkle.consistency_proof_of_hashes(hashes[:size], old)
    full = await log.tile(tiles.TileRef(0, 1))
    assert full == b"".join(hashes[256:512])
    partial = await log.tile(tiles.TileRef(0, 2, 88))
    assert partial == b"".join(hashes[512:600])
    bundle = await log.tile(tiles.TileRef(None, 2, 88))
    assert tiles.decode_bundle(bundle) == [f"e{i}".encode() for i in range(512, 600)]
    level1 = await log.tile(tiles.TileRef(1, 0, 2))
    assert level1 == merkle.root_of_hashes(hashes[:256]) + merkle.root_of_hashes(hashes[256:512])
    with pytest.raises(RangeError):
        await log.tile(tiles.TileRef(0, 2))
    with pytest.raises(RangeError):
        await log.inclusion_proof(600, 600)
    with pytest.raises(RangeError):
        await log.consistency_proof(1, 601)


async def test_concurrent_appends_are_batched_and_every_checkpoint_is_consistent(
    database: Database,
) -> None:
    log = make_log(database, batch_size=16)
    receipts = await asyncio.gather(*(log.append(e) for e in entries(0, 100)))
    assert sorted(r.index for r in receipts) == list(range(100))
    head = await log.tree_head()
    assert head.size == 100
    # a fresh log object (another process) continues the same tree
    other = make_log(database)
    await other.append_many(entries(100, 10))
    cp = await other.latest_checkpoint()
    assert cp is not None
    assert cp.checkpoint.size == 110
    earlier = await log.checkpoint_at(head.size)
    assert earlier is not None
    proof = await other.consistency_proof(head.size, 110)
    merkle.verify_consistency(
        head.size, 110, proof, earlier.checkpoint.root_hash, cp.checkpoint.root_hash
    )


async def test_refuses_to_sign_when_the_stored_tree_was_rewritten(database: Database) -> None:
    log = make_log(database, batch_size=300)
    await log.append_many(entries(0, 300))
    log.checkpoint_every_batch = False
    await log.append_many(entries(300, 5))
    # an attacker (or a bug) rewrites the hash of the first, already-signed 256 entries
    async with database.transaction() as session:
        await session.execute(
            update(LedgerTile)
            .where(LedgerTile.level == 1, LedgerTile.idx == 0)
            .values(nodes=b"\x07" * 32)
        )
    fresh = make_log(database)
    with pytest.raises(LogIntegrityError, match="tree head"):
        await fresh.publish_checkpoint()
    # ... and also makes the tree head agree with the rewritten tiles
    forged_root = await fresh.root_at(305)
    async with database.transaction() as session:
        await session.execute(update(LedgerState).values(root_hash=forged_root))
    with pytest.raises(LogIntegrityError, match="inconsistent"):
        await fresh.publish_checkpoint()
    latest = await fresh.latest_checkpoint()
    assert latest is not None
    assert latest.checkpoint.size == 300


CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from datetime import UTC, datetime
    from honnin.db import Database
    from honnin.ledger import note
    from honnin.ledger.log import NewEntry, TransparencyLog

    async def main(url, skey, stage):
        db = Database(url)
        log = TransparencyLog(database=db, signer=note.Signer.from_skey(skey),
                              origin="log.test/ledger", clock=lambda: datetime.now(UTC),
                              batch_size=1000, checkpoint_every_batch=False)
        new = [NewEntry(data=f"c{stage}-{i}".encode(), kind="test") for i in range(700)]
        if stage == "commit-then-die":
            await log.append_many(new)            # committed, never checkpointed
        else:
            # die in the middle of the append transaction: it is abandoned uncommitted
            async with db.transaction() as session:
                await log._lock_state(session)
                os._exit(3)
        os._exit(3)

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
    """
)


@pytest.mark.parametrize("stage", ["commit-then-die", "die-mid-transaction"])
async def test_crash_between_append_and_checkpoint_never_forks(
    database: Database, database_url: str, tmp_path: Path, stage: str
) -> None:
    log = make_log(database, batch_size=100)
    await log.append_many(entries(0, 300))
    before = await log.latest_checkpoint()
    assert before is not None
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script), database_url, SKEY, stage],
        capture_output=True,
        timeout=120,
        env={**os.environ},
        check=False,
    )
    assert result.returncode == 3, result.stderr.decode()[-2000:]
    # restart: a new log object recovers from what the database holds
    restarted = make_log(database)
    after = await restarted.publish_checkpoint()
    expected = 1000 if stage == "commit-then-die" else 300
    assert after.checkpoint.size == expected
    proof = await restarted.consistency_proof(before.checkpoint.size, after.checkpoint.size)
    merkle.verify_consistency(
        before.checkpoint.size,
        after.checkpoint.size,
        proof,
        open_checkpoint(before.note).root_hash,
        open_checkpoint(after.note).root_hash,
    )
    await restarted.append_many(entries(10_000, 3))
    final = await restarted.latest_checkpoint()
    assert final is not None
    assert final.checkpoint.size == expected + 3
