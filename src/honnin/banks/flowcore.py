"""Pure decisions of per-bank flow control: limits, circuit breaker, retry back-off.

No I/O and no clock of its own: every function takes ``now`` (seconds on a monotonic or
Redis server clock) so the same rules run in-process and, mirrored in Lua, in Redis
(:mod:`honnin.banks.flow`).

Circuit breaker (Nygard, *Release It!*, "Circuit Breaker"; the three-state machine):

* ``closed`` - calls pass; ``failure_threshold`` consecutive failures open it.
* ``open`` - calls fail fast until ``open_seconds`` have passed since it opened.
* ``half_open`` - exactly one probe call passes (its lease ends after ``lease_seconds``,
  so a probe lost with its process does not wedge the bank); the probe's success
  closes the breaker, its failure opens it again.

Retry back-off is "full jitter" exponential back-off (AWS Architecture Blog,
"Exponential Backoff And Jitter", 2015): ``uniform(0, min(cap, base * 2**attempt))``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Literal

from honnin.banks.flow_errors import FlowConfigError

BreakerMode = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BankLimits:
    """Flow-control settings of one bank (``bank_*`` settings, overridden per bank)."""

    max_in_flight: int = 8
    rate_per_second: float = 50.0
    queue_size: int = 64
    queue_timeout_seconds: float = 5.0
    timeout_seconds: float = 10.0
    retries: int = 2
    retry_backoff_seconds: float = 0.2
    retry_backoff_max_seconds: float = 2.0
    breaker_failures: int = 5
    breaker_open_seconds: float = 30.0
    lease_margin_seconds: float = 5.0

    def __post_init__(self) -> None:
        checks = (
            (self.max_in_flight >= 1, "max_in_flight must be at least 1"),
            (self.rate_per_second > 0, "rate_per_second must be positive"),
            (self.queue_size >= 0, "queue_size must not be negative"),
            (self.queue_timeout_seconds >= 0, "queue_timeout_seconds must not be negative"),
            (self.timeout_seconds > 0, "timeout_seconds must be positive"),
            (self.retries >= 0, "retries must not be negative"),
            (self.retry_backoff_seconds >= 0, "retry_backoff_seconds must not be negative"),
            (self.retry_backoff_max_seconds >= 0, "retry_backoff_max_seconds must not be negative"),
            (self.breaker_failures >= 1, "breaker_failures must be at least 1"),
            (self.breaker_open_seconds > 0, "breaker_open_seconds must be positive"),
            (self.lease_margin_seconds > 0, "lease_margin_seconds must be positive"),
        )
        for ok, message in checks:
            if not ok:
                raise FlowConfigError(message)

    @property
    def lease_seconds(self) -> float:
        """How long an in-flight slot (or a half-open probe) is held at most.

        A slot whose holder died (process killed) is freed when its lease ends.
        """
        return self.timeout_seconds + self.lease_margin_seconds

    def with_overrides(self, overrides: Mapping[str, object]) -> BankLimits:
        known = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise FlowConfigError(f"unknown bank flow settings: {', '.join(unknown)}")
        values: dict[str, float | int] = {}
        for name, value in overrides.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FlowConfigError(f"bank flow setting {name} must be a number")
            integral = known[name] in ("int", int)
            if integral and value != int(value):
                raise FlowConfigError(f"bank flow setting {name} must be a whole number")
            values[name] = int(value) if integral else float(value)
        return replace(self, **values)  # type: ignore[arg-type]


def limits_for(
    bank_id: str, *, defaults: BankLimits, per_bank: Mapping[str, Mapping[str, object]]
) -> BankLimits:
    overrides = per_bank.get(bank_id)
    return defaults.with_overrides(overrides) if overrides else defaults


@dataclass(frozen=True, slots=True)
class Breaker:
    """The state of one bank's circuit breaker."""

    mode: BreakerMode = "closed"
    failures: int = 0
    opened_at: float = 0.0
    probe_until: float = 0.0


@dataclass(frozen=True, slots=True)
class Admission:
    """The breaker's answer to one call: pass (maybe as the half-open probe) or fail fast."""

    allowed: bool
    probe: bool = False
    retry_after: float = 0.0


def admit(state: Breaker, *, now: float, limits: BankLimits) -> tuple[Admission, Breaker]:
    """May a call go to the bank now? Returns the answer and the breaker's next state."""
    if state.mode == "closed":
        return Admission(allowed=True), state
    reopen_at = state.opened_at + limits.breaker_open_seconds
    if state.mode == "open" and now < reopen_at:
        return Admission(allowed=False, retry_after=reopen_at - now), state
    if state.mode == "half_open" and now < state.probe_until:
        # A probe is out; everyone else waits for its verdict.
        return Admission(allowed=False, retry_after=state.probe_until - now), state
    probe_until = now + limits.lease_seconds
    return Admission(allowed=True, probe=True), replace(
        state, mode="half_open", probe_until=probe_until
    )


def on_success(state: Breaker) -> Breaker:
    del state
    return Breaker()


def on_failure(state: Breaker, *, now: float, limits: BankLimits) -> Breaker:
    if state.mode == "half_open":
        return Breaker(mode="open", failures=state.failures + 1, opened_at=now)
    if state.mode == "open":
        # A call admitted before the breaker opened fails late; the open period stands.
        return replace(state, failures=state.failures + 1)
    failures = state.failures + 1
    if failures >= limits.breaker_failures:
        return Breaker(mode="open", failures=failures, opened_at=now)
    return replace(state, failures=failures)


def backoff_delay(attempt: int, *, limits: BankLimits, unit: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based); ``unit`` in [0, 1)."""
    ceiling = min(
        limits.retry_backoff_max_seconds, math.ldexp(limits.retry_backoff_seconds, attempt)
    )
    return ceiling * unit
