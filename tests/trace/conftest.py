"""Fixtures of the trace tests: a movable clock and a TraceService on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from honnin.audit.service import AuditService
from honnin.trace.service import ContractRevocationPolicy, TraceService
from support.trace import StepClock

SUBJECT_KEY = b"trace-test-subject-key-0123456789"


@pytest.fixture
def clock() -> StepClock:
    return StepClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), timedelta(milliseconds=1))


@pytest.fixture
def trace(clock: StepClock) -> TraceService:
    return TraceService(
        clock=clock,
        audit=AuditService(clock=clock),
        subject_key=SUBJECT_KEY,
        base_url="http://honnin.test",
        revocation_policy=ContractRevocationPolicy(
            irrevocable_purposes=("aml_record_keeping",), clock=clock
        ),
        page_max=500,
        export_batch=100,
    )
