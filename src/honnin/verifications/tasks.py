"""Celery workers for the analysis (``honnin verifications worker``), Redis broker.

The app enqueues :func:`honnin.verifications.analysis.analyse` jobs as JSON
(:mod:`honnin.verifications.wire`) when ``verifications_celery_broker`` is set; workers on
other machines run them and return the result through the Redis result backend. Tasks
are acknowledged late and rejected on a lost worker, so a crashed worker's job is
redelivered; the app waits ``verifications_celery_timeout_seconds`` and otherwise
rejects the session with ``analysis_failed``.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from typing import Any

from celery import Celery  # type: ignore[import-untyped]

from honnin.verifications import analysis, wire

TASK_NAME = "honnin.verifications.analyse"
QUEUE = "honnin-verifications"


def run_job(data: dict[str, Any]) -> dict[str, Any]:
    """The task body: JSON job in, JSON analysis out."""
    result = analysis.analyse(wire.job_from_wire(data))
    labelled = result.with_worker(f"{socket.gethostname()}:{os.getpid()}")
    return wire.analysis_to_wire(labelled)


@cache
def celery_app(broker: str) -> Celery:
    """One Celery app per broker URL, for the platform (client) and the worker alike."""
    app = Celery("honnin", broker=broker, backend=broker)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        result_expires=3600,
        broker_connection_retry_on_startup=True,
    )
    app.task(name=TASK_NAME)(run_job)
    return app


def run_worker(broker: str, *, concurrency: int, hostname: str | None = None) -> None:
    """Start a worker in this process (blocks); the face models load once per child."""
    from celery.signals import worker_process_init  # type: ignore[import-untyped]

    worker_process_init.connect(lambda **_: analysis.warm_up(), weak=False)
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "-Q", QUEUE]
    if hostname:
        argv.append(f"--hostname={hostname}")
    celery_app(broker).worker_main(argv)
