"""Routers: ``/oauth/token`` (client credentials, RFC 6749 §4.4), ``/oauth/jwks``,
authorization-server metadata (RFC 8414), enterprise client keys (``/v1/keys``) and
operator key rotation (``/admin/v1/signing-keys``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from honnin.auth import tokens
from honnin.auth.errors import InvalidClientError, InvalidRequestError, UnsupportedGrantTypeError
from honnin.auth.keys import SigningKeyStore
from honnin.auth.schemas import (
    ClientKeyCreate,
    ClientKeyList,
    ClientKeyOut,
    RotatedKey,
    SigningKeyList,
    SigningKeyOut,
    TokenResponse,
)
from honnin.auth.service import ClientService
from honnin.gateway.dependencies import AdminActor, Session, client_service, require_scope
from honnin.gateway.errors import UnsupportedMediaTypeError

oauth_router = APIRouter(tags=["oauth"])
keys_router = APIRouter(prefix="/v1/keys", tags=["enterprise"])
admin_keys_router = APIRouter(prefix="/admin/v1/signing-keys", tags=["admin: signing keys"])

Clients = Annotated[ClientService, Depends(client_service)]


async def key_store(request: Request) -> SigningKeyStore:
    store: SigningKeyStore = request.app.state.key_store
    return store


KeyStore = Annotated[SigningKeyStore, Depends(key_store)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaTypeError(
            "send the token request as application/x-www-form-urlencoded"
        )
    form = await request.form()
    values: dict[str, str] = {}
    for key in set(form.keys()):
        items = form.getlist(key)
        if len(items) != 1 or not isinstance(items[0], str):
            raise InvalidRequestError(f"parameter {key} must appear once")
        values[key] = items[0]
    return values


@oauth_router.post(
    "/oauth/token",
    response_model=TokenResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "scope": {"type": "string"},
                            "client_assertion_type": {"type": "string"},
                            "client_assertion": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def token(request: Request, session: Session, clients: Clients) -> JSONResponse:
    """Issue an access token to an enterprise client (client_secret_basic or private_key_jwt)."""
    form = await _form(request)
    if form.get("grant_type") != "client_credentials":
        raise UnsupportedGrantTypeError("only grant_type=client_credentials is supported")
    authorization = request.headers.get("authorization")
    assertion = form.get("client_assertion")
    if authorization and assertion:
        raise InvalidRequestError("use one client authentication method, not two")
    if authorization:
        client_id, secret = tokens.parse_basic_credentials(authorization)
        client = await clients.authenticate_secret(
            session, client_id=client_id, client_secret=secret
        )
    elif assertion:
        if form.get("client_assertion_type") != tokens.ASSERTION_TYPE:
            raise InvalidClientError("unsupported client_assertion_type")
        client = await clients.authenticate_assertion(session, assertion=assertion)
    else:
        raise InvalidClientError("client authentication is required")
    issued = await clients.issue_token(client, requested_scope=form.get("scope"))
    body = TokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)


@oauth_router.get("/oauth/jwks")
async def jwks(store: KeyStore, response: Response) -> dict[str, Any]:
    """Public keys that verify Honnin access tokens (current and recently retired)."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return await store.jwks()


@oauth_router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> dict[str, Any]:
    issuer: str = request.app.state.issuer
    return {
        "issuer": issuer,
        "token_endpoint": request.app.state.token_endpoint,
        "jwks_uri": issuer + "/oauth/jwks",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(tokens.ASSERTION_ALGORITHMS),
        "scopes_supported": list(tokens.ENTERPRISE_SCOPES),
    }


# -- enterprise: keys for private_key_jwt -----------------------------------------------


@keys_router.get("", response_model=ClientKeyList)
async def list_keys(
    session: Session,
    clients: Clients,
    principal: Annotated[tokens.Principal, Depends(require_scope("keys:manage"))],
) -> ClientKeyList:
    views = await clients.list_keys(session, client_id=principal.client_id)
    return ClientKeyList(
        keys=[ClientKeyOut(id=v.id, kid=v.kid, jwk=v.jwk, created_at=v.created_at) for v in views]
    )


@keys_router.post("", status_code=201, response_model=ClientKeyOut)
async def add_key(
    body: ClientKeyCreate,
    session: Session,
    clients: Clients,
    principal: Annotated[tokens.Principal, Depends(require_scope("keys:manage"))],
) -> ClientKeyOut:
    """Register a public JWK; the client may then authenticate with private_key_jwt."""
    view = await clients.add_key(session, client_id=principal.client_id, jwk=body.jwk)
    return ClientKeyOut(id=view.id, kid=view.kid, jwk=view.jwk, created_at=view.created_at)


@keys_router.delete("/{key_id}", status_code=204)
async def revoke_key(
    key_id: str,
    session: Session,
    clients: Clients,
    principal: Annotated[tokens.Principal, Depends(require_scope("keys:manage"))],
) -> Response:
    await clients.revoke_key(session, client_id=principal.client_id, key_id=key_id)
    return Response(status_code=204)


# -- admin: token-signing keys -----------------------------------------------------------


@admin_keys_router.get("", response_model=SigningKeyList)
async def list_signing_keys(_actor: AdminActor, store: KeyStore) -> SigningKeyList:
    keys = await store.list_keys()
    return SigningKeyList(
        keys=[
            SigningKeyOut(
                kid=k.kid,
                created_at=k.created_at,
                retired_at=k.retired_at,
                unpublish_at=k.unpublish_at,
            )
            for k in keys
        ]
    )


@admin_keys_router.post("/rotate", status_code=201, response_model=RotatedKey)
async def rotate_signing_key(request: Request, actor: AdminActor, store: KeyStore) -> RotatedKey:
    """Sign with a new key now; the old one stays published until its tokens expire."""
    database = request.app.state.database
    audit = request.app.state.audit
    async with database.transaction() as session:
        kid = await store.rotate(session)
        await audit.record(
            session,
            actor=actor,
            action="signing_key.rotate",
            object_type="signing_key",
            object_id=kid,
        )
    await store.reload()
    return RotatedKey(kid=kid)
