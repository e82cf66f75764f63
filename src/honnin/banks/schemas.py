"""HTTP shapes of a bank's connection profile (operator API)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field

from honnin.schema_base import StrictModel


class BankConnectionIn(StrictModel):
    issuer: AnyHttpUrl
    client_id: str = Field(min_length=1, max_length=200)
    auth_method: Literal["client_secret_basic", "private_key_jwt"]
    client_secret: str | None = Field(default=None, max_length=500)
    client_jwk: dict[str, Any] | None = Field(
        default=None, description="private JWK (sealed at rest)"
    )
    mapping: str = Field(min_length=1, max_length=200, description="bundled mapping name")
    protocol: Literal["oauth2", "oidc"] = "oauth2"
    use_par: bool = False
    scope_by_claim: dict[str, str] | None = None


class BankConnectionOut(BaseModel):
    bank_id: str
    issuer: str
    client_id: str
    auth_method: str
    mapping: str
    protocol: str
    use_par: bool
    has_client_secret: bool
    has_client_key: bool
