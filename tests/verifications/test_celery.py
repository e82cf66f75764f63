"""With a Celery broker configured, the analysis runs on a `honnin verifications worker`
process (the test Redis as broker and result backend), not in the platform process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import redis_url
from honnin.verifications import tasks, wire
from honnin.verifications.analysis import AnalysisJob
from support.verifications import FaceKit, job, running_kyc

WORKER = "w1@honnin-test"


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    url = redis_url()  # the throw-away Redis of `make pytest`
    env = {**os.environ, "HONNIN_VERIFICATIONS_CELERY_BROKER": url}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from honnin.cli import main; main()",
            "verifications",
            "worker",
            "--concurrency",
            "1",
            "--hostname",
            WORKER,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        app = tasks.celery_app(url)
        deadline = time.monotonic() + 90
        while not app.control.ping(timeout=1.0):
            assert process.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "the worker did not answer"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_jobs_and_results_round_trip_as_json(kit: FaceKit) -> None:
    from honnin.faces.challenge import Action

    original: AnalysisJob = job(kit, [(b"\xff\xd8", 0.0)], (Action.BLINK, Action.TURN_LEFT))
    restored = wire.job_from_wire(wire.job_to_wire(original))
    assert restored.challenge == original.challenge
    assert restored.chip is not None
    assert original.chip is not None
    assert dict(restored.chip.data_groups) == dict(original.chip.data_groups)
    assert restored.chip.sod == original.chip.sod
    assert restored.trust_anchors == original.trust_anchors
    assert restored.selfie == original.selfie
    assert restored.limits == original.limits
    assert restored.received_at == original.received_at


async def test_analysis_runs_on_the_celery_worker(
    broker: str, database_url: str, kit: FaceKit, trust_dir: Path
) -> None:
    async with running_kyc(database_url, kit, trust_dir, verifications_celery_broker=broker) as kyc:
        result = await kyc.run()
    assert result["status"] == "approved", result
    worker = result["evidence"]["worker"]
    assert worker is not None
    assert not worker.endswith(f":{os.getpid()}")
