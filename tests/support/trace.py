"""Assertions on the distribution history, for every package that records trace events.

from support.trace import assert_trace
async with database.session() as session:
    await assert_trace(session, ["inquiry.created", "consent.given"], object_id=inquiry_id)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

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


DEMO_BANKS = {
    "sakura_oidc": "Sakura Bank",
    "momiji_rest": "Momiji Bank",
    "kaede_xml": "Kaede Shinkin",
}
DEMO_ENTERPRISES = {
    "ent_demo_fintech": "Demo Fintech",
    "ent_demo_securities": "Hikari Securities",
    "ent_demo_telco": "Aozora Mobile",
    "ent_demo_ec": "Nagomi Market",
}


async def seed_demo_traffic(database: Any, *, now: datetime, inquiries: int = 240) -> None:
    """A day of plausible broker traffic through the real TraceService (console demos).

    Each inquiry leaves the events the broker records: created, then consent given and
    data fetched (with latency) and webhook delivered, or consent refused, or a failure.
    """
    from honnin.audit.service import AuditService
    from honnin.contracts.models import Bank, Enterprise
    from honnin.trace.service import TraceService

    clock = StepClock(now - timedelta(hours=23, minutes=30))
    trace = TraceService(
        clock=clock,
        audit=AuditService(clock=clock),
        subject_key=b"demo-subject-key-0123456789abcdef",
        base_url="http://127.0.0.1",
    )
    banks = list(DEMO_BANKS)
    enterprises = list(DEMO_ENTERPRISES)
    async with database.transaction() as session:
        for bank_id, name in DEMO_BANKS.items():
            session.add(
                Bank(
                    id=bank_id,
                    name=name,
                    status="active",
                    profile={},
                    created_at=clock.current,
                    updated_at=clock.current,
                )
            )
        for ent_id, name in DEMO_ENTERPRISES.items():
            session.add(
                Enterprise(
                    id=ent_id,
                    name=name,
                    status="active",
                    created_at=clock.current,
                    updated_at=clock.current,
                )
            )
    step = timedelta(hours=23) / inquiries
    for i in range(inquiries):
        bank = banks[(i * 7) % 3 if i % 5 else 0]
        enterprise = enterprises[(i * 3) % 4 if i % 3 else 0]
        base = {
            "object_id": f"inq_demo_{i:05d}",
            "enterprise_id": enterprise,
            "bank_id": bank,
            "claims": ["family_name", "given_name", "birthdate", "address"],
        }
        subject = {"family_name": f"Family{i % 97}", "birthdate": f"19{60 + i % 40}-01-01"}
        async with database.transaction() as session:
            await trace.record(session, kind="inquiry.created", outcome="pending_consent", **base)
            if i % 11 == 3:
                await trace.record(
                    session,
                    kind="consent.refused",
                    outcome="access_denied",
                    subject=subject,
                    **base,
                )
            elif bank == "kaede_xml" and i % 13 == 5:
                await trace.record(
                    session, kind="inquiry.failed", outcome="bank_unavailable", **base
                )
            else:
                await trace.record(
                    session, kind="consent.given", outcome="consented", subject=subject, **base
                )
                latency = {"sakura_oidc": 180, "momiji_rest": 320, "kaede_xml": 650}[bank]
                await trace.record(
                    session,
                    kind="bank.fetched",
                    outcome="match",
                    method="bank_oauth",
                    latency_ms=latency + (i * 37) % 200,
                    subject=subject,
                    **base,
                )
                await trace.record(session, kind="webhook.delivered", outcome="delivered", **base)
        # Uneven arrivals (bursts and gaps) averaging one step: the day stays 23 hours.
        clock.advance(step * (0.5 if i % 4 else 2.5))
