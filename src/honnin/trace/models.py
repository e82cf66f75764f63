"""ORM models: distribution events and user receipt links.

Events are append-only. Every listing is newest first over ``(at, id)``, so each filter the
query API offers leads a composite index ending in ``(at, id)``: a keyset page is then
one index range scan whatever the table size. Events carry no foreign keys: the history
must outlive the enterprises and banks it names, and inserts stay cheap.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from honnin.db.base import Base, UTCDateTime

_ID = BigInteger().with_variant(Integer(), "sqlite")


class TraceEventRow(Base):
    __tablename__ = "trace_events"
    __table_args__ = (
        Index("ix_trace_events_at_id", "at", "id"),
        Index("ix_trace_events_enterprise_at", "enterprise_id", "at", "id"),
        Index("ix_trace_events_bank_at", "bank_id", "at", "id"),
        Index("ix_trace_events_subject_at", "subject_id", "at", "id"),
        Index("ix_trace_events_object", "object_type", "object_id", "id"),
        # Only rows not yet in the ledger: small however large the table grows.
        Index(
            "ix_trace_events_unledgered",
            "id",
            sqlite_where=text("ledger_index IS NULL"),
            postgresql_where=text("ledger_index IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    enterprise_id: Mapped[str | None] = mapped_column(String(64), default=None)
    bank_id: Mapped[str | None] = mapped_column(String(64), default=None)
    method: Mapped[str | None] = mapped_column(String(64), default=None)
    claims: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str | None] = mapped_column(String(100), default=None)
    outcome: Mapped[str] = mapped_column(String(64))
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    subject_id: Mapped[str | None] = mapped_column(String(64), default=None)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(200), default=None)
    digest: Mapped[str] = mapped_column(String(64))
    ledger_index: Mapped[int | None] = mapped_column(BigInteger, default=None)


class TraceReceipt(Base):
    """A user's link to what was shared: only the SHA-256 of the link token is stored."""

    __tablename__ = "trace_receipts"
    __table_args__ = (Index("ix_trace_receipts_object", "object_type", "object_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[str | None] = mapped_column(String(64), default=None)
    bank_id: Mapped[str | None] = mapped_column(String(64), default=None)
    purpose: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revocation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
