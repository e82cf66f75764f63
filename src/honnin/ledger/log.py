"""The database-backed transparency log of one deployment (RFC 9162 §2, C2SP tlog-tiles).

Does I/O (the database). Appends are sequenced in batches (group commit): concurrent
callers queue their entries and whoever holds the sequencer lock commits everything
queued in one transaction, which also extends the stored tiles and the tree head.

Never two inconsistent checkpoints, even across crashes: a batch and its new tree head
commit together or not at all; a checkpoint is signed only for a committed tree head,
only after re-deriving its root from the stored tiles and verifying a consistency proof
from the last signed checkpoint, and in the transaction that stores it (a crash before
that commit loses a signature nobody has seen). Both transactions first bump the state
row, which serialises appenders and signers across processes on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from honnin.db import Database
from honnin.db.batches import batch_parameters, unnest_batch
from honnin.ledger import merkle, tiles
from honnin.ledger.checkpoint import Checkpoint
from honnin.ledger.errors import EntryError, LogIntegrityError, ProofError, RangeError
from honnin.ledger.models import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntry,
    LedgerState,
    LedgerTile,
)
from honnin.ledger.note import Signer, sign

_STATE_ID = 1
# Reads that need no unit of work run on a bare connection: a session costs a round trip.
_Executor = AsyncSession | AsyncConnection
# Core tables: bulk inserts and updates skip the ORM unit of work.
_ENTRIES = cast("Table", LedgerEntry.__table__)
_TILES = cast("Table", LedgerTile.__table__)
_STATE = cast("Table", LedgerState.__table__)
_TILE_CACHE_SIZE = 4096  # ~16 KiB each


@dataclass(frozen=True, slots=True)
class NewEntry:
    data: bytes
    kind: str
    subject_id: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    index: int
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class TreeHead:
    size: int
    root_hash: bytes


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str


@dataclass(frozen=True, slots=True)
class StoredEntry:
    index: int
    data: bytes
    kind: str


class TransparencyLog:
    """Append, checkpoint, tiles and proofs over the ``ledger_*`` tables."""

    def __init__(
        self,
        *,
        database: Database,
        signer: Signer,
        origin: str,
        clock: Callable[[], datetime],
        batch_size: int = 512,
        checkpoint_every_batch: bool = True,
    ) -> None:
        self.database = database
        self.signer = signer
        self.origin = origin
        self.clock = clock
        self.batch_size = batch_size
        self.checkpoint_every_batch = checkpoint_every_batch
        self._edge: tiles.TreeEdge | None = None
        self._lock = asyncio.Lock()
        self._pending: list[tuple[NewEntry, asyncio.Future[Receipt]]] = []
        self._tile_cache: OrderedDict[tuple[int, int], tuple[int, bytes]] = OrderedDict()
        self._known_size = 0
        self._state_ready = False

    # --- appending -------------------------------------------------------------------

    async def append(self, entry: NewEntry) -> Receipt:
        """Queue one entry; it commits with whatever else is queued (group commit)."""
        _check_entry(entry)
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        while not future.done():
            async with self._lock:
                if future.done():
                    break
                batch = self._pending[: self.batch_size]
                del self._pending[: self.batch_size]
                try:
                    receipts = await self._append_batch([e for e, _ in batch])
                except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                    for _, waiting in batch:
                        waiting.set_exception(exc)
                    continue
                for (_, waiting), receipt in zip(batch, receipts, strict=True):
                    waiting.set_result(receipt)
                if self.checkpoint_every_batch:
                    await self._publish()
        return future.result()

    async def append_many(self, entries: Sequence[NewEntry]) -> list[Receipt]:
        """Append in batches of ``batch_size``, one transaction (and checkpoint) each."""
        for entry in entries:
            _check_entry(entry)
        receipts: list[Receipt] = []
        async with self._lock:
            for start in range(0, len(entries), self.batch_size):
                receipts += await self._append_batch(entries[start : start + self.batch_size])
                if self.checkpoint_every_batch:
                    await self._publish()
        return receipts

    async def _append_batch(self, entries: Sequence[NewEntry]) -> list[Receipt]:
        await self._ensure_state()
        now = self.clock()
        async with self.database.transaction() as session:
            head = await self._lock_state(session)
            edge = self._edge
            if edge is None or edge.size != head.size:
                edge = await self._load_edge(session, head.size)
                if edge.root() != head.root_hash:
                    raise LogIntegrityError("stored tiles do not match the stored tree head")
            work = tiles.TreeEdge(edge.size, edge.partials)
            hashes = [merkle.leaf_hash(e.data) for e in entries]
            old_size = work.size
            writes = work.append(hashes)
            conn = await session.connection()
            await _insert_entries(conn, entries, hashes, first=old_size, now=now)
            for write in writes:
                values = {"width": write.width, "nodes": tiles.build_layers(write.base)}
                if tiles.tile_width(old_size, write.level, write.index):
                    await conn.execute(
                        update(_TILES)
                        .where(LedgerTile.level == write.level, LedgerTile.idx == write.index)
                        .values(**values)
                    )
                else:
                    await conn.execute(
                        insert(_TILES).values(level=write.level, idx=write.index, **values)
                    )
            await conn.execute(
                update(_STATE)
                .where(LedgerState.id == _STATE_ID)
                .values(size=work.size, root_hash=work.root(), updated_at=now)
            )
        self._edge = work
        self._known_size = max(self._known_size, work.size)
        return [Receipt(old_size + i, h) for i, h in enumerate(hashes)]

    async def _ensure_state(self) -> None:
        if self._state_ready:
            return
        async with self.database.session() as session:
            exists = await session.scalar(select(LedgerState.id).where(LedgerState.id == _STATE_ID))
        if exists is not None:
            self._state_ready = True
            return
        try:
            async with self.database.transaction() as session:
                session.add(
                    LedgerState(
                        id=_STATE_ID,
                        size=0,
                        root_hash=merkle.EMPTY_ROOT,
                        serial=0,
                        updated_at=self.clock(),
                    )
                )
        except IntegrityError:
            pass  # another process created it first
        self._state_ready = True

    async def _lock_state(self, session: AsyncSession) -> TreeHead:
        """Bump the state row first: on SQLite that takes the write lock before any read."""
        await session.execute(
            update(LedgerState)
            .where(LedgerState.id == _STATE_ID)
            .values(serial=LedgerState.serial + 1)
        )
        row = (
            await session.execute(
                select(LedgerState.size, LedgerState.root_hash).where(LedgerState.id == _STATE_ID)
            )
        ).one()
        return TreeHead(int(row.size), bytes(row.root_hash))

    async def _load_edge(self, session: AsyncSession, size: int) -> tiles.TreeEdge:
        partials: list[list[bytes]] = []
        for level in range(tiles.TreeEdge.levels_for(size)):
            count = size >> (tiles.TILE_HEIGHT * level)
            width = count & (tiles.TILE_WIDTH - 1)
            base: list[bytes] = []
            if width:
                row = (
                    await session.execute(
                        select(LedgerTile.width, LedgerTile.nodes).where(
                            LedgerTile.level == level,
                            LedgerTile.idx == count >> tiles.TILE_HEIGHT,
                        )
                    )
                ).one_or_none()
                if row is None or row.width != width:
                    raise LogIntegrityError("a partial tile is missing or of the wrong width")
                nodes = bytes(row.nodes)
                base = [nodes[i * 32 : i * 32 + 32] for i in range(width)]
            partials.append(base)
        return tiles.TreeEdge(size, partials)

    # --- checkpoints -----------------------------------------------------------------

    async def publish_checkpoint(self) -> SignedCheckpoint:
        """Sign the committed tree head (recovery after a crash calls this too)."""
        async with self._lock:
            return await self._publish()

    async def _publish(self) -> SignedCheckpoint:
        await self._ensure_state()
        async with self.database.transaction() as session:
            head = await self._lock_state(session)
            last = (
                await session.execute(
                    select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
                )
            ).scalar_one_or_none()
            if last is not None and last.size == head.size:
                if bytes(last.root_hash) != head.root_hash:
                    raise LogIntegrityError("tree head differs from the checkpoint of its size")
                return SignedCheckpoint(_checkpoint_of(self.origin, last), last.note)
            if last is not None and last.size > head.size:
                raise LogIntegrityError("tree head is older than the last signed checkpoint")
            root = await self._root_from_tiles(session, head.size)
            if root != head.root_hash:
                raise LogIntegrityError("stored tiles do not match the stored tree head")
            if last is not None:
                proof = await self._proof(session, merkle.consistency_plan(last.size, head.size))
                try:
                    merkle.verify_consistency(
                        last.size, head.size, proof, bytes(last.root_hash), root
                    )
                except ProofError as exc:
                    raise LogIntegrityError(
                        "refusing to sign a checkpoint inconsistent with the last one"
                    ) from exc
            checkpoint = Checkpoint(origin=self.origin, size=head.size, root_hash=root)
            note = sign(checkpoint.text, [self.signer])
            session.add(
                LedgerCheckpoint(size=head.size, root_hash=root, note=note, signed_at=self.clock())
            )
        return SignedCheckpoint(checkpoint, note)

    async def latest_checkpoint(self) -> SignedCheckpoint | None:
        async with self.database.session() as session:
            row = (
                await session.execute(
                    select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
                )
            ).scalar_one_or_none()
        return None if row is None else SignedCheckpoint(_checkpoint_of(self.origin, row), row.note)

    async def checkpoint_at(self, size: int) -> SignedCheckpoint | None:
        async with self.database.session() as session:
            row = await session.get(LedgerCheckpoint, size)
        return None if row is None else SignedCheckpoint(_checkpoint_of(self.origin, row), row.note)

    async def latest_cosigned_checkpoint(self, min_cosignatures: int) -> SignedCheckpoint | None:
        """The newest checkpoint holding at least ``min_cosignatures`` cosignatures."""
        async with self.database.session() as session:
            size = await session.scalar(
                select(LedgerCosignature.size)
                .group_by(LedgerCosignature.size)
                .having(func.count() >= min_cosignatures)
                .order_by(LedgerCosignature.size.desc())
                .limit(1)
            )
        return None if size is None else await self.checkpoint_at(int(size))

    async def cosignatures(self, size: int) -> list[str]:
        async with self.database.session() as session:
            rows = await session.scalars(
                select(LedgerCosignature.line)
                .where(LedgerCosignature.size == size)
                .order_by(LedgerCosignature.witness)
            )
            return list(rows)

    async def add_cosignature(self, size: int, witness: str, line: str) -> None:
        async with self.database.transaction() as session:
            existing = await session.get(LedgerCosignature, (size, witness))
            if existing is None:
                session.add(
                    LedgerCosignature(
                        size=size, witness=witness, line=line, received_at=self.clock()
                    )
                )

    async def tree_head(self) -> TreeHead:
        async with self.database.session() as session:
            row = (
                await session.execute(
                    select(LedgerState.size, LedgerState.root_hash).where(
                        LedgerState.id == _STATE_ID
                    )
                )
            ).one_or_none()
        if row is None:
            return TreeHead(0, merkle.EMPTY_ROOT)
        return TreeHead(int(row.size), bytes(row.root_hash))

    # --- proofs and tiles ------------------------------------------------------------

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        await self._check_size(size)
        if not 0 <= index < size:
            raise RangeError("leaf index out of range for the tree size")
        async with self.database.engine.connect() as session:
            return await self._proof(session, merkle.inclusion_plan(index, size))

    async def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        await self._check_size(size2)
        if not 0 <= size1 <= size2:
            raise RangeError("first tree size must not exceed the second")
        async with self.database.engine.connect() as session:
            return await self._proof(session, merkle.consistency_plan(size1, size2))

    async def root_at(self, size: int) -> bytes:
        await self._check_size(size)
        async with self.database.engine.connect() as session:
            return await self._root_from_tiles(session, size)

    async def _check_size(self, size: int) -> None:
        # the committed size only grows, so a size seen once needs no new query
        if 0 <= size <= self._known_size:
            return
        head = await self.tree_head()
        self._known_size = max(self._known_size, head.size)
        if not 0 <= size <= head.size:
            raise RangeError("tree size beyond the log")

    async def _root_from_tiles(self, session: _Executor, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        return (await self._proof(session, [(0, size)]))[0]

    async def _proof(self, session: _Executor, plan: Sequence[tuple[int, int]]) -> list[bytes]:
        subtrees = [merkle.range_subtrees(a, b) for a, b in plan]
        wanted: dict[tuple[int, int], int] = {}
        for group in subtrees:
            for s in group:
                level, index, layer, position = tiles.locate(s)
                need = (position + 1) << layer
                wanted[(level, index)] = max(wanted.get((level, index), 0), need)
        found = await self._tiles(session, wanted)
        out = []
        for group in subtrees:
            hashes = []
            for s in group:
                level, index, layer, position = tiles.locate(s)
                width, nodes = found[(level, index)]
                hashes.append(tiles.layer_node(nodes, width, layer, position))
            out.append(merkle.fold_subtrees(hashes))
        return out

    async def _tiles(
        self, session: _Executor, wanted: Mapping[tuple[int, int], int]
    ) -> dict[tuple[int, int], tuple[int, bytes]]:
        """Stored tiles at least as wide as ``wanted``; cached, since a tile's nodes at a
        given width never change (partial tiles only grow to the right)."""
        found: dict[tuple[int, int], tuple[int, bytes]] = {}
        missing = []
        for key, need in wanted.items():
            cached = self._tile_cache.get(key)
            if cached is None or cached[0] < need:
                missing.append(key)
            else:
                self._tile_cache.move_to_end(key)
                found[key] = cached
        if missing:
            rows = await session.execute(
                select(LedgerTile.level, LedgerTile.idx, LedgerTile.width, LedgerTile.nodes).where(
                    or_(*(and_(LedgerTile.level == lv, LedgerTile.idx == ix) for lv, ix in missing))
                )
            )
            for row in rows:
                key = (int(row.level), int(row.idx))
                found[key] = (int(row.width), bytes(row.nodes))
                self._tile_cache[key] = found[key]
                if len(self._tile_cache) > _TILE_CACHE_SIZE:
                    self._tile_cache.popitem(last=False)
        if len(found) != len(wanted) or any(found[k][0] < n for k, n in wanted.items()):
            raise LogIntegrityError("a tile needed for a proof is missing")
        return found

    async def tile(self, ref: tiles.TileRef) -> bytes:
        """The bytes served at ``tile/...`` (hash tile or entry bundle), if they exist."""
        level = 0 if ref.level is None else ref.level
        if tiles.tile_width(self._known_size, level, ref.index) < ref.width:
            self._known_size = max(self._known_size, (await self.tree_head()).size)
            if tiles.tile_width(self._known_size, level, ref.index) < ref.width:
                raise RangeError("no such tile")
        async with self.database.engine.connect() as conn:
            if ref.level is None:
                start = ref.index * tiles.TILE_WIDTH
                rows = await conn.scalars(
                    select(LedgerEntry.data)
                    .where(LedgerEntry.idx >= start, LedgerEntry.idx < start + ref.width)
                    .order_by(LedgerEntry.idx)
                )
                return tiles.encode_bundle(bytes(r) for r in rows)
            found = await self._tiles(conn, {(ref.level, ref.index): ref.width})
            return found[(ref.level, ref.index)][1][: ref.width * merkle.HASH_SIZE]

    # --- reading entries -------------------------------------------------------------

    async def entry(self, index: int) -> StoredEntry:
        async with self.database.session() as session:
            row = await session.get(LedgerEntry, index)
        if row is None:
            raise RangeError("no entry at that index")
        return StoredEntry(row.idx, bytes(row.data), row.kind)

    async def entries_for_subject(
        self, subject_id: str, *, below: int, limit: int = 32
    ) -> list[StoredEntry]:
        async with self.database.session() as session:
            rows = await session.execute(
                select(LedgerEntry.idx, LedgerEntry.data, LedgerEntry.kind)
                .where(LedgerEntry.subject_id == subject_id, LedgerEntry.idx < below)
                .order_by(LedgerEntry.idx.desc())
                .limit(limit)
            )
            return [StoredEntry(int(r.idx), bytes(r.data), r.kind) for r in rows]


_ENTRY_COLUMNS = ("idx", "leaf_hash", "data", "kind", "subject_id")
_NEW_ENTRIES = unnest_batch("new_entries", {name: _ENTRIES.c[name].type for name in _ENTRY_COLUMNS})
# PostgreSQL: a batch's entries in one execution (honnin.db.batches); an executemany ran
# the insert once per entry on the server.
_INSERT_BATCH = insert(_ENTRIES).from_select(
    [*_ENTRY_COLUMNS, "appended_at"],
    select(
        *(_NEW_ENTRIES.c[name] for name in _ENTRY_COLUMNS),
        bindparam("b_appended_at", type_=_ENTRIES.c.appended_at.type),
    ),
)


async def _insert_entries(
    conn: AsyncConnection,
    entries: Sequence[NewEntry],
    hashes: Sequence[bytes],
    *,
    first: int,
    now: datetime,
) -> None:
    rows = [
        (first + i, h, e.data, e.kind, e.subject_id)
        for i, (e, h) in enumerate(zip(entries, hashes, strict=True))
    ]
    if conn.dialect.name == "postgresql":
        values = batch_parameters(_ENTRY_COLUMNS, rows)
        await conn.execute(_INSERT_BATCH, {**values, "b_appended_at": now})
        return
    await conn.execute(
        insert(_ENTRIES),
        [{**dict(zip(_ENTRY_COLUMNS, row, strict=True)), "appended_at": now} for row in rows],
    )


def _checkpoint_of(origin: str, row: LedgerCheckpoint) -> Checkpoint:
    return Checkpoint(origin=origin, size=row.size, root_hash=bytes(row.root_hash))


def _check_entry(entry: NewEntry) -> None:
    if len(entry.data) > tiles.MAX_ENTRY_SIZE:
        raise EntryError("entry larger than 65535 bytes (tlog-tiles bundles)")
    if not entry.kind or len(entry.kind) > 64:
        raise EntryError("entry kind must be 1-64 characters")
