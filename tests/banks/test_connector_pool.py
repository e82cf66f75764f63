"""The connector spreads a bank's requests over several small httpx pools."""

from __future__ import annotations

import httpx

from honnin.banks.connection import BankConnection
from honnin.banks.connector import POOL_SHARDS, BankConnector


def _connection() -> BankConnection:
    return BankConnection(
        bank_id="momiji_rest",
        issuer="http://bank.test",
        client_id="honnin",
        auth_method="client_secret_basic",
        mapping="momiji_rest",
        client_secret="secret-0123456789abcdef",
    )


async def test_requests_take_the_pools_in_turn_and_close_with_the_connector() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"issuer": "http://bank.test"})

    connector = BankConnector(
        redirect_uri="http://honnin.test/broker/callback", transport=httpx.MockTransport(answer)
    )
    connection = _connection()
    used = [connector._plain_client(connection) for _ in range(2 * POOL_SHARDS)]
    assert len({id(client) for client in used}) == POOL_SHARDS
    assert used[:POOL_SHARDS] == used[POOL_SHARDS:]
    assert (await connector.metadata(connection))["issuer"] == "http://bank.test"
    assert seen == ["/.well-known/oauth-authorization-server"]
    await connector.aclose()
    assert all(client.is_closed for client in used)
