"""PostgreSQL drops every connection (a restart, a failover): the platform recovers.

Connections are not pinged before use (``HONNIN_DATABASE_PRE_PING`` off, the default), so a
request on a dropped connection fails with 503 ``database_unavailable`` (Retry-After: 1),
and the pool replaces the others: the requests after it succeed. That holds for both of
the process's pools: SQLAlchemy's (the admin API here) and the asyncpg pool of the
one-statement reads (``honnin.db.direct``: the enterprise's token check).
"""

from __future__ import annotations

import pytest

from support.platform import ADMIN_HEADERS, platform_settings, running_platform
from support.postgres import drop_every_connection


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("pre_ping", [False, True])
@pytest.mark.parametrize("caller", ["admin", "enterprise"])
async def test_requests_after_the_server_dropped_every_connection_succeed(
    database_url: str, pre_ping: bool, caller: str
) -> None:
    settings = platform_settings(database_url, database_pre_ping=pre_ping)
    async with running_platform(settings) as platform:
        path, headers = "/admin/v1/enterprises", ADMIN_HEADERS
        if caller == "enterprise":
            created = await platform.new_enterprise()
            path = "/v1/webhook-secret"
            headers = await platform.bearer(created["credentials"])
        for _ in range(3):
            ok = await platform.client.get(path, headers=headers)
            assert ok.status_code == 200, ok.text
        await drop_every_connection(database_url)
        statuses = []
        for _ in range(4):
            response = await platform.client.get(path, headers=headers)
            statuses.append(response.status_code)
            if response.status_code != 200:
                assert response.status_code == 503, response.text
                assert response.json()["code"] == "database_unavailable"
                assert response.headers["retry-after"] == "1"
        # At most the request on a dropped connection fails; with pre-ping none does.
        assert statuses[1:] == [200, 200, 200], statuses
        if pre_ping:
            assert statuses[0] == 200, statuses
