"""Trace query and export API: operators over every event, enterprises over their own.

``GET /admin/v1/trace`` (admin token) and ``GET /v1/trace`` (scope ``trace:read``; the
enterprise filter is forced to the caller's own enterprise), each with ``/export`` that
streams CSV (RFC 4180) or JSON Lines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from honnin.auth.tokens import Principal
from honnin.db import Database
from honnin.gateway.dependencies import AdminActor, Db, Session, require_scope
from honnin.trace.core import TraceFilter, utc, validate_kind
from honnin.trace.errors import InvalidTraceEventError, InvalidTraceQueryError
from honnin.trace.schemas import TracePageOut
from honnin.trace.service import TraceService

admin_router = APIRouter(prefix="/admin/v1/trace", tags=["trace (operators)"])
enterprise_router = APIRouter(prefix="/v1/trace", tags=["trace"])

_READ = require_scope("trace:read")
_ID = r"^[A-Za-z0-9_.:@-]{1,64}$"
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl"}


async def trace_service(request: Request) -> TraceService:
    service: TraceService = request.app.state.trace
    return service


Trace = Annotated[TraceService, Depends(trace_service)]


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidTraceQueryError(f"{name} needs a time zone (e.g. 2026-11-21T00:00:00Z)")
    return utc(value, name)


async def common_filters(
    since: Annotated[datetime | None, Query(description="Inclusive, RFC 3339")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive, RFC 3339")] = None,
    bank_id: Annotated[str | None, Query(pattern=_ID)] = None,
    subject_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    outcome: Annotated[str | None, Query(pattern=_ID)] = None,
    kind: Annotated[list[str] | None, Query(max_length=20)] = None,
    object_id: Annotated[str | None, Query(pattern=_ID)] = None,
) -> TraceFilter:
    kinds: tuple[str, ...] = ()
    for value in kind or ():
        try:
            kinds += (validate_kind(value),)
        except InvalidTraceEventError as exc:
            raise InvalidTraceQueryError(f"unknown event kind {value[:40]!r}") from exc
    return TraceFilter(
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        bank_id=bank_id,
        subject_id=subject_id,
        outcome=outcome,
        kinds=kinds,
        object_id=object_id,
    )


Filters = Annotated[TraceFilter, Depends(common_filters)]
Limit = Annotated[int, Query(ge=1, le=10_000)]
CursorParam = Annotated[str | None, Query(max_length=200)]
Format = Annotated[Literal["csv", "jsonl"], Query(alias="format")]


def _with_enterprise(filters: TraceFilter, enterprise_id: str | None) -> TraceFilter:
    return TraceFilter(
        since=filters.since,
        until=filters.until,
        enterprise_id=enterprise_id,
        bank_id=filters.bank_id,
        subject_id=filters.subject_id,
        outcome=filters.outcome,
        kinds=filters.kinds,
        object_id=filters.object_id,
    )


async def _page(
    trace: TraceService, session: Session, filters: TraceFilter, limit: int, cursor: str | None
) -> TracePageOut:
    page = await trace.page(session, filters, limit=limit, cursor=cursor)
    return TracePageOut.model_validate(
        {"events": [e.to_json() for e in page.events], "next_cursor": page.next_cursor}
    )


def _stream(
    trace: TraceService, database: Database, filters: TraceFilter, fmt: str
) -> StreamingResponse:
    chosen: Literal["csv", "jsonl"] = "csv" if fmt == "csv" else "jsonl"
    return StreamingResponse(
        trace.export(database, filters, fmt=chosen),
        media_type=_MEDIA[chosen],
        headers={
            "Content-Disposition": f'attachment; filename="trace.{chosen}"',
            "Cache-Control": "no-store",
        },
    )


@admin_router.get("", response_model=TracePageOut, summary="Distribution events (all)")
async def admin_list(
    session: Session,
    _actor: AdminActor,
    trace: Trace,
    filters: Filters,
    enterprise_id: Annotated[str | None, Query(pattern=_ID)] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> TracePageOut:
    return await _page(trace, session, _with_enterprise(filters, enterprise_id), limit, cursor)


@admin_router.get("/export", summary="Export distribution events (CSV or JSON Lines)")
async def admin_export(
    _actor: AdminActor,
    trace: Trace,
    database: Db,
    filters: Filters,
    enterprise_id: Annotated[str | None, Query(pattern=_ID)] = None,
    fmt: Format = "csv",
) -> StreamingResponse:
    return _stream(trace, database, _with_enterprise(filters, enterprise_id), fmt)


@enterprise_router.get("", response_model=TracePageOut, summary="Your distribution events")
async def enterprise_list(
    session: Session,
    principal: Annotated[Principal, Depends(_READ)],
    trace: Trace,
    filters: Filters,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> TracePageOut:
    scoped = _with_enterprise(filters, principal.enterprise_id)
    return await _page(trace, session, scoped, limit, cursor)


@enterprise_router.get("/export", summary="Export your distribution events")
async def enterprise_export(
    principal: Annotated[Principal, Depends(_READ)],
    trace: Trace,
    database: Db,
    filters: Filters,
    fmt: Format = "csv",
) -> StreamingResponse:
    return _stream(trace, database, _with_enterprise(filters, principal.enterprise_id), fmt)
