"""``honnin admin service``: close and open an API, a bank or an enterprise's access.

Works on the database named by the settings, like the rest of ``honnin admin``; audited
with the actor ``cli:<user>``. Running app processes see the change within
``gateway_cache_ttl_seconds``.
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import datetime
from typing import Annotated, Any

import typer

from honnin.cli_support import cli_errors, emit, fail
from honnin.config import cli_settings
from honnin.gateway.core import CLOSURE_SCOPES, Closure

service_app = typer.Typer(
    help="Close or open an API, a bank or an enterprise's access.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
Scope = Annotated[str, typer.Argument(help="api, bank or enterprise")]
TargetArg = Annotated[
    str, typer.Argument(help="API name (e.g. inquiries), bank id or enterprise id")
]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _plain(closure: Closure) -> dict[str, Any]:
    return {
        "scope": closure.scope,
        "target": closure.target,
        "reason": closure.reason,
        "reopen_at": closure.reopen_at.isoformat() if closure.reopen_at else None,
        "closed_by": closure.closed_by,
        "closed_at": closure.closed_at.isoformat(),
    }


def _run(work: Any) -> Any:
    from honnin.app import create_app

    with cli_errors():
        web = create_app(cli_settings())

        async def main() -> Any:
            database = web.state.database
            try:
                async with database.transaction() as session:
                    return await work(web.state.gateway.closures, session)
            finally:
                await web.state.gateway.aclose()
                await database.dispose()

        return asyncio.run(main())


def _scope(value: str) -> str:
    if value not in CLOSURE_SCOPES:
        fail(f"scope must be one of {', '.join(CLOSURE_SCOPES)}, got {value!r}")
    return value


def _reopen_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--reopen-at must be an ISO 8601 time with offset, got {value!r}")
    if parsed.tzinfo is None:
        fail("--reopen-at needs a UTC offset, e.g. 2027-01-01T09:00:00+09:00")
    return parsed


@service_app.command("close")
def close(
    scope: Scope,
    target: TargetArg,
    reason: Annotated[str | None, typer.Option(help="shown to callers and audited")] = None,
    reopen_at: Annotated[
        str | None, typer.Option(help="ISO time it reopens by itself (Retry-After)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Close an API, a bank or an enterprise: requests get 503 with Retry-After."""
    checked, until = _scope(scope), _reopen_at(reopen_at)

    async def work(closures: Any, session: Any) -> dict[str, Any]:
        closure = await closures.close(
            session, scope=checked, target=target, reason=reason, reopen_at=until, actor=_actor()
        )
        return _plain(closure)

    row = _run(work)
    emit(row, as_json=as_json, human=lambda r: f"{r['scope']} {r['target']} closed")


@service_app.command("open")
def open_(scope: Scope, target: TargetArg, as_json: JsonFlag = False) -> None:
    """Open again what was closed."""
    checked = _scope(scope)

    async def work(closures: Any, session: Any) -> dict[str, Any]:
        return _plain(await closures.open(session, scope=checked, target=target, actor=_actor()))

    row = _run(work)
    emit(row, as_json=as_json, human=lambda r: f"{r['scope']} {r['target']} open")


@service_app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """List current closures."""

    async def work(closures: Any, session: Any) -> list[dict[str, Any]]:
        return [_plain(c) for c in await closures.list(session)]

    rows = _run(work)
    emit(
        rows,
        as_json=as_json,
        human=lambda r: (
            "\n".join(
                f"{c['scope']}  {c['target']}  {c['reopen_at'] or '-'}  {c['reason'] or ''}"
                for c in r
            )
            or "(none)"
        ),
    )
