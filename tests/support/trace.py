"""Assertions on the distribution history, for every package that records trace events.

from support.trace import assert_trace
async with database.session() as session:
    await assert_trace(session, ["inquiry.created", "consent.given"], object_id=inquiry_id)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.trace.models import TraceEventRow


async def trace_kinds(
    session: AsyncSession, *, object_id: str | None = None, object_type: str | None = None
) -> list[str]:
    """Kinds recorded (for one object when given), in recording order."""
    query = select(TraceEventRow.kind).order_by(TraceEventRow.id)
    if object_id is not None:
        query = query.where(TraceEventRow.object_id == object_id)
    if object_type is not None:
        query = query.where(TraceEventRow.object_type == object_type)
    return list((await session.scalars(query)).all())


async def assert_trace(
    session: AsyncSession,
    kinds: Sequence[str],
    *,
    object_id: str | None = None,
    object_type: str | None = None,
) -> list[TraceEventRow]:
    """Exactly these events, in this order, each once — no missing, extra or repeated event.

    Returns the rows so a test can check their fields (claims, outcome, bank, ...).
    """
    query = select(TraceEventRow).order_by(TraceEventRow.id)
    if object_id is not None:
        query = query.where(TraceEventRow.object_id == object_id)
    if object_type is not None:
        query = query.where(TraceEventRow.object_type == object_type)
    rows = list((await session.scalars(query)).all())
    recorded = [row.kind for row in rows]
    assert recorded == list(kinds), f"trace events {recorded} != expected {list(kinds)}"
    return rows


class StepClock:
    """Starts at a fixed instant; each reading may advance it (distinct event times)."""

    def __init__(self, start: datetime, step: timedelta = timedelta()) -> None:
        self.current = start
        self.step = step

    def now(self) -> datetime:
        value = self.current
        self.current += self.step
        return value

    def advance(self, delta: timedelta) -> None:
        self.current += delta
