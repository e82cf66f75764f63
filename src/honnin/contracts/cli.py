"""``honnin admin``: manage the contract table and signing keys from the command line.

Works directly on the database named by the settings (HONNIN_DATABASE_URL, default SQLite
under ./var); every change is audited with the actor ``cli:<user>``.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.cli_support import cli_errors, emit, fail
from honnin.config import cli_settings
from honnin.contracts.core import ContractTerms
from honnin.gateway.cli import service_app

app = typer.Typer(
    help="Manage enterprises, banks, contracts and signing keys.", no_args_is_help=True
)
enterprise_app = typer.Typer(help="Enterprises (relying parties).", no_args_is_help=True)
bank_app = typer.Typer(help="Banks Honnin can query.", no_args_is_help=True)
contract_app = typer.Typer(
    help="Contracts: which enterprise may ask which bank.", no_args_is_help=True
)
keys_app = typer.Typer(help="Token-signing keys.", no_args_is_help=True)
app.add_typer(enterprise_app, name="enterprise")
app.add_typer(bank_app, name="bank")
app.add_typer(contract_app, name="contract")
app.add_typer(keys_app, name="keys")
app.add_typer(service_app, name="service")  # honnin.gateway: open/close control

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
T = TypeVar("T")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _run(work: Callable[[Any, AsyncSession], Awaitable[T]]) -> T:
    """Run ``work(app_state, session)`` in one transaction on the configured database."""
    from honnin.app import create_app  # the whole platform: only when a command runs

    with cli_errors():
        web = create_app(cli_settings())

    async def main() -> T:
        database = web.state.database
        try:
            async with database.transaction() as session:
                return await work(web.state, session)
        finally:
            await database.dispose()

    with cli_errors():
        return asyncio.run(main())
    raise AssertionError  # pragma: no cover - cli_errors exits on failure


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    return "\n".join("  ".join(str(row.get(c, "")) for c in columns) for row in rows)


def _contract(terms: ContractTerms) -> dict[str, Any]:
    data: dict[str, Any] = _plain(asdict(terms))
    return data


# -- enterprises ---------------------------------------------------------------------------


@enterprise_app.command("add")
def enterprise_add(
    name: Annotated[str, typer.Argument(help="display name")],
    webhook_url: Annotated[str | None, typer.Option(help="where results are delivered")] = None,
    scopes: Annotated[
        str | None, typer.Option(help="comma-separated scopes (default: all)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an enterprise and print its client credentials (shown once)."""

    async def work(state: Any, session: AsyncSession) -> dict[str, Any]:
        actor = _actor()
        enterprise = await state.contracts.create_enterprise(
            session, name=name, webhook_url=webhook_url, actor=actor
        )
        await session.flush()
        issued = await state.clients.create_client(
            session,
            enterprise_id=enterprise.id,
            scopes=scopes.split(",") if scopes else None,
            actor=actor,
        )
        return {
            "enterprise": _plain(asdict(enterprise)),
            "client_id": issued.client_id,
            "client_secret": issued.client_secret,
            "scopes": list(issued.scopes),
        }

    result = _run(work)
    emit(
        result,
        as_json=as_json,
        human=lambda r: (
            f"enterprise {r['enterprise']['id']} created\n"
            f"client_id: {r['client_id']}\nclient_secret: {r['client_secret']} (store it now)"
        ),
    )


@enterprise_app.command("list")
def enterprise_list(as_json: JsonFlag = False) -> None:
    """List enterprises."""

    async def work(state: Any, session: AsyncSession) -> list[dict[str, Any]]:
        return [_plain(asdict(e)) for e in await state.contracts.list_enterprises(session)]

    rows = _run(work)
    emit(rows, as_json=as_json, human=lambda r: _table(r, ["id", "status", "name"]))


