"""A success answer means the write is committed: a client that reads right after its
write, over real HTTP, always sees it (the request transaction ends before the response)."""

from __future__ import annotations

import httpx

from honnin.app import create_app
from support.platform import ADMIN_HEADERS, platform_settings
from support.server import free_port, serve_in_thread


def test_read_after_write_over_http(database_url: str) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(platform_settings(database_url, base_url=base_url))
    with serve_in_thread(app, port=port), httpx.Client(base_url=base_url) as client:
        for number in range(25):
            bank_id = f"bank_{number:03d}"
            created = client.post(
                "/admin/v1/banks", json={"id": bank_id, "name": "B"}, headers=ADMIN_HEADERS
            )
            assert created.status_code == 201
            read = client.get(f"/admin/v1/banks/{bank_id}", headers=ADMIN_HEADERS)
            assert read.status_code == 200, read.text
