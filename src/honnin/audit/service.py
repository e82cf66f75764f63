"""Recording and reading audit events. Writes join the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.models import AuditEvent
from honnin.clock import Clock


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


class AuditService:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def record(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            AuditEvent(
                at=self._clock.now(),
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                details=details or {},
            )
        )

    async def list(
        self,
        session: AsyncSession,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[AuditRecord]:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if object_type:
            query = query.where(AuditEvent.object_type == object_type)
        if object_id:
            query = query.where(AuditEvent.object_id == object_id)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        rows = (await session.scalars(query)).all()
        return [
            AuditRecord(
                id=row.id,
                at=row.at,
                actor=row.actor,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                details=row.details,
            )
            for row in rows
        ]
