"""The bank inquiry as people do it, in Debian's Chromium (Playwright, executable_path).

Everything runs for real on loopback: the platform under uvicorn, the three sandbox banks,
and the enterprise's webhook receiver and landing page. The enterprise creates an
inquiry by API; Chromium follows the authorization URL through Honnin to each bank, logs
in, reads the consent page and allows; the bank sends it back through Honnin to the
enterprise's page; the enterprise reads a schema-valid result and receives a signed
webhook.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey
from playwright.sync_api import Browser, sync_playwright

from honnin.app import create_app
from honnin.banks.oidc4ida import validate_verified_claims
from honnin.inquiries import core
from honnin.sandbox.banks import SandboxBanks
from support.broker import ALL_CLAIMS, BANK_CLIENT_SECRET, SATO, bank_registrations
from support.platform import ADMIN_HEADERS, platform_settings
from support.server import free_port, serve_in_thread
from support.webhooks import WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def setup_platform(
    client: httpx.Client, base_urls: dict[str, str], sakura: ECKey, receiver: WebhookReceiver
) -> dict[str, Any]:
    for bank_id, url in base_urls.items():
        client.post(
            "/admin/v1/banks", json={"id": bank_id, "name": bank_id}, headers=ADMIN_HEADERS
        ).raise_for_status()
        body: dict[str, Any] = {"issuer": url, "client_id": "honnin", "mapping": bank_id}
        if bank_id == "sakura_oidc":
            body |= {
                "auth_method": "private_key_jwt",
                "client_jwk": sakura.as_dict(private=True),
                "protocol": "oidc",
                "use_par": True,
            }
        else:
            body |= {"auth_method": "client_secret_basic", "client_secret": BANK_CLIENT_SECRET}
        put = client.put(f"/admin/v1/banks/{bank_id}/connection", json=body, headers=ADMIN_HEADERS)
        assert put.status_code == 200, put.text
    created = client.post(
        "/admin/v1/enterprises",
        json={"name": "Acme", "webhook_url": receiver.url},
        headers=ADMIN_HEADERS,
    )
    created.raise_for_status()
    enterprise: dict[str, Any] = created.json()
    for bank_id in base_urls:
        client.post(
            "/admin/v1/contracts",
            headers=ADMIN_HEADERS,
            json={
                "enterprise_id": enterprise["enterprise"]["id"],
                "bank_id": bank_id,
                "claims": ALL_CLAIMS,
                "purposes": ["account_opening"],
            },
        ).raise_for_status()
    creds = enterprise["credentials"]
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def wait_for(condition: Any, what: str) -> None:
    # Waiting for an asynchronous delivery, not timing it: generous bound, fails clearly.
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_people_complete_inquiries_at_each_bank(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    sakura = ECKey.generate_key("P-256", parameters={"kid": "honnin-sakura"}, private=True)
    registrations = bank_registrations(
        sakura.as_dict(private=False), callback=base_url + "/broker/callback"
    )
    settings = platform_settings(database_url, base_url=base_url, maintenance_interval_seconds=1)
    banks = SandboxBanks(clients=registrations)
    bank_urls = banks.start()
    try:
        with (
            webhook_receiver() as receiver,
            serve_in_thread(create_app(settings), port=port),
            httpx.Client(base_url=base_url) as client,
        ):
            headers = setup_platform(client, bank_urls, sakura, receiver)
            finished: list[str] = []
            for bank_id in ("momiji_rest", "kaede_xml", "sakura_oidc"):
                response = client.post(
                    "/v1/bank-inquiries",
                    headers=headers,
                    json={
                        "bank_id": bank_id,
                        "purpose": "account_opening",
                        "claims": ALL_CLAIMS,
                        "applicant": SATO,
                        "return_url": receiver.url.replace("/hook", "/after-kyc"),
                    },
                )
                assert response.status_code == 201, response.text
                inquiry = response.json()
                page = browser.new_page(locale="ja-JP")
                try:
                    page.goto(inquiry["authorization_url"])
                    page.fill("#username", "sato")
                    page.fill("#password", "sandbox")
                    page.click("#login")
                    shared = page.inner_text("#shared-data")
                    assert "佐藤" in shared
                    page.screenshot(path=str(tmp_path / f"consent-{bank_id}.png"))
                    page.click("#allow")
                    page.wait_for_url("**/after-kyc?**")
                    assert page.inner_text("#status") == "completed"
                finally:
                    page.close()
                result = client.get(f"/v1/bank-inquiries/{inquiry['id']}", headers=headers).json()
                assert result["status"] == "completed", result
                validate_verified_claims(result["result"]["verified_claims"])
                assert result["result"]["match"]["overall"] == "match"
                finished.append(inquiry["id"])

            wait_for(lambda: len(receiver.received) >= len(finished), "three webhooks")
            secret_text = client.get("/v1/webhook-secret", headers=headers).json()["secret"]
            secret = base64.b64decode(secret_text.removeprefix("whsec_"))
            delivered = set()
            for delivery in receiver.received:
                assert core.verify_webhook(
                    secret=secret,
                    headers=delivery.headers,
                    body=delivery.body,
                    now=int(time.time()),
                )
                delivered.add(json.loads(delivery.body)["data"]["inquiry_id"])
            assert delivered == set(finished)
    finally:
        banks.stop()
