"""Routers: operators manage the contract table (``/admin/v1``); enterprises read the
banks and contracts that apply to them (``/v1``). Thin: services do the work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from honnin.audit.service import AuditService
from honnin.auth.service import ClientService, IssuedCredentials
from honnin.auth.tokens import Principal
from honnin.clock import Clock
from honnin.contracts.schemas import (
    AuditEventList,
    AuditEventOut,
    BankCreate,
    BankList,
    BankOut,
    ClientCreate,
    ClientCredentialsOut,
    ContractCreate,
    ContractList,
    ContractOut,
    EnterpriseCreate,
    EnterpriseCreated,
    EnterpriseList,
    EnterpriseOut,
    RevokeRequest,
)
from honnin.contracts.service import ContractService
from honnin.gateway.dependencies import AdminActor, Session, client_service, require_scope

admin_router = APIRouter(prefix="/admin/v1", tags=["admin: contract table"])
enterprise_router = APIRouter(prefix="/v1", tags=["enterprise"])


async def contract_service(request: Request) -> ContractService:
    service: ContractService = request.app.state.contracts
    return service


def audit_service(request: Request) -> AuditService:
    service: AuditService = request.app.state.audit
    return service


async def clock(request: Request) -> Clock:
    value: Clock = request.app.state.clock
    return value


Contracts = Annotated[ContractService, Depends(contract_service)]
Clients = Annotated[ClientService, Depends(client_service)]
Now = Annotated[Clock, Depends(clock)]


def _credentials_out(request: Request, issued: IssuedCredentials) -> ClientCredentialsOut:
    return ClientCredentialsOut(
        client_id=issued.client_id,
        client_secret=issued.client_secret,
        scopes=list(issued.scopes),
        token_endpoint=request.app.state.token_endpoint,
    )


# -- admin: enterprises ------------------------------------------------------------------


@admin_router.post("/enterprises", status_code=201, response_model=EnterpriseCreated)
async def create_enterprise(
    body: EnterpriseCreate,
    request: Request,
    session: Session,
    actor: AdminActor,
    contracts: Contracts,
    clients: Clients,
) -> EnterpriseCreated:
    """Register an enterprise and issue its first client credentials (shown once)."""
    enterprise = await contracts.create_enterprise(
        session,
        name=body.name,
        webhook_url=str(body.webhook_url) if body.webhook_url else None,
        actor=actor,
    )
    await session.flush()
    issued = await clients.create_client(
        session, enterprise_id=enterprise.id, scopes=body.scopes, actor=actor
    )
    return EnterpriseCreated(
        enterprise=EnterpriseOut.of(enterprise), credentials=_credentials_out(request, issued)
    )


@admin_router.get("/enterprises", response_model=EnterpriseList)
async def list_enterprises(
    session: Session, _actor: AdminActor, contracts: Contracts
) -> EnterpriseList:
    views = await contracts.list_enterprises(session)
    return EnterpriseList(enterprises=[EnterpriseOut.of(v) for v in views])


@admin_router.get("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
async def get_enterprise(
    enterprise_id: str, session: Session, _actor: AdminActor, contracts: Contracts
) -> EnterpriseOut:
    return EnterpriseOut.of(await contracts.get_enterprise(session, enterprise_id))


@admin_router.post("/enterprises/{enterprise_id}/revoke", response_model=EnterpriseOut)
async def revoke_enterprise(
    enterprise_id: str,
    body: RevokeRequest,
    session: Session,
    actor: AdminActor,
    contracts: Contracts,
    clients: Clients,
) -> EnterpriseOut:
    """Revoke an enterprise: its clients stop authenticating and its tokens stop working."""
    view = await contracts.revoke_enterprise(
        session, enterprise_id, reason=body.reason, actor=actor
    )
    await clients.revoke_clients_of(session, enterprise_id=enterprise_id, actor=actor)
    return EnterpriseOut.of(view)


@admin_router.post(
    "/enterprises/{enterprise_id}/clients", status_code=201, response_model=ClientCredentialsOut
)
async def create_client(
    enterprise_id: str,
    body: ClientCreate,
    request: Request,
    session: Session,
    actor: AdminActor,
    contracts: Contracts,
    clients: Clients,
) -> ClientCredentialsOut:
    """Issue another client for an enterprise (for example to rotate a secret)."""
    await contracts.get_enterprise(session, enterprise_id)
    issued = await clients.create_client(
        session, enterprise_id=enterprise_id, scopes=body.scopes, actor=actor
    )
    return _credentials_out(request, issued)


# -- admin: banks --------------------------------------------------------------------------


@admin_router.post("/banks", status_code=201, response_model=BankOut)
async def create_bank(
    body: BankCreate, session: Session, actor: AdminActor, contracts: Contracts
) -> BankOut:
    view = await contracts.create_bank(
        session, bank_id=body.id, name=body.name, profile=body.profile, actor=actor
    )
    return BankOut.of(view)


@admin_router.get("/banks", response_model=BankList)
async def list_banks(session: Session, _actor: AdminActor, contracts: Contracts) -> BankList:
    return BankList(banks=[BankOut.of(v) for v in await contracts.list_banks(session)])


@admin_router.get("/banks/{bank_id}", response_model=BankOut)
async def get_bank(
    bank_id: str, session: Session, _actor: AdminActor, contracts: Contracts
) -> BankOut:
    return BankOut.of(await contracts.get_bank(session, bank_id))


@admin_router.post("/banks/{bank_id}/revoke", response_model=BankOut)
async def revoke_bank(
    bank_id: str, body: RevokeRequest, session: Session, actor: AdminActor, contracts: Contracts
) -> BankOut:
    return BankOut.of(
        await contracts.revoke_bank(session, bank_id, reason=body.reason, actor=actor)
    )


# -- admin: contracts ----------------------------------------------------------------------


@admin_router.post("/contracts", status_code=201, response_model=ContractOut)
async def create_contract(
    body: ContractCreate, session: Session, actor: AdminActor, contracts: Contracts, now: Now
) -> ContractOut:
    terms = await contracts.create_contract(
        session,
        enterprise_id=body.enterprise_id,
        bank_id=body.bank_id,
        claims=body.claims,
        purposes=body.purposes,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        rate_per_second=body.rate_per_second,
        daily_quota=body.daily_quota,
        actor=actor,
    )
    return ContractOut.of(terms, now=now.now())


@admin_router.get("/contracts", response_model=ContractList)
async def list_contracts(
    session: Session,
    _actor: AdminActor,
    contracts: Contracts,
    now: Now,
    enterprise_id: Annotated[str | None, Query(max_length=40)] = None,
    bank_id: Annotated[str | None, Query(max_length=64)] = None,
) -> ContractList:
    terms = await contracts.list_contracts(session, enterprise_id=enterprise_id, bank_id=bank_id)
    at = now.now()
    return ContractList(contracts=[ContractOut.of(t, now=at) for t in terms])


@admin_router.get("/contracts/{contract_id}", response_model=ContractOut)
async def get_contract(
    contract_id: str, session: Session, _actor: AdminActor, contracts: Contracts, now: Now
) -> ContractOut:
    return ContractOut.of(await contracts.get_contract(session, contract_id), now=now.now())


@admin_router.post("/contracts/{contract_id}/revoke", response_model=ContractOut)
async def revoke_contract(
    contract_id: str,
    body: RevokeRequest,
    session: Session,
    actor: AdminActor,
    contracts: Contracts,
    now: Now,
) -> ContractOut:
    """Revoke a contract; requests under it are refused from this moment."""
    terms = await contracts.revoke_contract(session, contract_id, reason=body.reason, actor=actor)
    return ContractOut.of(terms, now=now.now())


# -- admin: audit trail --------------------------------------------------------------------


@admin_router.get("/audit-events", response_model=AuditEventList)
async def list_audit_events(
    request: Request,
    session: Session,
    _actor: AdminActor,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> AuditEventList:
    audit = audit_service(request)
    records = await audit.list(
        session, object_type=object_type, object_id=object_id, limit=limit, before_id=before_id
    )
    return AuditEventList(
        events=[
            AuditEventOut(
                id=r.id,
                at=r.at,
                actor=r.actor,
                action=r.action,
                object_type=r.object_type,
                object_id=r.object_id,
                details=r.details,
            )
            for r in records
        ]
    )


# -- enterprise ------------------------------------------------------------------------------


@enterprise_router.get("/banks", response_model=BankList)
async def my_banks(
    session: Session,
    principal: Annotated[Principal, Depends(require_scope("banks:read"))],
    contracts: Contracts,
) -> BankList:
    """The banks your contracts allow you to query right now."""
    views = await contracts.allowed_banks(session, enterprise_id=principal.enterprise_id)
    return BankList(banks=[BankOut.of(v) for v in views])


@enterprise_router.get("/contracts", response_model=ContractList)
async def my_contracts(
    session: Session,
    principal: Annotated[Principal, Depends(require_scope("contracts:read"))],
    contracts: Contracts,
    now: Now,
) -> ContractList:
    terms = await contracts.list_contracts(session, enterprise_id=principal.enterprise_id)
    at = now.now()
    return ContractList(contracts=[ContractOut.of(t, now=at) for t in terms])


@enterprise_router.get("/contracts/{contract_id}", response_model=ContractOut)
async def my_contract(
    contract_id: str,
    session: Session,
    principal: Annotated[Principal, Depends(require_scope("contracts:read"))],
    contracts: Contracts,
    now: Now,
) -> ContractOut:
    terms = await contracts.get_contract(
        session, contract_id, enterprise_id=principal.enterprise_id
    )
    return ContractOut.of(terms, now=now.now())
