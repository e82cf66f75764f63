"""The gateway policy chain as FastAPI dependencies routers declare.

``/v1`` routers declare it once::

    router = APIRouter(prefix="/v1", dependencies=[Depends(enterprise_policy)])

or per route, taking the admitted principal: ``principal: EnterprisePrincipal``. The API
name (for limits, quotas and closures) is the first path segment after ``/v1``; use
``api_policy("name")`` to set it explicitly. Bank-bound handlers call
``GatewayService.admit(..., bank_id=, terms=)`` themselves once they know the contract.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response

from honnin.auth.tokens import Principal
from honnin.gateway.core import api_name
from honnin.gateway.dependencies import current_principal
from honnin.gateway.service import GatewayService


def _route_path(request: Request) -> str:
    path = getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else request.url.path


async def _admit(request: Request, response: Response, principal: Principal, api: str) -> Principal:
    gateway: GatewayService = request.app.state.gateway
    fields = await gateway.admit(
        enterprise_id=principal.enterprise_id,
        api=api,
        method=request.method,
        path=_route_path(request),
    )
    response.headers.update(fields)
    return principal


async def enterprise_policy(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Closures, per-second limit, daily quota and plugin hooks for a ``/v1`` request."""
    return await _admit(request, response, principal, api_name(_route_path(request)))


def api_policy(api: str) -> Callable[..., Awaitable[Principal]]:
    async def policy(
        request: Request,
        response: Response,
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        return await _admit(request, response, principal, api)

    return policy


EnterprisePrincipal = Annotated[Principal, Depends(enterprise_policy)]


def install_gateway(
    app: FastAPI, gateway: GatewayService, *, enterprise_routers: Iterable[APIRouter]
) -> GatewayService:
    """Expose the gateway on ``app.state`` and mount routers behind the policy chain.

    ``app.state.gateway`` (policies, closures, plugins) and ``app.state.bank_flow`` (the
    :class:`honnin.banks.flow.BankFlow` the bank connector calls) are set here, the
    operator routes are added, and every router in ``enterprise_routers`` passes
    :func:`enterprise_policy`.
    """
    from honnin.gateway import api

    app.state.gateway = gateway
    app.state.bank_flow = gateway.bank_flow
    for router in enterprise_routers:
        app.include_router(router, dependencies=[Depends(enterprise_policy)])
    app.include_router(api.admin_router)
    return gateway
