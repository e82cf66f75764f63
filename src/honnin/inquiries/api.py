"""Routers: enterprises create and read bank inquiries (``/v1/bank-inquiries``); users pass
through ``/broker/start/{token}`` to their bank and come back to ``/broker/callback``."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from honnin.auth.tokens import Principal
from honnin.errors import HonninError
from honnin.gateway.dependencies import require_scope
from honnin.inquiries.errors import InvalidCallbackError
from honnin.inquiries.schemas import (
    DeliveryStatus,
    InquiryCreate,
    InquiryCreated,
    InquiryOut,
    InquiryPage,
    InquiryResult,
    InquiryStatus,
    InquirySummaryOut,
    WebhookDeliveryOut,
    WebhookDeliveryPage,
    WebhookSecretOut,
    WebhookSecretRotate,
)
from honnin.inquiries.service import InquiryService
from honnin.inquiries.webhooks import DeliveryView, WebhookDispatcher, WebhookKeys, WebhookKeyView

router = APIRouter(prefix="/v1", tags=["bank inquiries"])
broker_router = APIRouter(prefix="/broker", tags=["user-facing pages"], include_in_schema=False)

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


async def inquiry_service(request: Request) -> InquiryService:
    service: InquiryService = request.app.state.inquiries
    return service


Inquiries = Annotated[InquiryService, Depends(inquiry_service)]


async def webhook_dispatcher(request: Request) -> WebhookDispatcher:
    dispatcher: WebhookDispatcher = request.app.state.webhooks
    return dispatcher


Webhooks = Annotated[WebhookDispatcher, Depends(webhook_dispatcher)]


async def webhook_keys(request: Request) -> WebhookKeys:
    keys: WebhookKeys = request.app.state.webhook_keys
    return keys


Keys = Annotated[WebhookKeys, Depends(webhook_keys)]
Limit = Annotated[int, Query(ge=1, le=100, description="items per page")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="next_cursor of the previous page")
]


@router.post("/bank-inquiries", status_code=201, response_model=InquiryCreated)
async def create_inquiry(
    body: InquiryCreate,
    response: Response,
    inquiries: Inquiries,
    principal: Annotated[Principal, Depends(require_scope("inquiries:write"))],
    idempotency_key: Annotated[
        str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> InquiryCreated:
    """Start an inquiry; send the user to ``authorization_url`` to consent at their bank."""
    created = await inquiries.create(
        enterprise_id=principal.enterprise_id,
        bank_id=body.bank_id,
        purpose=body.purpose,
        claims=body.claims,
        applicant=body.applicant.model_dump(exclude_none=True),
        return_url=str(body.return_url),
        idempotency_key=idempotency_key,
    )
    response.headers.update(created.rate_limit_headers)
    return InquiryCreated(
        id=created.id,
        status=created.status,
        authorization_url=created.authorization_url,
        expires_at=created.expires_at,
    )


@router.get("/bank-inquiries", response_model=InquiryPage)
async def list_inquiries(
    inquiries: Inquiries,
    principal: Annotated[Principal, Depends(require_scope("inquiries:read"))],
    status: InquiryStatus | None = None,
    bank_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> InquiryPage:
    """Your inquiries, newest first: statuses and outcomes, never the data (read one
    inquiry for its result). For reconciling with what your webhooks told you."""
    page = await inquiries.page(
        enterprise_id=principal.enterprise_id,
        status=status,
        bank_id=bank_id,
        limit=limit,
        cursor=cursor,
    )
    return InquiryPage(
        items=[
            InquirySummaryOut(**{**dataclasses.asdict(item), "claims": list(item.claims)})
            for item in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/bank-inquiries/{inquiry_id}", response_model=InquiryOut)
async def get_inquiry(
    inquiry_id: str,
    inquiries: Inquiries,
    principal: Annotated[Principal, Depends(require_scope("inquiries:read"))],
) -> InquiryOut:
    """Status, and once completed the OIDC4IDA ``verified_claims`` and the match report."""
    view = await inquiries.get(enterprise_id=principal.enterprise_id, inquiry_id=inquiry_id)
    result = None
    if view.result is not None:
        result = InquiryResult(
            verified_claims=view.result["verified_claims"], match=view.result["match"]
        )
    return InquiryOut(
        id=view.id,
        status=view.status,
        bank_id=view.bank_id,
        purpose=view.purpose,
        claims=list(view.claims),
        failure_code=view.failure_code,
        created_at=view.created_at,
        expires_at=view.expires_at,
        finished_at=view.finished_at,
        authorization_url=view.authorization_url,
        result=result,
        result_digest=view.result_digest,
        match_overall=view.match_overall,
        purged=view.purged,
    )


def _secret(view: WebhookKeyView) -> WebhookSecretOut:
    return WebhookSecretOut(
        secret=view.secret, version=view.version, previous_valid_until=view.previous_valid_until
    )


@router.get("/webhook-secret", response_model=WebhookSecretOut)
async def webhook_secret(
    keys: Keys,
    principal: Annotated[Principal, Depends(require_scope("inquiries:read"))],
) -> WebhookSecretOut:
    """The key that signs your webhooks (Standard Webhooks, ``whsec_`` form)."""
    return _secret(await keys.current(principal.enterprise_id))


@router.post("/webhook-secret/rotate", response_model=WebhookSecretOut)
async def rotate_webhook_secret(
    keys: Keys,
    principal: Annotated[Principal, Depends(require_scope("keys:manage"))],
    body: WebhookSecretRotate | None = None,
) -> WebhookSecretOut:
    """A new key signs your webhooks from now on; for ``overlap_seconds`` (a day unless
    given) they also carry a signature by the previous key, so your receiver can switch
    without losing a message."""
    overlap = timedelta(seconds=(body or WebhookSecretRotate()).overlap_seconds)
    view = await keys.rotate(
        enterprise_id=principal.enterprise_id,
        actor=f"client:{principal.client_id}",
        overlap=overlap,
    )
    return _secret(view)


def _delivery(view: DeliveryView) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(**dataclasses.asdict(view))


@router.get("/webhook-deliveries", response_model=WebhookDeliveryPage)
async def list_webhook_deliveries(
    webhooks: Webhooks,
    principal: Annotated[Principal, Depends(require_scope("inquiries:read"))],
    status: DeliveryStatus | None = None,
    inquiry_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> WebhookDeliveryPage:
    """Your webhooks newest first, with their attempts and last error; ``status=dead``
    lists those whose retries are spent."""
    page = await webhooks.page(
        enterprise_id=principal.enterprise_id,
        status=status,
        object_id=inquiry_id,
        limit=limit,
        cursor=cursor,
    )
    return WebhookDeliveryPage(
        items=[_delivery(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.post("/webhook-deliveries/{delivery_id}/redeliver", response_model=WebhookDeliveryOut)
async def redeliver_webhook(
    delivery_id: str,
    webhooks: Webhooks,
    principal: Annotated[Principal, Depends(require_scope("inquiries:write"))],
) -> WebhookDeliveryOut:
    """Send a dead or delivered webhook again, now, with the same ``webhook-id``; 409
    ``webhook_delivery_pending`` while it is still scheduled."""
    view = await webhooks.redeliver(enterprise_id=principal.enterprise_id, delivery_id=delivery_id)
    return _delivery(view)


def _page(title: str, message: str, status: int) -> HTMLResponse:
    html = _templates.get_template("broker_message.html").render(title=title, message=message)
    return HTMLResponse(html, status_code=status)


@broker_router.get("/start/{start_token}", response_model=None)
async def start(start_token: str, inquiries: Inquiries) -> Response:
    try:
        url = await inquiries.authorization_redirect(start_token)
    except InvalidCallbackError as exc:
        return _page("このリンクは使えません", exc.safe_message, 400)
    except HonninError as exc:
        # The bank cannot be reached or is closed right now; the link stays usable.
        return _page("銀行に接続できません", f"{exc.code}: please try again later", 503)
    return RedirectResponse(url, status_code=303)


@broker_router.get("/callback", response_model=None)
async def callback(request: Request, inquiries: Inquiries) -> Response:
    params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
    try:
        outcome = await inquiries.handle_callback(params)
    except InvalidCallbackError as exc:
        return _page("この応答は受け付けられません", exc.safe_message, 400)
    params = {"inquiry_id": outcome.inquiry_id, "status": outcome.status}
    if outcome.receipt_url:
        # For the enterprise to show the user: what was shared, with whom, and revocation.
        params["receipt_url"] = outcome.receipt_url
    separator = "&" if "?" in outcome.return_url else "?"
    return RedirectResponse(f"{outcome.return_url}{separator}{urlencode(params)}", status_code=303)
