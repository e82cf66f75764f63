"""``honnin serve`` (production settings) and ``honnin demo`` (embedded default).

The platform and the demo's sandbox banks are imported when a command runs, so other
``honnin`` commands start without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from honnin.cli_support import fail
from honnin.config import ConfigurationError, Settings


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (HONNIN_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (HONNIN_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (HONNIN_WORKERS)")] = None,
) -> None:
    """Run the platform from HONNIN_* settings (PostgreSQL, Redis, TLS as configured).

    Refuses to start while a required secret is missing or default. Run
    `honnin db upgrade` first.
    """
    settings = Settings()
    if settings.mode != "production":
        settings = settings.model_copy(update={"mode": "production"})
    try:
        settings.require_production_secrets()
    except ConfigurationError as exc:
        fail(exc.safe_message)
    if not settings.database_url:
        fail("refusing to start: set HONNIN_DATABASE_URL (PostgreSQL for production)")
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    tls = {}
    if settings.tls_cert_file and settings.tls_key_file:
        tls = {
            "ssl_certfile": str(settings.tls_cert_file),
            "ssl_keyfile": str(settings.tls_key_file),
        }
    if workers > 1:
        # Each worker builds its own app from the same HONNIN_* environment.
        uvicorn.run(
            "honnin.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            **tls,  # type: ignore[arg-type]
        )
    else:
        from honnin.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, access_log=False, **tls)  # type: ignore[arg-type]


def demo(
    port: Annotated[int, typer.Option(help="port of the platform")] = 8000,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    var_dir: Annotated[Path, typer.Option(help="state directory (created on first run)")] = Path(
        "var"
    ),
) -> None:
    """Run the embedded default: SQLite under ./var, demo enterprise, sandbox banks.

    Prints the URLs and the demo client credentials; Ctrl-C stops it cleanly. State is
    kept in VAR_DIR and reused on the next run.
    """
    from honnin.demo import run_demo  # the platform and sandbox banks: only when run

    run_demo(port=port, host=host, var_dir=var_dir)
