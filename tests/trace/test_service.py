"""TraceService: recording inside the caller's transaction, keyset pages, receipts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from honnin.db import Database
from honnin.trace import core
from honnin.trace.core import TraceEvent, TraceFilter
from honnin.trace.errors import InvalidCursorError, InvalidTraceEventError, InvalidTraceQueryError
from honnin.trace.models import TraceEventRow
from honnin.trace.service import TraceService
from support.trace import StepClock, assert_trace


def _event(kind: str, object_id: str = "inq_1", **fields: object) -> TraceEvent:
    values: dict[str, object] = {
        "enterprise_id": "ent_a",
        "bank_id": "sakura_oidc",
        "claims": ("family_name", "birthdate"),
        "outcome": "ok",
    }
    values.update(fields)
    return TraceEvent(kind=kind, object_id=object_id, **values)  # type: ignore[arg-type]


async def test_record_joins_the_callers_transaction(
    database: Database, trace: TraceService
) -> None:
    async with database.transaction() as session:
        await trace.record(session, _event("inquiry.created", outcome="pending_consent"))

    async def failing_state_change() -> None:
        async with database.transaction() as session:
            await trace.record(session, _event("consent.given", outcome="consented"))
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await failing_state_change()
    async with database.session() as session:
        rows = await assert_trace(session, ["inquiry.created"], object_id="inq_1")
    assert rows[0].claims == ["birthdate", "family_name"]
    assert rows[0].object_type == "inquiry"
    assert rows[0].digest == core.event_digest(
        _event("inquiry.created", outcome="pending_consent"), at=rows[0].at
    )


async def test_keyword_form_pseudonymises_the_subject(
    database: Database, trace: TraceService
) -> None:
    identity = {"family_name": "山田", "given_name": "太郎", "birthdate": "1990-01-02"}
    async with database.transaction() as session:
        await trace.record(
            session,
            kind="bank.fetched",
            object_id="inq_2",
            enterprise_id="ent_a",
            bank_id="momiji_rest",
            claims={"family_name": "山田", "birthdate": "1990-01-02"},
            outcome="match",
            latency_ms=250,
            subject=identity,
        )
    async with database.session() as session:
        (row,) = await assert_trace(session, ["bank.fetched"], object_id="inq_2")
    assert row.claims == ["birthdate", "family_name"]
    assert row.subject_id == trace.subject_pseudonym(identity)
    assert "山田" not in repr(row.__dict__)


@pytest.mark.parametrize(
    "fields",
    [
        {"claims": ["山田 太郎"]},
        {"claims": "family_name"},
        {"colour": "red"},
        {"subject_id": "山田太郎"},
        {"latency_ms": -1},
    ],
)
async def test_values_and_unknown_fields_are_refused(
    trace: TraceService, database: Database, fields: dict[str, object]
) -> None:
    async with database.transaction() as session:
        with pytest.raises(InvalidTraceEventError):
            await trace.record(session, kind="delivered", object_id="inq_3", outcome="ok", **fields)


async def test_unknown_kind_family_is_refused(trace: TraceService, database: Database) -> None:
    async with database.transaction() as session:
        with pytest.raises(InvalidTraceEventError):
            await trace.record(session, kind="inquiri.created", object_id="x", outcome="ok")


async def test_keyset_pages_cover_every_row_once(
    database: Database, trace: TraceService, clock: StepClock
) -> None:
    async with database.transaction() as session:
        for i in range(25):
            bank = "sakura_oidc" if i % 2 else "kaede_xml"
            await trace.record(session, _event("delivered", f"inq_{i}", bank_id=bank))
            if i % 5 == 0:
                clock.step = timedelta() if clock.step else timedelta(milliseconds=1)
    seen: list[int] = []
    cursor = None
    async with database.session() as session:
        while True:
            page = await trace.page(
                session, TraceFilter(bank_id="sakura_oidc"), limit=4, cursor=cursor
            )
            seen += [e.id for e in page.events]
            assert all(e.bank_id == "sakura_oidc" for e in page.events)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        total = await session.scalar(
            select(func.count()).where(TraceEventRow.bank_id == "sakura_oidc")
        )
    assert len(seen) == len(set(seen)) == total == 12


async def test_bad_cursor_and_range_are_clear_errors(
    database: Database, trace: TraceService, clock: StepClock
) -> None:
    async with database.session() as session:
        with pytest.raises(InvalidCursorError):
            await trace.page(session, TraceFilter(), cursor="not-a-cursor")
        now = clock.now()
        with pytest.raises(InvalidTraceQueryError):
            await trace.page(session, TraceFilter(since=now, until=now))
        with pytest.raises(InvalidTraceQueryError):
            await trace.page(session, TraceFilter(), limit=0)


async def test_every_known_kind_records_exactly_one_event(
    database: Database, trace: TraceService
) -> None:
    async with database.transaction() as session:
        for i, kind in enumerate(core.KNOWN_KINDS):
            await trace.record(session, kind=kind, object_id=f"obj_{i}", outcome="ok")
    async with database.session() as session:
        for i, kind in enumerate(core.KNOWN_KINDS):
            await assert_trace(session, [kind], object_id=f"obj_{i}")
