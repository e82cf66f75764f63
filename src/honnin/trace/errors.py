"""Errors of the trace package (distribution events, queries, console, receipts)."""

from __future__ import annotations

from honnin.errors import HonninError


class TraceError(HonninError):
    code = "trace_error"
    status = 400


class InvalidTraceEventError(TraceError):
    """A caller tried to record an event that breaks the event model (a bug, not user input)."""

    code = "invalid_trace_event"
    status = 500


class InvalidTraceQueryError(TraceError):
    code = "invalid_trace_query"
    status = 400


class InvalidCursorError(TraceError):
    code = "invalid_cursor"
    status = 400


class ReceiptNotFoundError(TraceError):
    """Unknown or expired receipt link (one answer for both, so links cannot be probed)."""

    code = "receipt_not_found"
    status = 404


class RevocationNotAllowedError(TraceError):
    code = "revocation_not_allowed"
    status = 409


class ConsoleUnauthenticatedError(TraceError):
    code = "console_unauthenticated"
    status = 401


class ConsoleDisabledError(TraceError):
    code = "console_disabled"
    status = 503


class CsrfError(TraceError):
    code = "csrf_failed"
    status = 403
