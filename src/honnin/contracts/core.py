"""Pure contract decisions: is a contract in force, and does it allow a request?

A contract allows enterprise E to ask bank B for a set of claims, for a set of purposes,
inside ``[valid_from, valid_until)``, until it is revoked. Revocation and expiry take
effect at the instant they happen: callers decide per request, never from a cached grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from honnin.contracts.errors import (
    ClaimsNotAllowedError,
    InvalidContractError,
    NoActiveContractError,
    PurposeNotAllowedError,
)

# Claims an enterprise can be granted: OIDC4IDA-verified person claims.
KNOWN_CLAIMS = frozenset(
    {
        "family_name",
        "given_name",
        "family_name#ja-Kana-JP",
        "given_name#ja-Kana-JP",
        "birthdate",
        "address",
        "gender",
        "nationalities",
    }
)


@dataclass(frozen=True)
class ContractTerms:
    id: str
    enterprise_id: str
    bank_id: str
    claims: tuple[str, ...]
    purposes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime | None
    rate_per_second: int | None
    daily_quota: int | None
    status: str

    def in_force(self, at: datetime) -> bool:
        if self.status != "active" or at < self.valid_from:
            return False
        return self.valid_until is None or at < self.valid_until


def validate_terms(
    *,
    claims: Sequence[str],
    purposes: Sequence[str],
    valid_from: datetime,
    valid_until: datetime | None,
    rate_per_second: int | None,
    daily_quota: int | None,
) -> None:
    unknown = sorted(set(claims) - KNOWN_CLAIMS)
    if unknown:
        raise InvalidContractError(f"unknown claims: {', '.join(unknown)}")
    if not claims:
        raise InvalidContractError("a contract must allow at least one claim")
    if not purposes or any(not p.strip() for p in purposes):
        raise InvalidContractError("a contract must name at least one non-empty purpose")
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidContractError("valid_until must be after valid_from")
    if rate_per_second is not None and rate_per_second < 1:
        raise InvalidContractError("rate_per_second must be at least 1")
    if daily_quota is not None and daily_quota < 1:
        raise InvalidContractError("daily_quota must be at least 1")


def choose_contract(
    contracts: Iterable[ContractTerms],
    *,
    at: datetime,
    claims: Sequence[str],
    purpose: str,
) -> ContractTerms:
    """The contract in force that covers ``claims`` for ``purpose``, or a clear refusal."""
    in_force = [c for c in contracts if c.in_force(at)]
    if not in_force:
        raise NoActiveContractError("no contract in force with this bank")
    for_purpose = [c for c in in_force if purpose in c.purposes]
    if not for_purpose:
        raise PurposeNotAllowedError(f"purpose {purpose!r} is not in the contract")
    for contract in for_purpose:
        if set(claims) <= set(contract.claims):
            return contract
    allowed = set().union(*(set(c.claims) for c in for_purpose))
    refused = sorted(set(claims) - allowed)
    raise ClaimsNotAllowedError(f"claims not allowed by the contract: {', '.join(refused)}")
