"""One sandbox bank as an ASGI application (Starlette): OAuth endpoints, pages, KYC API.

Endpoints (paths are relative to the bank's issuer URL):

* ``/.well-known/oauth-authorization-server`` (RFC 8414) and, for the OpenID bank,
  ``/.well-known/openid-configuration`` (OIDC Discovery 1.0 §4) with OIDC4IDA metadata;
  ``authorization_response_iss_parameter_supported`` is true (RFC 9207 §3);
* ``/authorize`` → login page → consent page → redirect with ``code``/``state``/``iss``;
* ``/par`` (RFC 9126) where the bank supports it; ``/token``; ``/jwks``;
* the KYC-info API at the profile's ``kyc_path`` (Bearer token, RFC 6750 §2.1);
* ``/admin/...`` for tests: faults, request statistics, client registration.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from honnin.sandbox.banks.clients import ClientRegistration, ClientRegistry
from honnin.sandbox.banks.customers import CUSTOMERS, Customer
from honnin.sandbox.banks.errors import SandboxBankError
from honnin.sandbox.banks.faults import (
    BankStats,
    EndpointName,
    Fault,
    FaultMiddleware,
    FaultPlan,
)
from honnin.sandbox.banks.formats import DATA_ITEMS, SAKURA_CLAIMS_BY_ITEM, kaede_body, momiji_body
from honnin.sandbox.banks.japanese import to_wareki
from honnin.sandbox.banks.oauth import (
    PAR_ENDPOINT_PATH,
    TOKEN_ENDPOINT_PATH,
    AuthlibResponse,
    BankAuthorizationServer,
    BankRequest,
    GrantedUser,
    Interaction,
    Params,
    parse_claims_parameter,
)
from honnin.sandbox.banks.profiles import BankProfile, get_profile

TEMPLATES_DIR = Path(__file__).with_name("templates")
COOKIE_PREFIX = "bank_ia_"
ITEM_LABELS: Mapping[str, tuple[str, str]] = {
    "name": ("氏名", "Full name"),
    "kana": ("氏名（カナ）", "Name in kana"),
    "birthdate": ("生年月日", "Date of birth"),
    "address": ("住所", "Address"),
}
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}


def _multi(values: QueryParams | FormData) -> Params:
    params: Params = {}
    for key, value in values.multi_items():
        if isinstance(value, str):
            params.setdefault(key, []).append(value)
    return params


def generate_signing_key(bank_id: str) -> ECKey:
    """A fresh P-256 key for ES256 signatures, with a ``kid`` naming the bank."""
    kid = f"{bank_id}-{secrets.token_hex(4)}"
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})


class SandboxBank:
    """A sandbox bank: ``.app`` is its ASGI application.

    ``issuer`` is the base URL the bank is reached at (it appears in metadata, the
    ``iss`` parameter and ID tokens). ``clients`` are the OAuth clients it accepts;
    more can be added with :meth:`register_client` or ``POST /admin/clients``.
    """

    def __init__(
        self,
        bank_id: str,
        *,
        issuer: str,
        clients: Iterable[ClientRegistration] = (),
        faults: Iterable[Fault] = (),
        signing_key: ECKey | None = None,
        admin_token: str | None = None,
        clock: Any = time.time,
        code_ttl: int = 60,
        token_ttl: int = 600,
    ) -> None:
        self.profile: BankProfile = get_profile(bank_id)
        self.issuer = issuer.rstrip("/")
        self.registry = ClientRegistry(bank_id)
        self.registry.register_all(clients)
        self.signing_key = signing_key or generate_signing_key(bank_id)
        self.admin_token = admin_token
        self.clock = clock
        self.oauth = BankAuthorizationServer(
            profile=self.profile,
            issuer=self.issuer,
            registry=self.registry,
            signing_key=self.signing_key,
            clock=clock,
            code_ttl=code_ttl,
            token_ttl=token_ttl,
        )
        self.faults = FaultPlan(faults)
        self.stats = BankStats()
        self._pages = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True),
            undefined=jinja2.StrictUndefined,
        )
        routes = [
            Route("/.well-known/oauth-authorization-server", self.metadata_endpoint),
            Route("/jwks", self.jwks_endpoint),
            Route("/authorize", self.authorize),
            Route("/interaction/{interaction_id}", self.interaction_page),
            Route("/interaction/{interaction_id}/login", self.login, methods=["POST"]),
            Route("/interaction/{interaction_id}/consent", self.consent, methods=["POST"]),
            Route(TOKEN_ENDPOINT_PATH, self.token, methods=["POST"]),
            Route(self.profile.kyc_path, self.kyc, methods=["GET", "POST"]),
            Route("/healthz", self.healthz),
            Route("/admin/stats", self.admin_stats),
            Route("/admin/stats/reset", self.admin_stats_reset, methods=["POST"]),
            Route("/admin/faults", self.admin_faults, methods=["GET", "POST", "DELETE"]),
            Route("/admin/clients", self.admin_clients, methods=["GET", "POST"]),
        ]
        if self.profile.protocol == "oidc":
            routes.append(Route("/.well-known/openid-configuration", self.metadata_endpoint))
        if self.profile.par_supported:
            routes.append(Route(PAR_ENDPOINT_PATH, self.par, methods=["POST"]))
        self._starlette = Starlette(routes=routes)
        self.app = FaultMiddleware(
            self._starlette,
            plan=self.faults,
            stats=self.stats,
            classify=self._classify,
            broken_body=(self.profile.broken_body, self.profile.kyc_media_type),
        )

    # ------------------------------------------------------------------ public API

    @property
    def bank_id(self) -> str:
        return self.profile.bank_id

    def register_client(self, registration: ClientRegistration) -> None:
        self.registry.register(registration)

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.signing_key.as_dict(private=False)]}

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata (plus OIDC Discovery for sakura)."""
        base = self.issuer
        profile = self.profile
        data: dict[str, Any] = {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}{TOKEN_ENDPOINT_PATH}",
            "jwks_uri": f"{base}/jwks",
            "scopes_supported": list(profile.scopes_supported),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": list(profile.token_auth_methods),
            "authorization_response_iss_parameter_supported": True,
            "kyc_info_endpoint": f"{base}{profile.kyc_path}",
            "kyc_info_media_type": profile.kyc_media_type,
        }
        if "private_key_jwt" in profile.token_auth_methods:
            data["token_endpoint_auth_signing_alg_values_supported"] = ["ES256", "RS256", "PS256"]
        if profile.par_supported:
            data["pushed_authorization_request_endpoint"] = f"{base}{PAR_ENDPOINT_PATH}"
            data["require_pushed_authorization_requests"] = profile.par_required
        if profile.protocol == "oidc":
            data.update(
                {
                    "userinfo_endpoint": f"{base}{profile.kyc_path}",
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["ES256"],
                    "claims_parameter_supported": True,
                    "claims_supported": ["sub", "verified_claims"],
                    # OIDC4IDA §8 (OP metadata)
                    "verified_claims_supported": True,
                    "trust_frameworks_supported": ["jp_aml"],
                    "evidence_supported": ["electronic_record"],
                    "claims_in_verified_claims_supported": sorted(
                        {name for names in SAKURA_CLAIMS_BY_ITEM.values() for name in names}
                    ),
                }
            )
        return data

    # ------------------------------------------------------------------ discovery

    async def metadata_endpoint(self, _request: Request) -> Response:
        return JSONResponse(self.metadata())

    async def jwks_endpoint(self, _request: Request) -> Response:
        return JSONResponse(self.public_jwks())

    async def healthz(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok", "bank": self.bank_id})

    # ------------------------------------------------------------------ authorization

    async def authorize(self, request: Request) -> Response:
        oauth = self.oauth
        try:
            params = oauth.authorization_params(_multi(request.query_params))
        except OAuth2Error as error:
            return self._error_page(error, status=400)
        auth_request = self._authlib_request(request, params)
        try:
            claims_request = self._claims_request(params)
            with _readable_errors():
                grant = oauth.get_consent_grant(auth_request)
        except OAuth2Error as error:
            return self._authorization_error(auth_request, error)
        store = oauth.store
        interaction = Interaction(
            id=secrets.token_urlsafe(18),
            client_id=grant.client.get_client_id(),
            params=params,
            browser_secret=secrets.token_urlsafe(18),
            csrf=secrets.token_urlsafe(18),
            expires_at=store.clock() + oauth.interaction_ttl,
            items=oauth.items_for(auth_request.scope or "", claims_request),
            claims_request=claims_request,
        )
        store.interactions[interaction.id] = interaction
        store.tick()
        response = self._login_page(interaction)
        response.set_cookie(
            COOKIE_PREFIX + interaction.id,
            interaction.browser_secret,
            max_age=oauth.interaction_ttl,
            path=f"/interaction/{interaction.id}",
            httponly=True,
            samesite="lax",
        )
        return response

    async def interaction_page(self, request: Request) -> Response:
        interaction = self._interaction(request)
        if interaction is None:
            return self._expired_page()
        if interaction.customer is None:
            return self._login_page(interaction)
        return self._consent_page(interaction)

    async def login(self, request: Request) -> Response:
        form = await request.form()
        interaction = self._interaction(request, form)
        if interaction is None:
            return self._expired_page()
        customer = self.oauth.authenticate_customer(
            str(form.get("username") or ""), str(form.get("password") or "")
        )
        if customer is None:
            return self._login_page(interaction, failed=True)
        interaction.customer = customer
        interaction.auth_time = int(self.clock())
        return self._consent_page(interaction)

    async def consent(self, request: Request) -> Response:
        form = await request.form()
        interaction = self._interaction(request, form)
        if interaction is None or interaction.customer is None:
            return self._expired_page()
        del self.oauth.store.interactions[interaction.id]
        allow = form.get("decision") == "allow"
        grant_user = (
            GrantedUser(
                customer=interaction.customer,
                items=interaction.items,
                claims_request=interaction.claims_request,
                auth_time=interaction.auth_time,
            )
            if allow
            else None
        )
        auth_request = self._authlib_request(request, interaction.params, method="GET")
        try:
            with _readable_errors():
                grant = self.oauth.get_authorization_grant(auth_request)
                result: AuthlibResponse = self.oauth.create_authorization_response(
                    request=auth_request, grant_user=grant_user, grant=grant
                )
        except OAuth2Error as error:
            return self._authorization_error(auth_request, error)
        response = self._to_response(result)
        if result.location:
            # RFC 9700 §4.12: after a form post, redirect with 303 so no body is resent.
            response.status_code = 303
        response.delete_cookie(
            COOKIE_PREFIX + interaction.id, path=f"/interaction/{interaction.id}"
        )
        return response

    async def par(self, request: Request) -> Response:
        form = _multi(await request.form())
        auth_request = self._authlib_request(request, form, form=form)
        oauth = self.oauth
        try:
            with _readable_errors():
                client = oauth.authenticate_client(
                    auth_request,
                    list(self.profile.token_auth_methods),
                    "pushed_authorization_request",
                )
                client_id = client.get_client_id()
                if form.get("client_id", [client_id]) != [client_id]:
                    raise InvalidClientError(description="'client_id' does not match the client.")
                params = oauth.pushed_params(client_id, form)
                self._claims_request(params)
                oauth.get_consent_grant(self._authlib_request(request, params, method="GET"))
        except OAuth2Error as error:
            error.redirect_uri = None  # RFC 9126 §2.3: PAR errors are JSON, never redirects
            status, body, headers = error()
            return JSONResponse(dict(body), status_code=status, headers=dict(headers))
        request_uri, ttl = oauth.store_pushed(client_id, params)
        return JSONResponse(
            {"request_uri": request_uri, "expires_in": ttl},
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )

    async def token(self, request: Request) -> Response:
        form = _multi(await request.form())
        try:
            with _readable_errors():
                result = self.oauth.create_token_response(
                    self._authlib_request(request, form, form=form)
                )
        except OAuth2Error as error:
            status, body, headers = error()
            return JSONResponse(dict(body), status_code=status, headers=dict(headers))
        return self._to_response(result)

    # ------------------------------------------------------------------ KYC API

    async def kyc(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        record = self.oauth.store.tokens.get(token) if scheme.lower() == "bearer" else None
        if record is None or record.revoked or record.expires_at < self.clock():
            return Response(
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        headers = {"Cache-Control": "no-store"}
        user = record.user
        if self.profile.bank_id == "sakura_oidc":
            return JSONResponse(self.oauth.user_claims(user, target="userinfo"), headers=headers)
        if self.profile.bank_id == "momiji_rest":
            body = momiji_body(user.customer, user.items)
        else:
            body = kaede_body(user.customer, user.items)
        return Response(body, media_type=self.profile.kyc_media_type, headers=headers)

    # ------------------------------------------------------------------ admin

    def _admin_denied(self, request: Request) -> Response | None:
        if self.admin_token is None:
            return None
        expected = f"Bearer {self.admin_token}"
        if secrets.compare_digest(request.headers.get("authorization", ""), expected):
            return None
        return JSONResponse({"error": "unauthorized"}, status_code=401)

    async def admin_stats(self, request: Request) -> Response:
        if denied := self._admin_denied(request):
            return denied
        stats = self.stats.to_dict()
        return JSONResponse({"bank": self.bank_id, "kyc": stats["kyc"], "endpoints": stats})

    async def admin_stats_reset(self, request: Request) -> Response:
        if denied := self._admin_denied(request):
            return denied
        self.stats.reset()
        return Response(status_code=204)

    async def admin_faults(self, request: Request) -> Response:
        if denied := self._admin_denied(request):
            return denied
        if request.method == "DELETE":
            self.faults.clear()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                payload = json.loads(await request.body())
                items = payload if isinstance(payload, list) else [payload]
                faults = [Fault.from_mapping(item) for item in items]
            except (ValueError, AttributeError, SandboxBankError) as exc:
                return _problem(exc)
            for fault in faults:
                self.faults.add(fault)
            return JSONResponse([f.to_dict() for f in self.faults.active()], status_code=201)
        return JSONResponse([f.to_dict() for f in self.faults.active()])

    async def admin_clients(self, request: Request) -> Response:
        if denied := self._admin_denied(request):
            return denied
        if request.method == "POST":
            try:
                registration = ClientRegistration.from_mapping(json.loads(await request.body()))
            except (ValueError, AttributeError, TypeError, SandboxBankError) as exc:
                return _problem(exc)
            self.register_client(registration)
            return JSONResponse(registration.to_public_dict(), status_code=201)
        return JSONResponse([client.to_public_dict() for client in self.registry.all()])

    # ------------------------------------------------------------------ helpers

    def _classify(self, _method: str, path: str) -> EndpointName:
        if path == self.profile.kyc_path:
            return "kyc"
        if path == TOKEN_ENDPOINT_PATH:
            return "token"
        if path == PAR_ENDPOINT_PATH:
            return "par"
        if path == "/authorize" or path.startswith("/interaction/"):
            return "authorize"
        return "other"

    def _authlib_request(
        self,
        request: Request,
        payload: Params,
        *,
        form: Params | None = None,
        method: str | None = None,
    ) -> BankRequest:
        return BankRequest(
            method=method or request.method,
            uri=str(request.url),
            headers=request.headers,
            payload=payload,
            form=form,
        )

    def _claims_request(self, params: Params) -> dict[str, Any] | None:
        if self.profile.protocol != "oidc":
            return None
        return parse_claims_parameter((params.get("claims") or [""])[0])

    def _interaction(self, request: Request, form: FormData | None = None) -> Interaction | None:
        interaction_id = str(request.path_params["interaction_id"])
        interaction = self.oauth.store.interactions.get(interaction_id)
        if interaction is None or interaction.expires_at < self.clock():
            return None
        cookie = request.cookies.get(COOKIE_PREFIX + interaction_id, "")
        if not secrets.compare_digest(cookie, interaction.browser_secret):
            return None
        if form is not None and not secrets.compare_digest(
            str(form.get("csrf") or ""), interaction.csrf
        ):
            return None
        return interaction

    def _authorization_error(self, auth_request: BankRequest, error: OAuth2Error) -> Response:
        if error.redirect_uri:
            error.state = auth_request.payload.state
            result = self.oauth.add_issuer(self.oauth.handle_error_response(auth_request, error))
            return self._to_response(result)
        return self._error_page(error, status=400)

    def _to_response(self, result: AuthlibResponse) -> Response:
        headers = dict(result.headers)
        if isinstance(result.body, Mapping):
            return JSONResponse(dict(result.body), status_code=result.status, headers=headers)
        body = result.body if isinstance(result.body, str | bytes) else ""
        return Response(body, status_code=result.status, headers=headers)

    def _page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = self._pages.get_template(template).render(profile=self.profile, **context)
        return HTMLResponse(page, status_code=status, headers=_PAGE_HEADERS)

    def _login_page(self, interaction: Interaction, *, failed: bool = False) -> HTMLResponse:
        registration = self.registry.get(interaction.client_id)
        return self._page(
            "login.html",
            status=401 if failed else 200,
            interaction=interaction,
            client_name=registration.display_name if registration else interaction.client_id,
            failed=failed,
            usernames=[customer.username for customer in CUSTOMERS],
        )

    def _consent_page(self, interaction: Interaction) -> HTMLResponse:
        assert interaction.customer is not None
        registration = self.registry.get(interaction.client_id)
        rows = [
            (ITEM_LABELS[item][0], ITEM_LABELS[item][1], _preview(interaction.customer, item))
            for item in DATA_ITEMS
            if item in interaction.items
        ]
        return self._page(
            "consent.html",
            interaction=interaction,
            client_name=registration.display_name if registration else interaction.client_id,
            customer=interaction.customer,
            rows=rows,
        )

    def _error_page(self, error: OAuth2Error, *, status: int) -> HTMLResponse:
        return self._page(
            "error.html",
            status=status,
            error=error.error,
            description=error.description or "",
        )

    def _expired_page(self) -> HTMLResponse:
        return self._error_page(
            InvalidRequestError("This sign-in has expired or was already completed."),
            status=400,
        )


@contextlib.contextmanager
def _readable_errors() -> Iterator[None]:
    """Turn Authlib's ValueError for an unprintable error description into invalid_request.

    Authlib echoes request values (a redirect URI, a grant type) in error descriptions
    and refuses to build the error when they hold characters RFC 6749 §5.2 forbids.
    """
    try:
        yield
    except ValueError as exc:
        raise InvalidRequestError("The request contains characters that are not allowed.") from exc


def _preview(customer: Customer, item: str) -> str:
    if item == "name":
        return customer.full_name
    if item == "kana":
        return customer.full_name_kana
    if item == "birthdate":
        era = to_wareki(customer.birthdate).render(fullwidth=False)
        return f"{customer.birthdate.isoformat()}（{era}）"
    address = customer.address
    text = f"〒{address.postal_code_hyphenated} {address.prefecture}{address.municipality}"
    return text + address.street + (f" {address.building}" if address.building else "")


def _problem(exc: Exception) -> JSONResponse:
    if isinstance(exc, SandboxBankError):
        return JSONResponse({"error": exc.code, "detail": exc.safe_message}, status_code=400)
    return JSONResponse(
        {"error": "invalid_request", "detail": "body must be a JSON object"}, status_code=400
    )
