"""Operator routes of the gateway (``/admin/v1/service``): close and open an API, a bank or
an enterprise's access; read a bank's flow-control state. Thin: services do the work."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request

from honnin.banks.flow import BankFlow, describe
from honnin.gateway.closures import ClosureService
from honnin.gateway.dependencies import AdminActor, Session
from honnin.gateway.schemas import (
    TARGET_PATTERN,
    BankFlowOut,
    ClosureCreate,
    ClosureList,
    ClosureOut,
)

admin_router = APIRouter(prefix="/admin/v1/service", tags=["admin: service control"])


async def closure_service(request: Request) -> ClosureService:
    service: ClosureService = request.app.state.gateway.closures
    return service


async def bank_flow(request: Request) -> BankFlow:
    flow: BankFlow = request.app.state.bank_flow
    return flow


Closures = Annotated[ClosureService, Depends(closure_service)]
Target = Annotated[str, Path(pattern=TARGET_PATTERN)]


@admin_router.get("/closures", response_model=ClosureList)
async def list_closures(session: Session, closures: Closures, _actor: AdminActor) -> ClosureList:
    """Everything an operator closed, with reasons and announced reopening times."""
    return ClosureList(closures=[ClosureOut.of(c) for c in await closures.list(session)])


@admin_router.post("/closures", status_code=201, response_model=ClosureOut)
async def close(
    body: ClosureCreate, session: Session, closures: Closures, actor: AdminActor
) -> ClosureOut:
    """Close an API, a bank or an enterprise's access; requests get 503 + Retry-After."""
    closure = await closures.close(
        session,
        scope=body.scope,
        target=body.target,
        reason=body.reason,
        reopen_at=body.reopen_at,
        actor=actor,
    )
    return ClosureOut.of(closure)


@admin_router.delete("/closures/{scope}/{target}", response_model=ClosureOut)
async def reopen(
    scope: Literal["api", "bank", "enterprise"],
    target: Target,
    session: Session,
    closures: Closures,
    actor: AdminActor,
) -> ClosureOut:
    """Open again what was closed; returns the closure that was lifted."""
    return ClosureOut.of(await closures.open(session, scope=scope, target=target, actor=actor))


@admin_router.get("/banks/{bank_id}/flow", response_model=BankFlowOut)
async def flow_status(
    bank_id: Target, flow: Annotated[BankFlow, Depends(bank_flow)], _actor: AdminActor
) -> BankFlowOut:
    """Circuit-breaker mode, in-flight calls and limits of one bank."""
    return BankFlowOut.model_validate(describe(await flow.status(bank_id)))
