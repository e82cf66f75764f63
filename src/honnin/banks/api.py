"""Router: operators set how Honnin connects to a bank (``/admin/v1/banks/{id}/connection``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from honnin.banks.connection import DEFAULT_SCOPE_BY_CLAIM, BankConnection
from honnin.banks.schemas import BankConnectionIn, BankConnectionOut
from honnin.banks.service import BankConnectionService
from honnin.gateway.dependencies import AdminActor, Session

admin_router = APIRouter(prefix="/admin/v1/banks", tags=["admin: bank connections"])


async def connection_service(request: Request) -> BankConnectionService:
    service: BankConnectionService = request.app.state.bank_connections
    return service


@admin_router.put("/{bank_id}/connection", response_model=BankConnectionOut)
async def configure_connection(
    bank_id: str,
    body: BankConnectionIn,
    session: Session,
    actor: AdminActor,
    service: Annotated[BankConnectionService, Depends(connection_service)],
) -> BankConnectionOut:
    """Set issuer, client credentials (sealed at rest), mapping and PAR use of a bank."""
    connection = BankConnection(
        bank_id=bank_id,
        issuer=str(body.issuer).rstrip("/"),
        client_id=body.client_id,
        auth_method=body.auth_method,
        mapping=body.mapping,
        protocol=body.protocol,
        use_par=body.use_par,
        client_secret=body.client_secret,
        client_jwk=body.client_jwk,
        scope_by_claim=body.scope_by_claim or dict(DEFAULT_SCOPE_BY_CLAIM),
    )
    await service.configure(session, connection, actor=actor)
    return BankConnectionOut(
        bank_id=bank_id,
        issuer=connection.issuer,
        client_id=connection.client_id,
        auth_method=connection.auth_method,
        mapping=connection.mapping,
        protocol=connection.protocol,
        use_par=connection.use_par,
        has_client_secret=connection.client_secret is not None,
        has_client_key=connection.client_jwk is not None,
    )
