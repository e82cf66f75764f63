"""Errors of the bank-inquiry use case."""

from __future__ import annotations

from honnin.errors import HonninError


class InquiryError(HonninError):
    code = "inquiry_error"
    status = 400


class InquiryNotFoundError(InquiryError):
    code = "inquiry_not_found"
    status = 404


class IdempotencyConflictError(InquiryError):
    """The Idempotency-Key was used before with a different request."""

    code = "idempotency_key_reused"
    status = 409


class InvalidCallbackError(InquiryError):
    """A callback whose state is unknown, forged or already used."""

    code = "invalid_callback"
    status = 400


class InquiryNotPendingError(InquiryError):
    code = "inquiry_not_pending"
    status = 409


class InvalidApplicantError(InquiryError):
    code = "invalid_applicant"
    status = 422


class WebhookNotConfiguredError(InquiryError):
    code = "webhook_not_configured"
    status = 409


class InvalidCursorError(InquiryError):
    """A listing's ``cursor`` that this API did not hand out."""

    code = "invalid_cursor"
    status = 400


class WebhookDeliveryNotFoundError(InquiryError):
    code = "webhook_delivery_not_found"
    status = 404


class WebhookDeliveryPendingError(InquiryError):
    """A redelivery asked for a delivery that is still scheduled (or being sent)."""

    code = "webhook_delivery_pending"
    status = 409
