"""Interop: a third-party OpenID provider (node oidc-provider) plays a bank.

Authorization code + PKCE with Authlib's httpx client, login and consent done over HTTP
by the automated user, ``iss`` checked (RFC 9207), the ID token verified against the
provider's JWKS, and the ``verified_claims`` from userinfo mapped by Honnin's
``sakura_oidc`` mapping into schema-valid OIDC4IDA output.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from honnin.banks.mapping import load_mapping
from honnin.banks.oidc4ida import validate_verified_claims
from honnin.sandbox.banks import complete_authorization
from honnin.sandbox.banks.interop import InteropProvider

CLIENT_ID = "honnin-interop"
SECRET = "interop-secret-" + "0" * 16
REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[InteropProvider]:
    clients = [{"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uris": [REDIRECT]}]
    with InteropProvider(clients=clients) as running:
        yield running


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def oauth_client() -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        redirect_uri=REDIRECT,
        scope="openid",
        code_challenge_method="S256",
    )


async def test_code_flow_with_pkce_returns_verified_claims(provider: InteropProvider) -> None:
    claims_request = {
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": None},
                "claims": {"family_name": None, "given_name": None, "birthdate": None},
            }
        }
    }
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    async with oauth_client() as client:
        metadata = (
            await client.request(
                "GET", f"{provider.issuer}/.well-known/openid-configuration", withhold_token=True
            )
        ).json()
        assert metadata["authorization_response_iss_parameter_supported"] is True
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            code_verifier=verifier,
            nonce=nonce,
            claims=json.dumps(claims_request),
        )
        callback = await complete_authorization(url, username="yamasaki")
        answer = query_of(callback)
        assert answer["iss"] == provider.issuer
        assert answer["state"] == state
        token = await client.fetch_token(
            metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
        jwks = KeySet.import_key_set(
            (await client.request("GET", metadata["jwks_uri"], withhold_token=True)).json()
        )
        id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256", "ES256"])
        assert id_token.claims["iss"] == provider.issuer
        assert id_token.claims["nonce"] == nonce
        userinfo = (await client.get(metadata["userinfo_endpoint"])).json()
    assert userinfo["sub"] == id_token.claims["sub"]
    verified = load_mapping("sakura_oidc").apply(
        userinfo,
        content_type="application/json",
        bank_id="interop_op",
        fetched_at=dt.datetime.now(dt.UTC),
    )
    validate_verified_claims(verified)
    assert verified["claims"]["family_name"] == "山﨑"
    assert verified["claims"]["birthdate"] == "1989-01-07"


async def test_kyc_scope_denial_and_missing_pkce(provider: InteropProvider) -> None:
    async with oauth_client() as client:
        url, _ = client.create_authorization_url(
            f"{provider.issuer}/auth", code_verifier=secrets.token_urlsafe(48), scope="openid kyc"
        )
        denied = query_of(await complete_authorization(url, username="sato", decision="deny"))
        assert denied["error"] == "access_denied"
        assert denied["iss"] == provider.issuer
        no_pkce = await client.request(
            "GET",
            f"{provider.issuer}/auth",
            withhold_token=True,
            params={
                "client_id": CLIENT_ID,
                "response_type": "code",
                "redirect_uri": REDIRECT,
                "scope": "openid kyc",
                "state": "s",
            },
        )
    assert no_pkce.status_code in {302, 303}
    assert query_of(no_pkce.headers["location"])["error"] == "invalid_request"
