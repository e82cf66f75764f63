"""ORM models: bank inquiries and the durable webhook outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honnin.db.base import Base, UTCDateTime


class Inquiry(Base):
    __tablename__ = "bank_inquiries"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "idempotency_key"),
        Index("ix_bank_inquiries_status_expires", "status", "expires_at"),
        Index("ix_bank_inquiries_purge_after", "purge_after"),
        # The enterprise's listing, newest first (keyset pages); also its foreign key's.
        Index("ix_bank_inquiries_enterprise_created", "enterprise_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"))
    bank_id: Mapped[str] = mapped_column(ForeignKey("banks.id"))
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"))
    purpose: Mapped[str] = mapped_column(String(100))
    claims: Mapped[list[str]] = mapped_column(JSON)
    return_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    failure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    # Lookup keys are SHA-256 digests: a database dump does not yield usable tokens.
    start_token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    state_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # Sealed with the data key (AES-256-GCM), bound to this row.
    sealed_applicant: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_flow_secrets: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_result: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_bank_payload: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    result_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    match_overall: Mapped[str | None] = mapped_column(String(20), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebhookDelivery(Base):
    """One event to deliver to an enterprise; retried with backoff until delivered or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_enterprise_created", "enterprise_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"))
    object_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebhookKey(Base):
    """Which derived key signs an enterprise's webhooks; no row: version 0, never rotated.

    Only versions are stored: each key is derived from the deployment's webhook secret
    (:func:`honnin.inquiries.core.enterprise_webhook_secret`), so this table holds nothing
    secret."""

    __tablename__ = "webhook_keys"

    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    previous_version: Mapped[int | None] = mapped_column(Integer, default=None)
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime())
