"""ASGI middleware: request id, body-size limit, Prometheus metrics and the access log.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so it adds little to each request and
streams bodies without buffering them.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from honnin.gateway.errors import BodyTooLargeError
from honnin.gateway.problems import BODY_TOO_LARGE_FLAG, problem_body

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = structlog.get_logger("honnin.access")


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "honnin_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "honnin_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: HttpMetrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or secrets.token_hex(12)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status_holder: dict[str, int] = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if _has_nul(scope):
                await _send_problem(
                    send_with_id,
                    status=400,
                    code="invalid_characters",
                    detail="NUL characters are not allowed in the path or query",
                    request_id=request_id,
                )
                return
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                await _send_problem(
                    send_with_id,
                    status=413,
                    code=BodyTooLargeError.code,
                    detail=f"the request body exceeds {self.max_body_bytes} bytes",
                    request_id=request_id,
                )
                return
            await self.app(scope, self._limited(receive, state), send_with_id)
        finally:
            self._observe(scope, status_holder["status"], time.perf_counter() - started)

    def _limited(self, receive: Receive, state: dict[str, Any]) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI turns errors while reading a body into a generic 400; the flag
                    # lets the problem handler answer 413 instead.
                    state[BODY_TOO_LARGE_FLAG] = True
                    raise BodyTooLargeError(f"the request body exceeds {limit} bytes")
            return message

        return limited_receive

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        route = _route_template(scope)
        method = scope.get("method", "")
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(elapsed)
        state: dict[str, Any] = scope.get("state", {})
        log.info(
            "request",
            method=method,
            route=route,
            status=status,
            duration_ms=round(elapsed * 1000, 3),
            enterprise_id=state.get("enterprise_id"),
        )


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.match(text) else None
    return None


def _has_nul(scope: Scope) -> bool:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"")
    return any(b"%00" in part.lower() or b"\x00" in part for part in (raw_path, query))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


async def _send_problem(
    send: Send, *, status: int, code: str, detail: str, request_id: str
) -> None:
    body = json.dumps(
        problem_body(status=status, code=code, detail=detail, request_id=request_id, extra={})
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
