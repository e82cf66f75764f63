"""Routers: enterprises create and read verifications (``/v1/verifications``), native
apps and the capture page upload (``/capture/{token}``), operators review
(``/admin/v1/verifications``).

Uploads take ``multipart/form-data`` (files) or JSON with base64 strings.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from honnin.auth.tokens import Principal
from honnin.gateway.dependencies import AdminActor, Session, require_scope
from honnin.verifications import core
from honnin.verifications.analysis import CardUpload, ChipUpload, SelfieUpload
from honnin.verifications.errors import InvalidCaptureTokenError, InvalidUploadError
from honnin.verifications.schemas import (
    AdminVerificationOut,
    CaptureSessionOut,
    CaptureSubmitted,
    CardIn,
    ChallengeOut,
    ChipIn,
    ReviewDecision,
    SelfieIn,
    UploadOut,
    VerificationCreate,
    VerificationCreated,
    VerificationOut,
)
from honnin.verifications.service import VerificationService, VerificationView

router = APIRouter(prefix="/v1", tags=["verifications"])
capture_router = APIRouter(tags=["capture"], include_in_schema=False)
admin_router = APIRouter(prefix="/admin/v1", tags=["verifications (operators)"])

_HERE = Path(__file__).parent
_templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"])
)
_SCRIPT = _HERE / "static" / "capture.js"


async def verification_service(request: Request) -> VerificationService:
    service: VerificationService = request.app.state.verifications
    return service


Verifications = Annotated[VerificationService, Depends(verification_service)]
Writer = Annotated[Principal, Depends(require_scope("verifications:write"))]
Reader = Annotated[Principal, Depends(require_scope("verifications:read"))]


def _out(view: VerificationView) -> VerificationOut:
    return VerificationOut(
        id=view.id,
        method=view.method,
        purpose=view.purpose,
        status=view.status,
        reasons=list(view.reasons),
        created_at=view.created_at,
        expires_at=view.expires_at,
        decided_at=view.decided_at,
        decided_by=view.decided_by,
        received=list(view.received),
        verified_claims=dict(view.verified_claims) if view.verified_claims else None,
        match=dict(view.match) if view.match else None,
        evidence=dict(view.evidence) if view.evidence else None,
        ledger_index=view.ledger_index,
        purged=view.purged,
    )


def _upload_out(method: str, received: tuple[str, ...]) -> UploadOut:
    needs = [p for p in core.uploads_needed(method) if p not in received]
    return UploadOut(received=list(received), needs=needs)


def _decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise InvalidUploadError(f"{what} is not base64") from exc


def _model(model: Any, data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidUploadError(f"invalid upload at {where or 'body'}") from exc


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise InvalidUploadError("the body is not JSON") from exc


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def _file(value: Any, what: str) -> bytes:
    if not isinstance(value, UploadFile):
        raise InvalidUploadError(f"{what} must be a file")
    return await value.read()


async def chip_upload(request: Request) -> ChipUpload:
    body: ChipIn = _model(ChipIn, await _json(request))
    groups: dict[int, bytes] = {}
    for key, value in body.data_groups.items():
        if not (len(key) <= 2 and key.isascii() and key.isdigit()) or not 1 <= int(key) <= 16:
            raise InvalidUploadError("data group keys are numbers 1..16")
        groups[int(key)] = _decode(value, f"data group {key}")
    return ChipUpload(sod=_decode(body.sod, "sod"), data_groups=groups)


async def card_upload(request: Request) -> CardUpload:
    if _is_multipart(request):
        async with request.form(max_files=2, max_fields=4) as form:
            return CardUpload(
                front=await _file(form.get("front"), "front"),
                tilted=await _file(form.get("tilted"), "tilted"),
            )
    body: CardIn = _model(CardIn, await _json(request))
    return CardUpload(front=_decode(body.front, "front"), tilted=_decode(body.tilted, "tilted"))


async def selfie_upload(request: Request, max_frames: int) -> tuple[SelfieUpload, str]:
    """Multipart: ``nonce``, ``times`` (JSON array) and ``frames`` files, or ``video``."""
    if _is_multipart(request):
        async with request.form(max_files=max_frames + 1, max_fields=8) as form:
            nonce = form.get("nonce")
            if not isinstance(nonce, str):
                raise InvalidUploadError("nonce is required")
            video = form.get("video")
            if video is not None:
                return SelfieUpload(video=await _file(video, "video")), nonce
            files = [await _file(item, "frames") for item in form.getlist("frames")]
            raw_times = form.get("times")
            try:
                times = json.loads(raw_times) if isinstance(raw_times, str) else None
                parsed = tuple(float(t) for t in times) if isinstance(times, list) else None
            except (TypeError, ValueError) as exc:
                raise InvalidUploadError("times must be a JSON array of seconds") from exc
            if parsed is None:
                raise InvalidUploadError("times must be a JSON array of seconds")
            return SelfieUpload(frames=tuple(files), times=parsed), nonce
    body: SelfieIn = _model(SelfieIn, await _json(request))
    if body.video is not None:
        return SelfieUpload(video=_decode(body.video, "video")), body.nonce
    frames = tuple(_decode(f, "frame") for f in body.frames)
    return SelfieUpload(frames=frames, times=tuple(body.times)), body.nonce


# -- enterprises -----------------------------------------------------------------------------


@router.post("/verifications", status_code=201, response_model=VerificationCreated)
async def create_verification(
    body: VerificationCreate,
    session: Session,
    service: Verifications,
    principal: Writer,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> VerificationCreated:
    """Start a session; send the user to ``capture_url`` (or upload from your app)."""
    created = await service.create(
        session,
        enterprise_id=principal.enterprise_id,
        method=body.method,
        purpose=body.purpose,
        applicant=body.applicant.model_dump(exclude_none=True),
        return_url=str(body.return_url) if body.return_url else None,
        idempotency_key=idempotency_key,
    )
    return VerificationCreated(
        id=created.id,
        status=created.status,
        method=created.method,
        challenge=ChallengeOut(**created.challenge),
        capture_url=created.capture_url,
        expires_at=created.expires_at,
        uploads=list(created.uploads),
    )


@router.get("/verifications/{verification_id}", response_model=VerificationOut)
async def get_verification(
    verification_id: str, session: Session, service: Verifications, principal: Reader
) -> VerificationOut:
    """Status, reasons, scores and, once approved, the OIDC4IDA ``verified_claims``."""
    view = await service.get(
        session, enterprise_id=principal.enterprise_id, verification_id=verification_id
    )
    return _out(view)


async def _method(service: VerificationService, session: Any, enterprise: str, vid: str) -> str:
    view = await service.get(session, enterprise_id=enterprise, verification_id=vid)
    return view.method


@router.put("/verifications/{verification_id}/chip", response_model=UploadOut)
async def put_chip(
    verification_id: str,
    request: Request,
    session: Session,
    service: Verifications,
    principal: Writer,
) -> UploadOut:
    """EF.SOD and the data groups (1 and 2 at least) as read by the app, base64 JSON."""
    method = await _method(service, session, principal.enterprise_id, verification_id)
    received = await service.put_chip(
        verification_id=verification_id,
        enterprise_id=principal.enterprise_id,
        upload=await chip_upload(request),
    )
    return _upload_out(method, received)


@router.put("/verifications/{verification_id}/card", response_model=UploadOut)
async def put_card(
    verification_id: str,
    request: Request,
    session: Session,
    service: Verifications,
    principal: Writer,
) -> UploadOut:
    """Card photos: ``front`` and ``tilted`` (multipart files or base64 JSON)."""
    method = await _method(service, session, principal.enterprise_id, verification_id)
    received = await service.put_card(
        verification_id=verification_id,
        enterprise_id=principal.enterprise_id,
        upload=await card_upload(request),
    )
    return _upload_out(method, received)


@router.put("/verifications/{verification_id}/selfie", response_model=UploadOut)
async def put_selfie(
    verification_id: str,
    request: Request,
    session: Session,
    service: Verifications,
    principal: Writer,
) -> UploadOut:
    """The challenge recording: frames + times, or a video; and the challenge nonce."""
    method = await _method(service, session, principal.enterprise_id, verification_id)
    upload, nonce = await selfie_upload(request, service.limits.max_frames)
    received = await service.put_selfie(
        verification_id=verification_id,
        enterprise_id=principal.enterprise_id,
        upload=upload,
        nonce=nonce,
    )
    return _upload_out(method, received)


@router.post("/verifications/{verification_id}/submit", response_model=VerificationOut)
async def submit(
    verification_id: str, service: Verifications, principal: Writer
) -> VerificationOut:
    """Run the checks and decide (a few seconds of image work off the event loop)."""
    view = await service.submit(
        verification_id=verification_id, enterprise_id=principal.enterprise_id
    )
    return _out(view)


# -- the capture page and native apps with the capture token ---------------------------------


@capture_router.get("/capture-static/capture.js")
async def capture_script() -> Response:
    return Response(
        _SCRIPT.read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={"cache-control": "no-cache"},
    )


@capture_router.get("/capture/{token}", response_class=HTMLResponse)
async def capture_page(token: str, service: Verifications) -> HTMLResponse:
    try:
        info = await service.capture_info(token)
    except InvalidCaptureTokenError as exc:
        html = _templates.get_template("capture_ended.html").render(message=exc.safe_message)
        return HTMLResponse(html, status_code=404)
    html = _templates.get_template("capture.html").render(info=info)
    return HTMLResponse(
        html,
        headers={
            "content-security-policy": (
                "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
                "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
            ),
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
        },
    )


@capture_router.get("/capture/{token}/session", response_model=CaptureSessionOut)
async def capture_session(token: str, service: Verifications) -> CaptureSessionOut:
    info = await service.capture_info(token)
    return CaptureSessionOut(
        method=info.method,
        nonce=info.nonce,
        actions=list(info.actions),
        expires_at=info.expires_at,
        step_seconds=info.step_seconds,
        received=list(info.received),
        needs=list(info.needs),
    )


@capture_router.put("/capture/{token}/chip", response_model=UploadOut)
async def capture_chip(token: str, request: Request, service: Verifications) -> UploadOut:
    """A native app that read the chip over NFC uploads it with the capture token."""
    vid = await service.by_token(token)
    received = await service.put_chip(
        verification_id=vid, enterprise_id=None, upload=await chip_upload(request)
    )
    info = await service.capture_info(token)
    return _upload_out(info.method, received)


@capture_router.put("/capture/{token}/card", response_model=UploadOut)
async def capture_card(token: str, request: Request, service: Verifications) -> UploadOut:
    vid = await service.by_token(token)
    received = await service.put_card(
        verification_id=vid, enterprise_id=None, upload=await card_upload(request)
    )
    info = await service.capture_info(token)
    return _upload_out(info.method, received)


@capture_router.put("/capture/{token}/selfie", response_model=UploadOut)
async def capture_selfie(token: str, request: Request, service: Verifications) -> UploadOut:
    vid = await service.by_token(token)
    upload, nonce = await selfie_upload(request, service.limits.max_frames)
    received = await service.put_selfie(
        verification_id=vid, enterprise_id=None, upload=upload, nonce=nonce
    )
    info = await service.capture_info(token)
    return _upload_out(info.method, received)


@capture_router.post("/capture/{token}/submit", response_model=CaptureSubmitted)
async def capture_submit(token: str, service: Verifications) -> CaptureSubmitted:
    vid = await service.by_token(token)
    view = await service.submit(verification_id=vid, enterprise_id=None)
    return CaptureSubmitted(status=view.status)


# -- operators -------------------------------------------------------------------------------


def _admin_out(view: VerificationView) -> AdminVerificationOut:
    return AdminVerificationOut(enterprise_id=view.enterprise_id, **_out(view).model_dump())


@admin_router.get("/verifications", response_model=list[AdminVerificationOut])
async def list_verifications(
    session: Session,
    service: Verifications,
    _actor: AdminActor,
    status: Annotated[str | None, Query(pattern=r"^[a-z_]{1,20}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AdminVerificationOut]:
    """The reviewer queue (``?status=review``), oldest first, with evidence scores."""
    views = await service.list(session, status=status, limit=limit)
    return [_admin_out(v) for v in views]


@admin_router.get("/verifications/{verification_id}", response_model=AdminVerificationOut)
async def admin_get(
    verification_id: str, session: Session, service: Verifications, _actor: AdminActor
) -> AdminVerificationOut:
    view = await service.get(session, enterprise_id=None, verification_id=verification_id)
    return _admin_out(view)


@admin_router.get("/verifications/{verification_id}/evidence/{kind}")
async def admin_evidence(
    verification_id: str,
    kind: str,
    session: Session,
    service: Verifications,
    _actor: AdminActor,
) -> Response:
    """The document portrait (``document``) or the matched selfie frame (``selfie``)."""
    data = await service.evidence_image(session, verification_id, kind)
    media = "image/jp2" if data[4:8] == b"jP  " or data[:4] == b"\xff\x4f\xff\x51" else None
    if media is None:
        media = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
    return Response(data, media_type=media, headers={"cache-control": "no-store"})


@admin_router.post("/verifications/{verification_id}/decision", response_model=AdminVerificationOut)
async def admin_decide(
    verification_id: str, body: ReviewDecision, service: Verifications, actor: AdminActor
) -> AdminVerificationOut:
    """Approve or reject a session in review (audited, webhook sent)."""
    view = await service.review(
        verification_id=verification_id, actor=actor, decision=body.decision, note=body.note
    )
    return _admin_out(view)
