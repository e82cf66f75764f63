"""A burst larger than the connection pool queues for request slots instead of taking every
connection and then waiting forever for the short second sessions requests open inside."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from honnin.app import create_app
from support.platform import ADMIN_HEADERS, platform_settings
from support.server import free_port, serve_in_thread


def test_burst_beyond_the_pool_completes(database_url: str) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = platform_settings(
        database_url,
        base_url=base_url,
        database_pool_size=2,
        database_max_overflow=0,
        # Closures are read from the database on every request: a second session each time.
        gateway_cache_ttl_seconds=0,
    )
    with (
        serve_in_thread(create_app(settings), port=port),
        httpx.Client(base_url=base_url) as client,
    ):
        created = client.post(
            "/admin/v1/enterprises", json={"name": "Burst"}, headers=ADMIN_HEADERS
        )
        creds: dict[str, Any] = created.json()["credentials"]
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        ).json()["access_token"]

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            responses = await asyncio.gather(
                *(
                    http.get("/v1/banks", headers={"Authorization": f"Bearer {token}"})
                    for _ in range(30)
                )
            )
        return [r.status_code for r in responses]

    with serve_in_thread(create_app(settings), port=port):
        statuses = asyncio.run(burst())
    assert set(statuses) <= {200, 429}, statuses
    assert 200 in statuses
