"""Pure flow-control rules: the breaker state machine, back-off, per-bank settings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.banks.flow_errors import FlowConfigError
from honnin.banks.flowcore import (
    BankLimits,
    Breaker,
    admit,
    backoff_delay,
    limits_for,
    on_failure,
    on_success,
)

LIMITS = BankLimits(breaker_failures=3, breaker_open_seconds=10, timeout_seconds=2)

Event = tuple[str, float]  # ("call" | "ok" | "fail", seconds later)
events = st.lists(
    st.tuples(st.sampled_from(["call", "ok", "fail"]), st.floats(min_value=0, max_value=20)),
    max_size=60,
)


@given(events)
def test_breaker_never_lets_two_probes_out_and_refuses_while_open(seq: list[Event]) -> None:
    state, now, probes_out = Breaker(), 0.0, 0
    for kind, step in seq:
        now += step
        if kind == "call":
            before = state
            answer, state = admit(state, now=now, limits=LIMITS)
            if before.mode == "open" and now < before.opened_at + LIMITS.breaker_open_seconds:
                assert not answer.allowed
                assert answer.retry_after > 0
            if answer.probe:
                # A new probe only once the previous one's lease has ended.
                assert probes_out == 0 or now >= before.probe_until
                probes_out = 1
            if before.mode == "closed":
                assert answer.allowed
                assert not answer.probe
        elif kind == "ok":
            state, probes_out = on_success(state), 0
            assert state.mode == "closed"
        else:
            state = on_failure(state, now=now, limits=LIMITS)
            if state.mode != "half_open":
                probes_out = 0


def test_consecutive_failures_open_and_success_resets() -> None:
    state = Breaker()
    for _ in range(LIMITS.breaker_failures - 1):
        state = on_failure(state, now=0, limits=LIMITS)
    assert state.mode == "closed"
    assert on_success(state) == Breaker()
    state = on_failure(state, now=5, limits=LIMITS)
    assert (state.mode, state.opened_at) == ("open", 5)
    answer, state = admit(state, now=14.9, limits=LIMITS)
    assert not answer.allowed
    assert answer.retry_after == pytest.approx(0.1)
    answer, state = admit(state, now=15, limits=LIMITS)
    assert (answer.allowed, answer.probe, state.mode) == (True, True, "half_open")
    failed = on_failure(state, now=16, limits=LIMITS)
    assert (failed.mode, failed.opened_at) == ("open", 16)


@given(st.integers(min_value=0, max_value=60), st.floats(min_value=0, max_value=0.999999))
def test_backoff_is_full_jitter_below_the_cap(attempt: int, unit: float) -> None:
    limits = BankLimits(retry_backoff_seconds=0.2, retry_backoff_max_seconds=2.0)
    delay = backoff_delay(attempt, limits=limits, unit=unit)
    assert 0 <= delay <= min(2.0, 0.2 * 2**attempt)


def test_per_bank_overrides_are_checked() -> None:
    defaults = BankLimits()
    slow = limits_for("slow", defaults=defaults, per_bank={"slow": {"max_in_flight": 2}})
    assert (slow.max_in_flight, slow.rate_per_second) == (2, defaults.rate_per_second)
    assert limits_for("other", defaults=defaults, per_bank={}) is defaults
    assert slow.lease_seconds == defaults.timeout_seconds + defaults.lease_margin_seconds
    for bad, message in (
        ({"max_in_flight": 0}, "at least 1"),
        ({"max_in_flight": 1.5}, "whole number"),
        ({"rate_per_second": "fast"}, "must be a number"),
        ({"retries": True}, "must be a number"),
        ({"colour": 1}, "unknown bank flow settings"),
    ):
        with pytest.raises(FlowConfigError, match=message):
            defaults.with_overrides(bad)
