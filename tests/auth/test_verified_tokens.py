"""Access tokens whose signature was checked once: still bounded by expiry and key set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from joserfc.jwk import KeySet

from honnin.auth import service as auth_service
from honnin.auth import tokens
from support.clock import MovableClock
from support.platform import Platform, platform_settings, running_platform


@pytest.fixture
async def clocked(database_url: str) -> AsyncIterator[tuple[Platform, MovableClock]]:
    clock = MovableClock()
    async with running_platform(platform_settings(database_url), clock=clock) as platform:
        yield platform, clock


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every full verification (signature, claims) of an access token."""
    done: list[str] = []
    original = tokens.verify_access_token

    def counting(token: str, **kwargs: Any) -> tokens.Principal:
        done.append(token)
        return original(token, **kwargs)

    monkeypatch.setattr(auth_service.tokens, "verify_access_token", counting)
    return done


async def test_a_token_is_verified_once_and_rejected_after_expiry(
    clocked: tuple[Platform, MovableClock], verifications: list[str]
) -> None:
    platform, clock = clocked
    acme = await platform.new_enterprise()
    headers = await platform.bearer(acme["credentials"])
    for _ in range(3):
        assert (await platform.client.get("/v1/banks", headers=headers)).status_code == 200
    assert len(verifications) == 1
    ttl = platform_settings("sqlite://").token_ttl_seconds
    clock.advance(timedelta(seconds=ttl + tokens.CLOCK_SKEW_SECONDS + 1))
    response = await platform.client.get("/v1/banks", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"


async def test_a_remembered_token_is_rejected_once_its_key_is_unpublished(
    clocked: tuple[Platform, MovableClock],
    verifications: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform, _clock = clocked
    acme = await platform.new_enterprise()
    headers = await platform.bearer(acme["credentials"])
    assert (await platform.client.get("/v1/banks", headers=headers)).status_code == 200
    key_store = platform.app.state.key_store

    async def no_keys(*, kid: str | None) -> KeySet:
        return KeySet([])

    monkeypatch.setattr(key_store, "verification_keys", no_keys)
    response = await platform.client.get("/v1/banks", headers=headers)
    assert response.status_code == 401, response.text
    assert len(verifications) == 2  # checked again, and refused
