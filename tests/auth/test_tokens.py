import base64
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from honnin.auth import tokens
from honnin.auth.errors import (
    InvalidClientError,
    InvalidClientKeyError,
    InvalidScopeError,
    InvalidTokenError,
)

ISSUER = "https://honnin.test"
SIGNER = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
KEYS = KeySet([SIGNER])


def make_token(now: int, **overrides: object) -> str:
    claims = tokens.access_token_claims(
        issuer=ISSUER,
        client_id="cli_1",
        enterprise_id="ent_1",
        scopes=["banks:read"],
        issued_at=now,
        ttl_seconds=300,
        token_id="t1",
    )
    header = {"alg": "ES256", "kid": "k1", "typ": tokens.ACCESS_TOKEN_TYPE}
    header.update({k[7:]: v for k, v in overrides.items() if k.startswith("header_")})
    claims.update({k: v for k, v in overrides.items() if not k.startswith("header_")})
    return jwt.encode(header, claims, SIGNER)


def test_basic_credentials_are_form_decoded() -> None:
    raw = base64.b64encode(b"my%3Aclient:p%40ss+word").decode()
    assert tokens.parse_basic_credentials(f"Basic {raw}") == ("my:client", "p@ss word")


@pytest.mark.parametrize(
    "header", ["Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()]
)
def test_bad_basic_credentials(header: str) -> None:
    with pytest.raises(InvalidClientError):
        tokens.parse_basic_credentials(header)


def test_scope_grants() -> None:
    allowed = ["banks:read", "inquiries:write"]
    assert tokens.grant_scopes(None, allowed) == ("banks:read", "inquiries:write")
    assert tokens.grant_scopes("banks:read", allowed) == ("banks:read",)
    with pytest.raises(InvalidScopeError, match="trace:read"):
        tokens.grant_scopes("banks:read trace:read", allowed)


def test_access_token_round_trip() -> None:
    now = int(time.time())
    principal = tokens.verify_access_token(make_token(now), keys=KEYS, issuer=ISSUER, now=now)
    assert principal.enterprise_id == "ent_1"
    assert principal.scopes == frozenset({"banks:read"})


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": 1000},
        {"iss": "https://evil.test"},
        {"aud": "https://other.test"},
        {"header_typ": "JWT"},
    ],
)
def test_access_token_rejections(overrides: dict[str, object]) -> None:
    now = int(time.time())
    with pytest.raises(InvalidTokenError):
        tokens.verify_access_token(make_token(now, **overrides), keys=KEYS, issuer=ISSUER, now=now)


def test_token_signed_by_unknown_key_is_rejected() -> None:
    now = int(time.time())
    other = KeySet([ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)])
    with pytest.raises(InvalidTokenError):
        tokens.verify_access_token(make_token(now), keys=other, issuer=ISSUER, now=now)


def assertion(key: RSAKey, now: int, **claims: object) -> str:
    body: dict[str, object] = {
        "iss": "cli_1",
        "sub": "cli_1",
        "aud": ISSUER + "/oauth/token",
        "exp": now + 60,
        "iat": now,
        "jti": "a1",
    }
    body.update(claims)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "c1"}, private=True)


def test_client_assertion_accepted() -> None:
    now = int(time.time())
    accepted = tokens.verify_client_assertion(
        assertion(CLIENT_KEY, now),
        client_id="cli_1",
        keys=KeySet([CLIENT_KEY]),
        audiences=[ISSUER + "/oauth/token", ISSUER],
        now=now,
        max_age_seconds=300,
    )
    assert accepted.jti == "a1"


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://elsewhere"},
        {"sub": "cli_2"},
        {"exp": 10},
        {"exp": 2_000_000_000_0},
        {"jti": ""},
    ],
)
def test_client_assertion_rejections(claims: dict[str, object]) -> None:
    now = int(time.time())
    with pytest.raises(InvalidClientError):
        tokens.verify_client_assertion(
            assertion(CLIENT_KEY, now, **claims),
            client_id="cli_1",
            keys=KeySet([CLIENT_KEY]),
            audiences=[ISSUER + "/oauth/token"],
            now=now,
            max_age_seconds=300,
        )


def test_unverified_subject_of_garbage_is_clean() -> None:
    with pytest.raises(InvalidClientError):
        tokens.unverified_assertion_subject("not-a-jwt")


def test_public_jwk_validation() -> None:
    public = CLIENT_KEY.as_dict(private=False)
    assert tokens.public_signing_jwk(public)["kid"] == "c1"
    with pytest.raises(InvalidClientKeyError, match="private"):
        tokens.public_signing_jwk(CLIENT_KEY.as_dict(private=True))
    with pytest.raises(InvalidClientKeyError, match="kid"):
        tokens.public_signing_jwk({k: v for k, v in public.items() if k != "kid"})
    with pytest.raises(InvalidClientKeyError):
        tokens.public_signing_jwk({"kty": "EC", "kid": "x", "crv": "P-256", "x": "AA", "y": "AA"})
