"""The inquiry hot path stays on the event loop.

FastAPI runs a plain ``def`` dependency or endpoint in a worker thread, one hop per call
and request; on the broker's four requests per flow that was a measurable share of the
platform's CPU (docs/benchmarks.md, ``inquiry``). Accessors of ``app.state`` are
``async def`` so that never happens on these routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fastapi.dependencies.utils
import fastapi.routing
import pytest

from support.broker import running_broker
from support.platform import ADMIN_HEADERS


@pytest.fixture
def threadpool_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = fastapi.dependencies.utils.run_in_threadpool

    async def recording(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        target = kwargs.get("function", func)
        calls.append(getattr(target, "__qualname__", repr(target)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(fastapi.dependencies.utils, "run_in_threadpool", recording)
    monkeypatch.setattr(fastapi.routing, "run_in_threadpool", recording)
    return calls


async def test_a_whole_inquiry_runs_nothing_in_the_threadpool(
    database_url: str, threadpool_calls: list[str]
) -> None:
    async with running_broker(database_url) as broker:
        banks = await broker.client.get("/v1/banks", headers=broker.headers)
        assert banks.status_code == 200, banks.text
        result = await broker.run("momiji_rest")
        assert result["status"] == "completed", result
    assert threadpool_calls == []


async def test_an_operator_change_to_a_bank_connection_applies_to_the_next_inquiry(
    database_url: str,
) -> None:
    # The opened profile is cached per process (banks/profiles.py); a change through the
    # operator API must not wait for the cache to expire.
    async with running_broker(database_url, gateway_cache_ttl_seconds=3600) as broker:
        assert (await broker.run("momiji_rest"))["status"] == "completed"
        changed = await broker.client.put(
            "/admin/v1/banks/momiji_rest/connection",
            headers=ADMIN_HEADERS,
            json={
                "issuer": broker.banks.base_urls["momiji_rest"],
                "client_id": "honnin",
                "mapping": "momiji_rest",
                "auth_method": "client_secret_basic",
                "client_secret": "not-the-secret-the-bank-knows-0123",
            },
        )
        assert changed.status_code == 200, changed.text
        result = await broker.run("momiji_rest")
        assert result["status"] == "failed", result
        assert result["failure_code"] == "bank_refused", result
