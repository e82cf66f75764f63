"""Bank connection settings for tests that need one but no sandbox bank behind it."""

from __future__ import annotations

from honnin.banks.connection import BankConnection


def momiji_connection(issuer: str) -> BankConnection:
    """momiji_rest's settings (plain OAuth 2.0, client_secret_basic) at ``issuer``."""
    return BankConnection(
        bank_id="momiji_rest",
        issuer=issuer,
        client_id="honnin",
        auth_method="client_secret_basic",
        mapping="momiji_rest",
        client_secret="secret-0123456789abcdef",
    )
