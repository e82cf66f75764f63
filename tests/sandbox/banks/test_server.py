"""Full authorization-code flows against each sandbox bank over real loopback HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from defusedxml import ElementTree
from joserfc import jwt
from joserfc.jwk import KeySet

from honnin.sandbox.banks import BANK_IDS, SandboxBanks, complete_authorization_sync


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def consent(url: str, *, username: str = "takahashi", decision: str = "allow") -> dict[str, str]:
    return query_of(complete_authorization_sync(url, username=username, decision=decision))


@pytest.mark.parametrize("bank_id", BANK_IDS)
def test_full_flow_returns_code_state_and_issuer(
    make_flow: Any, banks: SandboxBanks, bank_id: str
) -> None:
    flow = make_flow(bank_id)
    answer = consent(flow.authorization_url())
    assert answer["state"] == flow.state
    assert answer["iss"] == banks.base_urls[bank_id]
    token = flow.token_request(answer["code"])
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"].lower() == "bearer"
    record = flow.kyc(body["access_token"])
    assert record.status_code == 200
    assert record.headers["cache-control"] == "no-store"
    if bank_id == "kaede_xml":
        root = ElementTree.fromstring(record.content)
        assert root.find("Name/FamilyName").text == "髙橋"
        assert root.find("BirthDate").text == "昭和６０年１２月３１日"
    elif bank_id == "momiji_rest":
        assert record.json()["name_kanji"] == "髙橋\u3000健太"
        assert record.json()["birth_date"] == "19851231"
    else:
        claims = record.json()["verified_claims"]["claims"]
        assert claims["family_name"] == "髙橋"
        assert claims["birthdate"] == "1985-12-31"


def test_sakura_id_token_is_signed_and_carries_nonce(
    make_flow: Any, banks: SandboxBanks, http: httpx.Client
) -> None:
    flow = make_flow(
        "sakura_oidc",
        scope="openid",
        claims={
            "id_token": {
                "verified_claims": {
                    "verification": {"trust_framework": None},
                    "claims": {"family_name": None, "birthdate": None},
                }
            },
            "userinfo": {
                "verified_claims": {
                    "verification": {"trust_framework": None},
                    "claims": {"given_name": None},
                }
            },
        },
    )
    answer = consent(flow.authorization_url(), username="yamasaki")
    body = flow.token_request(answer["code"]).json()
    jwks = KeySet.import_key_set(http.get(banks.base_urls["sakura_oidc"] + "/jwks").json())
    token = jwt.decode(body["id_token"], jwks)
    assert token.claims["iss"] == banks.base_urls["sakura_oidc"]
    assert token.claims["aud"] == ["honnin-test"]
    assert token.claims["nonce"] == flow.nonce
    verified = token.claims["verified_claims"]
    assert verified["verification"]["trust_framework"] == "jp_aml"
    assert verified["claims"] == {"family_name": "山﨑", "birthdate": "1989-01-07"}
    userinfo = flow.kyc(body["access_token"]).json()
    assert userinfo["sub"] == token.claims["sub"]
    assert userinfo["verified_claims"]["claims"] == {"given_name": "美咲"}
