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


class BankConnectionError(BanksError):
    """A bank's connection profile is incomplete or invalid (operator configuration)."""

    code = "bank_connection_invalid"
    status = 422


class BankUnreachableError(BanksError):
    """The connection to the bank failed; the family flow control counts as bank failures."""

    code = "bank_unreachable"
    status = 502


class BankTimeoutError(BankUnreachableError):
    code = "bank_timeout"
    status = 504


class BankServerError(BankUnreachableError):
    """The bank answered with a 5xx status."""

    code = "bank_error"
    status = 502


class BankProtocolError(BanksError):
    """The bank answered outside the OAuth / OIDC protocol (bad status, bad token, bad ID token)."""

    code = "bank_protocol_error"
    status = 502


class BankRefusedError(BanksError):
    """The bank refused a request with an OAuth error (for example ``invalid_grant``)."""

    code = "bank_refused"
    status = 502
