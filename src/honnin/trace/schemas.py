"""HTTP shapes of the trace API (responses only: every input is a query parameter)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TraceEventOut(BaseModel):
    id: str = Field(description="Event id (decimal string; opaque order within one instant)")
    at: str = Field(description="RFC 3339 UTC time with microseconds")
    kind: str = Field(examples=["bank.fetched"])
    enterprise_id: str | None
    bank_id: str | None
    method: str | None
    claims: list[str] = Field(description="Names of the claims released; never their values")
    purpose: str | None
    outcome: str
    latency_ms: int | None
    subject_id: str | None = Field(description="HMAC-SHA256 pseudonym of the person")
    object_type: str
    object_id: str
    digest: str = Field(description="SHA-256 of the event's RFC 8785 form (ledger leaf)")
    ledger_index: int | None = Field(description="Transparency-log index once committed")


class TracePageOut(BaseModel):
    events: list[TraceEventOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page"
    )
