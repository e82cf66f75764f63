"""``honnin serve`` (production settings) and ``honnin demo`` (embedded default)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from honnin.app import create_app
from honnin.cli_support import fail
from honnin.config import ConfigurationError, Settings, generate_demo_secrets
from honnin.db import Database
from honnin.db.migrate import upgrade
from honnin.demo import DEMO_PURPOSE, DemoCredentials, seed_demo


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
    base_url = f"http://{host}:{port}"
    settings = Settings(
        mode="demo", var_dir=var_dir, host=host, port=port, base_url=base_url, log_json=False
    )
    settings = generate_demo_secrets(settings, secrets_file=var_dir / "secrets.json")
    upgrade(settings.resolved_database_url)
    app = create_app(settings)
    credentials = asyncio.run(_seed(app, var_dir))
    admin_token = settings.admin_token.get_secret_value()
    typer.echo(_banner(base_url, credentials, admin_token, var_dir))
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    typer.echo("Honnin demo stopped.")


async def _seed(app: FastAPI, var_dir: Path) -> DemoCredentials:
    database: Database = app.state.database
    try:
        await app.state.key_store.ensure_current()
        return await seed_demo(
            database=database,
            contracts=app.state.contracts,
            clients=app.state.clients,
            credentials_file=var_dir / "demo-credentials.json",
        )
    finally:
        # The server runs on another event loop; leave no pooled connection behind.
        await database.dispose()


_CURL_FETCH_ACCESS = (
    "  TOKEN=$(curl -s -X POST {base_url}/oauth/token -H 'Authorization: Basic {basic}' "
    "-d grant_type=client_credentials | python3 -c 'import json,sys; "
    'print(json.load(sys.stdin)["access_token"])\')'
)


def _banner(base_url: str, creds: DemoCredentials, admin_token: str, var_dir: Path) -> str:
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    info = {
        "platform": base_url,
        "api_docs": f"{base_url}/docs",
        "openapi": f"{base_url}/openapi.json",
        "health": f"{base_url}/healthz",
        "metrics": f"{base_url}/metrics",
        "enterprise_id": creds.enterprise_id,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "admin_token": admin_token,
        "purpose": DEMO_PURPOSE,
        "state_dir": str(var_dir.resolve()),
    }
    lines = [
        "Honnin demo",
        json.dumps(info, indent=2),
        "",
        "Get a token and list your banks:",
        _CURL_FETCH_ACCESS.format(base_url=base_url, basic=basic),
        f'  curl -s {base_url}/v1/banks -H "Authorization: Bearer $TOKEN"',
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)
