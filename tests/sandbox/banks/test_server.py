"""Full authorization-code flows against each sandbox bank over real loopback HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from honnin.sandbox.banks import (
    BANK_IDS,
    ClientRegistration,
    SandboxBank,
    SandboxBanks,
    complete_authorization_sync,
    hash_client_secret,
)


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
        ns = {"k": "urn:example:kaede-bank:kyc:1"}
        assert root.find("k:Customer/k:Name[@type='kanji']/k:Family", ns).text == "髙橋"
        assert root.find("k:Customer/k:BirthDate", ns).text == "昭和６０年１２月３１日"
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


def test_denial_redirects_with_access_denied_state_and_issuer(
    make_flow: Any, banks: SandboxBanks
) -> None:
    flow = make_flow("momiji_rest")
    answer = consent(flow.authorization_url(), decision="deny")
    answer.pop("error_description", None)
    assert answer == {
        "error": "access_denied",
        "state": flow.state,
        "iss": banks.base_urls["momiji_rest"],
    }


@pytest.mark.parametrize("bank_id", BANK_IDS)
def test_replayed_code_fails_and_revokes_the_first_token(make_flow: Any, bank_id: str) -> None:
    flow = make_flow(bank_id)
    code = consent(flow.authorization_url())["code"]
    first = flow.token_request(code)
    assert first.status_code == 200
    replay = flow.token_request(code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert flow.kyc(first.json()["access_token"]).status_code == 401


def test_unregistered_redirect_uri_is_refused_without_redirect(make_flow: Any) -> None:
    flow = make_flow("momiji_rest")
    response = flow.http.get(
        flow.authorization_url(redirect_uri="http://127.0.0.1:9/callback/evil")
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_request" in response.text


def test_redirect_uri_must_be_given_and_equal_at_the_token_endpoint(make_flow: Any) -> None:
    flow = make_flow("kaede_xml")
    missing = flow.http.get(flow.authorization_url(redirect_uri=None))
    assert missing.status_code == 400
    code = consent(flow.authorization_url())["code"]
    wrong = flow.token_request(code, redirect_uri="http://127.0.0.1:9/other")
    assert wrong.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": None},
    ],
    ids=["no-pkce", "plain", "no-method"],
)
def test_pkce_s256_is_required(make_flow: Any, overrides: dict[str, str | None]) -> None:
    flow = make_flow("momiji_rest")
    response = flow.http.get(flow.authorization_url(**overrides))
    assert response.status_code == 302
    answer = query_of(response.headers["location"])
    assert answer["error"] == "invalid_request"
    assert answer["state"] == flow.state
    assert "iss" in answer


def test_pkce_verifier_is_checked(make_flow: Any) -> None:
    flow = make_flow("momiji_rest")
    code = consent(flow.authorization_url())["code"]
    assert flow.token_request(code, code_verifier="x" * 50).json()["error"] == "invalid_grant"
    flow = make_flow("momiji_rest")
    code = consent(flow.authorization_url())["code"]
    assert flow.token_request(code, code_verifier=None).json()["error"] == "invalid_request"


def test_sakura_requires_par_and_request_uri_is_single_use(make_flow: Any) -> None:
    flow = make_flow("sakura_oidc")
    direct = flow.http.get(f"{flow.base_url}/authorize", params=flow.params())
    assert direct.status_code == 400
    assert "pushed authorization" in direct.text
    url = flow.authorization_url()
    assert flow.http.get(url).status_code == 200
    assert flow.http.get(url).status_code == 400  # the request_uri was used


def test_sakura_par_validates_the_request_and_the_client(make_flow: Any) -> None:
    flow = make_flow("sakura_oidc")
    no_pkce = flow.params(code_challenge=None, code_challenge_method=None)
    response = flow.http.post(
        f"{flow.base_url}/par",
        data=no_pkce
        | {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": flow.assertion(flow.base_url),
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    unauthenticated = flow.http.post(f"{flow.base_url}/par", data=flow.params())
    assert unauthenticated.status_code in {400, 401}
    assert unauthenticated.json()["error"] == "invalid_client"


def _assertion(audience: str, **kwargs: Any) -> str:
    import time

    from joserfc.jwk import ECKey

    key = kwargs.pop("key", None) or ECKey.generate_key("P-256")
    now = int(time.time())
    claims = {
        "iss": "honnin-test",
        "sub": "honnin-test",
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": "j" * 20,
    }
    return jwt.encode({"alg": "ES256"}, claims | kwargs, key)


def test_wrong_client_authentication_is_invalid_client(make_flow: Any) -> None:
    momiji = make_flow("momiji_rest")
    code = consent(momiji.authorization_url())["code"]
    bad_secret = momiji.http.post(
        f"{momiji.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": momiji.verifier,
            "redirect_uri": momiji.redirect_uri,
        },
        auth=("honnin-test", "wrong"),
    )
    assert bad_secret.status_code == 401
    assert bad_secret.json()["error"] == "invalid_client"
    as_post = momiji.http.post(
        f"{momiji.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": momiji.verifier,
            "redirect_uri": momiji.redirect_uri,
            "client_id": "honnin-test",
            "client_secret": "s3cret-for-tests-only",
        },
    )
    assert as_post.json()["error"] == "invalid_client"  # momiji takes Basic only

    sakura = make_flow("sakura_oidc")
    code = consent(sakura.authorization_url())["code"]
    forged = sakura.token_request(code, client_assertion=_assertion(f"{sakura.base_url}/token"))
    assert forged.status_code in {400, 401}
    assert forged.json()["error"] == "invalid_client"


def test_sakura_client_assertion_cannot_be_replayed(make_flow: Any) -> None:
    flow = make_flow("sakura_oidc")
    code = consent(flow.authorization_url())["code"]
    ok = flow.token_request(code)
    assert ok.status_code == 200
    # Re-send the exact same request body: the jti was already used.
    replay = flow.http.post(
        f"{flow.base_url}/token",
        content=ok.request.content,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert replay.json()["error"] == "invalid_client"


def test_kaede_accepts_client_secret_post(make_flow: Any) -> None:
    flow = make_flow("kaede_xml", client_id="honnin-test-post")
    code = consent(flow.authorization_url(), username="watanabe")["code"]
    token = flow.token_request(code)
    assert token.status_code == 200
    assert "渡邉" in flow.kyc(token.json()["access_token"]).text


def test_scopes_limit_the_data_shared(make_flow: Any) -> None:
    flow = make_flow("momiji_rest", scope="kyc:name kyc:birthdate")
    code = consent(flow.authorization_url(), username="saito")["code"]
    record = flow.kyc(flow.token_request(code).json()["access_token"]).json()
    assert record["name_kanji"] == "齋藤\u3000由紀"
    assert record["birth_date"] == "19890108"
    assert "address" not in record
    assert "name_kana" not in record


def test_unknown_scope_is_refused(make_flow: Any) -> None:
    flow = make_flow("momiji_rest", scope="kyc:everything")
    response = flow.http.get(flow.authorization_url())
    assert query_of(response.headers["location"])["error"] == "invalid_scope"


def test_wrong_password_shows_the_login_page_again(make_flow: Any) -> None:
    from honnin.sandbox.banks import AutomatedUserError

    flow = make_flow("momiji_rest")
    with pytest.raises(AutomatedUserError, match="login rejected"):
        complete_authorization_sync(flow.authorization_url(), username="sato", password="nope")


def test_consent_form_needs_the_browser_that_started_it(make_flow: Any) -> None:
    flow = make_flow("momiji_rest")
    page = flow.http.get(flow.authorization_url())
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    action = page.text.split('action="', 1)[1].split('"', 1)[0]
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    with httpx.Client() as stranger:
        response = stranger.post(
            flow.base_url + action, data={"csrf": csrf, "username": "sato", "password": "sandbox"}
        )
    assert response.status_code == 400
    assert "expired" in response.text


def test_metadata_is_rfc8414_valid_with_iss_parameter(
    banks: SandboxBanks, http: httpx.Client
) -> None:
    from authlib.oauth2 import rfc8414, rfc9207

    for bank_id, base in banks.base_urls.items():
        data = http.get(f"{base}/.well-known/oauth-authorization-server").json()
        metadata = rfc8414.AuthorizationServerMetadata(data)
        metadata.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
        assert data["issuer"] == base
        assert data["authorization_response_iss_parameter_supported"] is True
        assert data["code_challenge_methods_supported"] == ["S256"]
        if bank_id == "sakura_oidc":
            oidc = http.get(f"{base}/.well-known/openid-configuration").json()
            assert oidc["require_pushed_authorization_requests"] is True
            assert oidc["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
            assert oidc["trust_frameworks_supported"] == ["jp_aml"]
        else:
            assert "pushed_authorization_request_endpoint" not in data


def test_kyc_api_requires_a_valid_bearer_token(banks: SandboxBanks, http: httpx.Client) -> None:
    base = banks.base_urls["kaede_xml"]
    response = http.get(f"{base}/kyc/v1/customer", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


_FUZZ_BANKS = {
    bank_id: SandboxBank(
        bank_id,
        issuer="http://127.0.0.1:1",
        clients=[
            ClientRegistration(
                client_id="c",
                redirect_uris=("http://127.0.0.1:9/cb",),
                client_secret_hash=hash_client_secret("s" * 16),
            )
        ],
    )
    for bank_id in BANK_IDS
}
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_FIELDS = st.sampled_from(
    [
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "claims",
        "code_challenge",
        "code_challenge_method",
        "request_uri",
        "grant_type",
        "code",
        "code_verifier",
        "client_assertion",
        "client_assertion_type",
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    bank_id=st.sampled_from(BANK_IDS),
    path=st.sampled_from(["/authorize", "/token", "/par", "/interaction/x/login", "/userinfo"]),
    params=st.dictionaries(_FIELDS, _TEXT | st.sampled_from(["c", "code", "openid kyc"])),
)
def test_arbitrary_input_never_causes_a_server_error(
    bank_id: str, path: str, params: dict[str, str]
) -> None:
    with TestClient(_FUZZ_BANKS[bank_id].app, raise_server_exceptions=False) as client:
        if path == "/authorize":
            response = client.get(path, params=params)
        else:
            response = client.post(path, data=params, auth=("c", "s" * 16))
    assert response.status_code < 500


def test_oversized_bodies_are_refused() -> None:
    with TestClient(_FUZZ_BANKS["momiji_rest"].app) as client:
        response = client.post("/token", content=b"a" * 70_000)
    assert response.status_code == 413