@enterprise_app.command("revoke")
def enterprise_revoke(
    enterprise_id: Annotated[str, typer.Argument()],
    reason: Annotated[str | None, typer.Option(help="recorded in the audit trail")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke an enterprise and all its clients."""

    async def work(state: Any, session: AsyncSession) -> dict[str, Any]:
        actor = _actor()
        view = await state.contracts.revoke_enterprise(
            session, enterprise_id, reason=reason, actor=actor
        )
        await state.clients.revoke_clients_of(session, enterprise_id=enterprise_id, actor=actor)
        data: dict[str, Any] = _plain(asdict(view))
        return data

    row = _run(work)
    emit(row, as_json=as_json, human=lambda r: f"enterprise {r['id']} {r['status']}")


# -- banks -----------------------------------------------------------------------------------


@bank_app.command("add")
def bank_add(
    bank_id: Annotated[str, typer.Argument(help="short id, e.g. momiji_rest")],
    name: Annotated[str, typer.Option(help="display name")],
    as_json: JsonFlag = False,
) -> None:
    """Register a bank."""
    from honnin.contracts.schemas import BankCreate

    try:
        BankCreate(id=bank_id, name=name)
    except ValueError:
        fail(f"bank id {bank_id!r} must match [a-z][a-z0-9_]{{1,63}}")

    async def work(state: Any, session: AsyncSession) -> dict[str, Any]:
        view = await state.contracts.create_bank(
            session, bank_id=bank_id, name=name, profile=None, actor=_actor()
        )
        data: dict[str, Any] = _plain(asdict(view))
        return data

    row = _run(work)
    emit(row, as_json=as_json, human=lambda r: f"bank {r['id']} created")


@bank_app.command("list")
def bank_list(as_json: JsonFlag = False) -> None:
    """List banks."""

    async def work(state: Any, session: AsyncSession) -> list[dict[str, Any]]:
        return [_plain(asdict(b)) for b in await state.contracts.list_banks(session)]

    rows = _run(work)
    emit(rows, as_json=as_json, human=lambda r: _table(r, ["id", "status", "name"]))


@bank_app.command("revoke")
def bank_revoke(
    bank_id: Annotated[str, typer.Argument()],
    reason: Annotated[str | None, typer.Option(help="recorded in the audit trail")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Take a bank out of service for every enterprise."""

    async def work(state: Any, session: AsyncSession) -> dict[str, Any]:
        view = await state.contracts.revoke_bank(session, bank_id, reason=reason, actor=_actor())
        data: dict[str, Any] = _plain(asdict(view))
        return data

    row = _run(work)
    emit(row, as_json=as_json, human=lambda r: f"bank {r['id']} {r['status']}")


# -- contracts ---------------------------------------------------------------------------------


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be an ISO 8601 time with offset, got {value!r}")
    if parsed.tzinfo is None:
        fail(f"{option} needs a UTC offset, e.g. 2027-01-01T00:00:00+09:00")
    return parsed


@contract_app.command("add")
def contract_add(
    enterprise: Annotated[str, typer.Option(help="enterprise id")],
    bank: Annotated[str, typer.Option(help="bank id")],
    claims: Annotated[str, typer.Option(help="comma-separated claims")],
    purposes: Annotated[str, typer.Option(help="comma-separated purposes")],
    valid_from: Annotated[str | None, typer.Option(help="ISO time (default: now)")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ISO time (default: open)")] = None,
    rate_per_second: Annotated[int | None, typer.Option(help="request rate limit")] = None,
    daily_quota: Annotated[int | None, typer.Option(help="requests per day")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Allow an enterprise to query a bank for some claims and purposes."""
    start = _parse_time(valid_from, "--valid-from")
    end = _parse_time(valid_until, "--valid-until")

    async def work(state: Any, session: AsyncSession) -> dict[str, Any]:
        terms = await state.contracts.create_contract(
            session,
            enterprise_id=enterprise,
            bank_id=bank,
            claims=[c.strip() for c in claims.split(",") if c.strip()],
            purposes=[p.strip() for p in purposes.split(",") if p.strip()],
            valid_from=start,
            valid_until=end,
            rate_per_second=rate_per_second,
            daily_quota=daily_quota,
            actor=_actor(),
        )
        return _contract(terms)

    row = _run(work)
    emit(row, as_json=as_json, human=lambda r: f"contract {r['id']} created")


@contract_app.command("list")
def contract_list(
    enterprise: Annotated[str | None, typer.Option(help="only this enterprise")] = None,
    bank: Annotated[str | None, typer.Option(help="only this bank")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List contracts."""

    async def work(state: Any, session: AsyncSession) -> list[dict[str, Any]]:
        terms = await state.contracts.list_contracts(
            session, enterprise_id=enterprise, bank_id=bank
        )
        return [_contract(t) for t in terms]

    rows = _run(work)
    emit(
        rows,
        as_json=as_json,
        human=lambda r: _table(r, ["id", "status", "enterprise_id", "bank_id", "valid_until"]),
    )


@contract_app.command("revoke")
def contract_revoke(
    contract_id: Annotated[str, typer.Argument()],
    reason: Annotated[str | None, typer.Option(help="recorded in the audit trail")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a contract; requests under it are refused at once."""

    async def work(state: Any, session: AsyncSession) -> dict[str, Any]:
        terms = await state.contracts.revoke_contract(
            session, contract_id, reason=reason, actor=_actor()
        )
        return _contract(terms)

    row = _run(work)
    emit(row, as_json=as_json, human=lambda r: f"contract {r['id']} {r['status']}")


# -- signing keys --------------------------------------------------------------------------------


@keys_app.command("rotate")
def keys_rotate(as_json: JsonFlag = False) -> None:
    """Start signing access tokens with a new key (the old one stays published a while)."""

    async def work(state: Any, session: AsyncSession) -> dict[str, Any]:
        kid = await state.key_store.rotate(session)
        await state.audit.record(
            session,
            actor=_actor(),
            action="signing_key.rotate",
            object_type="signing_key",
            object_id=kid,
        )
        return {"kid": kid}

    row = _run(work)
    emit(row, as_json=as_json, human=lambda r: f"signing key {r['kid']} is now current")
