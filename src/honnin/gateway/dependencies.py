"""FastAPI dependencies: services from the composition root, DB transactions, callers.

Routers declare what they need (``Depends(require_scope("banks:read"))``); the app
factory put the services on ``app.state``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.auth.errors import InsufficientScopeError, UnauthenticatedError
from honnin.auth.service import ClientService
from honnin.auth.tokens import Principal
from honnin.db import Database
from honnin.gateway.errors import AdminAuthenticationError

# The hot dependencies below (transaction, current_principal, the gateway policy) call the
# app.state accessors as plain functions rather than declaring them as dependencies:
# FastAPI walks every sub-dependency on every request, cached or not, and an enterprise
# call walked 16 of them (docs/benchmarks.md, inquiry, third round).


async def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


Db = Annotated[Database, Depends(database)]


async def transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, else rolled back.

    It waits for one of the database's request slots first (see :class:`Database`)."""
    db = await database(request)
    async with db.request_slots, db.transaction() as session:
        yield session


# scope="function": the commit runs before the response is sent, so a client never sees
# a success whose transaction could still fail, nor reads before its own write landed.
Session = Annotated[AsyncSession, Depends(transaction, scope="function")]


async def client_service(request: Request) -> ClientService:
    service: ClientService = request.app.state.clients
    return service


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("a Bearer access token is required")
    return token.strip()


async def current_principal(request: Request) -> Principal:
    clients = await client_service(request)
    principal = await clients.principal_for(await database(request), _bearer(request))
    request.state.enterprise_id = principal.enterprise_id
    return principal


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if scope not in principal.scopes:
            raise InsufficientScopeError(f"the token lacks scope {scope}")
        return principal

    return check


async def admin_actor(request: Request) -> str:
    """The operator behind an admin call, from ``HONNIN_ADMIN_TOKEN``.

    The setting is one token (actor ``admin``) or ``name=token`` pairs separated by commas,
    so audit events name the operator.
    """
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise AdminAuthenticationError("an admin Bearer token is required")
    tokens: dict[str, str] = request.app.state.admin_tokens
    matched = None
    for actor, token in tokens.items():
        # Compare against every token so timing does not reveal which one is close.
        if hmac.compare_digest(token.encode(), presented.strip().encode()):
            matched = actor
    if matched is None:
        raise AdminAuthenticationError("the admin token is not valid")
    return f"admin:{matched}"


AdminActor = Annotated[str, Depends(admin_actor)]


_ACTOR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MIN_ADMIN_TOKEN_LENGTH = 16


def parse_admin_tokens(value: str) -> dict[str, str]:
    """``name=token,...`` or one bare token (a base64 token's ``=`` padding stays a token)."""
    tokens: dict[str, str] = {}
    for part in value.split(","):
        item = part.strip()
        if not item:
            continue
        name, sep, token = item.partition("=")
        if sep and _ACTOR_NAME.match(name) and len(token) >= MIN_ADMIN_TOKEN_LENGTH:
            tokens[name] = token
        else:
            tokens["admin"] = item
    return tokens
