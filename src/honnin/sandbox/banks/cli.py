"""``honnin sandbox bank NAME`` and ``honnin sandbox banks``: run sandbox banks by hand.

Both serve in the foreground until interrupted and print, once listening, the base URL
of each bank (JSON with ``--json``) so scripts can read where to connect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from honnin.cli_support import cli_errors, emit, fail
from honnin.sandbox.banks.clients import ClientRegistration, load_client_file
from honnin.sandbox.banks.profiles import BANK_IDS
from honnin.sandbox.banks.runner import SandboxBanks

ClientsOption = Annotated[
    Path | None,
    typer.Option(
        "--clients",
        help="JSON or YAML file of client registrations (see docs/sandbox-banks.md)",
        exists=True,
        dir_okay=False,
    ),
]
HostOption = Annotated[str, typer.Option("--host", help="address to listen on")]
AdminTokenOption = Annotated[
    str | None,
    typer.Option("--admin-token", help="require 'Authorization: Bearer TOKEN' on /admin"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _clients(path: Path | None) -> list[ClientRegistration]:
    return load_client_file(path) if path is not None else []


def _human(data: dict[str, object]) -> str:
    urls = data["banks"]
    assert isinstance(urls, dict)
    lines = [f"{bank_id}: {url}" for bank_id, url in urls.items()]
    return "\n".join([*lines, "Ctrl-C to stop."])


def _serve(banks: SandboxBanks, *, as_json: bool) -> None:
    def ready(urls: dict[str, str]) -> None:
        clients = sorted({c.client_id for c in banks.clients})
        emit({"banks": urls, "clients": clients}, as_json=as_json, human=_human)

    banks.serve_forever(on_ready=ready)


def bank_command(
    name: Annotated[str, typer.Argument(help=f"one of {', '.join(BANK_IDS)}")],
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free port")] = 0,
    host: HostOption = "127.0.0.1",
    clients: ClientsOption = None,
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="public base URL, if not http://HOST:PORT")
    ] = None,
    admin_token: AdminTokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one sandbox bank (OAuth server, consent pages, KYC API) in the foreground."""
    if name not in BANK_IDS:
        fail(f"unknown bank {name!r}; expected one of {', '.join(BANK_IDS)}")
    with cli_errors():
        banks = SandboxBanks(
            banks=[name],
            host=host,
            ports={name: port},
            clients=_clients(clients),
            admin_token=admin_token,
            issuers={name: issuer} if issuer else None,
        )
        _serve(banks, as_json=as_json)


def banks_command(
    base_port: Annotated[
        int, typer.Option("--base-port", min=0, max=65530, help="ports BASE, BASE+1, BASE+2")
    ] = 0,
    host: HostOption = "127.0.0.1",
    clients: ClientsOption = None,
    admin_token: AdminTokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run all three sandbox banks in one process."""
    ports = {bank_id: base_port + i if base_port else 0 for i, bank_id in enumerate(BANK_IDS)}
    with cli_errors():
        banks = SandboxBanks(
            host=host, ports=ports, clients=_clients(clients), admin_token=admin_token
        )
        _serve(banks, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.command("bank")(bank_command)
    app.command("banks")(banks_command)
