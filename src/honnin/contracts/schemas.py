"""HTTP shapes of the contract table (admin and enterprise APIs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, Field

from honnin.contracts.core import ContractTerms
from honnin.contracts.service import BankView, EnterpriseView
from honnin.schema_base import PurposeText, StrictModel

BANK_ID_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"


class EnterpriseCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    webhook_url: AnyHttpUrl | None = None
    scopes: list[str] | None = Field(default=None, max_length=20)


class RevokeRequest(StrictModel):
    reason: str | None = Field(default=None, max_length=500)


class EnterpriseOut(BaseModel):
    id: str
    name: str
    status: str
    webhook_url: str | None
    created_at: datetime

    @classmethod
    def of(cls, view: EnterpriseView) -> EnterpriseOut:
        return cls(
            id=view.id,
            name=view.name,
            status=view.status,
            webhook_url=view.webhook_url,
            created_at=view.created_at,
        )


class ClientCredentialsOut(BaseModel):
    client_id: str
    client_secret: str = Field(description="shown once; store it now")
    scopes: list[str]
    token_endpoint: str


class EnterpriseCreated(BaseModel):
    enterprise: EnterpriseOut
    credentials: ClientCredentialsOut


class ClientCreate(StrictModel):
    scopes: list[str] | None = Field(default=None, max_length=20)


class BankCreate(StrictModel):
    id: str = Field(pattern=BANK_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    profile: dict[str, Any] | None = None


class BankOut(BaseModel):
    id: str
    name: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, view: BankView) -> BankOut:
        return cls(id=view.id, name=view.name, status=view.status, created_at=view.created_at)


class BankList(BaseModel):
    banks: list[BankOut]


class ContractCreate(StrictModel):
    enterprise_id: str = Field(min_length=1, max_length=40)
    bank_id: str = Field(pattern=BANK_ID_PATTERN)
    claims: list[str] = Field(min_length=1, max_length=20)
    purposes: list[PurposeText] = Field(min_length=1, max_length=20)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    rate_per_second: int | None = Field(default=None, ge=1, le=100_000)
    daily_quota: int | None = Field(default=None, ge=1, le=100_000_000)


class ContractOut(BaseModel):
    id: str
    enterprise_id: str
    bank_id: str
    claims: list[str]
    purposes: list[str]
    valid_from: datetime
    valid_until: datetime | None
    rate_per_second: int | None
    daily_quota: int | None
    status: str
    in_force: bool

    @classmethod
    def of(cls, terms: ContractTerms, *, now: datetime) -> ContractOut:
        return cls(
            id=terms.id,
            enterprise_id=terms.enterprise_id,
            bank_id=terms.bank_id,
            claims=list(terms.claims),
            purposes=list(terms.purposes),
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            rate_per_second=terms.rate_per_second,
            daily_quota=terms.daily_quota,
            status=terms.status,
            in_force=terms.in_force(now),
        )


class ContractList(BaseModel):
    contracts: list[ContractOut]


class EnterpriseList(BaseModel):
    enterprises: list[EnterpriseOut]


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


class AuditEventList(BaseModel):
    events: list[AuditEventOut]
