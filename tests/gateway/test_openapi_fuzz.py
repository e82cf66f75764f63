"""Schemathesis: property-based calls generated from /openapi.json never get a 5xx.

The app runs under uvicorn on loopback against a migrated database of each backend, with
an enterprise, a bank and a contract seeded so authenticated paths are reached too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from honnin.app import create_app
from support.platform import ADMIN_HEADERS, platform_settings
from support.server import free_port, serve_in_thread


@pytest.fixture
def live_platform(database_url: str) -> Iterator[dict[str, Any]]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(platform_settings(database_url, base_url=base_url))
    with serve_in_thread(app, port=port), httpx.Client(base_url=base_url) as client:
        created = client.post("/admin/v1/enterprises", json={"name": "Fuzz"}, headers=ADMIN_HEADERS)
        created.raise_for_status()
        enterprise = created.json()
        client.post(
            "/admin/v1/banks", json={"id": "momiji_rest", "name": "M"}, headers=ADMIN_HEADERS
        ).raise_for_status()
        client.post(
            "/admin/v1/contracts",
            json={
                "enterprise_id": enterprise["enterprise"]["id"],
                "bank_id": "momiji_rest",
                "claims": ["family_name"],
                "purposes": ["account_opening"],
            },
            headers=ADMIN_HEADERS,
        ).raise_for_status()
        creds = enterprise["credentials"]
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        ).json()["access_token"]
        yield {"base_url": base_url, "token": token, "credentials": creds}


def _headers_for(path: str, live: dict[str, Any]) -> dict[str, str]:
    if path.startswith("/admin/"):
        return dict(ADMIN_HEADERS)
    if path == "/oauth/token":
        creds = live["credentials"]
        basic = httpx.BasicAuth(creds["client_id"], creds["client_secret"])
        return {"Authorization": basic._auth_header}
    return {"Authorization": f"Bearer {live['token']}"}


def test_no_server_errors(live_platform: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(live_platform["base_url"] + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=live_platform["base_url"],
                headers=_headers_for(case.path, live_platform),
                checks=[not_a_server_error],
            )

        call()
