"""Logs are JSON, carry the request id, and never contain secrets, tokens or submitted data."""

from __future__ import annotations

import json

import pytest

from support.platform import ADMIN_HEADERS, Platform


async def test_logs_carry_no_secrets_or_submitted_values(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    acme = await platform.new_enterprise("Acme")
    token = await platform.token(acme["credentials"])
    await platform.client.get("/v1/banks", headers={"Authorization": f"Bearer {token}"})
    await platform.client.post(
        "/admin/v1/enterprises", json={"name": "山田太郎" * 80}, headers=ADMIN_HEADERS
    )
    await platform.client.get("/v1/banks", headers={"Authorization": "Bearer forged.token.value"})
    logged = capsys.readouterr().err
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) >= 4
    assert all(len(line["request_id"]) >= 8 for line in requests)
    assert any(line.get("enterprise_id") == acme["enterprise"]["id"] for line in requests)
    for secret in (
        acme["credentials"]["client_secret"],
        token,
        "test-admin-token-0123456789",
        "山田太郎",
        "forged.token.value",
    ):
        assert secret not in logged
