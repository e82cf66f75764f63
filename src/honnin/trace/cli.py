"""``honnin trace ...``: query and export the distribution history, console password hash,
commit pending event digests to the ledger."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from honnin.audit.service import AuditService
from honnin.cli_support import cli_errors, emit, fail
from honnin.clock import SystemClock
from honnin.config import cli_settings
from honnin.db import Database
from honnin.trace.console_auth import hash_password
from honnin.trace.core import TraceFilter, utc, validate_kind
from honnin.trace.errors import InvalidTraceEventError, InvalidTraceQueryError
from honnin.trace.service import TraceLedgerPublisher, build_trace_service

app = typer.Typer(help="Distribution history (trace): query, export, console password.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidTraceQueryError(f"{name} is not an RFC 3339 time") from exc
    if parsed.tzinfo is None:
        raise InvalidTraceQueryError(f"{name} needs a time zone (e.g. Z)")
    return utc(parsed, name)


def _filters(
    *,
    since: str | None,
    until: str | None,
    enterprise: str | None,
    bank: str | None,
    subject: str | None,
    outcome: str | None,
    kind: list[str] | None,
) -> TraceFilter:
    try:
        kinds = tuple(validate_kind(k) for k in kind or ())
    except InvalidTraceEventError as exc:
        raise InvalidTraceQueryError("unknown event kind") from exc
    return TraceFilter(
        since=_time(since, "--since"),
        until=_time(until, "--until"),
        enterprise_id=enterprise,
        bank_id=bank,
        subject_id=subject,
        outcome=outcome,
        kinds=kinds,
    )


Since = Annotated[str | None, typer.Option(help="Inclusive RFC 3339 time")]
Until = Annotated[str | None, typer.Option(help="Exclusive RFC 3339 time")]
Enterprise = Annotated[str | None, typer.Option(help="Enterprise id")]
BankOpt = Annotated[str | None, typer.Option("--bank", help="Bank id")]
Subject = Annotated[str | None, typer.Option(help="Subject pseudonym (64 hex)")]
Outcome = Annotated[str | None, typer.Option(help="Outcome, e.g. access_denied")]
Kind = Annotated[list[str] | None, typer.Option(help="Event kind (repeatable)")]


@app.command("list")
def list_events(
    since: Since = None,
    until: Until = None,
    enterprise: Enterprise = None,
    bank: BankOpt = None,
    subject: Subject = None,
    outcome: Outcome = None,
    kind: Kind = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One page of events, newest first."""
    with cli_errors():
        filters = _filters(
            since=since,
            until=until,
            enterprise=enterprise,
            bank=bank,
            subject=subject,
            outcome=outcome,
            kind=kind,
        )
        result = asyncio.run(_page(filters, limit=limit, cursor=cursor))

    def human(data: dict[str, Any]) -> str:
        lines = [
            f"{e['at']}  {e['kind']:<20} {e['enterprise_id'] or '-':<24} "
            f"{e['bank_id'] or '-':<14} {e['outcome']}"
            for e in data["events"]
        ]
        if data["next_cursor"]:
            lines.append(f"next: --cursor {data['next_cursor']}")
        return "\n".join(lines) or "no events"

    emit(result, as_json=as_json, human=human)


async def _page(filters: TraceFilter, *, limit: int, cursor: str | None) -> dict[str, Any]:
    settings = cli_settings()
    clock = SystemClock()
    trace = build_trace_service(settings=settings, clock=clock, audit=AuditService(clock=clock))
    trace.page_max = max(trace.page_max, limit)
    database = Database(settings.resolved_database_url)
    try:
        async with database.session() as session:
            page = await trace.page(session, filters, limit=limit, cursor=cursor)
    finally:
        await database.dispose()
    return {"events": [e.to_json() for e in page.events], "next_cursor": page.next_cursor}


@app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout)")
    ] = None,
    since: Since = None,
    until: Until = None,
    enterprise: Enterprise = None,
    bank: BankOpt = None,
    subject: Subject = None,
    outcome: Outcome = None,
    kind: Kind = None,
) -> None:
    """Stream every matching event as CSV or JSON Lines (bounded memory)."""
    if fmt not in ("csv", "jsonl"):
        fail("--format must be csv or jsonl")
    with cli_errors():
        filters = _filters(
            since=since,
            until=until,
            enterprise=enterprise,
            bank=bank,
            subject=subject,
            outcome=outcome,
            kind=kind,
        )
        asyncio.run(_export(filters, fmt=fmt, output=output))


async def _export(filters: TraceFilter, *, fmt: str, output: Path | None) -> None:
    settings = cli_settings()
    clock = SystemClock()
    trace = build_trace_service(settings=settings, clock=clock, audit=AuditService(clock=clock))
    database = Database(settings.resolved_database_url)
    sink = output.open("wb") if output else sys.stdout.buffer
    try:
        async for chunk in trace.export(database, filters, fmt="csv" if fmt == "csv" else "jsonl"):
            sink.write(chunk)
        sink.flush()
    finally:
        if output:
            sink.close()
        await database.dispose()


@app.command("hash-password")
def hash_password_command(
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """argon2id hash for HONNIN_TRACE_CONSOLE_PASSWORD_HASH (the password is never echoed)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Console password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        fail("the console password must have at least 12 characters")
    emit(
        {"setting": "HONNIN_TRACE_CONSOLE_PASSWORD_HASH", "hash": hash_password(password)},
        as_json=as_json,
        human=lambda data: str(data["hash"]),
    )


@app.command("ledger-publish")
def ledger_publish(as_json: JsonOpt = False) -> None:
    """Commit the digests of events not yet in the ledger (the app does this in the
    background when a ledger is configured)."""
    with cli_errors():
        count = asyncio.run(_publish())
    emit({"published": count}, as_json=as_json, human=lambda d: f"published {d['published']}")


async def _publish() -> int:
    from honnin.ledger.service import build_ledger_service

    settings = cli_settings()
    database = Database(settings.resolved_database_url)
    ledger = build_ledger_service(settings=settings, database=database)
    try:
        publisher = TraceLedgerPublisher(
            database=database, ledger=ledger, batch_size=settings.trace_ledger_batch
        )
        return await publisher.publish_pending()
    finally:
        await ledger.aclose()
        await database.dispose()
