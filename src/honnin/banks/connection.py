"""A bank's connection profile: how Honnin, as an OAuth 2.0 client, talks to one bank.

Stored as JSON on the bank row (``banks.profile``) with client secrets and private keys
sealed by the data key (AES-256-GCM, bound to the bank id). Pure: sealing takes the key
ring as an argument.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from honnin.banks.errors import BankConnectionError
from honnin.security.aead import KeyRing

AuthMethod = Literal["client_secret_basic", "private_key_jwt"]

# How the sandbox banks (and banks modelled on them) name their consent scopes.
DEFAULT_SCOPE_BY_CLAIM: Mapping[str, str] = {
    "family_name": "kyc:name",
    "given_name": "kyc:name",
    "family_name#ja-Kana-JP": "kyc:kana",
    "given_name#ja-Kana-JP": "kyc:kana",
    "birthdate": "kyc:birthdate",
    "address": "kyc:address",
}


@dataclass(frozen=True)
class BankConnection:
    bank_id: str
    issuer: str
    client_id: str
    auth_method: AuthMethod
    mapping: str
    protocol: Literal["oauth2", "oidc"] = "oauth2"
    use_par: bool = False
    client_secret: str | None = field(default=None, repr=False)
    client_jwk: Mapping[str, Any] | None = field(default=None, repr=False)
    scope_by_claim: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SCOPE_BY_CLAIM))

    def __post_init__(self) -> None:
        if not self.issuer.startswith(("https://", "http://")):
            raise BankConnectionError(f"{self.bank_id}: issuer must be an http(s) URL")
        if self.auth_method == "client_secret_basic" and not self.client_secret:
            raise BankConnectionError(f"{self.bank_id}: client_secret_basic needs a client secret")
        if self.auth_method == "private_key_jwt" and not self.client_jwk:
            raise BankConnectionError(f"{self.bank_id}: private_key_jwt needs a private JWK")

    def scopes_for(self, claims: list[str] | tuple[str, ...]) -> str:
        """The OAuth scope string asking the bank for exactly these claims."""
        scopes = {"openid"} if self.protocol == "oidc" else set()
        for claim in claims:
            scope = self.scope_by_claim.get(claim)
            if scope is None:
                raise BankConnectionError(f"{self.bank_id}: no scope configured for {claim}")
            scopes.add(scope)
        return " ".join(sorted(scopes))


def _aad(bank_id: str, name: str) -> bytes:
    return f"banks:{bank_id}:{name}".encode()


def seal_connection(connection: BankConnection, key_ring: KeyRing) -> dict[str, Any]:
    """The JSON profile to store, secrets sealed."""
    profile: dict[str, Any] = {
        "issuer": connection.issuer,
        "client_id": connection.client_id,
        "auth_method": connection.auth_method,
        "mapping": connection.mapping,
        "protocol": connection.protocol,
        "use_par": connection.use_par,
        "scope_by_claim": dict(connection.scope_by_claim),
    }
    if connection.client_secret:
        sealed = key_ring.encrypt(
            connection.client_secret.encode(),
            associated_data=_aad(connection.bank_id, "client_secret"),
        )
        profile["client_secret_sealed"] = base64.b64encode(sealed).decode()
    if connection.client_jwk:
        sealed = key_ring.encrypt(
            json.dumps(dict(connection.client_jwk)).encode(),
            associated_data=_aad(connection.bank_id, "client_jwk"),
        )
        profile["client_jwk_sealed"] = base64.b64encode(sealed).decode()
    return profile


def open_connection(bank_id: str, profile: Mapping[str, Any], key_ring: KeyRing) -> BankConnection:
    """Read a stored profile back, unsealing its secrets."""
    if not profile.get("issuer"):
        raise BankConnectionError(f"{bank_id}: no connection profile is configured")
    secret = None
    jwk = None
    if profile.get("client_secret_sealed"):
        secret = key_ring.decrypt(
            base64.b64decode(profile["client_secret_sealed"]),
            associated_data=_aad(bank_id, "client_secret"),
        ).decode()
    if profile.get("client_jwk_sealed"):
        jwk = json.loads(
            key_ring.decrypt(
                base64.b64decode(profile["client_jwk_sealed"]),
                associated_data=_aad(bank_id, "client_jwk"),
            )
        )
    try:
        return BankConnection(
            bank_id=bank_id,
            issuer=str(profile["issuer"]).rstrip("/"),
            client_id=str(profile["client_id"]),
            auth_method=profile["auth_method"],
            mapping=str(profile["mapping"]),
            protocol=profile.get("protocol", "oauth2"),
            use_par=bool(profile.get("use_par", False)),
            client_secret=secret,
            client_jwk=jwk,
            scope_by_claim=dict(profile.get("scope_by_claim") or DEFAULT_SCOPE_BY_CLAIM),
        )
    except KeyError as exc:
        raise BankConnectionError(f"{bank_id}: connection profile lacks {exc.args[0]}") from exc
