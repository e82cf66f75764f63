"""The gateway policy chain on the real app (SQLite and PostgreSQL): limits, quotas,
rate-limit header fields, closures, plugin hooks, contract-cache invalidation."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from honnin.banks.flow_errors import BankClosedError
from honnin.gateway.example_plugin import PurposeGuard
from honnin.gateway.plugins import BasePlugin, CallContext, PluginRegistry
from honnin.gateway.quotas import EnterpriseLimiter
from support.clock import MovableClock
from support.platform import ADMIN_HEADERS, Platform, platform_settings, running_platform

PROBLEM = "application/problem+json"
RATELIMIT = re.compile(r'^"second";r=(\d+);t=(\d+), "day";r=(\d+);t=(\d+)$')


async def enterprise(platform: Platform, bank: str = "momiji_rest") -> dict[str, Any]:
    await platform.add_bank(bank)
    created = await platform.new_enterprise("Acme")
    await platform.add_contract(created["enterprise"]["id"], bank)
    return created


async def test_admitted_requests_carry_ratelimit_fields(platform: Platform) -> None:
    acme = await enterprise(platform)
    headers = await platform.bearer(acme["credentials"])
    first = await platform.client.get("/v1/banks", headers=headers)
    second = await platform.client.get("/v1/banks", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.headers["ratelimit-policy"] == '"second";q=50;w=1, "day";q=100000;w=86400'
    day_remaining = [int(RATELIMIT.match(r.headers["ratelimit"])[3]) for r in (first, second)]  # type: ignore[index]
    assert day_remaining == [99_999, 99_998]


async def test_per_second_limit_answers_429_with_retry_after(database_url: str) -> None:
    settings = platform_settings(database_url, gateway_default_rate_per_second=2)
    async with running_platform(settings) as platform:
        acme = await enterprise(platform)
        headers = await platform.bearer(acme["credentials"])
        statuses = [(await platform.client.get("/v1/contracts", headers=headers)) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        refused = statuses[2]
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["ratelimit-policy"] == '"second";q=2;w=1'
        assert refused.headers["ratelimit"].startswith('"second";r=0;t=')


async def test_daily_quota_is_refused_and_survives_a_restart(database_url: str) -> None:
    settings = platform_settings(database_url, gateway_default_daily_quota=3)
    async with running_platform(settings) as platform:
        acme = await enterprise(platform)
        headers = await platform.bearer(acme["credentials"])
        codes = [(await platform.client.get("/v1/banks", headers=headers)) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        assert codes[3].json()["code"] == "quota_exceeded"
        to_midnight = int(codes[3].headers["retry-after"])
        assert 1 <= to_midnight <= 86_400
        assert codes[3].headers["ratelimit"].endswith(f'"day";r=0;t={to_midnight}')
        # Other APIs have their own quota.
        assert (await platform.client.get("/v1/contracts", headers=headers)).status_code == 200
    async with running_platform(settings) as restarted:
        again = await restarted.client.get("/v1/banks", headers=headers)
        assert again.status_code == 429
        assert again.json()["code"] == "quota_exceeded"


async def test_bank_quota_uses_contract_terms(platform: Platform) -> None:
    """What the inquiry broker calls: limits per bank from the contract."""
    gateway = platform.app.state.gateway
    acme = await enterprise(platform)
    async with platform.app.state.database.transaction() as session:
        terms = await platform.app.state.contracts.authorize(
            session,
            enterprise_id=acme["enterprise"]["id"],
            bank_id="momiji_rest",
            claims=["family_name"],
            purpose="account_opening",
        )
    terms = type(terms)(**{**terms.__dict__, "daily_quota": 1, "rate_per_second": 5})
    fields = await gateway.admit(
        enterprise_id=acme["enterprise"]["id"], api="inquiries", bank_id="momiji_rest", terms=terms
    )
    assert fields["RateLimit-Policy"] == '"second";q=5;w=1, "day";q=1;w=86400'
    with pytest.raises(Exception, match="daily quota of 1") as caught:
        await gateway.admit(
            enterprise_id=acme["enterprise"]["id"],
            api="inquiries",
            bank_id="momiji_rest",
            terms=terms,
        )
    assert caught.value.code == "quota_exceeded"  # type: ignore[attr-defined]
    limiter: EnterpriseLimiter = gateway.limiter
    assert await limiter.used_today(acme["enterprise"]["id"], "inquiries:momiji_rest") == 1


async def close(platform: Platform, **body: object) -> dict[str, Any]:
    response = await platform.client.post(
        "/admin/v1/service/closures", json=body, headers=ADMIN_HEADERS
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_closing_an_api_answers_503_until_reopened(platform: Platform) -> None:
    acme = await enterprise(platform)
    headers = await platform.bearer(acme["credentials"])
    closed = await close(platform, scope="api", target="banks", reason="maintenance")
    assert closed["closed_by"] == "admin:ops"
    refused = await platform.client.get("/v1/banks", headers=headers)
    assert refused.status_code == 503
    body = refused.json()
    assert body["code"] == "service_closed"
    assert "maintenance" in body["detail"]
    assert refused.headers["retry-after"] == "300"
    # Other APIs stay open.
    assert (await platform.client.get("/v1/contracts", headers=headers)).status_code == 200
    listed = await platform.client.get("/admin/v1/service/closures", headers=ADMIN_HEADERS)
    assert [(c["scope"], c["target"]) for c in listed.json()["closures"]] == [("api", "banks")]
    opened = await platform.client.delete(
        "/admin/v1/service/closures/api/banks", headers=ADMIN_HEADERS
    )
    assert opened.status_code == 200
    assert (await platform.client.get("/v1/banks", headers=headers)).status_code == 200
    audit = await platform.client.get(
        "/admin/v1/audit-events", params={"object_type": "service_api"}, headers=ADMIN_HEADERS
    )
    assert [e["action"] for e in audit.json()["events"]] == ["service.open", "service.close"]


async def test_closing_an_enterprise_with_a_reopening_time(platform: Platform) -> None:
    acme = await enterprise(platform)
    other = await platform.new_enterprise("Other")
    reopen_at = datetime.now(UTC) + timedelta(minutes=10)
    await close(
        platform,
        scope="enterprise",
        target=acme["enterprise"]["id"],
        reopen_at=reopen_at.isoformat(),
    )
    refused = await platform.client.get(
        "/v1/banks", headers=await platform.bearer(acme["credentials"])
    )
    assert refused.status_code == 503
    assert 590 <= int(refused.headers["retry-after"]) <= 600
    assert refused.json()["reopen_at"] is not None
    allowed = await platform.client.get(
        "/v1/banks", headers=await platform.bearer(other["credentials"])
    )
    assert allowed.status_code == 200


async def test_closure_lapses_at_its_reopening_time(database_url: str) -> None:
    clock = MovableClock()
    async with running_platform(platform_settings(database_url), clock=clock) as platform:
        closures = platform.app.state.gateway.closures
        async with platform.app.state.database.transaction() as session:
            await closures.close(
                session,
                scope="bank",
                target="momiji_rest",
                reason=None,
                reopen_at=clock.now() + timedelta(minutes=10),
                actor="test",
            )
        assert await closures.bank_closed_for("momiji_rest") is not None
        with pytest.raises(BankClosedError):
            async with platform.app.state.bank_flow.guard("momiji_rest"):
                pytest.fail("called a closed bank")
        clock.advance(timedelta(minutes=10, seconds=1))
        assert await closures.bank_closed_for("momiji_rest") is None
        async with platform.app.state.bank_flow.guard("momiji_rest"):
            pass


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"scope": "galaxy", "target": "banks"}, 422),
        ({"scope": "api", "target": "../etc"}, 422),
        ({"scope": "api", "target": "banks", "reopen_at": "2000-01-01T00:00:00+00:00"}, 422),
        ({"scope": "api", "target": "banks", "reopen_at": "2030-01-01T00:00:00"}, 422),
        ({"scope": "api", "target": "banks", "extra": 1}, 422),
    ],
)
async def test_bad_closures_are_refused(
    platform: Platform, body: dict[str, Any], status: int
) -> None:
    response = await platform.client.post(
        "/admin/v1/service/closures", json=body, headers=ADMIN_HEADERS
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_reopening_what_is_open_is_404_and_admin_token_required(platform: Platform) -> None:
    response = await platform.client.delete(
        "/admin/v1/service/closures/bank/momiji_rest", headers=ADMIN_HEADERS
    )
    assert response.status_code == 404
    assert response.json()["code"] == "closure_not_found"
    anonymous = await platform.client.post(
        "/admin/v1/service/closures", json={"scope": "api", "target": "banks"}
    )
    assert anonymous.status_code == 401


async def test_flow_status_endpoint(platform: Platform) -> None:
    response = await platform.client.get(
        "/admin/v1/service/banks/momiji_rest/flow", headers=ADMIN_HEADERS
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["breaker"], body["in_flight"]) == ("closed", 0)
    assert body["limits"]["max_in_flight"] == 8


class Recording(BasePlugin):
    name = "recording"

    def __init__(self) -> None:
        self.seen: list[CallContext] = []

    async def before_call(self, ctx: CallContext) -> None:
        self.seen.append(ctx)


async def test_plugins_see_every_v1_call_and_may_refuse(platform: Platform) -> None:
    acme = await enterprise(platform)
    headers = await platform.bearer(acme["credentials"])
    recording = Recording()
    guard = PurposeGuard({"apis": ["contracts"], "deny_purposes": []})

    class Refuse(BasePlugin):
        name = "refuse"
        apis = frozenset({"contracts"})

        async def before_call(self, ctx: CallContext) -> None:
            from honnin.gateway.errors import PluginRejectedError

            raise PluginRejectedError("contracts are read-only today")

    platform.app.state.gateway.plugins = PluginRegistry([recording, guard, Refuse()])
    assert (await platform.client.get("/v1/banks", headers=headers)).status_code == 200
    refused = await platform.client.get("/v1/contracts", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "plugin_rejected"
    assert [(c.api, c.path, c.enterprise_id) for c in recording.seen] == [
        ("banks", "/v1/banks", acme["enterprise"]["id"]),
        ("contracts", "/v1/contracts", acme["enterprise"]["id"]),
    ]


async def test_contract_changes_show_at_once_despite_the_cache(platform: Platform) -> None:
    acme = await enterprise(platform)
    await platform.add_bank("kaede_xml")
    headers = await platform.bearer(acme["credentials"])

    async def banks() -> list[str]:
        response = await platform.client.get("/v1/banks", headers=headers)
        return [b["id"] for b in response.json()["banks"]]

    assert await banks() == ["momiji_rest"]
    assert await banks() == ["momiji_rest"]  # served from the cache
    contract = await platform.add_contract(acme["enterprise"]["id"], "kaede_xml")
    assert await banks() == ["kaede_xml", "momiji_rest"]
    revoked = await platform.client.post(
        f"/admin/v1/contracts/{contract['id']}/revoke", json={}, headers=ADMIN_HEADERS
    )
    assert revoked.status_code == 200, revoked.text
    assert await banks() == ["momiji_rest"]


async def test_a_rolled_back_contract_change_leaves_nothing_in_the_cache(
    platform: Platform,
) -> None:
    acme = await enterprise(platform)
    await platform.add_bank("kaede_xml")
    enterprise_id = acme["enterprise"]["id"]
    contracts = platform.app.state.contracts
    headers = await platform.bearer(acme["credentials"])

    class UndoError(Exception):
        pass

    async def change_then_roll_back() -> None:
        async with platform.app.state.database.transaction() as session:
            await contracts.create_contract(
                session,
                enterprise_id=enterprise_id,
                bank_id="kaede_xml",
                claims=["family_name"],
                purposes=["account_opening"],
                valid_from=None,
                valid_until=None,
                rate_per_second=None,
                daily_quota=None,
                actor="test",
            )
            # The session sees its own change, and nothing of it goes into the cache.
            seen = await contracts.allowed_banks(session, enterprise_id=enterprise_id)
            assert [b.id for b in seen] == ["kaede_xml", "momiji_rest"]
            raise UndoError

    with pytest.raises(UndoError):
        await change_then_roll_back()
    response = await platform.client.get("/v1/banks", headers=headers)
    assert [b["id"] for b in response.json()["banks"]] == ["momiji_rest"]


@contextmanager
def statements_run(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])  # (connection, cursor, statement, parameters, context, many)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_requests_meeting_an_expired_cache_read_the_tables_once(platform: Platform) -> None:
    acme = await enterprise(platform)
    headers = await platform.bearer(acme["credentials"])
    platform.app.state.contracts.invalidate()
    platform.app.state.gateway.closures.invalidate()
    with statements_run(platform.app.state.database.engine) as statements:
        answers = await asyncio.gather(
            *(platform.client.get("/v1/banks", headers=headers) for _ in range(8))
        )
    assert [a.status_code for a in answers] == [200] * 8
    assert [b["id"] for b in answers[0].json()["banks"]] == ["momiji_rest"]
    assert sum("FROM gateway_closures" in s for s in statements) == 1
    assert sum("FROM contracts" in s for s in statements) == 1
