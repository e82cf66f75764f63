"""``honnin verifications ...``: the Celery worker that runs the image analysis."""

from __future__ import annotations

from typing import Annotated

import typer

from honnin.cli_support import cli_errors, fail

app = typer.Typer(help="eKYC verification sessions", no_args_is_help=True)


@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 2,
    hostname: Annotated[str | None, typer.Option(help="Celery node name")] = None,
) -> None:
    """Run analysis jobs from the Celery broker in HONNIN_VERIFICATIONS_CELERY_BROKER."""
    from honnin.config import Settings

    with cli_errors():
        broker = Settings().verifications_celery_broker
        if not broker:
            fail("HONNIN_VERIFICATIONS_CELERY_BROKER is not set")
        from honnin.verifications.tasks import run_worker

        run_worker(broker, concurrency=concurrency, hostname=hostname)
