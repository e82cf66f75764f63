"""Fault injection and in-flight accounting for a sandbox bank (an ASGI 3 middleware).

Tests and benchmarks make a bank slow or broken on demand: added latency (with jitter),
5xx answers, requests that hang until the client gives up, connections closed in the
middle of a response, syntactically broken bodies in the bank's own media type, and
answers that never end (a gzip stream of zeros: a few KiB on the wire decode to MiBs).
The same middleware counts concurrent requests at the KYC API (current and peak), which
is how the broker's per-bank flow control is checked from the outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from honnin.sandbox.banks.errors import FaultConfigError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FaultKind = Literal["latency", "error", "hang", "close", "malformed", "flood"]
FaultTarget = Literal["kyc", "token", "par", "authorize", "any"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
FAULT_TARGETS: tuple[str, ...] = get_args(FaultTarget)
EndpointName = Literal["kyc", "token", "par", "authorize", "other"]

MAX_LATENCY_MS = 600_000
MAX_BODY_BYTES = 64 * 1024  # OAuth forms and admin JSON are tiny


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected misbehaviour.

    ``count`` limits how many matching requests it affects (``None``: until cleared).
    ``latency`` faults stack with each other and delay whatever happens next;
    of the other kinds the first matching one decides the answer.
    """

    kind: FaultKind
    target: FaultTarget = "kyc"
    latency_ms: int = 0
    jitter_ms: int = 0
    status: int = 503
    hang_seconds: float = 30.0
    count: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            msg = f"unknown fault kind; expected one of {', '.join(FAULT_KINDS)}"
            raise FaultConfigError(msg)
        if self.target not in FAULT_TARGETS:
            msg = f"unknown fault target; expected one of {', '.join(FAULT_TARGETS)}"
            raise FaultConfigError(msg)
        if not (0 <= self.latency_ms <= MAX_LATENCY_MS and 0 <= self.jitter_ms <= MAX_LATENCY_MS):
            msg = f"latency_ms and jitter_ms must be within 0..{MAX_LATENCY_MS}"
            raise FaultConfigError(msg)
        if not 500 <= self.status <= 599:
            msg = "status must be a 5xx code"
            raise FaultConfigError(msg)
        if not 0 < self.hang_seconds <= 3600:
            msg = "hang_seconds must be within (0, 3600]"
            raise FaultConfigError(msg)
        if self.count is not None and self.count < 1:
            msg = "count must be positive (or absent for 'until cleared')"
            raise FaultConfigError(msg)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Fault:
        allowed = set(cls.__dataclass_fields__)
        unknown = set(data) - allowed
        if unknown:
            msg = f"unknown fault fields: {', '.join(sorted(unknown))}"
            raise FaultConfigError(msg)
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise FaultConfigError("fault needs at least a 'kind'") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "status": self.status,
            "hang_seconds": self.hang_seconds,
            "count": self.count,
        }

    def applies_to(self, endpoint: EndpointName) -> bool:
        return self.target in ("any", endpoint)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the middleware does with one request."""

    delay_seconds: float = 0.0
    outcome: Fault | None = None


class FaultPlan:
    """The active faults of one bank; safe to change from another thread."""

    def __init__(self, faults: Iterable[Fault] = (), *, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = list(faults)
        # Jitter is not security-relevant; a seedable generator keeps runs repeatable.
        self._rng = rng or random.Random()  # noqa: S311

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def decide(self, endpoint: EndpointName) -> Decision:
        """Consume one use of each fault that fires for ``endpoint``."""
        delay_ms = 0.0
        outcome: Fault | None = None
        with self._lock:
            if not self._faults:
                return Decision()
            kept: list[Fault] = []
            for fault in self._faults:
                fires = fault.applies_to(endpoint) and (fault.kind == "latency" or outcome is None)
                if fires:
                    if fault.kind == "latency":
                        delay_ms += fault.latency_ms + self._rng.uniform(0, fault.jitter_ms)
                    else:
                        outcome = fault
                    if fault.count is not None:
                        if fault.count == 1:
                            continue
                        fault = replace(fault, count=fault.count - 1)  # noqa: PLW2901
                kept.append(fault)
            self._faults = kept
        return Decision(delay_seconds=delay_ms / 1000.0, outcome=outcome)


@dataclass(slots=True)
class EndpointStats:
    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0


@dataclass(slots=True)
class BankStats:
    """Request counters per endpoint; ``kyc`` carries the flow-control evidence."""

    endpoints: dict[str, EndpointStats] = field(
        default_factory=lambda: {name: EndpointStats() for name in get_args(EndpointName)}
    )

    def enter(self, endpoint: EndpointName) -> None:
        stats = self.endpoints[endpoint]
        stats.requests += 1
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)

    def leave(self, endpoint: EndpointName) -> None:
        self.endpoints[endpoint].in_flight -= 1

    def reset(self) -> None:
        for stats in self.endpoints.values():
            stats.requests = 0
            stats.peak_in_flight = stats.in_flight

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {
            name: {
                "requests": stats.requests,
                "in_flight": stats.in_flight,
                "peak_in_flight": stats.peak_in_flight,
            }
            for name, stats in self.endpoints.items()
        }


BrokenBody = tuple[bytes, str]  # (body, content type)


class FaultMiddleware:
    """Counts requests per endpoint and applies the :class:`FaultPlan` before the app runs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        plan: FaultPlan,
        stats: BankStats,
        classify: Callable[[str, str], EndpointName],
        broken_body: BrokenBody,
    ) -> None:
        self.app = app
        self.plan = plan
        self.stats = stats
        self.classify = classify
        self.broken_body = broken_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > MAX_BODY_BYTES:
            body = b'{"error":"invalid_request","error_description":"request body too large"}'
            await _respond(send, 413, body, "application/json")
            return
        endpoint = self.classify(scope["method"], scope["path"])
        self.stats.enter(endpoint)
        try:
            decision = self.plan.decide(endpoint) if endpoint != "other" else Decision()
            if decision.delay_seconds:
                await asyncio.sleep(decision.delay_seconds)
            if decision.outcome is None:
                await self.app(scope, receive, send)
            else:
                await self._misbehave(decision.outcome, receive, send)
        finally:
            self.stats.leave(endpoint)

    async def _misbehave(self, fault: Fault, receive: Receive, send: Send) -> None:
        if fault.kind == "error":
            body = b'{"error":"server_error","error_description":"injected fault"}'
            await _respond(send, fault.status, body, "application/json", retry_after=True)
        elif fault.kind == "malformed":
            body, content_type = self.broken_body
            await _respond(send, 200, body, content_type)
        elif fault.kind == "hang":
            await _wait_for_disconnect(receive, fault.hang_seconds)
        elif fault.kind == "flood":
            await _flood(send, receive, self.broken_body[1], fault.hang_seconds)
        elif fault.kind == "close":
            # Promise a body, send part of it, then return: the server closes the
            # connection mid-response, which clients see as a protocol error.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return MAX_BODY_BYTES + 1
    return 0


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, *, retry_after: bool = False
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if retry_after:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _flood(send: Send, receive: Receive, content_type: str, limit: float) -> None:
    """A 200 whose gzip body of zeros goes on until the client hangs up or ``limit`` passes:
    each chunk is a flushed deflate block of a MiB of zeros, about a KiB on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    again = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-encoding", b"gzip"),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    gone = asyncio.create_task(_wait_for_disconnect(receive, limit))
    try:
        chunk = first
        while not gone.done():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            chunk = again
            await asyncio.sleep(0)  # lets the disconnect be seen
    finally:
        gone.cancel()
    with contextlib.suppress(Exception):  # the client is usually gone by now
        await send({"type": "http.response.body", "body": compressor.flush()})


async def _wait_for_disconnect(receive: Receive, limit: float) -> None:
    """Hold the request open until the client disconnects or ``limit`` passes.

    Waiting on ``receive`` (not a bare sleep) frees the task as soon as the client
    times out, so a hung bank does not pile up work or block shutdown.
    """

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(until_disconnect(), timeout=limit)
