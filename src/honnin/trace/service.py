"""Distribution history: record events inside the caller's transaction, query, export.

Recording API (what other packages call)::

    from honnin.trace.core import TraceEvent
    await trace.record(session, TraceEvent(kind="consent.given", object_id=inquiry.id,
                                           enterprise_id=..., bank_id=..., claims=names,
                                           outcome="consented"))
    # or, the same event with keywords (the inquiries package's ``EventSink`` protocol):
    await trace.record(session, kind="bank.fetched", object_id=inquiry.id,
                       enterprise_id=..., bank_id=..., method="bank_oauth",
                       claims=["family_name", "birthdate"], outcome="match",
                       latency_ms=412, subject={"family_name": ..., "birthdate": ...})

``record`` only adds a row to ``session``: the event commits or rolls back with the state
change it describes, so nothing happens untraced and nothing is traced that did not
happen. Keywords: ``object_id`` and ``outcome`` (required), ``object_type`` (default from
the kind's family: ``inquiry`` or ``verification``), ``enterprise_id``, ``bank_id``,
``method``, ``claims`` (claim *names*; a mapping contributes only its keys), ``purpose``,
``latency_ms``, ``actor``, and either ``subject_id`` (a pseudonym already computed with
:meth:`TraceService.subject_pseudonym`) or ``subject`` (identity attributes, turned into the
pseudonym here and never stored). A value that is not a claim name, an unknown keyword or
kind family raises :class:`~honnin.trace.errors.InvalidTraceEventError` (a bug in the
caller, so the caller's transaction rolls back).

Kinds: see :data:`honnin.trace.core.KNOWN_KINDS` (``inquiry.created``, ``consent.given``,
``consent.refused``, ``bank.fetched``, ``delivered``, ``webhook.delivered``,
``verification.decided``, ``data.purged``, ``revocation.requested``, ...).

Ledger: each event's digest (SHA-256 of its RFC 8785 form) is committed to the
transparency log by :class:`TraceLedgerPublisher` after the event commits (an outbox:
``ledger_index`` is NULL until then), so a ledger outage never blocks a state change.

Queries are keyset-paginated newest first over ``(at, id)`` (opaque cursor); exports
stream batch by batch with a fresh short session each, so memory stays bounded at any size.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from honnin.audit.service import AuditService
from honnin.clock import Clock
from honnin.config import Settings
from honnin.contracts.models import Bank, Contract, Enterprise
from honnin.db import Database, NewRow
from honnin.db.batches import batch_parameters, unnest_batch
from honnin.ids import new_id
from honnin.trace import core
from honnin.trace.core import Cursor, TraceEvent, TraceFilter
from honnin.trace.errors import (
    InvalidTraceEventError,
    InvalidTraceQueryError,
    ReceiptNotFoundError,
    RevocationNotAllowedError,
)
from honnin.trace.models import TraceEventRow, TraceReceipt

_T = TraceEventRow.__table__.c
# On the table, not the entity: the ORM's bulk INSERT path costs more than the statement.
_EVENTS = cast("Table", TraceEventRow.__table__)
_RECEIPTS = cast("Table", TraceReceipt.__table__)
_INSERT_EVENT = insert(_EVENTS)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    at: datetime
    kind: str
    enterprise_id: str | None
    bank_id: str | None
    method: str | None
    claims: tuple[str, ...]
    purpose: str | None
    outcome: str
    latency_ms: int | None
    subject_id: str | None
    object_type: str
    object_id: str
    actor: str | None
    digest: str
    ledger_index: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "at": core.format_time(self.at),
            "kind": self.kind,
            "enterprise_id": self.enterprise_id,
            "bank_id": self.bank_id,
            "method": self.method,
            "claims": list(self.claims),
            "purpose": self.purpose,
            "outcome": self.outcome,
            "latency_ms": self.latency_ms,
            "subject_id": self.subject_id,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "digest": self.digest,
            "ledger_index": self.ledger_index,
        }


@dataclass(frozen=True, slots=True)
class TracePage:
    events: tuple[StoredEvent, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class IssuedReceipt:
    id: str
    token: str
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ReceiptView:
    id: str
    enterprise_id: str | None
    enterprise_name: str | None
    bank_id: str | None
    bank_name: str | None
    purpose: str | None
    created_at: datetime
    expires_at: datetime
    events: tuple[StoredEvent, ...]
    revocable: bool
    not_revocable_reason: str | None
    revocation_requested_at: datetime | None


ExportFormat = Literal["csv", "jsonl"]


def _row_event(row: Row[Any]) -> StoredEvent:
    m = row._mapping
    return StoredEvent(
        id=m["id"],
        at=m["at"],
        kind=m["kind"],
        enterprise_id=m["enterprise_id"],
        bank_id=m["bank_id"],
        method=m["method"],
        claims=tuple(m["claims"] or ()),
        purpose=m["purpose"],
        outcome=m["outcome"],
        latency_ms=m["latency_ms"],
        subject_id=m["subject_id"],
        object_type=m["object_type"],
        object_id=m["object_id"],
        actor=m["actor"],
        digest=m["digest"],
        ledger_index=m["ledger_index"],
    )


def _conditions(filters: TraceFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.since is not None:
        conditions.append(_T.at >= filters.since)
    if filters.until is not None:
        conditions.append(_T.at < filters.until)
    if filters.enterprise_id is not None:
        conditions.append(_T.enterprise_id == filters.enterprise_id)
    if filters.bank_id is not None:
        conditions.append(_T.bank_id == filters.bank_id)
    if filters.subject_id is not None:
        conditions.append(_T.subject_id == filters.subject_id)
    if filters.outcome is not None:
        conditions.append(_T.outcome == filters.outcome)
    if filters.kinds:
        conditions.append(_T.kind.in_(filters.kinds))
    if filters.object_type is not None:
        conditions.append(_T.object_type == filters.object_type)
    if filters.object_id is not None:
        conditions.append(_T.object_id == filters.object_id)
    return conditions


def _after(cursor: Cursor) -> ColumnElement[bool]:
    # Row-value comparison: PostgreSQL and SQLite (>= 3.15) both seek the (…, at, id)
    # index with it, which is what keeps deep pages as fast as the first.
    return tuple_(_T.at, _T.id) < tuple_(cursor.at, cursor.id)


def _page_query(filters: TraceFilter, cursor: Cursor | None, limit: int) -> Select[Any]:
    query = select(TraceEventRow.__table__).where(*_conditions(filters))
    if cursor is not None:
        query = query.where(_after(cursor))
    return query.order_by(_T.at.desc(), _T.id.desc()).limit(limit)


class RevocationPolicy(Protocol):
    async def refusal(self, session: AsyncSession, receipt: TraceReceipt) -> str | None:
        """Why revocation is not allowed for this receipt, or None when it is."""
        ...


class ContractRevocationPolicy:
    """Revocable while a contract between the enterprise and the bank is active, unless the
    purpose is one whose records the law requires the enterprise to keep."""

    def __init__(self, *, irrevocable_purposes: Sequence[str], clock: Clock) -> None:
        self._irrevocable = frozenset(irrevocable_purposes)
        self._clock = clock

    async def refusal(self, session: AsyncSession, receipt: TraceReceipt) -> str | None:
        if receipt.purpose in self._irrevocable:
            return "records for this purpose must be kept by law"
        if receipt.enterprise_id is None or receipt.bank_id is None:
            return None
        now = self._clock.now()
        contract = await session.scalar(
            select(Contract.id).where(
                Contract.enterprise_id == receipt.enterprise_id,
                Contract.bank_id == receipt.bank_id,
                Contract.status == "active",
                Contract.revoked_at.is_(None),
                Contract.valid_from <= now,
                or_(Contract.valid_until.is_(None), Contract.valid_until > now),
            )
        )
        if contract is None:
            return "the contract under which the data was shared has ended"
        return None


class TraceService:
    """Records, queries and exports distribution events; user receipts."""

    def __init__(
        self,
        *,
        clock: Clock,
        audit: AuditService,
        subject_key: bytes | None,
        base_url: str,
        receipt_ttl: timedelta = timedelta(days=30),
        revocation_policy: RevocationPolicy | None = None,
        page_max: int = 1000,
        export_batch: int = 2000,
    ) -> None:
        self._clock = clock
        self._audit = audit
        self._subject_key = subject_key or None
        self._base_url = base_url.rstrip("/")
        self._receipt_ttl = receipt_ttl
        self._policy = revocation_policy or ContractRevocationPolicy(
            irrevocable_purposes=(), clock=clock
        )
        self.page_max = page_max
        self.export_batch = export_batch

    # --- recording ----------------------------------------------------------------------

    def subject_pseudonym(self, identity: Mapping[str, object]) -> str:
        if self._subject_key is None:
            raise InvalidTraceEventError("no subject key configured for pseudonyms")
        return core.subject_pseudonym(self._subject_key, identity)

    async def record(
        self,
        session: AsyncSession,
        event: TraceEvent | None = None,
        /,
        *,
        kind: str | None = None,
        **fields: Any,
    ) -> None:
        """Add one event to ``session`` (the caller's transaction). See the module docstring."""
        # A Core INSERT in the caller's transaction: the unit of work's bookkeeping for a
        # row nobody reads back cost more than the statement (every state change records one).
        await session.execute(_INSERT_EVENT, self._event_row(event, kind, fields))

    def event_row(self, *, kind: str, **fields: Any) -> NewRow:
        """The event :meth:`record` would add, as a row for a guarded write
        (:meth:`honnin.db.Database.write`): it is inserted only with the state change."""
        return NewRow(_EVENTS, self._event_row(None, kind, fields))

    def _event_row(
        self, event: TraceEvent | None, kind: str | None, fields: dict[str, Any]
    ) -> dict[str, Any]:
        if event is None:
            if kind is None:
                raise InvalidTraceEventError("record() needs an event or kind=")
            event = core.event_from_fields(kind, fields, subject_key=self._subject_key)
        elif kind is not None or fields:
            raise InvalidTraceEventError("pass either an event or keywords, not both")
        return self._row(event, self._clock.now())

    @staticmethod
    def _row(event: TraceEvent, at: datetime) -> dict[str, Any]:
        return {
            "at": at,
            "kind": event.kind,
            "enterprise_id": event.enterprise_id,
            "bank_id": event.bank_id,
            "method": event.method,
            "claims": list(event.claims),
            "purpose": event.purpose,
            "outcome": event.outcome,
            "latency_ms": event.latency_ms,
            "subject_id": event.subject_id,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "actor": event.actor,
            "digest": core.event_digest(event, at=at),
        }

    # --- querying -----------------------------------------------------------------------

    async def page(
        self,
        session: AsyncSession,
        filters: TraceFilter,
        *,
        limit: int = 100,
        cursor: str | None = None,
    ) -> TracePage:
        """One page, newest first; ``next_cursor`` is None on the last page."""
        if not 1 <= limit <= self.page_max:
            raise InvalidTraceQueryError(f"limit must be from 1 to {self.page_max}")
        _check_range(filters)
        position = core.decode_cursor(cursor) if cursor else None
        # One row more than asked tells whether another page exists without a COUNT.
        rows = (await session.execute(_page_query(filters, position, limit + 1))).all()
        events = tuple(_row_event(r) for r in rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = events[-1]
            next_cursor = core.encode_cursor(Cursor(at=last.at, id=last.id))
        return TracePage(events=events, next_cursor=next_cursor)

    async def for_object(
        self, session: AsyncSession, *, object_type: str, object_id: str
    ) -> tuple[StoredEvent, ...]:
        """Every event of one object, oldest first (receipts, tests)."""
        query = (
            select(TraceEventRow.__table__)
            .where(_T.object_type == object_type, _T.object_id == object_id)
            .order_by(_T.id)
        )
        return tuple(_row_event(r) for r in (await session.execute(query)).all())

    def export(
        self, database: Database, filters: TraceFilter, *, fmt: ExportFormat
    ) -> AsyncIterator[bytes]:
        """Stream every matching event as CSV (with header) or JSON Lines, newest first.

        The filters are checked here, before any byte is sent: once a streamed response
        has started, an error can no longer become a problem document. Each batch is read
        in its own short session, so no transaction stays open while a slow client
        downloads, and only one batch is in memory at a time. Rows that commit after the
        export began are left out (``id`` bound), so the export is a stable set.
        """
        _check_range(filters)
        return self._export_rows(database, filters, fmt=fmt)

    async def _export_rows(
        self, database: Database, filters: TraceFilter, *, fmt: ExportFormat
    ) -> AsyncIterator[bytes]:
        async with database.session() as session:
            top = await session.scalar(select(func.max(_T.id)))
        if fmt == "csv":
            yield _csv_line(core.CSV_COLUMNS)
        if top is None:
            return
        position: Cursor | None = None
        while True:
            query = _page_query(filters, position, self.export_batch).where(_T.id <= top)
            async with database.session() as session:
                rows = (await session.execute(query)).all()
            if not rows:
                return
            yield _encode_batch(rows, fmt)
            last = rows[-1]._mapping
            position = Cursor(at=last["at"], id=last["id"])
            if len(rows) < self.export_batch:
                return

    # --- receipts -----------------------------------------------------------------------

    def receipt_row(
        self,
        *,
        object_id: str,
        object_type: str = "inquiry",
        enterprise_id: str | None = None,
        bank_id: str | None = None,
        purpose: str | None = None,
    ) -> tuple[NewRow, IssuedReceipt]:
        """The user's receipt for after consent, as a row for the consent's guarded write
        (:meth:`honnin.db.Database.write`), and the link it gives once inserted (the
        token is shown once; only its digest is stored)."""
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        receipt = IssuedReceipt(
            id=new_id("rcpt"),
            token=token,
            url=f"{self._base_url}/receipts/{token}",
            expires_at=now + self._receipt_ttl,
        )
        row = {
            "id": receipt.id,
            "token_digest": _token_digest(token),
            "object_type": object_type,
            "object_id": object_id,
            "enterprise_id": enterprise_id,
            "bank_id": bank_id,
            "purpose": purpose,
            "created_at": now,
            "expires_at": receipt.expires_at,
        }
        return NewRow(_RECEIPTS, row), receipt

    async def _receipt(self, session: AsyncSession, token: str, *, lock: bool) -> TraceReceipt:
        if not 20 <= len(token) <= 100:
            raise ReceiptNotFoundError("this receipt link is unknown or has expired")
        query = select(TraceReceipt).where(TraceReceipt.token_digest == _token_digest(token))
        if lock:
            query = query.with_for_update()
        receipt = await session.scalar(query)
        if receipt is None or receipt.expires_at <= self._clock.now():
            raise ReceiptNotFoundError("this receipt link is unknown or has expired")
        return receipt

    async def receipt(self, session: AsyncSession, token: str) -> ReceiptView:
        return await self._view(session, await self._receipt(session, token, lock=False))

    async def _view(self, session: AsyncSession, receipt: TraceReceipt) -> ReceiptView:
        events = await self.for_object(
            session, object_type=receipt.object_type, object_id=receipt.object_id
        )
        enterprise = (
            await session.scalar(
                select(Enterprise.name).where(Enterprise.id == receipt.enterprise_id)
            )
            if receipt.enterprise_id
            else None
        )
        bank = (
            await session.scalar(select(Bank.name).where(Bank.id == receipt.bank_id))
            if receipt.bank_id
            else None
        )
        refusal = None
        if receipt.revocation_requested_at is None:
            refusal = await self._policy.refusal(session, receipt)
        return ReceiptView(
            id=receipt.id,
            enterprise_id=receipt.enterprise_id,
            enterprise_name=enterprise,
            bank_id=receipt.bank_id,
            bank_name=bank,
            purpose=receipt.purpose,
            created_at=receipt.created_at,
            expires_at=receipt.expires_at,
            events=events,
            revocable=receipt.revocation_requested_at is None and refusal is None,
            not_revocable_reason=refusal,
            revocation_requested_at=receipt.revocation_requested_at,
        )

    async def request_revocation(self, session: AsyncSession, token: str) -> ReceiptView:
        """Record the user's revocation request once: an event plus an audit entry.

        A second request on the same receipt changes nothing and records nothing.
        """
        receipt = await self._receipt(session, token, lock=True)
        if receipt.revocation_requested_at is not None:
            return await self._view(session, receipt)
        refusal = await self._policy.refusal(session, receipt)
        if refusal is not None:
            raise RevocationNotAllowedError(refusal)
        now = self._clock.now()
        receipt.revocation_requested_at = now
        await self.record(
            session,
            TraceEvent(
                kind=core.REVOCATION_REQUESTED,
                object_type=receipt.object_type,
                object_id=receipt.object_id,
                enterprise_id=receipt.enterprise_id,
                bank_id=receipt.bank_id,
                purpose=receipt.purpose,
                outcome="requested",
                actor=f"subject:receipt:{receipt.id}",
            ),
        )
        await self._audit.record(
            session,
            actor=f"subject:receipt:{receipt.id}",
            action="trace.revocation_requested",
            object_type=receipt.object_type,
            object_id=receipt.object_id,
            details={"receipt_id": receipt.id, "enterprise_id": receipt.enterprise_id},
        )
        await session.flush()
        return await self._view(session, receipt)


def _check_range(filters: TraceFilter) -> None:
    if filters.since and filters.until and filters.since >= filters.until:
        raise InvalidTraceQueryError("since must be before until")


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _csv_line(values: Sequence[object]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode()


_CSV_SELECT = [_T[name] for name in core.CSV_COLUMNS]
_AT, _CLAIMS = core.CSV_COLUMNS.index("at"), core.CSV_COLUMNS.index("claims")
_PURPOSE = core.CSV_COLUMNS.index("purpose")


def _encode_batch(rows: Sequence[Row[Any]], fmt: ExportFormat) -> bytes:
    buffer = io.StringIO()
    if fmt == "csv":
        # Id columns hold validated tokens that start alphanumeric (or hex, or claim
        # names), so only the free-text purpose needs the formula guard; None writes "".
        writer = csv.writer(buffer, lineterminator="\r\n")
        for row in rows:
            cells: list[Any] = [row._mapping[c] for c in _CSV_SELECT]
            cells[_AT] = core.format_time(cells[_AT])
            cells[_CLAIMS] = " ".join(cells[_CLAIMS] or ())
            cells[_PURPOSE] = core.csv_text(cells[_PURPOSE])
            writer.writerow(cells)
    else:
        for row in rows:
            json.dump(_row_event(row).to_json(), buffer, separators=(",", ":"), ensure_ascii=False)
            buffer.write("\n")
    return buffer.getvalue().encode()


# --- ledger ------------------------------------------------------------------------------


class LedgerReceipt(Protocol):
    """Where the log put an entry (:class:`honnin.ledger.log.Receipt`)."""

    @property
    def index(self) -> int: ...


class EventAppender(Protocol):
    """What :class:`honnin.ledger.service.LedgerService` offers for generic events."""

    async def append_events(
        self, kind: str, payloads: Sequence[Mapping[str, Any]]
    ) -> Sequence[LedgerReceipt]: ...


LEDGER_KIND = "trace.event"


_MARK_COLUMNS = ("id", "ledger_index")
_MARKED = unnest_batch("marked", {"id": BigInteger(), "ledger_index": BigInteger()})
# PostgreSQL: a batch's ledger indexes in one execution (honnin.db.batches); an
# executemany ran the update once per event on the server.
_MARK_BATCH = (
    update(_EVENTS)
    .where(_T.id == _MARKED.c.id, _T.ledger_index.is_(None))
    .values(ledger_index=_MARKED.c.ledger_index)
)
_MARK_ONE = (
    update(_EVENTS)
    .where(and_(_T.id == bindparam("b_id"), _T.ledger_index.is_(None)))
    .values(ledger_index=bindparam("b_index"))
)


class TraceLedgerPublisher:
    """Commits trace event digests to the transparency log (transactional outbox).

    Each process runs one. On PostgreSQL a batch is claimed with ``FOR UPDATE SKIP
    LOCKED`` in a transaction that stays open until the batch is marked, so publishers
    in other processes (``--workers``, other instances) take other rows instead of
    appending the same digests again. At-least-once all the same: should the process stop
    between the ledger append and that commit, the digest is appended again on the next
    run, and a verifier de-duplicates on ``event``. SQLite has no row locks to skip; there
    several processes may append a digest twice.
    """

    def __init__(self, *, database: Database, ledger: EventAppender, batch_size: int = 256) -> None:
        self._database = database
        self._ledger = ledger
        self._batch = batch_size

    async def publish_pending(self) -> int:
        """Append the events not yet in the ledger, in batches, until a batch is not full;
        returns how many were appended.

        Events recorded meanwhile wait for the next round: chasing them kept the publisher
        busy with a few events at a time under steady load, each batch with its own ledger
        transaction and signed checkpoint (docs/benchmarks.md, inquiry, tenth round)."""
        total = 0
        while True:
            published = await self._publish_batch()
            total += published
            if published < self._batch:
                return total

    async def _publish_batch(self) -> int:
        query = (
            select(_T.id, _T.digest)
            .where(_T.ledger_index.is_(None))
            .order_by(_T.id)
            .limit(self._batch)
        )
        engine = self._database.engine
        if self._database.dialect != "postgresql":
            # SQLite: a read, then a short write transaction (a read snapshot held across
            # the log's own writes could not become a write afterwards).
            async with engine.connect() as connection:
                rows = (await connection.execute(query)).all()
            if not rows:
                return 0
            receipts = await self._append(rows)
            async with engine.begin() as connection:
                await self._mark(connection, rows, receipts)
            return len(rows)
        async with engine.begin() as connection:
            rows = (await connection.execute(query.with_for_update(skip_locked=True))).all()
            if not rows:
                return 0
            # The log appends in transactions of its own, on other connections; these rows
            # stay locked until they are marked.
            receipts = await self._append(rows)
            await self._mark(connection, rows, receipts)
        return len(rows)

    async def _append(self, rows: Sequence[Row[Any, Any]]) -> Sequence[LedgerReceipt]:
        # One call for the batch: a gather of one append per event made every appender
        # wait its turn on the log's lock after the first had committed them all
        # (docs/benchmarks.md, inquiry, thirteenth round).
        return await self._ledger.append_events(
            LEDGER_KIND, [{"event": str(r.id), "digest": r.digest} for r in rows]
        )

    @staticmethod
    async def _mark(
        connection: AsyncConnection,
        rows: Sequence[Row[Any, Any]],
        receipts: Sequence[LedgerReceipt],
    ) -> None:
        # The IS NULL guard keeps the first index should two publishers still have raced
        # (SQLite).
        marks = [(row.id, int(receipt.index)) for row, receipt in zip(rows, receipts, strict=True)]
        if connection.dialect.name == "postgresql":
            await connection.execute(_MARK_BATCH, batch_parameters(_MARK_COLUMNS, marks))
            return
        await connection.execute(
            _MARK_ONE, [{"b_id": event_id, "b_index": index} for event_id, index in marks]
        )

    async def run(self, *, interval_seconds: float) -> None:
        """Publish forever (a lifespan task); errors wait for the next round."""
        while True:
            try:
                await self.publish_pending()
            except Exception:  # noqa: BLE001 - the outbox keeps the rows; retried next round
                await asyncio.sleep(interval_seconds)
                continue
            await asyncio.sleep(interval_seconds)


def start_ledger_publisher(
    *, database: Database, ledger: EventAppender | None, batch_size: int, interval_seconds: float
) -> asyncio.Task[None] | None:
    """Background task committing trace digests to ``ledger``; None when no ledger is wired."""
    if ledger is None or not hasattr(ledger, "append_events"):
        return None
    publisher = TraceLedgerPublisher(database=database, ledger=ledger, batch_size=batch_size)
    return asyncio.create_task(publisher.run(interval_seconds=interval_seconds))


def bucket_expression(dialect: str, bucket: Literal["hour", "day"]) -> ColumnElement[str]:
    """SQL text of the UTC hour/day of ``at``, spelt ``YYYY-MM-DD[ HH]`` on both backends."""
    if dialect == "sqlite":
        fmt = "%Y-%m-%d %H" if bucket == "hour" else "%Y-%m-%d"
        return func.strftime(fmt, _T.at)
    pattern = "YYYY-MM-DD HH24" if bucket == "hour" else "YYYY-MM-DD"
    return func.to_char(func.timezone("UTC", _T.at), literal_column(f"'{pattern}'"))


def build_trace_service(*, settings: Settings, clock: Clock, audit: AuditService) -> TraceService:
    """The composition root's factory (``honnin.app.create_app``)."""
    key = settings.subject_key.get_secret_value().encode() or None
    return TraceService(
        clock=clock,
        audit=audit,
        subject_key=key,
        base_url=settings.base_url,
        receipt_ttl=timedelta(hours=settings.trace_receipt_ttl_hours),
        revocation_policy=ContractRevocationPolicy(
            irrevocable_purposes=settings.trace_irrevocable_purposes, clock=clock
        ),
        page_max=settings.trace_page_max,
        export_batch=settings.trace_export_batch,
    )
