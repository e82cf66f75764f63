"""Fault injection and in-flight accounting, unit-level and over real loopback HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from typing import Any

import httpx
import pytest

from honnin.banks.errors import BankPayloadError
from honnin.banks.mapping import load_mapping
from honnin.sandbox.banks import Fault, SandboxBanks, complete_authorization_sync
from honnin.sandbox.banks.errors import FaultConfigError
from honnin.sandbox.banks.faults import FaultPlan


def test_plan_counts_down_and_stacks_latency() -> None:
    plan = FaultPlan(
        [
            Fault("latency", latency_ms=100),
            Fault("latency", target="any", latency_ms=20, jitter_ms=10),
            Fault("error", status=502, count=2),
            Fault("malformed"),
        ],
        rng=random.Random(1),
    )
    first = plan.decide("kyc")
    assert 0.12 <= first.delay_seconds <= 0.13
    assert first.outcome is not None
    assert first.outcome.kind == "error"
    assert plan.decide("kyc").outcome.kind == "error"  # type: ignore[union-attr]
    assert plan.decide("kyc").outcome.kind == "malformed"  # type: ignore[union-attr]
    token = plan.decide("token")
    assert token.outcome is None
    assert 0.02 <= token.delay_seconds <= 0.03


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "explode"},
        {"kind": "error", "target": "nowhere"},
        {"kind": "error", "status": 404},
        {"kind": "latency", "latency_ms": -1},
        {"kind": "error", "count": 0},
        {"kind": "error", "colour": "red"},
        {},
    ],
)
def test_bad_faults_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(FaultConfigError):
        Fault.from_mapping(data)


def _token(make_flow: Any, bank_id: str = "momiji_rest") -> tuple[Any, str]:
    flow = make_flow(bank_id)
    code = complete_authorization_sync(flow.authorization_url(), username="nakamura")
    code = dict(httpx.URL(code).params)["code"]
    return flow, flow.token_request(code).json()["access_token"]


def test_admin_endpoint_injects_error_then_clears(make_flow: Any) -> None:
    flow, token = _token(make_flow)
    admin = f"{flow.base_url}/admin/faults"
    created = flow.http.post(admin, json={"kind": "error", "status": 503, "count": 1})
    assert created.status_code == 201
    failed = flow.kyc(token)
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "1"
    assert flow.kyc(token).status_code == 200  # count exhausted
    flow.http.post(admin, json=[{"kind": "error"}])
    assert flow.kyc(token).status_code == 503
    assert flow.http.delete(admin).status_code == 204
    assert flow.http.get(admin).json() == []
    assert flow.kyc(token).status_code == 200
    bad = flow.http.post(admin, json={"kind": "explode"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_fault"


def test_latency_fault_delays_the_answer(make_flow: Any, banks: SandboxBanks) -> None:
    flow, token = _token(make_flow)
    banks.bank("momiji_rest").faults.add(Fault("latency", latency_ms=300, count=1))
    started = time.perf_counter()
    assert flow.kyc(token).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_hang_fault_times_the_client_out(make_flow: Any, banks: SandboxBanks) -> None:
    flow, token = _token(make_flow)
    banks.bank("momiji_rest").faults.add(Fault("hang", count=1))
    with pytest.raises(httpx.ReadTimeout):
        flow.http.get(
            f"{flow.base_url}/api/v1/customer",
            headers={"Authorization": f"Bearer {token}"},
            timeout=0.3,
        )
    assert flow.kyc(token).status_code == 200


def test_close_fault_drops_the_connection(make_flow: Any, banks: SandboxBanks) -> None:
    flow, token = _token(make_flow)
    banks.bank("momiji_rest").faults.add(Fault("close", count=1))
    with pytest.raises(httpx.RemoteProtocolError):
        flow.kyc(token)
    assert flow.kyc(token).status_code == 200


@pytest.mark.parametrize("bank_id", ["sakura_oidc", "momiji_rest", "kaede_xml"])
def test_malformed_fault_breaks_the_mapping(
    make_flow: Any, banks: SandboxBanks, bank_id: str
) -> None:
    flow, token = _token(make_flow, bank_id)
    banks.bank(bank_id).faults.add(Fault("malformed", count=1))
    response = flow.kyc(token)
    assert response.status_code == 200
    with pytest.raises(BankPayloadError):
        load_mapping(bank_id).apply(
            response.content,
            content_type=response.headers["content-type"],
            bank_id=bank_id,
            fetched_at=dt.datetime.now(dt.UTC),
        )


def test_token_endpoint_faults(make_flow: Any, banks: SandboxBanks) -> None:
    flow = make_flow("kaede_xml")
    code = complete_authorization_sync(flow.authorization_url(), username="ito")
    banks.bank("kaede_xml").faults.add(Fault("error", target="token", status=500, count=1))
    assert flow.token_request(dict(httpx.URL(code).params)["code"]).status_code == 500


async def test_in_flight_peak_is_recorded(make_flow: Any, banks: SandboxBanks) -> None:
    flow, token = _token(make_flow)
    bank = banks.bank("momiji_rest")
    admin = f"{flow.base_url}/admin/stats"
    assert flow.http.post(f"{admin}/reset").status_code == 204
    bank.faults.add(Fault("latency", latency_ms=250))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient() as client:
        answers = await asyncio.gather(
            *(client.get(f"{flow.base_url}/api/v1/customer", headers=headers) for _ in range(6))
        )
    assert all(answer.status_code == 200 for answer in answers)
    stats = flow.http.get(admin).json()
    assert stats["bank"] == "momiji_rest"
    assert stats["kyc"] == {"requests": 6, "in_flight": 0, "peak_in_flight": 6}
    flow.http.post(f"{admin}/reset")
    assert flow.http.get(admin).json()["kyc"]["peak_in_flight"] == 0
