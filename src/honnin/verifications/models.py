"""ORM model of a verification session; personal data and images are sealed (AES-256-GCM)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honnin.db.base import Base, UTCDateTime


class Verification(Base):
    __tablename__ = "verifications"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "idempotency_key"),
        Index("ix_verifications_status_created", "status", "created_at"),
        Index("ix_verifications_purge_after", "purge_after"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # SHA-256 of the capture token: a database dump does not yield a usable link.
    capture_token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    return_url: Mapped[str | None] = mapped_column(Text, default=None)
    sealed_applicant: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_challenge: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_chip: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_card: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_selfie: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_result: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # Scores and check outcomes only (no personal data): what the reviewer queue lists.
    evidence_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    face_distance: Mapped[float | None] = mapped_column(Float, default=None)
    result_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    ledger_index: Mapped[int | None] = mapped_column(default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_digest: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(80), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    selfie_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
