"""The platform wired to the three sandbox banks over real loopback HTTP.

Honnin is registered at each bank (client_secret_basic at momiji/kaede, private_key_jwt at
sakura) and the bank connections are set through the operator API, as an operator would.
The user's part (login + consent) is played by the sandbox's automated user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc.jwk import ECKey

from honnin.sandbox.banks import (
    ClientRegistration,
    SandboxBanks,
    complete_authorization,
    hash_client_secret,
)
from support.clock import MovableClock
from support.platform import ADMIN_HEADERS, Platform, platform_settings, running_platform
from support.webhooks import WebhookReceiver

BASE_URL = "http://honnin.test"
CALLBACK = BASE_URL + "/broker/callback"
BANK_CLIENT_SECRET = "honnin-at-the-bank-0123456789abcdef"
ALL_CLAIMS = [
    "family_name",
    "given_name",
    "family_name#ja-Kana-JP",
    "given_name#ja-Kana-JP",
    "birthdate",
    "address",
]
SATO = {
    "family_name": "佐藤",
    "given_name": "花子",
    "family_name_kana": "さとう",
    "given_name_kana": "ハナコ",
    "birthdate": "1990-04-01",
    "postal_code": "100-0005",
    "address": "東京都千代田区丸の内1-1-1",
}


@dataclass
class Broker:
    platform: Platform
    banks: SandboxBanks
    clock: MovableClock
    enterprise: dict[str, Any]
    headers: dict[str, str]
    receiver: WebhookReceiver | None

    @property
    def client(self) -> httpx.AsyncClient:
        return self.platform.client

    async def create(
        self,
        bank_id: str,
        *,
        applicant: dict[str, Any] | None = None,
        claims: list[str] | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = {
            "bank_id": bank_id,
            "purpose": "account_opening",
            "claims": claims or ALL_CLAIMS,
            "applicant": applicant if applicant is not None else SATO,
            "return_url": "https://enterprise.example/after-kyc",
        }
        extra = {"Idempotency-Key": key} if key else {}
        return await self.client.post(
            "/v1/bank-inquiries", json=body, headers={**(headers or self.headers), **extra}
        )

    async def refresh_token(self) -> None:
        self.headers = await self.platform.bearer(self.enterprise["credentials"])

    async def bank_redirect(self, authorization_url: str) -> str:
        """Follow Honnin's start link: the bank's authorization URL."""
        start = await self.client.get(authorization_url)
        assert start.status_code == 303, start.text
        return start.headers["location"]

    async def consent(
        self, authorization_url: str, *, username: str = "sato", decision: str = "allow"
    ) -> str:
        """The user logs in and decides at the bank; returns Honnin's callback URL."""
        bank_url = await self.bank_redirect(authorization_url)
        callback = await complete_authorization(bank_url, username=username, decision=decision)  # type: ignore[arg-type]
        assert callback.startswith(CALLBACK), callback
        return callback

    async def callback(self, url: str) -> httpx.Response:
        parts = urlsplit(url)
        return await self.client.get(parts.path + "?" + parts.query)

    async def run(
        self,
        bank_id: str,
        *,
        username: str = "sato",
        decision: str = "allow",
        applicant: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        created = await self.create(bank_id, applicant=applicant)
        assert created.status_code == 201, created.text
        callback = await self.consent(
            created.json()["authorization_url"], username=username, decision=decision
        )
        finished = await self.callback(callback)
        assert finished.status_code == 303, finished.text
        query = parse_qs(urlsplit(finished.headers["location"]).query)
        assert query["inquiry_id"] == [created.json()["id"]]
        return await self.result(created.json()["id"])

    async def result(self, inquiry_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/bank-inquiries/{inquiry_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def bank_registrations(
    sakura_public_jwk: dict[str, Any], *, callback: str = CALLBACK
) -> list[ClientRegistration]:
    return [
        ClientRegistration(
            client_id="honnin",
            redirect_uris=(callback,),
            client_secret_hash=hash_client_secret(BANK_CLIENT_SECRET),
            banks=frozenset({"momiji_rest", "kaede_xml"}),
        ),
        ClientRegistration(
            client_id="honnin",
            redirect_uris=(callback,),
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [sakura_public_jwk]},
            banks=frozenset({"sakura_oidc"}),
        ),
    ]


async def configure_banks(platform: Platform, base_urls: dict[str, str], sakura_key: ECKey) -> None:
    for bank_id, url in base_urls.items():
        await platform.add_bank(bank_id)
        body: dict[str, Any] = {"issuer": url, "client_id": "honnin", "mapping": bank_id}
        if bank_id == "sakura_oidc":
            body |= {
                "auth_method": "private_key_jwt",
                "client_jwk": sakura_key.as_dict(private=True),
                "protocol": "oidc",
                "use_par": True,
            }
        else:
            body |= {"auth_method": "client_secret_basic", "client_secret": BANK_CLIENT_SECRET}
        response = await platform.client.put(
            f"/admin/v1/banks/{bank_id}/connection", json=body, headers=ADMIN_HEADERS
        )
        assert response.status_code == 200, response.text


@asynccontextmanager
async def running_broker(
    database_url: str, *, receiver: WebhookReceiver | None = None, **settings: Any
) -> AsyncIterator[Broker]:
    clock = MovableClock()
    sakura_key = ECKey.generate_key("P-256", parameters={"kid": "honnin-sakura"}, private=True)
    registrations = bank_registrations(sakura_key.as_dict(private=False))
    overrides = {"base_url": BASE_URL, "maintenance_interval_seconds": 3600, **settings}
    async with (
        SandboxBanks(clients=registrations) as banks,
        running_platform(platform_settings(database_url, **overrides), clock=clock) as platform,
    ):
        await configure_banks(platform, banks.base_urls, sakura_key)
        enterprise = await platform.new_enterprise(
            "Acme", **({"webhook_url": receiver.url} if receiver else {})
        )
        for bank_id in banks.base_urls:
            await platform.add_contract(enterprise["enterprise"]["id"], bank_id, claims=ALL_CLAIMS)
        headers = await platform.bearer(enterprise["credentials"])
        yield Broker(
            platform=platform,
            banks=banks,
            clock=clock,
            enterprise=enterprise,
            headers=headers,
            receiver=receiver,
        )
