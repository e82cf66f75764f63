"""HTTP schemas of the gateway's admin API: operator closures and bank flow status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from honnin.gateway.core import Closure
from honnin.schema_base import StrictModel

TARGET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class ClosureCreate(StrictModel):
    scope: Literal["api", "bank", "enterprise"]
    target: str = Field(pattern=TARGET_PATTERN, description="API name, bank id or enterprise id")
    reason: str | None = Field(default=None, max_length=500)
    reopen_at: AwareDatetime | None = Field(
        default=None, description="announced reopening; the closure lapses at this instant"
    )


class ClosureOut(BaseModel):
    scope: str
    target: str
    reason: str | None
    reopen_at: datetime | None
    closed_by: str
    closed_at: datetime

    @classmethod
    def of(cls, closure: Closure) -> ClosureOut:
        return cls(
            scope=closure.scope,
            target=closure.target,
            reason=closure.reason,
            reopen_at=closure.reopen_at,
            closed_by=closure.closed_by,
            closed_at=closure.closed_at,
        )


class ClosureList(BaseModel):
    closures: list[ClosureOut]


class BankFlowOut(BaseModel):
    bank_id: str
    breaker: str
    consecutive_failures: int
    in_flight: int
    waiting: int
    limits: dict[str, Any]
