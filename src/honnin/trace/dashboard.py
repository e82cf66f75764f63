"""Figures for the operator console: a few aggregate queries over one time window.

Two GROUP BY queries over the window's ``(at, id)`` index range (one by bank, enterprise,
kind and outcome; one by time bucket, kind and outcome) give every figure; the grouping
keys are few, so the rows returned stay small however many events the window holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.contracts.models import Bank, Enterprise
from honnin.trace import core
from honnin.trace.models import TraceEventRow
from honnin.trace.service import StoredEvent, TraceService, bucket_expression

_T = TraceEventRow.__table__.c

Bucket = Literal["hour", "day"]
WINDOWS: dict[str, tuple[timedelta, Bucket]] = {
    "6h": (timedelta(hours=6), "hour"),
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
}
# Kinds that move identity data from a bank towards an enterprise (the flow diagram).
FLOW_KINDS = (core.BANK_FETCHED,)


@dataclass(frozen=True, slots=True)
class Counts:
    ok: int = 0
    denied: int = 0
    error: int = 0

    @property
    def total(self) -> int:
        return self.ok + self.denied + self.error

    def rate(self, which: Literal["denied", "error"]) -> float:
        return getattr(self, which) / self.total if self.total else 0.0

    def plus(self, cls: core.OutcomeClass, n: int) -> Counts:
        return Counts(
            ok=self.ok + (n if cls == "ok" else 0),
            denied=self.denied + (n if cls == "denied" else 0),
            error=self.error + (n if cls == "error" else 0),
        )


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    start: datetime
    counts: Counts


@dataclass(frozen=True, slots=True)
class Volume:
    id: str
    name: str
    counts: Counts
    latency_avg_ms: float | None
    latency_max_ms: int | None


@dataclass(frozen=True, slots=True)
class Flow:
    bank_id: str
    enterprise_id: str
    count: int


@dataclass(frozen=True, slots=True)
class ServiceState:
    kind: Literal["api", "bank", "enterprise"]
    id: str
    name: str
    open: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    window: str
    since: datetime
    until: datetime
    bucket: Bucket
    totals: Counts
    timeline: tuple[TimelinePoint, ...]
    banks: tuple[Volume, ...]
    enterprises: tuple[Volume, ...]
    flows: tuple[Flow, ...]
    services: tuple[ServiceState, ...]
    recent: tuple[StoredEvent, ...]


# Active operator closures (honnin.gateway.closures): (scope, target) -> detail, where
# scope is "api", "bank" or "enterprise". Empty shows the contract table's status only.
Closed = Mapping[tuple[str, str], str]


def _floor(at: datetime, bucket: Bucket) -> datetime:
    at = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0) if bucket == "day" else at


def _parse_bucket(text: str, bucket: Bucket) -> datetime:
    fmt = "%Y-%m-%d %H" if bucket == "hour" else "%Y-%m-%d"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


async def build_dashboard(
    session: AsyncSession,
    *,
    trace: TraceService,
    now: datetime,
    window: str = "24h",
    closed: Closed | None = None,
) -> Dashboard:
    span, bucket = WINDOWS.get(window, WINDOWS["24h"])
    window = window if window in WINDOWS else "24h"
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    until = _floor(now, bucket) + step
    since = until - span
    in_window = (_T.at >= since, _T.at < until)

    grouped = (
        await session.execute(
            select(
                _T.bank_id,
                _T.enterprise_id,
                _T.kind,
                _T.outcome,
                func.count(),
                func.sum(_T.latency_ms),
                func.count(_T.latency_ms),
                func.max(_T.latency_ms),
            )
            .where(*in_window)
            .group_by(_T.bank_id, _T.enterprise_id, _T.kind, _T.outcome)
        )
    ).all()
    dialect = session.get_bind().dialect.name
    expr = bucket_expression(dialect, bucket).label("bucket")
    per_bucket = (
        await session.execute(
            select(expr, _T.kind, _T.outcome, func.count())
            .where(*in_window)
            .group_by(expr, _T.kind, _T.outcome)
        )
    ).all()

    totals = Counts()
    by_bank: dict[str, Counts] = defaultdict(Counts)
    by_enterprise: dict[str, Counts] = defaultdict(Counts)
    latency: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # sum, count, max
    flows: dict[tuple[str, str], int] = defaultdict(int)
    for bank_id, enterprise_id, kind, outcome, n, lat_sum, lat_n, lat_max in grouped:
        cls = core.classify(kind, outcome)
        totals = totals.plus(cls, n)
        if bank_id:
            by_bank[bank_id] = by_bank[bank_id].plus(cls, n)
            if lat_n:
                entry = latency[bank_id]
                entry[0] += int(lat_sum or 0)
                entry[1] += int(lat_n)
                entry[2] = max(entry[2], int(lat_max or 0))
        if enterprise_id:
            by_enterprise[enterprise_id] = by_enterprise[enterprise_id].plus(cls, n)
        if bank_id and enterprise_id and kind in FLOW_KINDS and cls == "ok":
            flows[(bank_id, enterprise_id)] += n

    buckets: dict[datetime, Counts] = {}
    cursor = since
    while cursor < until:
        buckets[cursor] = Counts()
        cursor += step
    for text, kind, outcome, n in per_bucket:
        start = _parse_bucket(str(text), bucket)
        if start in buckets:
            buckets[start] = buckets[start].plus(core.classify(kind, outcome), n)

    bank_names = {r[0]: r[1] for r in await session.execute(select(Bank.id, Bank.name))}
    enterprise_names = {
        r[0]: r[1] for r in await session.execute(select(Enterprise.id, Enterprise.name))
    }
    recent = await trace.page(session, core.TraceFilter(), limit=15)
    return Dashboard(
        window=window,
        since=since,
        until=until,
        bucket=bucket,
        totals=totals,
        timeline=tuple(TimelinePoint(start=k, counts=v) for k, v in buckets.items()),
        banks=_volumes(by_bank, bank_names, latency),
        enterprises=_volumes(by_enterprise, enterprise_names, {}),
        flows=tuple(
            Flow(bank_id=b, enterprise_id=e, count=n)
            for (b, e), n in sorted(flows.items(), key=lambda item: -item[1])
        ),
        services=await _services(session, closed=closed or {}),
        recent=recent.events,
    )


def _volumes(
    counts: dict[str, Counts], names: dict[str, str], latency: dict[str, list[int]]
) -> tuple[Volume, ...]:
    result = []
    for key, value in sorted(counts.items(), key=lambda item: -item[1].total):
        lat = latency.get(key)
        result.append(
            Volume(
                id=key,
                name=names.get(key, key),
                counts=value,
                latency_avg_ms=lat[0] / lat[1] if lat and lat[1] else None,
                latency_max_ms=lat[2] if lat and lat[1] else None,
            )
        )
    return tuple(result)


async def _services(session: AsyncSession, *, closed: Closed) -> tuple[ServiceState, ...]:
    states = [
        ServiceState(kind="api", id=target, name=f"{target} API", open=False, detail=detail)
        for (scope, target), detail in sorted(closed.items())
        if scope == "api"
    ]
    for kind, model in (("bank", Bank), ("enterprise", Enterprise)):
        rows = await session.execute(
            select(model.id, model.name, model.status).order_by(model.name)
        )
        for row_id, name, status in rows:
            detail = closed.get((kind, row_id))
            is_open = status == "active" and detail is None
            states.append(
                ServiceState(
                    kind=kind,  # type: ignore[arg-type]
                    id=row_id,
                    name=name,
                    open=is_open,
                    detail=detail or status,
                )
            )
    return tuple(states)


def summary(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard's figures as JSON (tests, ``/console/summary.json``)."""

    def counts(c: Counts) -> dict[str, int]:
        return {"ok": c.ok, "denied": c.denied, "error": c.error, "total": c.total}

    def volumes(items: Iterable[Volume]) -> list[dict[str, Any]]:
        return [
            {
                "id": v.id,
                "name": v.name,
                **counts(v.counts),
                "latency_avg_ms": v.latency_avg_ms,
                "latency_max_ms": v.latency_max_ms,
            }
            for v in items
        ]

    return {
        "window": dashboard.window,
        "since": core.format_time(dashboard.since),
        "until": core.format_time(dashboard.until),
        "totals": counts(dashboard.totals),
        "timeline": [
            {"start": core.format_time(p.start), **counts(p.counts)} for p in dashboard.timeline
        ],
        "banks": volumes(dashboard.banks),
        "enterprises": volumes(dashboard.enterprises),
        "flows": [
            {"bank_id": f.bank_id, "enterprise_id": f.enterprise_id, "count": f.count}
            for f in dashboard.flows
        ],
        "services": [
            {"kind": s.kind, "id": s.id, "open": s.open, "detail": s.detail}
            for s in dashboard.services
        ],
    }
