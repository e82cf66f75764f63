"""HTTP shapes of verification sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field

from honnin.schema_base import StrictModel

B64 = r"^[A-Za-z0-9+/=\s]*$"


class Applicant(StrictModel):
    """What the user told the enterprise; compared with the document."""

    family_name: str | None = Field(default=None, max_length=100)
    given_name: str | None = Field(default=None, max_length=100)
    family_name_kana: str | None = Field(default=None, max_length=100)
    given_name_kana: str | None = Field(default=None, max_length=100)
    birthdate: str | None = Field(default=None, max_length=40)
    postal_code: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=300)


class VerificationCreate(StrictModel):
    method: Literal["jp_ho", "jp_he", "icao_chip"]
    purpose: str = Field(default="account_opening", min_length=1, max_length=100)
    applicant: Applicant = Field(default_factory=Applicant)
    return_url: AnyHttpUrl | None = None


class ChallengeOut(BaseModel):
    nonce: str = Field(description="send it back with the selfie upload")
    actions: list[str] = Field(description="to perform in this order")
    expires_at: datetime
    step_window_s: float


class VerificationCreated(BaseModel):
    id: str
    status: str
    method: str
    challenge: ChallengeOut
    capture_url: str = Field(description="the capture page for the user's phone")
    expires_at: datetime
    uploads: list[str]


class ChipIn(StrictModel):
    """Files read from the chip, base64: EF.SOD and data groups keyed by number."""

    sod: str = Field(max_length=100_000, pattern=B64)
    data_groups: dict[str, str] = Field(max_length=16)


class SelfieIn(StrictModel):
    """Frames (JPEG/PNG, base64) with their times in seconds, or one base64 video."""

    nonce: str = Field(max_length=100)
    frames: list[str] = Field(default_factory=list, max_length=240)
    times: list[float] = Field(default_factory=list, max_length=240)
    video: str | None = None


class CardIn(StrictModel):
    front: str
    tilted: str


class UploadOut(BaseModel):
    received: list[str]
    needs: list[str]


class VerificationOut(BaseModel):
    id: str
    method: str
    purpose: str
    status: str
    reasons: list[str]
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    received: list[str]
    verified_claims: dict[str, Any] | None = Field(description="OIDC4IDA, when approved")
    match: dict[str, Any] | None
    evidence: dict[str, Any] | None = Field(description="check outcomes and scores")
    ledger_index: int | None
    purged: bool


class AdminVerificationOut(VerificationOut):
    enterprise_id: str


class ReviewDecision(StrictModel):
    decision: Literal["approved", "rejected"]
    note: str | None = Field(default=None, max_length=500)


class CaptureSessionOut(BaseModel):
    method: str
    nonce: str
    actions: list[str]
    expires_at: datetime
    step_seconds: float
    received: list[str]
    needs: list[str]


class CaptureSubmitted(BaseModel):
    status: str
