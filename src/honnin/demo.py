"""The embedded demo deployment: SQLite under ``./var``, a demo enterprise, sandbox banks
and contracts between them. Seeding is idempotent, so a restart reuses what exists."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from joserfc.jwk import ECKey
from pydantic import SecretStr

from honnin.app import create_app
from honnin.auth.models import OAuthClient
from honnin.auth.service import ClientService
from honnin.banks.connection import BankConnection
from honnin.banks.service import BankConnectionService
from honnin.cli_support import cli_errors
from honnin.config import Settings, generate_demo_secrets
from honnin.contracts.core import KNOWN_CLAIMS
from honnin.contracts.service import ContractService
from honnin.db import Database
from honnin.db.migrate import upgrade
from honnin.sandbox.banks import ClientRegistration, SandboxBanks, hash_client_secret
from honnin.trace.console_auth import hash_password

DEMO_ACTOR = "system:demo-seed"
DEMO_CLIENT_ID = "demo-enterprise"
DEMO_PURPOSE = "account_opening"
DEMO_RETURN_PATH = "/demo/return"
DEMO_BANKS = {
    "sakura_oidc": "Sakura Bank (OpenID Connect + OIDC4IDA, sandbox)",
    "momiji_rest": "Momiji Bank (OAuth 2.0 + REST JSON, sandbox)",
    "kaede_xml": "Kaede Shinkin Bank (OAuth 2.0 + XML, sandbox)",
}


SANDBOX_CLIENT_ID = "honnin-demo"


@dataclass(frozen=True)
class SandboxClient:
    """How the demo platform is registered at the sandbox banks (fresh on each start)."""

    secret: str
    sakura_key: dict[str, Any]

    @classmethod
    def generate(cls) -> SandboxClient:
        key = ECKey.generate_key("P-256", parameters={"kid": "honnin-demo-sakura"}, private=True)
        return cls(secret=secrets.token_urlsafe(24), sakura_key=key.as_dict(private=True))

    def registrations(self, callback_url: str) -> list[ClientRegistration]:
        public = {k: v for k, v in self.sakura_key.items() if k != "d"}
        return [
            ClientRegistration(
                client_id=SANDBOX_CLIENT_ID,
                redirect_uris=(callback_url,),
                client_secret_hash=hash_client_secret(self.secret),
                banks=frozenset({"momiji_rest", "kaede_xml"}),
                client_name="Honnin demo",
            ),
            ClientRegistration(
                client_id=SANDBOX_CLIENT_ID,
                redirect_uris=(callback_url,),
                token_endpoint_auth_method="private_key_jwt",  # noqa: S106 - a method name
                jwks={"keys": [public]},
                banks=frozenset({"sakura_oidc"}),
                client_name="Honnin demo",
            ),
        ]

    def connection(self, bank_id: str, issuer: str) -> BankConnection:
        if bank_id == "sakura_oidc":
            return BankConnection(
                bank_id=bank_id,
                issuer=issuer,
                client_id=SANDBOX_CLIENT_ID,
                auth_method="private_key_jwt",
                mapping=bank_id,
                protocol="oidc",
                use_par=True,
                client_jwk=self.sakura_key,
            )
        return BankConnection(
            bank_id=bank_id,
            issuer=issuer,
            client_id=SANDBOX_CLIENT_ID,
            auth_method="client_secret_basic",
            mapping=bank_id,
            client_secret=self.secret,
        )


async def connect_sandbox_banks(
    *,
    database: Database,
    connections: BankConnectionService,
    client: SandboxClient,
    base_urls: dict[str, str],
) -> None:
    """Point each demo bank's connection at the running sandbox bank."""
    async with database.transaction() as session:
        for bank_id, url in base_urls.items():
            await connections.configure(session, client.connection(bank_id, url), actor=DEMO_ACTOR)


def console_password(var_dir: Path) -> str:
    """The demo operator's console password: generated once, kept under ``var/``."""
    path = var_dir / "console-password"
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password)
    path.chmod(0o600)
    return password


@dataclass(frozen=True)
class DemoCredentials:
    enterprise_id: str
    client_id: str
    client_secret: str


def _load_or_create_secret(path: Path) -> str:
    if path.exists():
        stored = json.loads(path.read_text())
        return str(stored["client_secret"])
    secret = secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"client_id": DEMO_CLIENT_ID, "client_secret": secret}, indent=2))
    path.chmod(0o600)
    return secret


async def seed_demo(
    *,
    database: Database,
    contracts: ContractService,
    clients: ClientService,
    credentials_file: Path,
) -> DemoCredentials:
    secret = _load_or_create_secret(credentials_file)
    async with database.transaction() as session:
        client = await session.get(OAuthClient, DEMO_CLIENT_ID)
        if client is not None:
            return DemoCredentials(
                enterprise_id=client.enterprise_id, client_id=DEMO_CLIENT_ID, client_secret=secret
            )
        enterprise = await contracts.create_enterprise(
            session, name="Demo Enterprise", webhook_url=None, actor=DEMO_ACTOR
        )
        await session.flush()
        await clients.create_client(
            session,
            enterprise_id=enterprise.id,
            scopes=None,
            actor=DEMO_ACTOR,
            client_id=DEMO_CLIENT_ID,
            client_secret=secret,
        )
        existing = {b.id for b in await contracts.list_banks(session)}
        for bank_id, name in DEMO_BANKS.items():
            if bank_id not in existing:
                await contracts.create_bank(
                    session, bank_id=bank_id, name=name, profile=None, actor=DEMO_ACTOR
                )
        await session.flush()
        for bank_id in DEMO_BANKS:
            await contracts.create_contract(
                session,
                enterprise_id=enterprise.id,
                bank_id=bank_id,
                claims=sorted(KNOWN_CLAIMS),
                purposes=[DEMO_PURPOSE],
                valid_from=None,
                valid_until=None,
                rate_per_second=None,
                daily_quota=None,
                actor=DEMO_ACTOR,
            )
        return DemoCredentials(
            enterprise_id=enterprise.id, client_id=DEMO_CLIENT_ID, client_secret=secret
        )


def run_demo(*, port: int, host: str, var_dir: Path) -> None:
    """Serve the embedded demo until Ctrl-C (``honnin demo``)."""
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
