"""Pure gateway decisions: header fields, quota days, reservations, closures, API names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.gateway.core import (
    Closure,
    LimitPolicy,
    LimitState,
    api_name,
    quota_day,
    ratelimit_field,
    ratelimit_policy_field,
    reservation_size,
    retry_after,
    seconds_to_day_end,
    validate_closure,
)
from honnin.gateway.errors import InvalidClosureError

NOW = datetime(2026, 11, 21, 23, 59, 30, tzinfo=UTC)


def test_header_fields_follow_the_ietf_draft_syntax() -> None:
    second = LimitPolicy("second", 50, 1)
    day = LimitPolicy("day", 1000, 86_400)
    assert ratelimit_policy_field([second, day]) == '"second";q=50;w=1, "day";q=1000;w=86400'
    states = [LimitState(second, 49, 0.2), LimitState(day, -1, 30.5)]
    assert ratelimit_field(states) == '"second";r=49;t=1, "day";r=0;t=31'
    assert states[1].exceeded
    assert not states[0].exceeded


@given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_retry_after_is_a_positive_whole_number(seconds: float) -> None:
    value = int(retry_after(seconds))
    assert value >= 1
    assert value >= seconds


def test_quota_day_is_the_utc_day() -> None:
    tokyo = timezone(timedelta(hours=9))
    at = datetime(2026, 11, 22, 8, 0, tzinfo=tokyo)  # 23:00 UTC the day before
    assert quota_day(at).isoformat() == "2026-11-21"
    assert seconds_to_day_end(NOW) == 30


@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=1, max_value=1000),
)
def test_reservations_never_exceed_what_is_left_when_it_matters(
    quota: int, counted: int, maximum: int
) -> None:
    size = reservation_size(quota, counted, maximum)
    assert 1 <= size <= maximum
    left = quota - counted
    if left >= 64:
        assert size <= left // 64
    else:
        assert size == 1


def test_closure_lifetime_and_retry_after() -> None:
    open_ended = Closure("api", "inquiries", None, None, "admin:ops", NOW)
    assert open_ended.active(NOW + timedelta(days=365))
    assert open_ended.retry_after_seconds(NOW, default=300) == 300
    timed = Closure("bank", "momiji_rest", "maintenance", NOW + timedelta(minutes=5), "x", NOW)
    assert timed.active(NOW)
    assert timed.retry_after_seconds(NOW, default=300) == 300.0
    assert not timed.active(NOW + timedelta(minutes=5))


@pytest.mark.parametrize(
    ("scope", "target", "reopen_at", "message"),
    [
        ("galaxy", "x", None, "scope must be one of"),
        ("api", "", None, "target"),
        ("api", "a/b", None, "target"),
        ("api", "x" * 129, None, "target"),
        ("api", "inquiries", NOW.replace(tzinfo=None), "UTC offset"),
        ("api", "inquiries", NOW - timedelta(seconds=1), "future"),
    ],
)
def test_invalid_closures(
    scope: str, target: str, reopen_at: datetime | None, message: str
) -> None:
    with pytest.raises(InvalidClosureError, match=message):
        validate_closure(scope, target, reopen_at=reopen_at, now=NOW)


def test_api_names() -> None:
    assert api_name("/v1/banks") == "banks"
    assert api_name("/v1/contracts/{contract_id}") == "contracts"
    assert api_name("/v1") == "v1"
    assert api_name("/") == "root"
