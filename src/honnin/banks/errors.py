"""Errors of the bank connector.

Messages name mapping files, paths and transforms but never quote bank data: a bank
payload is personal data.
"""

from __future__ import annotations

from honnin.errors import HonninError


class BanksError(HonninError):
    """Base for bank connector errors."""

    code = "bank_error"
    status = 502


class MappingDefinitionError(BanksError):
    """A bank mapping file is invalid (unknown transform, bad path, wrong shape)."""

    code = "bank_mapping_invalid"
    status = 500


class BankPayloadError(BanksError):
    """A bank's response cannot be mapped: malformed body, required field missing, bad value."""

    code = "bank_payload_invalid"
    status = 502


class VerifiedClaimsInvalidError(BanksError):
    """A ``verified_claims`` object does not validate against the OIDC4IDA schema."""

    code = "verified_claims_invalid"
    status = 500
