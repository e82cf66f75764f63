"""The reviewer queue in the operator console (``/console/verifications``).

Server-rendered, no JavaScript; it reuses the trace console's login session and CSRF
token (:mod:`honnin.trace.console_auth`) and stylesheet, and adds no code to the trace
package. Decisions go through :meth:`VerificationService.review` (audited, webhook).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from honnin.db import Database
from honnin.trace import console_auth
from honnin.trace.console import OptionalSession
from honnin.verifications import core
from honnin.verifications.errors import VerificationError
from honnin.verifications.service import VerificationService

console_router = APIRouter(prefix="/console/verifications", include_in_schema=False)

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def _service(request: Request) -> VerificationService:
    service: VerificationService = request.app.state.verifications
    return service


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _login() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


@console_router.get("")
async def queue(request: Request, session: OptionalSession) -> Response:
    """Sessions waiting for a person, oldest first, with their scores and images."""
    if session is None:
        return _login()
    async with _database(request).session() as db:
        items = await _service(request).list(db, status=core.REVIEW, limit=100)
    html = _env.get_template("console_queue.html").render(
        items=items, csrf=session.csrf, user=session.username, message=None
    )
    return HTMLResponse(html, headers=_HEADERS)


@console_router.get("/{verification_id}/evidence/{kind}")
async def evidence(
    request: Request, session: OptionalSession, verification_id: str, kind: str
) -> Response:
    if session is None:
        return _login()
    async with _database(request).session() as db:
        try:
            data = await _service(request).evidence_image(db, verification_id, kind)
        except VerificationError:
            return Response(status_code=404)
    jp2 = data[4:8] == b"jP  " or data[:4] == b"\xff\x4f\xff\x51"
    media = "image/jp2" if jp2 else "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
    return Response(data, media_type=media, headers=_HEADERS)


@console_router.post("/{verification_id}/decision")
async def decide(
    *,
    request: Request,
    session: OptionalSession,
    verification_id: str,
    decision: Annotated[str, Form(pattern=r"^(approved|rejected)$")],
    csrf: Annotated[str, Form(max_length=200)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if session is None or not console_auth.hmac_equal(session.csrf, csrf):
        return _login()
    try:
        await _service(request).review(
            verification_id=verification_id,
            actor=f"console:{session.username}",
            decision=decision,
            note=note or None,
        )
    except VerificationError as exc:
        html = _env.get_template("console_queue.html").render(
            items=[], csrf=session.csrf, user=session.username, message=exc.safe_message
        )
        return HTMLResponse(html, status_code=exc.status, headers=_HEADERS)
    return RedirectResponse("/console/verifications", status_code=303)
