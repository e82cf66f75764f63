"""``honnin bench inquiry``: its load patterns (the closed loop and the open loop, ``rate``),
the machine's busy time, the error of a process that did not come up, the comparison of
two platforms in one run (``against``) and the enterprise's webhook receiver
(``webhooks``)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import statistics
import time
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.bench_runner import load
from honnin.inquiries import core

inquiry = load("inquiry")


@given(flows=st.integers(0, 300), rate=st.floats(0.01, 1e5))
def test_arrivals_start_at_zero_and_never_go_back(flows: int, rate: float) -> None:
    arrivals = inquiry.poisson_arrivals(flows=flows, rate=rate)
    assert len(arrivals) == flows
    assert arrivals[:1] in ([], [0.0])
    assert all(b >= a for a, b in itertools.pairwise(arrivals))


def test_arrivals_have_the_rate_asked_for_and_repeat_with_the_seed() -> None:
    arrivals = inquiry.poisson_arrivals(flows=5000, rate=250.0)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert statistics.fmean(gaps) == pytest.approx(1 / 250, rel=0.05)
    # Exponential gaps: their spread is their mean (evenly spaced arrivals would have none).
    assert statistics.pstdev(gaps) == pytest.approx(1 / 250, rel=0.1)
    assert inquiry.poisson_arrivals(flows=5000, rate=250.0) == arrivals
    assert inquiry.poisson_arrivals(flows=5000, rate=250.0, seed=1) != arrivals


@pytest.mark.parametrize("rate", [0.0, -3.0, float("nan")])
def test_arrivals_refuse_a_rate_that_is_not_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        inquiry.poisson_arrivals(flows=3, rate=rate)


@pytest.mark.parametrize("option", ["0", "-1", "abc", "inf", "nan"])
def test_rate_option_must_be_a_positive_number(option: str) -> None:
    with pytest.raises(ValueError, match="rate must be a positive number"):
        inquiry._rate(option)


def test_rate_option_absent_means_closed_loop() -> None:
    assert inquiry._rate(None) is None
    assert inquiry._rate("") is None
    assert inquiry._rate("12.5") == 12.5


async def test_open_loop_counts_the_wait_for_a_slot_and_keeps_the_cap() -> None:
    """Three flows due at once with one slot: the third waits for two others, and its
    latency says so (measured from its scheduled arrival, not from when it got the slot)."""
    running = 0
    most_running = 0

    async def flow() -> None:
        nonlocal running, most_running
        running += 1
        most_running = max(most_running, running)
        await asyncio.sleep(0.02)
        running -= 1

    _elapsed, latencies, most = await inquiry._run_arrivals(
        flow, arrivals=[0.0, 0.0, 0.0], concurrency=1
    )
    assert most_running == 1
    assert most == 3
    first, second, third = sorted(latencies)
    assert first >= 0.02
    assert second >= 0.04
    assert third >= 0.06


async def test_open_loop_starts_flows_without_waiting_for_earlier_ones() -> None:
    """Each flow holds until all three have started: only an open loop lets them all in.
    (A closed loop would leave the first waiting; the 10 s bound only turns that hang into
    a failure.)"""
    release = asyncio.Event()
    started = 0
    saw_all_started: list[bool] = []

    async def flow() -> None:
        nonlocal started
        started += 1
        if started == 3:
            release.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 10)
        saw_all_started.append(release.is_set())

    _elapsed, latencies, most = await inquiry._run_arrivals(
        flow, arrivals=[0.0, 0.001, 0.002], concurrency=10
    )
    assert saw_all_started == [True, True, True]
    assert len(latencies) == 3
    assert most == 3


def test_a_process_that_did_not_start_is_named_with_its_error(tmp_path: Path) -> None:
    log = tmp_path / "processes.log"
    log.write_text(
        "INFO:     Waiting for application startup.\n"
        "Traceback (most recent call last):\n"
        '  File "keys.py", line 130, in reload\n'
        "honnin.security.errors.KeyConfigurationError: signing key k1 cannot be unsealed\n"
        "\n"
        "ERROR:    Application startup failed. Exiting.\n"
    )
    assert inquiry._cause(log) == (
        ": honnin.security.errors.KeyConfigurationError: signing key k1 cannot be unsealed"
    )
    assert inquiry._cause(tmp_path / "missing.log") == ""
    assert inquiry._cause(None) == ""


def test_the_machines_busy_time_counts_this_process_work() -> None:
    machine, own = inquiry._machine_cpu_seconds(), time.process_time()
    while time.process_time() - own < 0.3:
        sum(range(10_000))
    busy = inquiry._machine_cpu_seconds() - machine
    assert busy >= 0.8 * (time.process_time() - own)


def test_against_refuses_a_path_without_the_package(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a source directory with the honnin package"):
        inquiry.run(against=str(tmp_path))


def test_against_alternates_the_load_between_two_platforms() -> None:
    # This checkout against itself, as small as it goes: bank and two platforms come up,
    # each side gets its slices in A B B A order, and the figures are per side.
    source = Path(__file__).resolve().parents[2] / "src"
    result = inquiry.run(
        against=str(source), flows="3", concurrency="2", slices="2", latency_ms="0"
    )
    assert result["mode"] == "against"
    assert result["pairs"] == 2
    assert 0 <= result["pairs_this_faster"] <= 2
    for side in ("this", "against"):
        slices = result[side]["slices"]
        assert len(slices) == 2
        assert all(s["flows_per_s"] > 0 and s["platform_cpu_ms_per_flow"] > 0 for s in slices)
        assert result[side]["flows_per_s"] == round(
            statistics.mean(s["flows_per_s"] for s in slices), 3
        )
        for s in slices:
            # Three flows may pass between two of the kernel's clock ticks at the bank.
            if s["bank_cpu_ms_per_flow"] == 0:
                assert s["platform_per_bank_cpu"] is None
            else:
                ratio = s["platform_cpu_ms_per_flow"] / s["bank_cpu_ms_per_flow"]
                assert s["platform_per_bank_cpu"] == pytest.approx(ratio, rel=0.05)
    assert 0 <= result["pairs_this_cheaper"] <= 2


def test_cpu_in_units_of_the_bank_is_a_ratio_or_none_when_the_bank_used_none() -> None:
    assert inquiry._ratio(0.9, 0.3) == 3.0
    assert inquiry._ratio(1.0, 3.0) == 0.333
    assert inquiry._ratio(0.5, 0.0) is None


def test_slices_without_a_figure_are_left_out_of_the_mean_and_of_the_comparison() -> None:
    assert inquiry._mean([3.0, None, 4.0]) == 3.5
    assert inquiry._mean([None, None]) is None
    assert inquiry._mean([1.0, 2.0, 2.0]) == 1.667
    assert inquiry._lower(1.0, 2.0)
    assert not inquiry._lower(2.0, 1.0)
    assert not inquiry._lower(1.0, 1.0)
    assert not inquiry._lower(None, 2.0)
    assert not inquiry._lower(1.0, None)


@pytest.mark.parametrize("option", ["0", "-1", "two", ""])
def test_slices_must_be_a_whole_number_of_pairs(option: str) -> None:
    with pytest.raises(ValueError, match="slices must be a whole number of pairs"):
        inquiry._slices(option)


@pytest.mark.parametrize("option", ["2", "yes", "", "true"])
def test_webhooks_option_must_be_0_or_1(option: str) -> None:
    with pytest.raises(ValueError, match="webhooks must be 0 or 1"):
        inquiry._flag(option, "webhooks")


async def test_the_webhook_sink_takes_signed_deliveries_only_and_counts_repeats() -> None:
    sink = inquiry.WebhookSink()
    await sink.start()
    sink.secret = b"k" * 32
    body = json.dumps({"data": {"inquiry_id": "inq_1"}}).encode()
    now = int(time.time())

    def headers(secret: bytes) -> dict[str, str]:
        signature = core.sign_webhook(secret=secret, message_id="msg_1", timestamp=now, body=body)
        return {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(now),
            "webhook-signature": signature,
        }

    try:
        async with aiohttp.ClientSession() as http:
            forged = await http.post(sink.url, data=body, headers=headers(b"x" * 32))
            assert forged.status == 400
            assert not sink._slot("inq_1").done()
            waiting = asyncio.create_task(sink.wait("inq_1"))
            for _ in range(2):
                answer = await http.post(sink.url, data=body, headers=headers(sink.secret))
                assert answer.status == 204
            assert await waiting <= time.perf_counter()
            assert sink.repeated == 1
    finally:
        await sink.stop()


def test_with_webhooks_every_flow_waits_for_its_signed_webhook() -> None:
    result = inquiry.run(flows="3", concurrency="2", latency_ms="0", webhooks="1")
    cpu = result["cpu_ms_per_flow"]["through_honnin"]
    assert result["platform_per_bank_cpu"] is None or result["platform_per_bank_cpu"] > 0
    assert (result["platform_per_bank_cpu"] is None) == (cpu["bank"] == 0)
    assert result["webhooks"]["received"] == 3
    assert result["webhooks"]["repeated"] == 0
    assert result["webhooks"]["lag_ms"]["p50"] >= 0
