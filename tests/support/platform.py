"""Helpers that run the platform app in-process and talk to it like its users do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from honnin.app import create_app
from honnin.clock import Clock
from honnin.config import Settings

TEST_DATA_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # 32 bytes, tests only
TEST_ADMIN_TOKEN = "ops=test-admin-token-0123456789"
ADMIN_HEADERS = {"Authorization": "Bearer test-admin-token-0123456789"}


def production_secret_env() -> dict[str, str]:
    """Every secret production requires, valid and fresh, as HONNIN_* variables."""
    from honnin.ledger.note import SIG_COSIGNATURE_V1, SIG_ED25519, Signer

    return {
        "HONNIN_ADMIN_TOKEN": TEST_ADMIN_TOKEN,
        "HONNIN_DATA_KEY": TEST_DATA_KEY,
        "HONNIN_SUBJECT_KEY": "cli-subject-key-0123456789abcdef",
        "HONNIN_WEBHOOK_SECRET": "cli-webhook-secret-0123456789abc",
        "HONNIN_LEDGER_SIGNING_KEY": Signer.generate("honnin.test/log", SIG_ED25519).skey,
        "HONNIN_LEDGER_WITNESS_KEY": Signer.generate(
            "honnin.test/witness", SIG_COSIGNATURE_V1
        ).skey,
        "HONNIN_LEDGER_CONSORTIUM_KEY": "cli-consortium-key-0123456789abcdef",
    }


def platform_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "mode": "test",
        "database_url": database_url,
        "base_url": "http://honnin.test",
        "admin_token": TEST_ADMIN_TOKEN,
        "data_key": TEST_DATA_KEY,
        "subject_key": "test-subject-key-0123456789abcdef",
        "webhook_secret": "test-webhook-secret-0123456789abcd",
        "log_json": True,
        # Explicit keys: test mode would otherwise generate them under ./var.
        **{
            name.removeprefix("HONNIN_").lower(): value
            for name, value in production_secret_env().items()
            if name.startswith("HONNIN_LEDGER_")
        },
    }
    values.update(overrides)
    return Settings.model_validate(values)


@dataclass
class Platform:
    """A running app plus helpers that talk to it the way an operator or enterprise would."""

    app: FastAPI
    client: httpx.AsyncClient

    async def new_enterprise(self, name: str = "Acme", **body: object) -> dict[str, Any]:
        response = await self.client.post(
            "/admin/v1/enterprises", json={"name": name, **body}, headers=ADMIN_HEADERS
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def add_bank(self, bank_id: str, name: str = "Test Bank") -> None:
        response = await self.client.post(
            "/admin/v1/banks", json={"id": bank_id, "name": name}, headers=ADMIN_HEADERS
        )
        assert response.status_code == 201, response.text

    async def add_contract(
        self, enterprise_id: str, bank_id: str, **terms: object
    ) -> dict[str, Any]:
        body: dict[str, object] = {
            "enterprise_id": enterprise_id,
            "bank_id": bank_id,
            "claims": ["family_name", "given_name", "birthdate"],
            "purposes": ["account_opening"],
        }
        body.update(terms)
        response = await self.client.post("/admin/v1/contracts", json=body, headers=ADMIN_HEADERS)
        assert response.status_code == 201, response.text
        contract: dict[str, Any] = response.json()
        return contract

    async def token(self, credentials: dict[str, Any], scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        response = await self.client.post(
            "/oauth/token",
            data=data,
            auth=(credentials["client_id"], credentials["client_secret"]),
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def bearer(self, credentials: dict[str, Any], scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(credentials, scope)}"}


@asynccontextmanager
async def running_platform(
    settings: Settings, *, clock: Clock | None = None
) -> AsyncIterator[Platform]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
            yield Platform(app=app, client=client)
