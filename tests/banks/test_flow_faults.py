"""Fault tests: a real sandbox bank that hangs, answers 500 or closes connections.

The platform app (with the probe route of ``flow_probe.py``) calls the bank over loopback
HTTP through ``BankFlow``. Each fault must open the breaker after the configured number
of failures, enterprises must get clear problem documents (never a hang), nothing may
stay in flight, further calls must not reach the bank while it is open, and the bank must
be used again once it heals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from banks.flow_probe import add_probe_route
from honnin.db.migrate import upgrade
from honnin.sandbox.banks.faults import Fault
from honnin.sandbox.banks.runner import SandboxBanks
from honnin.sandbox.banks.server import SandboxBank
from support.platform import Platform, platform_settings, running_platform

FAILURES = 3
OPEN_SECONDS = 0.5
# The bank's deadline: a healthy answer must come within it, also on a loaded 2-core box
# (0.3 s was once exceeded by the first, healthy probe while other tests ran); a hung bank
# costs each failing probe this long.
TIMEOUT_SECONDS = 1.0


@dataclass
class Rig:
    platform: Platform
    bank: SandboxBank

    def kyc_requests(self) -> int:
        return int(self.bank.stats.to_dict()["kyc"]["requests"])

    def kyc_in_flight(self) -> int:
        return int(self.bank.stats.to_dict()["kyc"]["in_flight"])

    async def probe(self) -> httpx.Response:
        return await self.platform.client.get("/probe/momiji_rest")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxBanks]:
    with SandboxBanks(banks=["momiji_rest"]) as banks:
        yield banks


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # The fault rig needs any database; SQLite alone keeps these tests quick.
    url = f"sqlite+aiosqlite:///{tmp_path / 'honnin.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def rig(sandbox: SandboxBanks, sqlite_url: str) -> AsyncIterator[Rig]:
    bank = sandbox.bank("momiji_rest")
    bank.faults.clear()
    url = sqlite_url
    settings = platform_settings(
        url,
        bank_breaker_failures=FAILURES,
        bank_breaker_open_seconds=OPEN_SECONDS,
        bank_timeout_seconds=TIMEOUT_SECONDS,
        bank_retries=0,
    )
    async with running_platform(settings) as platform:
        add_probe_route(
            platform.app, {"momiji_rest": sandbox.base_urls["momiji_rest"] + bank.profile.kyc_path}
        )
        yield Rig(platform, bank)
    bank.faults.clear()


FAULTS = {
    "500s": (Fault(kind="error", status=500), {"bank_timeout", "bank_unreachable", "bank_error"}),
    "hang": (Fault(kind="hang", hang_seconds=30), {"bank_timeout"}),
    "closed connection": (Fault(kind="close"), {"bank_timeout", "bank_unreachable"}),
}


@pytest.mark.parametrize("fault_name", list(FAULTS))
async def test_fault_opens_the_breaker_and_recovery_closes_it(rig: Rig, fault_name: str) -> None:
    fault, codes = FAULTS[fault_name]
    assert (await rig.probe()).status_code == 200  # healthy: the bank answers (401 here)
    rig.bank.faults.add(fault)

    for _ in range(FAILURES):
        failed = await rig.probe()
        assert failed.status_code in (502, 504), failed.text
        assert failed.headers["content-type"].startswith("application/problem+json")
        assert failed.json()["code"] in codes

    reached = rig.kyc_requests()
    fast = await rig.probe()
    assert fast.status_code == 503
    assert fast.json()["code"] == "bank_unavailable"
    assert int(fast.headers["retry-after"]) >= 1
    assert rig.kyc_requests() == reached  # an open breaker sends nothing to the bank

    flow = rig.platform.app.state.bank_flow
    status = await flow.status("momiji_rest")
    assert (status.breaker, status.in_flight, status.waiting) == ("open", 0, 0)

    rig.bank.faults.clear()  # the bank heals
    await asyncio.sleep(OPEN_SECONDS + 0.1)
    healed = await rig.probe()
    assert healed.status_code == 200, healed.text
    assert (await flow.status("momiji_rest")).breaker == "closed"
    for _ in range(50):  # a hung request ends at the bank once the client gave up
        if rig.kyc_in_flight() == 0:
            break
        await asyncio.sleep(0.02)
    assert rig.kyc_in_flight() == 0


async def test_a_failing_probe_keeps_the_bank_closed_off(rig: Rig) -> None:
    rig.bank.faults.add(Fault(kind="error", status=503))
    for _ in range(FAILURES):
        await rig.probe()
    await asyncio.sleep(OPEN_SECONDS + 0.1)
    probe = await rig.probe()  # half-open: one probe reaches the bank and fails
    assert probe.status_code in (502, 504)
    again = await rig.probe()
    assert again.json()["code"] == "bank_unavailable"
