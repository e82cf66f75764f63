"""Per-bank caps hold across two platform processes sharing Redis.

Two real ``uvicorn`` processes run the platform (plus the probe route of
``flow_probe.py``) with ``HONNIN_REDIS_URL`` set; a sandbox bank with added latency counts
its own concurrent KYC requests. A burst of ten times the cap, split over both processes,
never has more than the cap in flight at the bank. (``test_flow.py`` shows that two
flows on separate in-process stores do go over the cap, so the check can fail.)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import redis_url
from honnin.db.migrate import upgrade
from honnin.sandbox.banks.faults import Fault
from honnin.sandbox.banks.runner import SandboxBanks
from support.platform import TEST_ADMIN_TOKEN, TEST_DATA_KEY
from support.server import free_port

CAP = 3
BURST = 10 * CAP
HERE = Path(__file__).parent


@contextmanager
def platform_processes(env: dict[str, str], count: int) -> Iterator[list[str]]:
    """Start ``count`` platform processes at once; yield their base URLs."""
    ports = [free_port() for _ in range(count)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "flow_probe:create",
                "--app-dir",
                str(HERE),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 90
        for process, url in zip(processes, urls, strict=True):
            while not _ready(url):
                if process.poll() is not None:
                    err = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"platform process exited: {err[-2000:]}")
                if time.monotonic() > deadline:
                    pytest.fail("platform process did not start")
                time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def burst_peak(tmp_path: Path, *, redis: str) -> tuple[int, list[int]]:
    """Fire the burst at two platform processes; the bank's peak concurrency and statuses."""
    db = f"sqlite+aiosqlite:///{tmp_path / 'honnin.db'}"
    upgrade(db)
    faults = {"momiji_rest": [Fault(kind="latency", latency_ms=150, target="kyc")]}
    with SandboxBanks(banks=["momiji_rest"], faults=faults) as banks:
        bank = banks.bank("momiji_rest")
        kyc = banks.base_urls["momiji_rest"] + bank.profile.kyc_path
        env = {
            **os.environ,
            "HONNIN_MODE": "test",
            "HONNIN_DATABASE_URL": db,
            "HONNIN_REDIS_URL": redis,
            "HONNIN_ADMIN_TOKEN": TEST_ADMIN_TOKEN,
            "HONNIN_DATA_KEY": TEST_DATA_KEY,
            "HONNIN_SUBJECT_KEY": "test-subject-key-0123456789abcdef",
            "HONNIN_WEBHOOK_SECRET": "test-webhook-secret-0123456789abcd",
            "HONNIN_LOG_LEVEL": "WARNING",
            "HONNIN_BANK_MAX_IN_FLIGHT": str(CAP),
            "HONNIN_BANK_QUEUE_SIZE": str(BURST),
            "HONNIN_BANK_QUEUE_TIMEOUT_SECONDS": "60",
            "HONNIN_BANK_RATE_PER_SECOND": "1000",
            "PROBE_BANK_URLS": f'{{"momiji_rest": "{kyc}"}}',
        }
        with platform_processes(env, 2) as (first, second):

            async def fire() -> list[int]:
                async with httpx.AsyncClient(timeout=60) as client:
                    responses = await asyncio.gather(
                        *(
                            client.get(f"{(first, second)[i % 2]}/probe/momiji_rest")
                            for i in range(BURST)
                        )
                    )
                return [r.status_code for r in responses]

            statuses = asyncio.run(fire())
        return bank.stats.to_dict()["kyc"]["peak_in_flight"], statuses


@pytest.mark.slow
def test_cap_holds_across_two_processes_under_a_burst(tmp_path: Path) -> None:
    redis = redis_url()
    peak, statuses = burst_peak(tmp_path, redis=redis)
    assert statuses == [200] * BURST  # every call got through, none over the cap
    assert peak == CAP
