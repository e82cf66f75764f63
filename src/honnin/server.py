"""``honnin serve`` (production settings) and ``honnin demo`` (embedded default)."""

from __future__ import annotations

import asyncio
import base64
import html
import json
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from pydantic import SecretStr

from honnin.app import create_app
from honnin.cli_support import cli_errors, fail
from honnin.config import ConfigurationError, Settings, generate_demo_secrets
from honnin.db import Database
from honnin.db.migrate import upgrade
from honnin.demo import (
    DEMO_BANKS,
    DEMO_PURPOSE,
    DEMO_RETURN_PATH,
    DemoCredentials,
    SandboxClient,
    connect_sandbox_banks,
    console_password,
    seed_demo,
)
from honnin.sandbox.banks import SandboxBanks
from honnin.trace.console_auth import hash_password


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
    operator_password = console_password(var_dir)
    settings = settings.model_copy(
        update={"trace_console_password_hash": SecretStr(hash_password(operator_password))}
    )
    upgrade(settings.resolved_database_url)
    app = create_app(settings)
    app.include_router(demo_return_router)
    client = SandboxClient.generate()
    banks = SandboxBanks(
        host=host,
        ports={bank_id: port + offset for offset, bank_id in enumerate(DEMO_BANKS, start=1)},
        clients=client.registrations(base_url + "/broker/callback"),
    )
    with cli_errors():
        bank_urls = banks.start()
    try:
        credentials = asyncio.run(_seed(app, var_dir, client=client, bank_urls=bank_urls))
        admin_token = settings.admin_token.get_secret_value()
        console = {
            "url": base_url + "/console",
            "username": settings.trace_console_username,
            "password": operator_password,
        }
        typer.echo(
            _banner(
                base_url,
                creds=credentials,
                admin_token=admin_token,
                var_dir=var_dir,
                bank_urls=bank_urls,
                console=console,
            )
        )
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    finally:
        banks.stop()
    typer.echo("Honnin demo stopped.")


async def _seed(
    app: FastAPI, var_dir: Path, *, client: SandboxClient, bank_urls: dict[str, str]
) -> DemoCredentials:
    database: Database = app.state.database
    try:
        await app.state.key_store.ensure_current()
        credentials = await seed_demo(
            database=database,
            contracts=app.state.contracts,
            clients=app.state.clients,
            credentials_file=var_dir / "demo-credentials.json",
        )
        await connect_sandbox_banks(
            database=database,
            connections=app.state.bank_connections,
            client=client,
            base_urls=bank_urls,
        )
        return credentials
    finally:
        # The server runs on another event loop; leave no pooled connection behind.
        await database.dispose()


_CURL_FETCH_ACCESS = (
    "  TOKEN=$(curl -s -X POST {base_url}/oauth/token -H 'Authorization: Basic {basic}' "
    "-d grant_type=client_credentials | python3 -c 'import json,sys; "
    'print(json.load(sys.stdin)["access_token"])\')'
)


def _banner(
    base_url: str,
    *,
    creds: DemoCredentials,
    admin_token: str,
    var_dir: Path,
    bank_urls: dict[str, str],
    console: dict[str, str],
) -> str:
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
        "console": console,
        "sandbox_banks": bank_urls,
        "sandbox_login": "user sato (or takahashi, yamasaki, ...), password sandbox",
        "return_url": base_url + DEMO_RETURN_PATH,
    }
    lines = [
        "Honnin demo",
        json.dumps(info, indent=2),
        "",
        "Get a token and list your banks:",
        _CURL_FETCH_ACCESS.format(base_url=base_url, basic=basic),
        f'  curl -s {base_url}/v1/banks -H "Authorization: Bearer $TOKEN"',
        "",
        "Then ask a bank for a verified identity: see README.md, 'A bank inquiry by hand'.",
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


demo_return_router = APIRouter(include_in_schema=False)


@demo_return_router.get(DEMO_RETURN_PATH, response_class=HTMLResponse)
async def demo_return(inquiry_id: str = "", status: str = "") -> str:
    """Stands in for the enterprise's page the user lands on after the bank."""
    safe_id = html.escape(inquiry_id[:64])
    safe_status = html.escape(status[:32])
    return (
        "<!doctype html><meta charset=utf-8><title>Honnin demo</title>"
        "<body style='font-family:system-ui;max-width:40rem;margin:3rem auto'>"
        f"<h1>Identity check finished: {safe_status}</h1>"
        f"<p>Inquiry <code id=inquiry>{safe_id}</code>. The enterprise now reads the result "
        f"with <code>GET /v1/bank-inquiries/{safe_id}</code>.</p></body>"
    )
