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
