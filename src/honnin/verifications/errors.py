"""Errors of the verification sessions; messages never carry personal data."""

from __future__ import annotations

from honnin.errors import HonninError


class VerificationError(HonninError):
    code = "verification_error"
    status = 400


class VerificationNotFoundError(VerificationError):
    code = "verification_not_found"
    status = 404


class InvalidCaptureTokenError(VerificationError):
    """An unknown, expired or finished capture link."""

    code = "invalid_capture_token"
    status = 404


class VerificationStateError(VerificationError):
    """The session is not in a state that accepts this call (finished, processing ...)."""

    code = "verification_not_open"
    status = 409


class IncompleteVerificationError(VerificationError):
    """Submit before every upload the method needs."""

    code = "verification_incomplete"
    status = 409


class UploadNotAllowedError(VerificationError):
    """An upload the session's method does not take (a card for jp_he ...)."""

    code = "upload_not_for_method"
    status = 409


class InvalidUploadError(VerificationError):
    """An upload that is malformed (bad base64, missing part, wrong count)."""

    code = "invalid_upload"
    status = 400


class UploadTooLargeError(VerificationError):
    code = "upload_too_large"
    status = 413


class InvalidApplicantError(VerificationError):
    code = "invalid_applicant"
    status = 422


class IdempotencyConflictError(VerificationError):
    code = "idempotency_key_reused"
    status = 409


class NotInReviewError(VerificationError):
    code = "verification_not_in_review"
    status = 409
