"""Authentication and authorisation errors.

Errors raised at the token endpoint carry the RFC 6749 §5.2 ``error`` value in
``oauth_error``; the gateway adds it to the problem document so OAuth clients understand it.
"""

from __future__ import annotations

from typing import ClassVar

from honnin.errors import HonninError


class AuthError(HonninError):
    code = "auth_error"
    status = 401
    oauth_error: ClassVar[str | None] = None


class InvalidClientError(AuthError):
    code = "invalid_client"
    status = 401
    oauth_error = "invalid_client"


class InvalidRequestError(AuthError):
    code = "invalid_token_request"
    status = 400
    oauth_error = "invalid_request"


class UnsupportedGrantTypeError(AuthError):
    code = "unsupported_grant_type"
    status = 400
    oauth_error = "unsupported_grant_type"


class InvalidScopeError(AuthError):
    code = "invalid_scope"
    status = 400
    oauth_error = "invalid_scope"


class UnauthenticatedError(AuthError):
    code = "unauthenticated"
    status = 401


class InvalidTokenError(AuthError):
    code = "invalid_token"
    status = 401


class InsufficientScopeError(AuthError):
    code = "insufficient_scope"
    status = 403


class ClientKeyNotFoundError(AuthError):
    code = "client_key_not_found"
    status = 404


class InvalidClientKeyError(AuthError):
    code = "invalid_client_key"
    status = 422


class SigningKeyUnavailableError(AuthError):
    code = "signing_key_unavailable"
    status = 503
