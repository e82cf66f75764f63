"""RFC 9457 problem details for every error the platform returns.

Translation from exceptions to HTTP happens here once. Each body has ``type``, ``title``,
``status``, ``detail``, a stable ``code`` and the ``request_id``; OAuth token-endpoint
errors also carry RFC 6749 ``error`` / ``error_description``. Nothing the client sent is
echoed back, so no personal data leaks into error bodies or logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from honnin.errors import HonninError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://honnin.dev/problems/"
BODY_TOO_LARGE_FLAG = "body_too_large"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}

log = structlog.get_logger("honnin.gateway")


def problem_body(
    *, status: int, code: str, detail: str, request_id: str | None, extra: Mapping[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_response(
    *,
    status: int,
    code: str,
    detail: str,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(
            status=status, code=code, detail=detail, request_id=request_id, extra=extra or {}
        ),
        status_code=status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=dict(headers or {}),
    )


def _request_id(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


async def _honnin_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HonninError)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    oauth_error = getattr(exc, "oauth_error", None)
    if oauth_error:
        extra["error"] = oauth_error
        extra["error_description"] = exc.safe_message
    if exc.status == 401:
        scheme = "Basic" if oauth_error else 'Bearer realm="honnin"'
        headers["WWW-Authenticate"] = scheme
    if exc.status >= 500:
        log.error("request failed", code=exc.code, error_type=type(exc).__name__)
    for key, value in exc.extra.items():
        if key == "headers" and isinstance(value, Mapping):
            headers.update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, str | int | float | bool | list | dict) or value is None:
            extra[key] = value
    return problem_response(
        status=exc.status,
        code=exc.code,
        detail=exc.safe_message,
        request_id=_request_id(request),
        headers=headers,
        extra=extra,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and what kind: never the submitted value, which may be personal data.
    return [
        {
            "location": [str(p) for p in err.get("loc", ())],
            "message": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(
            status=400,
            code="malformed_json",
            detail="the request body is not valid JSON",
            request_id=_request_id(request),
        )
    return problem_response(
        status=422,
        code="validation_error",
        detail="the request does not match the schema",
        request_id=_request_id(request),
        extra={"errors": errors},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if getattr(request.state, BODY_TOO_LARGE_FLAG, False):
        return problem_response(
            status=413,
            code="body_too_large",
            detail="the request body is too large",
            request_id=_request_id(request),
        )
    status = exc.status_code
    code = _HTTP_CODES.get(status, "http_error")
    if status == 404:
        detail = "no such resource"
    elif status == 405:
        detail = f"method {request.method} is not allowed here"
    else:
        detail = str(exc.detail) if exc.detail else HTTPStatus(status).phrase
    return problem_response(
        status=status,
        code=code,
        detail=detail,
        request_id=_request_id(request),
        headers=dict(exc.headers or {}),
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", error_type=type(exc).__name__, exc_info=exc)
    return problem_response(
        status=500,
        code="internal_error",
        detail="an internal error occurred; quote the request id to the operator",
        request_id=_request_id(request),
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if not exc.connection_invalidated:
        return await _unexpected_error(request, exc)
    # The server dropped this connection (restart, failover); the pool has replaced the
    # others, so the client's retry is expected to succeed.
    log.warning("database connection lost", error_type=type(exc.orig).__name__)
    return problem_response(
        status=503,
        code="database_unavailable",
        detail="the database connection was lost; retry the request",
        request_id=_request_id(request),
        headers={"Retry-After": "1"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HonninError, _honnin_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
