"""Pure token logic: access tokens (RFC 9068 JWT profile), client assertions (RFC 7523),
client_secret_basic credentials (RFC 6749 §2.3.1) and scope grants (RFC 6749 §3.3).

No I/O: keys, time and replay state are passed in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, import_key
from joserfc.jwt import JWTClaimsRegistry

from honnin.auth.errors import (
    InvalidClientError,
    InvalidClientKeyError,
    InvalidScopeError,
    InvalidTokenError,
)

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - RFC 9068 media type, not a secret
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
CLOCK_SKEW_SECONDS = 30

# Scopes an enterprise client may hold.
ENTERPRISE_SCOPES = (
    "banks:read",
    "contracts:read",
    "keys:manage",
    "inquiries:write",
    "inquiries:read",
    "verifications:write",
    "verifications:read",
    "trace:read",
)


@dataclass(frozen=True)
class Principal:
    """An authenticated enterprise client, as carried by a verified access token."""

    client_id: str
    enterprise_id: str
    scopes: frozenset[str]
    token_id: str
    expires_at: int


@dataclass(frozen=True)
class AcceptedAssertion:
    client_id: str
    jti: str
    expires_at: int


def parse_basic_credentials(header: str) -> tuple[str, str]:
    """``Authorization: Basic ...`` to (client_id, secret), both form-url-decoded."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise InvalidClientError("unsupported client authentication scheme")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClientError("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClientError("malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def grant_scopes(requested: str | None, allowed: Collection[str]) -> tuple[str, ...]:
    """Scopes to grant: all allowed when none requested, else exactly the requested ones."""
    if requested is None or not requested.strip():
        return tuple(sorted(allowed))
    wanted = set(requested.split())
    refused = wanted - set(allowed)
    if refused:
        raise InvalidScopeError(f"scope not allowed for this client: {' '.join(sorted(refused))}")
    return tuple(sorted(wanted))


def access_token_claims(
    *,
    issuer: str,
    client_id: str,
    enterprise_id: str,
    scopes: Iterable[str],
    issued_at: int,
    ttl_seconds: int,
    token_id: str,
) -> dict[str, Any]:
    return {
        "iss": issuer,
        "sub": client_id,
        "aud": issuer,
        "client_id": client_id,
        "ent": enterprise_id,
        "scope": " ".join(sorted(scopes)),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": token_id,
    }


def verify_access_token(token: str, *, keys: KeySet, issuer: str, now: int) -> Principal:
    """Verify signature, type, issuer, audience and lifetime; raise InvalidTokenError."""
    try:
        decoded = jwt.decode(token, keys, algorithms=["ES256"])
    except (JoseError, ValueError) as exc:
        raise InvalidTokenError("access token is not valid") from exc
    if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidTokenError("not an access token")
    registry = JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": issuer},
        sub={"essential": True},
        ent={"essential": True},
        jti={"essential": True},
        exp={"essential": True},
    )
    try:
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise InvalidTokenError("access token is expired or not for this platform") from exc
    claims = decoded.claims
    return Principal(
        client_id=str(claims["sub"]),
        enterprise_id=str(claims["ent"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        token_id=str(claims["jti"]),
        expires_at=int(claims["exp"]),
    )


def unverified_assertion_subject(assertion: str) -> str:
    """The client id a client assertion claims to be from, before any key is chosen."""
    try:
        _header, payload_b64, _signature = assertion.split(".")
        padded = payload_b64 + "=" * (-len(payload_b64) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error) as exc:
        raise InvalidClientError("client assertion is malformed") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("iss"), str):
        raise InvalidClientError("client assertion has no issuer")
    return str(payload["iss"])


def verify_client_assertion(
    assertion: str,
    *,
    client_id: str,
    keys: KeySet,
    audiences: Collection[str],
    now: int,
    max_age_seconds: int,
) -> AcceptedAssertion:
    """RFC 7523 §3: iss = sub = client_id, aud names us, exp in the future, jti present."""
    try:
        decoded = jwt.decode(assertion, keys, algorithms=list(ASSERTION_ALGORITHMS))
    except (JoseError, ValueError) as exc:
        raise InvalidClientError("client assertion signature is not valid") from exc
    registry = JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": client_id},
        sub={"essential": True, "value": client_id},
        aud={"essential": True, "values": list(audiences)},
        exp={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise InvalidClientError(f"client assertion rejected: {exc.error}") from exc
    exp = int(decoded.claims["exp"])
    if exp > now + max_age_seconds:
        raise InvalidClientError("client assertion lives too long")
    jti = decoded.claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise InvalidClientError("client assertion jti is not valid")
    return AcceptedAssertion(client_id=client_id, jti=jti, expires_at=exp)


def public_signing_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """Validate a client's public JWK for private_key_jwt and return it without extras."""
    if not isinstance(jwk, dict):
        raise InvalidClientKeyError("a JWK object is required")
    if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise InvalidClientKeyError("send the public key only; private members were present")
    if not jwk.get("kid"):
        raise InvalidClientKeyError("the key needs a kid")
    try:
        key = import_key(jwk)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidClientKeyError("not a usable public JWK") from exc
    if key.key_type not in ("RSA", "EC", "OKP"):
        raise InvalidClientKeyError("key type must be RSA, EC or OKP")
    exported = key.as_dict(private=False)
    exported["kid"] = str(jwk["kid"])
    return exported
