"""Sandbox banks on real loopback ports for the whole module, and a minimal OAuth client.

The client is written out with httpx (not a library) so the negative tests can break
exactly one rule at a time: wrong redirect URI, no PKCE, a replayed code, bad auth.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from honnin.sandbox.banks import ClientRegistration, SandboxBanks, hash_client_secret

REDIRECT_URI = "http://127.0.0.1:9/callback"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET = "s3cret-for-tests-only"
SECRET_HASH = hash_client_secret(SECRET)
CLIENT_KEY = ECKey.generate_key("P-256", parameters={"kid": "test-client-1"})


def registrations() -> list[ClientRegistration]:
    jwks = {"keys": [CLIENT_KEY.as_dict(private=False)]}
    return [
        ClientRegistration(
            client_id="honnin-test",
            client_name="Honnin テスト",
            redirect_uris=(REDIRECT_URI,),
            token_endpoint_auth_method="client_secret_basic",
            client_secret_hash=SECRET_HASH,
            banks=frozenset({"momiji_rest", "kaede_xml"}),
        ),
        ClientRegistration(
            client_id="honnin-test-post",
            redirect_uris=(REDIRECT_URI,),
            token_endpoint_auth_method="client_secret_post",
            client_secret_hash=SECRET_HASH,
            banks=frozenset({"kaede_xml"}),
        ),
        ClientRegistration(
            client_id="honnin-test",
            client_name="Honnin テスト",
            redirect_uris=(REDIRECT_URI,),
            token_endpoint_auth_method="private_key_jwt",
            jwks=jwks,
            banks=frozenset({"sakura_oidc"}),
        ),
    ]


@pytest.fixture(scope="module")
def banks() -> Iterator[SandboxBanks]:
    with SandboxBanks(clients=registrations()) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "banks" in request.fixturenames:
        running: SandboxBanks = request.getfixturevalue("banks")
        for bank_id in running.base_urls:
            running.bank(bank_id).faults.clear()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def client_assertion(
    audience: str, *, client_id: str = "honnin-test", key: ECKey = CLIENT_KEY
) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)


@dataclass
class Flow:
    """One authorization-code flow against one bank, step by step."""

    bank_id: str
    base_url: str
    http: httpx.Client
    client_id: str = "honnin-test"
    scope: str = "kyc"
    redirect_uri: str = REDIRECT_URI
    verifier: str = ""
    challenge: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    claims: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce_pair()
        if self.bank_id == "sakura_oidc" and self.scope == "kyc":
            self.scope = "openid kyc"

    def params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        if self.bank_id == "sakura_oidc":
            params["nonce"] = self.nonce
            if self.claims is not None:
                params["claims"] = json.dumps(self.claims)
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorization_url(self, **overrides: str | None) -> str:
        params = self.params(**overrides)
        if self.bank_id == "sakura_oidc":
            response = self.http.post(
                f"{self.base_url}/par",
                data=params
                | {
                    "client_assertion_type": JWT_BEARER,
                    "client_assertion": client_assertion(self.base_url),
                },
            )
            assert response.status_code == 201, response.text
            request_uri = response.json()["request_uri"]
            return f"{self.base_url}/authorize?" + urlencode(
                {"client_id": self.client_id, "request_uri": request_uri}
            )
        return f"{self.base_url}/authorize?" + urlencode(params)

    def token_request(self, code: str, **overrides: str | None) -> httpx.Response:
        data: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
        }
        auth: tuple[str, str] | None = None
        if self.bank_id == "sakura_oidc":
            data["client_assertion_type"] = JWT_BEARER
            data["client_assertion"] = client_assertion(f"{self.base_url}/token")
        elif self.client_id == "honnin-test-post":
            data["client_id"] = self.client_id
            data["client_secret"] = SECRET
        else:
            auth = (self.client_id, SECRET)
        data.update(overrides)
        clean = {k: v for k, v in data.items() if v is not None}
        return self.http.post(f"{self.base_url}/token", data=clean, auth=auth)

    def assertion(self, audience: str) -> str:
        return client_assertion(audience)

    def kyc(self, access_token: str) -> httpx.Response:
        path = {"sakura_oidc": "/userinfo", "momiji_rest": "/api/v1/customer"}.get(
            self.bank_id, "/kyc/v1/customer"
        )
        return self.http.get(
            self.base_url + path, headers={"Authorization": f"Bearer {access_token}"}
        )


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def make_flow(banks: SandboxBanks, http: httpx.Client) -> Any:
    def make(bank_id: str, **kwargs: Any) -> Flow:
        return Flow(bank_id=bank_id, base_url=banks.base_urls[bank_id], http=http, **kwargs)

    return make
