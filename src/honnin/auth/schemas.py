"""HTTP shapes of the token endpoint, client keys and signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from honnin.schema_base import StrictModel


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - RFC 6749 token type, not a secret
    expires_in: int
    scope: str


class ClientKeyCreate(StrictModel):
    jwk: dict[str, Any]


class ClientKeyOut(BaseModel):
    id: str
    kid: str
    jwk: dict[str, Any]
    created_at: datetime


class ClientKeyList(BaseModel):
    keys: list[ClientKeyOut]


class SigningKeyOut(BaseModel):
    kid: str
    created_at: datetime
    retired_at: datetime | None
    unpublish_at: datetime | None


class SigningKeyList(BaseModel):
    keys: list[SigningKeyOut]


class RotatedKey(BaseModel):
    kid: str
