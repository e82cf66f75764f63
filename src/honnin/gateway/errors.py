"""Gateway errors: malformed or oversized requests, admin authentication."""

from __future__ import annotations

from honnin.errors import HonninError


class GatewayError(HonninError):
    code = "gateway_error"
    status = 400


class BodyTooLargeError(GatewayError):
    code = "body_too_large"
    status = 413


class AdminAuthenticationError(GatewayError):
    code = "admin_unauthenticated"
    status = 401


class UnsupportedMediaTypeError(GatewayError):
    code = "unsupported_media_type"
    status = 415


class RateLimitedError(GatewayError):
    """The enterprise went over its per-second limit or daily quota for this API."""

    code = "rate_limited"
    status = 429


class QuotaExceededError(RateLimitedError):
    code = "quota_exceeded"


class ServiceClosedError(GatewayError):
    """An operator closed this API or this enterprise's access."""

    code = "service_closed"
    status = 503


class InvalidClosureError(GatewayError):
    code = "invalid_closure"
    status = 422


class ClosureNotFoundError(GatewayError):
    code = "closure_not_found"
    status = 404


class PluginRejectedError(GatewayError):
    """A deployment plugin refused the request; its message says why."""

    code = "plugin_rejected"
    status = 403


class PluginLoadError(GatewayError):
    code = "plugin_load_failed"
    status = 500
