"""Gateway benchmark: an authenticated, rate-limited, cached endpoint with and without the
policy chain, in one run.

    honnin bench gateway --json [-o requests=2000] [-o concurrency=8]
                                [-o redis_url=redis://...] [-o database_url=...]

The real app (``create_app``) on a fresh SQLite database (or ``database_url``) serves
``GET /v1/banks`` - Bearer-token authentication, the gateway policy chain (closures,
per-second limit, persisted daily quota, plugin hooks, RateLimit fields) and the cached
contract look-up. The baseline is the very same router mounted a second time under
``/bare`` without the policy chain (authentication and cache unchanged). Requests go
through httpx's ASGI transport, so the figures are the app's own cost, not the network's.
Sequential requests alternate between the two routes so both see the same machine load;
``overhead`` is the difference of their latency percentiles. ``chain`` times
``GatewayService.admit`` alone.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from honnin.app import create_app
from honnin.config import Settings
from honnin.contracts import api as contracts_api
from honnin.db.migrate import upgrade

ADMIN_TOKEN = "bench-admin-token-0123456789"  # a throw-away bench database


def _settings(database_url: str, redis_url: str) -> Settings:
    return Settings.model_validate(
        {
            "mode": "test",
            "database_url": database_url,
            "redis_url": redis_url,
            "base_url": "http://bench.test",
            "admin_token": ADMIN_TOKEN,
            "data_key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            "subject_key": "bench-subject-key-0123456789abcdef",
            "webhook_secret": "bench-webhook-secret-0123456789ab",
            "log_level": "WARNING",
            # The limits are checked on every request but set high enough to admit them all.
            "gateway_default_rate_per_second": 10_000_000,
            "gateway_default_daily_quota": 100_000_000,
        }
    )


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 4)

    return {
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 4),
    }


async def _bench(
    database_url: str, redis_url: str, requests: int, concurrency: int
) -> dict[str, Any]:
    app = create_app(_settings(database_url, redis_url))
    app.include_router(contracts_api.enterprise_router, prefix="/bare")
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
            await client.post(
                "/admin/v1/banks", json={"id": "momiji_rest", "name": "M"}, headers=admin
            )
            created = (
                await client.post("/admin/v1/enterprises", json={"name": "Bench"}, headers=admin)
            ).json()
            enterprise_id = created["enterprise"]["id"]
            await client.post(
                "/admin/v1/contracts",
                json={
                    "enterprise_id": enterprise_id,
                    "bank_id": "momiji_rest",
                    "claims": ["family_name"],
                    "purposes": ["account_opening"],
                },
                headers=admin,
            )
            token = (
                await client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(
                        created["credentials"]["client_id"],
                        created["credentials"]["client_secret"],
                    ),
                )
            ).json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}

            async def get(path: str) -> float:
                started = time.perf_counter()
                response = await client.get(path, headers=bearer)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:  # the bench must not measure refusals
                    msg = f"{path} answered {response.status_code}: {response.text[:200]}"
                    raise RuntimeError(msg)
                return elapsed

            for _ in range(50):  # warm caches, connections and code paths
                await get("/v1/banks")
                await get("/bare/v1/banks")
            chained: list[float] = []
            bare: list[float] = []
            for _ in range(requests):
                chained.append(await get("/v1/banks"))
                bare.append(await get("/bare/v1/banks"))

            async def throughput(path: str) -> float:
                per_worker = max(1, requests // concurrency)

                async def worker() -> None:
                    for _ in range(per_worker):
                        await get(path)

                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                return round(per_worker * concurrency / (time.perf_counter() - started), 1)

            rps_chain = await throughput("/v1/banks")
            rps_bare = await throughput("/bare/v1/banks")

            gateway = app.state.gateway
            chain_only: list[float] = []
            for _ in range(requests):
                started = time.perf_counter()
                await gateway.admit(enterprise_id=enterprise_id, api="bench", method="GET")
                chain_only.append(time.perf_counter() - started)

    with_chain = _percentiles(chained)
    without = _percentiles(bare)
    return {
        "endpoint": "GET /v1/banks (Bearer auth, cached contract look-up)",
        "database": database_url.split(":", 1)[0],
        "rate_limit_store": "redis" if redis_url else "memory",
        "requests": requests,
        "concurrency": concurrency,
        "with_policy_chain": {**with_chain, "requests_per_second": rps_chain},
        "baseline_without_chain": {**without, "requests_per_second": rps_bare},
        "overhead": {
            key: round(with_chain[key] - without[key], 4)
            for key in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")
        },
        "chain_alone": _percentiles(chain_only),
        "target": "policy chain adds <= 1 ms at p99",
    }


def run(
    requests: str = "2000",
    concurrency: str = "8",
    redis_url: str = "",
    database_url: str = "",
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="honnin-bench-gateway-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        return asyncio.run(_bench(url, redis_url, int(requests), int(concurrency)))
