"""HTTP shapes of bank inquiries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field

from honnin.inquiries.core import MAX_ROTATION_OVERLAP
from honnin.schema_base import PurposeText, StrictModel

CLAIM_NAMES = (
    "family_name",
    "given_name",
    "family_name#ja-Kana-JP",
    "given_name#ja-Kana-JP",
    "birthdate",
    "address",
)


class Applicant(StrictModel):
    """What the user told the enterprise; compared with the bank's record."""

    family_name: str | None = Field(default=None, max_length=100)
    given_name: str | None = Field(default=None, max_length=100)
    family_name_kana: str | None = Field(default=None, max_length=100)
    given_name_kana: str | None = Field(default=None, max_length=100)
    birthdate: str | None = Field(
        default=None, max_length=40, description="ISO, YYYYMMDD or wareki"
    )
    postal_code: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=300)


class InquiryCreate(StrictModel):
    bank_id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    purpose: PurposeText
    claims: list[str] = Field(min_length=1, max_length=len(CLAIM_NAMES))
    applicant: Applicant
    return_url: AnyHttpUrl = Field(description="where the user is sent after the bank")


class InquiryCreated(BaseModel):
    id: str
    status: str
    authorization_url: str = Field(description="send the user here; valid until expires_at")
    expires_at: datetime


class InquiryResult(BaseModel):
    verified_claims: dict[str, Any]
    match: dict[str, Any]


class InquiryOut(BaseModel):
    id: str
    status: str
    bank_id: str
    purpose: str
    claims: list[str]
    failure_code: str | None
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    authorization_url: str | None
    result: InquiryResult | None
    result_digest: str | None
    match_overall: str | None
    purged: bool


class WebhookSecretOut(BaseModel):
    secret: str
    scheme: str = "standard-webhooks v1 (HMAC-SHA256)"
    version: int = Field(description="0 until the first rotation, then one more each time")
    previous_valid_until: datetime | None = Field(
        description="while set, webhooks are also signed with the previous key, until then"
    )


class WebhookSecretRotate(StrictModel):
    overlap_seconds: int = Field(
        default=86400,
        ge=0,
        le=int(MAX_ROTATION_OVERLAP.total_seconds()),
        description="how long webhooks also carry a signature by the previous key",
    )


InquiryStatus = Literal["pending_consent", "completed", "denied", "expired", "failed"]
DeliveryStatus = Literal["pending", "delivered", "dead"]


class InquirySummaryOut(BaseModel):
    id: str
    status: str
    bank_id: str
    purpose: str
    claims: list[str]
    failure_code: str | None
    match_overall: str | None
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    result_read_at: datetime | None = Field(
        description="when the result was first read (GET /v1/bank-inquiries/{id})"
    )
    purged: bool


class InquiryPage(BaseModel):
    items: list[InquirySummaryOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class WebhookDeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header of every attempt")
    object_id: str = Field(description="the inquiry the webhook is about")
    event_type: str
    status: str = Field(description="pending, delivered or dead (retries spent)")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDeliveryOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
