"""The embedded demo deployment: SQLite under ``./var``, a demo enterprise, sandbox banks
and contracts between them. Seeding is idempotent, so a restart reuses what exists."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from honnin.auth.models import OAuthClient
from honnin.auth.service import ClientService
from honnin.banks.connection import BankConnection
from honnin.banks.service import BankConnectionService
from honnin.contracts.core import KNOWN_CLAIMS
from honnin.contracts.service import ContractService
from honnin.db import Database
from honnin.sandbox.banks import ClientRegistration, hash_client_secret

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
