"""HTML pages: the operator console (``/console``) and the user's receipt (``/receipts``).

Server-rendered Jinja2 (templates under ``honnin/web/console/``) with inline SVG charts
from :mod:`honnin.trace.charts`; no JavaScript, so the Content-Security-Policy allows
scripts from nowhere. Forms carry CSRF tokens (:mod:`honnin.trace.console_auth`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.service import AuditService
from honnin.clock import Clock
from honnin.db import Database
from honnin.gateway.dependencies import Db
from honnin.trace import charts, console_auth, core
from honnin.trace.console_auth import ConsoleConfig, ConsoleSession
from honnin.trace.core import TraceFilter
from honnin.trace.dashboard import WINDOWS, Dashboard, build_dashboard, summary
from honnin.trace.errors import (
    InvalidTraceEventError,
    InvalidTraceQueryError,
    ReceiptNotFoundError,
    RevocationNotAllowedError,
    TraceError,
)
from honnin.trace.service import TraceService

WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "console"
STATIC_FILES = {"console.css": "text/css"}

console_router = APIRouter(prefix="/console", include_in_schema=False)
receipts_router = APIRouter(prefix="/receipts", include_in_schema=False)

_env = Environment(
    loader=FileSystemLoader(WEB_DIR / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["time"] = lambda at: at.strftime("%Y-%m-%d %H:%M:%S UTC")
_env.filters["short"] = lambda text: (text[:10] + "…") if text and len(text) > 10 else (text or "")
_env.filters["pct"] = lambda value: f"{100 * value:.1f} %"

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


def _throttle(request: Request) -> console_auth.LoginThrottle:
    """One failed-login counter per app (so tests and processes do not share one)."""
    state = request.app.state
    throttle: console_auth.LoginThrottle | None = getattr(state, "trace_console_throttle", None)
    if throttle is None:
        throttle = state.trace_console_throttle = console_auth.LoginThrottle()
    return throttle


async def _config(request: Request) -> ConsoleConfig:
    config: ConsoleConfig = request.app.state.trace_console
    return config


async def _trace(request: Request) -> TraceService:
    service: TraceService = request.app.state.trace
    return service


async def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def _audit(request: Request) -> AuditService:
    audit: AuditService = request.app.state.audit
    return audit


Config = Annotated[ConsoleConfig, Depends(_config)]
Trace = Annotated[TraceService, Depends(_trace)]
ClockDep = Annotated[Clock, Depends(_clock)]
Audit = Annotated[AuditService, Depends(_audit)]


async def _session(request: Request, config: Config, clock: ClockDep) -> ConsoleSession | None:
    return console_auth.read_session(
        config, request.cookies.get(console_auth.SESSION_COOKIE), now=clock.now()
    )


OptionalSession = Annotated[ConsoleSession | None, Depends(_session)]


def _to_login() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303, headers=_SECURITY_HEADERS)


def _login_page(
    config: ConsoleConfig, *, status: int = 200, error: str | None = None
) -> HTMLResponse:
    if not config.enabled:
        return _render("console/disabled.html", status=503)
    cookie, token = console_auth.new_login_csrf(config)
    response = _render("console/login.html", status=status, csrf=token, error=error)
    response.set_cookie(
        console_auth.LOGIN_CSRF_COOKIE,
        cookie,
        max_age=1800,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=config.secure_cookies,
    )
    return response


@console_router.get("/static/{name}")
async def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response(status_code=404)
    return FileResponse(
        WEB_DIR / "static" / name,
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@console_router.get("/login")
async def login_form(config: Config, session: OptionalSession) -> Response:
    if session is not None:
        return RedirectResponse("/console", status_code=303)
    return _login_page(config)


@console_router.post("/login")
async def login(
    *,
    request: Request,
    config: Config,
    clock: ClockDep,
    database: Db,
    audit: Audit,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=200)],
) -> Response:
    if not config.enabled:
        return _render("console/disabled.html", status=503)
    if not console_auth.login_csrf_ok(
        config, request.cookies.get(console_auth.LOGIN_CSRF_COOKIE), csrf
    ):
        return _login_page(config, status=403, error="The form expired; please sign in again.")
    client = request.client.host if request.client else "unknown"
    throttle = _throttle(request)
    if throttle.blocked(client, now=time.monotonic()):
        return _login_page(config, status=429, error="Too many failed sign-ins; try again later.")
    ok = console_auth.check_login(config, username, password)
    if ok:
        throttle.succeeded(client)
    else:
        throttle.failed(client, now=time.monotonic())
    async with database.transaction() as session:
        await audit.record(
            session,
            actor=f"console:{config.username}" if ok else "console:unknown",
            action="console.login" if ok else "console.login_failed",
            object_type="console",
            object_id="operator",
        )
    if not ok:
        return _login_page(config, status=401, error="Wrong username or password.")
    cookie, _ = console_auth.new_session(config, now=clock.now())
    response = RedirectResponse("/console", status_code=303, headers=_SECURITY_HEADERS)
    response.set_cookie(
        console_auth.SESSION_COOKIE,
        cookie,
        max_age=int(config.session_ttl.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=config.secure_cookies,
    )
    response.delete_cookie(console_auth.LOGIN_CSRF_COOKIE, path="/console")
    return response


@console_router.post("/logout")
async def logout(
    config: Config, session: OptionalSession, csrf: Annotated[str, Form(max_length=200)]
) -> Response:
    if session is None or not console_auth.hmac_equal(session.csrf, csrf):
        return _to_login()
    response = _to_login()
    response.delete_cookie(console_auth.SESSION_COOKIE, path="/")
    del config
    return response


async def _dashboard(
    request: Request, trace: TraceService, database: Database, now: datetime, window: str
) -> Dashboard:
    async with database.session() as session:
        closed = await _active_closures(request, session, now)
        return await build_dashboard(session, trace=trace, now=now, window=window, closed=closed)


async def _active_closures(
    request: Request, session: AsyncSession, now: datetime
) -> dict[tuple[str, str], str]:
    """Operator closures from the gateway (issue 4) when it is installed, else none."""
    closures = getattr(getattr(request.app.state, "gateway", None), "closures", None)
    if closures is None:
        return {}
    active: dict[tuple[str, str], str] = {}
    for closure in await closures.list(session):
        if closure.active(now):
            until = f", reopens {closure.reopen_at:%m-%d %H:%M}" if closure.reopen_at else ""
            active[(closure.scope, closure.target)] = (
                f"closed: {closure.reason or 'by operator'}{until}"
            )
    return active


WindowParam = Annotated[str, Query(pattern=r"^(6h|24h|7d|30d)$")]


@console_router.get("")
async def dashboard(
    *,
    request: Request,
    session: OptionalSession,
    trace: Trace,
    database: Db,
    clock: ClockDep,
    window: WindowParam = "24h",
) -> Response:
    if session is None:
        return _to_login()
    data = await _dashboard(request, trace=trace, database=database, now=clock.now(), window=window)
    bank_names = {v.id: v.name for v in data.banks}
    enterprise_names = {v.id: v.name for v in data.enterprises}
    return _render(
        "console/dashboard.html",
        d=data,
        session=session,
        windows=list(WINDOWS),
        timeline_svg=charts.timeline(
            [
                charts.StackedBar(
                    label=charts.bucket_label(p.start, data.bucket),
                    ok=p.counts.ok,
                    denied=p.counts.denied,
                    error=p.counts.error,
                )
                for p in data.timeline
            ],
            title="Events per " + data.bucket,
        ),
        banks_svg=charts.hbars(
            [(v.name, v.counts.ok, v.counts.denied, v.counts.error) for v in data.banks]
        ),
        enterprises_svg=charts.hbars(
            [(v.name, v.counts.ok, v.counts.denied, v.counts.error) for v in data.enterprises]
        ),
        sankey_svg=charts.sankey(
            [(f.bank_id, f.enterprise_id, f.count) for f in data.flows],
            left_labels=bank_names,
            right_labels=enterprise_names,
            title="Identity data flow: bank to enterprise",
        ),
        classify=core.classify,
    )


@console_router.get("/summary.json")
async def dashboard_json(
    *,
    request: Request,
    session: OptionalSession,
    trace: Trace,
    database: Db,
    clock: ClockDep,
    window: WindowParam = "24h",
) -> Response:
    if session is None:
        return JSONResponse({"code": "console_unauthenticated"}, status_code=401)
    data = await _dashboard(request, trace=trace, database=database, now=clock.now(), window=window)
    return JSONResponse(summary(data), headers={"Cache-Control": "no-store"})


@console_router.get("/export")
async def export(
    session: OptionalSession,
    trace: Trace,
    database: Db,
    fmt: Annotated[Literal["csv", "jsonl"], Query(alias="format")] = "csv",
) -> Response:
    if session is None:
        return _to_login()
    return StreamingResponse(
        trace.export(database, core.TraceFilter(), fmt=fmt),
        media_type="text/csv; charset=utf-8" if fmt == "csv" else "application/jsonl",
        headers={
            "Content-Disposition": f'attachment; filename="trace.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


_FILTER_FIELDS = ("since", "until", "enterprise_id", "bank_id", "subject_id", "outcome", "kind")


def _console_filters(params: dict[str, str]) -> TraceFilter:
    """The events page's form, parsed like the API's query (errors are TraceErrors)."""
    times: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        value = params.get(name) or None
        if value is None:
            times[name] = None
            continue
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidTraceQueryError(f"{name} is not a date and time") from exc
        times[name] = core.utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), name)
    kind = params.get("kind") or None
    if kind is not None:
        try:
            core.validate_kind(kind)
        except InvalidTraceEventError as exc:
            raise InvalidTraceQueryError("unknown event kind") from exc
    return TraceFilter(
        since=times["since"],
        until=times["until"],
        enterprise_id=params.get("enterprise_id") or None,
        bank_id=params.get("bank_id") or None,
        subject_id=params.get("subject_id") or None,
        outcome=params.get("outcome") or None,
        kinds=(kind,) if kind else (),
    )


@console_router.get("/events")
async def events_page(
    request: Request, session: OptionalSession, trace: Trace, database: Db
) -> Response:
    """Every event, filterable, 50 per page with an "older" link (keyset cursor)."""
    if session is None:
        return _to_login()
    params = {k: request.query_params.get(k, "")[:200] for k in (*_FILTER_FIELDS, "cursor")}
    error = None
    page = None
    try:
        filters = _console_filters(params)
        async with database.session() as db_session:
            page = await trace.page(db_session, filters, limit=50, cursor=params["cursor"] or None)
    except TraceError as exc:
        error = exc.safe_message
    older = None
    if page is not None and page.next_cursor:
        query = {k: v for k, v in params.items() if v and k != "cursor"}
        older = "/console/events?" + urlencode({**query, "cursor": page.next_cursor})
    return _render(
        "console/events.html",
        session=session,
        params=params,
        kinds=core.KNOWN_KINDS,
        events=page.events if page else (),
        older=older,
        error=error,
        classify=core.classify,
    )


# --- receipts (user-facing) --------------------------------------------------------------


_RECEIPT_KINDS = {
    core.INQUIRY_CREATED: "Identity check requested",
    core.CONSENT_GIVEN: "You gave consent at your bank",
    core.CONSENT_REFUSED: "You refused consent",
    core.BANK_FETCHED: "Your bank sent your identity data",
    core.DELIVERED: "Delivered to the company",
    core.WEBHOOK_DELIVERED: "The company was notified",
    core.DATA_PURGED: "Your data was deleted from Honnin",
    core.REVOCATION_REQUESTED: "You asked to revoke the sharing",
    core.VERIFICATION_DECIDED: "Identity verification decided",
}


async def _receipt_page(
    trace: TraceService,
    database: Database,
    config: ConsoleConfig,
    token: str,
    *,
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        async with database.session() as session:
            view = await trace.receipt(session, token)
    except ReceiptNotFoundError:
        return _render("console/receipt_missing.html", status=404)
    return _render(
        "console/receipt.html",
        status=status,
        r=view,
        labels=_RECEIPT_KINDS,
        csrf=console_auth.receipt_csrf(config.key, token),
        action=f"/receipts/{token}/revocation",
        message=message,
    )


@receipts_router.get("/{token}")
async def receipt(token: str, trace: Trace, database: Db, config: Config) -> HTMLResponse:
    return await _receipt_page(trace, database, config, token)


@receipts_router.post("/{token}/revocation")
async def request_revocation(
    token: str,
    trace: Trace,
    database: Db,
    config: Config,
    csrf: Annotated[str, Form(max_length=200)],
) -> HTMLResponse:
    if not console_auth.hmac_equal(console_auth.receipt_csrf(config.key, token), csrf):
        return await _receipt_page(
            trace,
            database,
            config,
            token,
            message="The form expired; please try again.",
            status=403,
        )
    try:
        async with database.transaction() as session:
            await trace.request_revocation(session, token)
    except ReceiptNotFoundError:
        return _render("console/receipt_missing.html", status=404)
    except RevocationNotAllowedError as exc:
        return await _receipt_page(
            trace, database, config, token, message=exc.safe_message, status=409
        )
    return await _receipt_page(
        trace, database, config, token, message="Your revocation request was recorded."
    )
