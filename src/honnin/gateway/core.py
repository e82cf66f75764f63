"""Pure gateway decisions: rate-limit header fields, quota days, operator closures.

``RateLimit-Policy`` and ``RateLimit`` follow draft-ietf-httpapi-ratelimit-headers-09
(§3, §4): each is a Structured Fields List (RFC 9651) of named policies, the policy with
``q`` (quota) and ``w`` (window, seconds), the current state with ``r`` (remaining) and
``t`` (seconds until the window resets). ``Retry-After`` is RFC 9110 §10.2.3.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from honnin.gateway.errors import InvalidClosureError

ClosureScope = Literal["api", "bank", "enterprise"]
CLOSURE_SCOPES: tuple[ClosureScope, ...] = ("api", "bank", "enterprise")
_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """A quota of ``quota`` requests per ``window`` seconds, named for the header field."""

    name: str
    quota: int
    window: int


@dataclass(frozen=True, slots=True)
class LimitState:
    policy: LimitPolicy
    remaining: int
    reset_seconds: float

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


def _seconds(value: float) -> int:
    return max(0, math.ceil(value))


def ratelimit_policy_field(policies: Iterable[LimitPolicy]) -> str:
    """``RateLimit-Policy: "second";q=50;w=1, "day";q=1000;w=86400``."""
    return ", ".join(f'"{p.name}";q={p.quota};w={p.window}' for p in policies)


def ratelimit_field(states: Iterable[LimitState]) -> str:
    """``RateLimit: "second";r=49;t=1, "day";r=999;t=51234``."""
    return ", ".join(
        f'"{s.policy.name}";r={max(0, s.remaining)};t={_seconds(s.reset_seconds)}' for s in states
    )


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def reservation_size(quota: int, counted: int, maximum: int) -> int:
    """Units of a daily quota to reserve at once, given ``counted`` already handed out.

    A 64th of what is left (at most ``maximum``, at least 1): large quotas cost one
    database write per many requests, the last units are handed out one at a time.
    """
    return max(1, min(maximum, (quota - counted) // 64))


def quota_day(at: datetime) -> date:
    """Daily quotas count per UTC calendar day."""
    return at.astimezone(UTC).date()


def seconds_to_day_end(at: datetime) -> float:
    utc = at.astimezone(UTC)
    end = datetime.combine(utc.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return (end - utc).total_seconds()


@dataclass(frozen=True, slots=True)
class Closure:
    scope: ClosureScope
    target: str
    reason: str | None
    reopen_at: datetime | None
    closed_by: str
    closed_at: datetime

    def active(self, at: datetime) -> bool:
        return self.reopen_at is None or at < self.reopen_at

    def retry_after_seconds(self, at: datetime, *, default: float) -> float:
        """Until the announced reopening, else the operator's default."""
        if self.reopen_at is None:
            return default
        return max(1.0, (self.reopen_at - at).total_seconds())


def validate_closure(
    scope: str, target: str, *, reopen_at: datetime | None, now: datetime
) -> ClosureScope:
    if scope not in CLOSURE_SCOPES:
        raise InvalidClosureError(f"scope must be one of {', '.join(CLOSURE_SCOPES)}")
    if not _TARGET.match(target):
        raise InvalidClosureError("the target must be an API name, bank id or enterprise id")
    if reopen_at is not None:
        if reopen_at.tzinfo is None:
            raise InvalidClosureError("reopen_at needs a UTC offset")
        if reopen_at <= now:
            raise InvalidClosureError("reopen_at must be in the future")
    return scope


def api_name(path: str) -> str:
    """The API a ``/v1/...`` path belongs to: its first segment (``/v1/banks`` -> banks)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "v1":
        return parts[1]
    return parts[0] if parts else "root"
