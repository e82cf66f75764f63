"""The enterprise and admin HTTP API end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from support.platform import ADMIN_HEADERS, Platform

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def onboard(platform: Platform, name: str, bank: str) -> dict[str, Any]:
    created = await platform.new_enterprise(name)
    contract = await platform.add_contract(created["enterprise"]["id"], bank)
    return {**created, "contract": contract}


# -- tokens ------------------------------------------------


async def test_client_secret_basic_token_lists_only_contracted_banks(platform: Platform) -> None:
    await platform.add_bank("momiji_rest")
    await platform.add_bank("kaede_xml")
    acme = await onboard(platform, "Acme", "momiji_rest")
    headers = await platform.bearer(acme["credentials"])
    response = await platform.client.get("/v1/banks", headers=headers)
    assert response.status_code == 200
    assert [b["id"] for b in response.json()["banks"]] == ["momiji_rest"]


async def test_token_response_shape_and_no_store(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    response = await platform.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "banks:read"},
        auth=(acme["credentials"]["client_id"], acme["credentials"]["client_secret"]),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "banks:read"
    assert 0 < body["expires_in"] <= 3600


async def test_wrong_secret_and_unknown_client(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    for auth in [(acme["credentials"]["client_id"], "wrong"), ("cli_nobody", "x")]:
        response = await platform.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=auth
        )
        body = assert_problem(response, 401, "invalid_client")
        assert body["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")


async def test_token_endpoint_request_errors(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    auth = (acme["credentials"]["client_id"], acme["credentials"]["client_secret"])
    response = await platform.client.post(
        "/oauth/token", data={"grant_type": "password"}, auth=auth
    )
    assert (
        assert_problem(response, 400, "unsupported_grant_type")["error"] == "unsupported_grant_type"
    )
    response = await platform.client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "admin"}, auth=auth
    )
    assert_problem(response, 400, "invalid_scope")
    response = await platform.client.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, auth=auth
    )
    assert_problem(response, 415, "unsupported_media_type")
    response = await platform.client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert_problem(response, 401, "invalid_client")
    response = await platform.client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=auth,
    )
    assert_problem(response, 400, "invalid_token_request")


def client_assertion(key: ECKey, client_id: str, *, jti: str | None = None, aud: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": jti or secrets.token_hex(8),
    }
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)


async def test_private_key_jwt_and_replay(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    client_id = acme["credentials"]["client_id"]
    key = ECKey.generate_key("P-256", parameters={"kid": "acme-2026"}, private=True)
    headers = await platform.bearer(acme["credentials"], "keys:manage")
    response = await platform.client.post(
        "/v1/keys", json={"jwk": key.as_dict(private=False)}, headers=headers
    )
    assert response.status_code == 201, response.text

    aud = "http://honnin.test/oauth/token"
    signed = client_assertion(key, client_id, jti="once", aud=aud)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    }
    first = await platform.client.post("/oauth/token", data=form)
    assert first.status_code == 200, first.text
    replay = await platform.client.post("/oauth/token", data=form)
    assert "already used" in assert_problem(replay, 401, "invalid_client")["detail"]

    stranger = ECKey.generate_key("P-256", parameters={"kid": "acme-2026"}, private=True)
    forged = {**form, "client_assertion": client_assertion(stranger, client_id, aud=aud)}
    assert_problem(await platform.client.post("/oauth/token", data=forged), 401, "invalid_client")
    wrong_aud = {
        **form,
        "client_assertion": client_assertion(key, client_id, aud="https://elsewhere"),
    }
    assert_problem(
        await platform.client.post("/oauth/token", data=wrong_aud), 401, "invalid_client"
    )


async def test_private_key_with_private_members_is_refused(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    headers = await platform.bearer(acme["credentials"], "keys:manage")
    key = ECKey.generate_key("P-256", parameters={"kid": "k"}, private=True)
    response = await platform.client.post(
        "/v1/keys", json={"jwk": key.as_dict(private=True)}, headers=headers
    )
    assert_problem(response, 422, "invalid_client_key")


# -- contracts take effect at once ------------------------------------------------


async def test_revoked_contract_stops_access_at_once(platform: Platform) -> None:
    await platform.add_bank("momiji_rest")
    acme = await onboard(platform, "Acme", "momiji_rest")
    headers = await platform.bearer(acme["credentials"])
    assert len((await platform.client.get("/v1/banks", headers=headers)).json()["banks"]) == 1
    response = await platform.client.post(
        f"/admin/v1/contracts/{acme['contract']['id']}/revoke",
        json={"reason": "contract ended"},
        headers=ADMIN_HEADERS,
    )
    assert response.json()["status"] == "revoked"
    # Same token, next request: the bank is gone.
    assert (await platform.client.get("/v1/banks", headers=headers)).json()["banks"] == []


async def test_expired_and_future_contracts_give_no_access(platform: Platform) -> None:
    await platform.add_bank("momiji_rest")
    await platform.add_bank("kaede_xml")
    acme = await platform.new_enterprise()
    ent = acme["enterprise"]["id"]
    now = datetime.now(UTC)
    await platform.add_contract(
        ent,
        "momiji_rest",
        valid_from=(now - timedelta(days=30)).isoformat(),
        valid_until=(now - timedelta(seconds=1)).isoformat(),
    )
    await platform.add_contract(ent, "kaede_xml", valid_from=(now + timedelta(days=1)).isoformat())
    headers = await platform.bearer(acme["credentials"])
    assert (await platform.client.get("/v1/banks", headers=headers)).json()["banks"] == []
    contracts = (await platform.client.get("/v1/contracts", headers=headers)).json()["contracts"]
    assert sorted(c["in_force"] for c in contracts) == [False, False]


async def test_revoked_enterprise_tokens_stop_working(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    headers = await platform.bearer(acme["credentials"])
    assert (await platform.client.get("/v1/banks", headers=headers)).status_code == 200
    await platform.client.post(
        f"/admin/v1/enterprises/{acme['enterprise']['id']}/revoke", json={}, headers=ADMIN_HEADERS
    )
    assert_problem(await platform.client.get("/v1/banks", headers=headers), 401, "unauthenticated")
    response = await platform.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(acme["credentials"]["client_id"], acme["credentials"]["client_secret"]),
    )
    assert_problem(response, 401, "invalid_client")


# -- tenant isolation ------------------------------------------------


async def test_enterprise_cannot_read_or_change_another_enterprises_objects(
    platform: Platform,
) -> None:
    await platform.add_bank("momiji_rest")
    acme = await onboard(platform, "Acme", "momiji_rest")
    globex = await onboard(platform, "Globex", "momiji_rest")
    acme_headers = await platform.bearer(acme["credentials"])
    globex_headers = await platform.bearer(globex["credentials"])

    own = await platform.client.get(f"/v1/contracts/{acme['contract']['id']}", headers=acme_headers)
    assert own.status_code == 200
    other = await platform.client.get(
        f"/v1/contracts/{globex['contract']['id']}", headers=acme_headers
    )
    assert_problem(other, 404, "contract_not_found")
    listed = (await platform.client.get("/v1/contracts", headers=acme_headers)).json()["contracts"]
    assert [c["id"] for c in listed] == [acme["contract"]["id"]]

    key = ECKey.generate_key("P-256", parameters={"kid": "globex"}, private=True)
    created = await platform.client.post(
        "/v1/keys", json={"jwk": key.as_dict(private=False)}, headers=globex_headers
    )
    key_id = created.json()["id"]
    assert_problem(
        await platform.client.delete(f"/v1/keys/{key_id}", headers=acme_headers),
        404,
        "client_key_not_found",
    )
    assert (await platform.client.get("/v1/keys", headers=acme_headers)).json()["keys"] == []
    assert len((await platform.client.get("/v1/keys", headers=globex_headers)).json()["keys"]) == 1
    assert (
        await platform.client.delete(f"/v1/keys/{key_id}", headers=globex_headers)
    ).status_code == 204


async def test_enterprise_token_cannot_use_admin_api(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    headers = await platform.bearer(acme["credentials"])
    assert_problem(
        await platform.client.get("/admin/v1/contracts", headers=headers),
        401,
        "admin_unauthenticated",
    )


async def test_missing_scope_is_forbidden(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    headers = await platform.bearer(acme["credentials"], "contracts:read")
    assert_problem(
        await platform.client.get("/v1/banks", headers=headers), 403, "insufficient_scope"
    )


# -- signing key rotation ------------------------------------------------


async def test_key_rotation_keeps_old_tokens_valid_and_publishes_both(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    old_headers = await platform.bearer(acme["credentials"])
    before = (await platform.client.get("/oauth/jwks")).json()["keys"]
    rotated = await platform.client.post("/admin/v1/signing-keys/rotate", headers=ADMIN_HEADERS)
    assert rotated.status_code == 201
    new_kid = rotated.json()["kid"]
    after = (await platform.client.get("/oauth/jwks")).json()["keys"]
    assert {k["kid"] for k in after} == {k["kid"] for k in before} | {new_kid}
    assert all("d" not in k for k in after)
    assert (await platform.client.get("/v1/banks", headers=old_headers)).status_code == 200
    new_token = await platform.token(acme["credentials"])
    assert jwt.decode(new_token, KeySet.import_key_set({"keys": after})).header["kid"] == new_kid


# -- audit ------------------------------------------------


async def test_admin_changes_are_audited_with_actor(platform: Platform) -> None:
    await platform.add_bank("momiji_rest")
    acme = await onboard(platform, "Acme", "momiji_rest")
    await platform.client.post(
        f"/admin/v1/contracts/{acme['contract']['id']}/revoke",
        json={"reason": "ended"},
        headers=ADMIN_HEADERS,
    )
    events = (await platform.client.get("/admin/v1/audit-events", headers=ADMIN_HEADERS)).json()[
        "events"
    ]
    actions = [e["action"] for e in reversed(events)]
    assert actions == [
        "bank.create",
        "enterprise.create",
        "client.create",
        "contract.create",
        "contract.revoke",
    ]
    assert {e["actor"] for e in events} == {"admin:ops"}
    revoke = events[0]
    assert revoke["object_id"] == acme["contract"]["id"]
    assert revoke["details"] == {"reason": "ended"}


async def test_admin_api_requires_the_admin_token(platform: Platform) -> None:
    assert_problem(await platform.client.get("/admin/v1/banks"), 401, "admin_unauthenticated")
    response = await platform.client.get(
        "/admin/v1/banks", headers={"Authorization": "Bearer wrong"}
    )
    assert_problem(response, 401, "admin_unauthenticated")


async def test_contract_for_unknown_enterprise_or_bank(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    response = await platform.client.post(
        "/admin/v1/contracts",
        json={
            "enterprise_id": acme["enterprise"]["id"],
            "bank_id": "nobank",
            "claims": ["family_name"],
            "purposes": ["x"],
        },
        headers=ADMIN_HEADERS,
    )
    assert_problem(response, 404, "bank_not_found")
    await platform.add_bank("momiji_rest")
    response = await platform.client.post(
        "/admin/v1/banks", json={"id": "momiji_rest", "name": "again"}, headers=ADMIN_HEADERS
    )
    assert_problem(response, 409, "bank_exists")


# -- bad input ------------------------------------------------


async def test_bad_inputs_get_problem_documents(platform: Platform) -> None:
    client = platform.client
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(await client.delete("/v1/banks"), 405, "method_not_allowed")
    response = await client.post(
        "/admin/v1/banks",
        content=b'{"id": "x",',
        headers={**ADMIN_HEADERS, "content-type": "application/json"},
    )
    assert_problem(response, 400, "malformed_json")
    response = await client.post(
        "/admin/v1/banks", json={"id": 7, "name": ["x"]}, headers=ADMIN_HEADERS
    )
    body = assert_problem(response, 422, "validation_error")
    assert {tuple(e["location"]) for e in body["errors"]} == {("body", "id"), ("body", "name")}
    response = await client.post(
        "/admin/v1/banks", json={"id": "ok_bank", "name": "n", "extra": 1}, headers=ADMIN_HEADERS
    )
    assert_problem(response, 422, "validation_error")
    response = await client.post("/admin/v1/banks", json=[1, 2], headers=ADMIN_HEADERS)
    assert_problem(response, 422, "validation_error")
    assert_problem(await client.get("/v1/banks"), 401, "unauthenticated")
    assert_problem(
        await client.get("/v1/banks", headers={"Authorization": "Bearer not.a.jwt"}),
        401,
        "invalid_token",
    )
    response = await client.get("/admin/v1/audit-events?limit=abc", headers=ADMIN_HEADERS)
    assert_problem(response, 422, "validation_error")


async def test_validation_errors_do_not_echo_input(platform: Platform) -> None:
    response = await platform.client.post(
        "/admin/v1/enterprises", json={"name": "山田太郎" * 100}, headers=ADMIN_HEADERS
    )
    assert response.status_code == 422
    assert "山田" not in response.text


async def test_oversized_bodies_declared_or_streamed(platform: Platform) -> None:
    limit = platform.app.state.settings.max_body_bytes
    huge = b"[" + b"1," * (limit // 2 + 1) + b"1]"
    response = await platform.client.post(
        "/admin/v1/banks",
        content=huge,
        headers={**ADMIN_HEADERS, "content-type": "application/json"},
    )
    assert_problem(response, 413, "body_too_large")

    async def chunks() -> Any:
        for _ in range(limit // 65_536 + 2):
            yield b" " * 65_536

    response = await platform.client.post(
        "/admin/v1/banks",
        content=chunks(),
        headers={**ADMIN_HEADERS, "content-type": "application/json"},
    )
    assert_problem(response, 413, "body_too_large")


# -- operations ------------------------------------------------


async def test_health_ready_metrics_openapi(platform: Platform) -> None:
    assert (await platform.client.get("/healthz")).json() == {"status": "ok"}
    ready = (await platform.client.get("/readyz")).json()
    assert ready["status"] == "ready"
    metrics = (await platform.client.get("/metrics")).text
    assert 'honnin_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics
    spec = (await platform.client.get("/openapi.json")).json()
    assert "/v1/banks" in spec["paths"]
    assert "/oauth/token" in spec["paths"]
    meta = (await platform.client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["token_endpoint"] == "http://honnin.test/oauth/token"
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]


async def test_request_id_is_echoed_when_sane(platform: Platform) -> None:
    response = await platform.client.get("/healthz", headers={"X-Request-Id": "req-12345678"})
    assert response.headers["x-request-id"] == "req-12345678"
    response = await platform.client.get(
        "/healthz", headers={"X-Request-Id": "bad id\twith spaces"}
    )
    assert response.headers["x-request-id"] != "bad id\twith spaces"


async def test_odd_path_parameters(platform: Platform) -> None:
    acme = await platform.new_enterprise()
    headers = await platform.bearer(acme["credentials"])
    long_id = "/v1/contracts/" + "x" * 5000
    assert_problem(await platform.client.get(long_id, headers=headers), 404, "contract_not_found")
    for path in ["/v1/contracts/%00", "/v1/contracts/a?x=%00"]:
        response = await platform.client.get(path, headers=headers)
        assert_problem(response, 400, "invalid_characters")


async def test_nul_characters_in_json_are_refused(platform: Platform) -> None:
    response = await platform.client.post(
        "/admin/v1/enterprises", json={"name": "Acme\u0000Corp"}, headers=ADMIN_HEADERS
    )
    assert_problem(response, 422, "validation_error")
