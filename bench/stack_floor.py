"""The stack's floor: what the bank-inquiry flow costs on Honnin's parts without Honnin.

``honnin bench stack_floor [-o flows=400] [-o concurrency=100] [-o latency_ms=20]
[-o database_url=postgresql+asyncpg://...]``

Three processes on loopback, as in ``honnin bench inquiry``: the sandbox bank
``momiji_rest`` (``latency_ms`` injected at its token and KYC endpoints), a platform, and
this load generator driving the same complete flows with the same lean agent. The
platform is ``bench/_stack_floor_app.py``: the flow's four requests, two bank calls and
16 database statements on FastAPI, SQLAlchemy (Honnin's ``Database``) and the connector's
HTTP client (aiohttp), with none of Honnin's logic. It runs three times, taking
parts away: ``floor`` (all of it), ``floor_no_database`` (inquiries in a dict) and
``floor_no_database_no_bank_calls``; ``floor_no_database_httpx_transport`` makes the bank
calls through httpx and its own transport (httpcore, one pool) instead. In the
same run, ``honnin`` is the real platform (``honnin bench inquiry``'s figures for the
same options) and ``direct`` the flows made directly against the bank.
``cpu_ms_per_flow`` is the platform process's CPU.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from honnin.bench_runner import bench_dir, load

inquiry = load("inquiry")
UVICORN = str(Path(sys.executable).parent / "uvicorn")
VARIANTS = {
    "floor": {},
    "floor_units": {"FLOOR_UNITS": "1"},
    "floor_no_database": {"FLOOR_DATABASE": "none"},
    "floor_no_database_httpx_transport": {"FLOOR_DATABASE": "none", "FLOOR_TRANSPORT": "httpx"},
    "floor_no_database_no_bank_calls": {"FLOOR_DATABASE": "none", "FLOOR_BANK_CALLS": "0"},
}


def run(**options: str) -> dict[str, Any]:
    flows = int(options.get("flows", "400"))
    concurrency = int(options.get("concurrency", "100"))
    latency_ms = int(options.get("latency_ms", "20"))
    workdir = Path(tempfile.mkdtemp(prefix="honnin-bench-floor-"))
    database_url = options.get("database_url") or f"sqlite+aiosqlite:///{workdir / 'floor.db'}"
    bank_port = inquiry._port()
    bank_url = f"http://127.0.0.1:{bank_port}"
    log_path = workdir / "processes.log"
    log = log_path.open("wb")
    figures: dict[str, Any] = {}
    bank: subprocess.Popen[bytes] | None = None
    try:
        ports = {name: inquiry._port() for name in VARIANTS}
        clients = inquiry._write_clients(
            workdir, [f"http://127.0.0.1:{port}/broker/callback" for port in ports.values()]
        )
        bank = inquiry._start_bank("momiji_rest", port=bank_port, clients=clients, log=log)
        inquiry._wait(f"{bank_url}/healthz", bank, "sandbox bank", log=log_path)
        inquiry._inject_latency(bank_url, latency_ms)
        discovery = httpx.get(f"{bank_url}/.well-known/oauth-authorization-server").json()
        for name, extra in VARIANTS.items():
            port = ports[name]
            env = inquiry._env(
                {
                    "FLOOR_BASE_URL": f"http://127.0.0.1:{port}",
                    "FLOOR_AUTHORIZATION_ENDPOINT": discovery["authorization_endpoint"],
                    "FLOOR_TOKEN_ENDPOINT": discovery["token_endpoint"],
                    "FLOOR_KYC_ENDPOINT": discovery["kyc_info_endpoint"],
                    "FLOOR_BANK_SECRET": inquiry.BANK_SECRET,
                    "FLOOR_DATABASE": database_url,
                    **extra,
                }
            )
            figures[name] = _measure_floor(
                env=env,
                port=port,
                bank_url=bank_url,
                bank_pid=bank.pid,
                flows=flows,
                concurrency=concurrency,
                log=log,
            )
    finally:
        if bank is not None:
            bank.send_signal(signal.SIGINT)
            bank.wait(timeout=20)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    real = inquiry.run(
        flows=str(flows),
        concurrency=str(concurrency),
        latency_ms=str(latency_ms),
        **({"database_url": options["database_url"]} if "database_url" in options else {}),
    )
    figures["honnin"] = {
        "flows_per_s": real["honnin_flows_per_s"],
        "cpu_ms_per_flow": real["cpu_ms_per_flow"]["through_honnin"]["platform"],
    }
    figures["direct"] = {"flows_per_s": real["direct_flows_per_s"]}
    return {
        "benchmark": "stack_floor",
        "database": database_url.split(":", 1)[0],
        "flows": flows,
        "concurrency": concurrency,
        "injected_bank_latency_ms": latency_ms,
        "platforms": figures,
    }


def _measure_floor(
    *,
    env: dict[str, str],
    port: int,
    bank_url: str,
    bank_pid: int,
    flows: int,
    concurrency: int,
    log: Any,
) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            UVICORN,
            "--factory",
            "_stack_floor_app:create_app",
            "--app-dir",
            str(bench_dir()),
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        inquiry._wait(f"{url}/readyz", server, "stack floor", log=Path(log.name))

        async def measure() -> dict[str, float]:
            bench = inquiry.Bench(bank="momiji_rest", bank_url=bank_url, honnin_url=url)
            bench.headers = {"Authorization": "Bearer stack-floor-token"}
            warm = max(10, concurrency // 5)
            await inquiry._run_flows(bench.through_honnin, flows=warm, concurrency=warm)
            platform_cpu = inquiry._cpu_seconds(server.pid)
            bank_cpu = inquiry._cpu_seconds(bank_pid)
            started = time.perf_counter()
            await inquiry._run_flows(bench.through_honnin, flows=flows, concurrency=concurrency)
            elapsed = time.perf_counter() - started
            platform_cpu = inquiry._cpu_seconds(server.pid) - platform_cpu
            bank_cpu = inquiry._cpu_seconds(bank_pid) - bank_cpu
            await bench.http.aclose()
            await bench.agent.aclose()
            return {
                "flows_per_s": round(flows / elapsed, 1),
                "cpu_ms_per_flow": round(1000 * platform_cpu / flows, 2),
                "bank_cpu_ms_per_flow": round(1000 * bank_cpu / flows, 2),
            }

        figures: dict[str, float] = inquiry._run_event_loop(measure())
        return figures
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
