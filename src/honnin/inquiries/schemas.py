"""HTTP shapes of bank inquiries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, Field

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
