"""Signing keys sealed at rest under HONNIN_DATA_KEY (honnin.auth.keys)."""

from __future__ import annotations

import base64

import pytest

from honnin.security.errors import KeyConfigurationError
from support.platform import TEST_DATA_KEY, platform_settings, running_platform

OTHER_DATA_KEY = base64.b64encode(bytes(range(32))).decode()


async def test_a_data_key_that_did_not_seal_the_signing_key_stops_start_up_by_name(
    database_url: str,
) -> None:
    async with running_platform(platform_settings(database_url)):
        pass  # the first start seals a signing key under TEST_DATA_KEY
    with pytest.raises(KeyConfigurationError, match="HONNIN_DATA_KEY") as refused:
        async with running_platform(platform_settings(database_url, data_key=OTHER_DATA_KEY)):
            pass
    assert "keep the old key after the new one" in refused.value.safe_message
    # Rotation: the new key first, the old one still in the ring.
    ring = f"{OTHER_DATA_KEY},{TEST_DATA_KEY}"
    async with running_platform(platform_settings(database_url, data_key=ring)) as platform:
        enterprise = await platform.new_enterprise("Acme")
        headers = await platform.bearer(enterprise["credentials"])  # signed with the old key
        assert (await platform.client.get("/v1/banks", headers=headers)).status_code == 200
