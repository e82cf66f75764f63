"""A sandbox bank's OAuth 2.0 / OpenID Connect authorization server, on Authlib's core.

Authlib supplies the protocol machinery: the authorization code grant (RFC 6749 §4.1),
PKCE (RFC 7636), client authentication including ``private_key_jwt`` (RFC 7523 §2.2),
OpenID Connect ID tokens (OIDC Core §3.1) and the ``iss`` authorization-response
parameter (RFC 9207). This module adapts it to ASGI and adds what Authlib lacks or
leaves open:

* PKCE with ``S256`` required for every client (RFC 9700 §2.1.1), not only public ones;
* an explicit ``redirect_uri`` compared exactly with the registration (RFC 9700 §4.1.3);
* single-use codes: a code is burnt when first presented; presenting it again fails
  with ``invalid_grant`` and revokes the tokens issued for it (RFC 6749 §4.1.2);
* pushed authorization requests (RFC 9126), one-time ``request_uri`` values;
* OIDC4IDA ``verified_claims`` requested through the ``claims`` parameter.

State lives in memory: a sandbox bank forgets everything on restart, as intended.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode
from joserfc.jwk import ECKey, KeySet

from honnin.sandbox.banks.clients import ClientRegistration, ClientRegistry
from honnin.sandbox.banks.customers import Customer, customer_number, find_customer
from honnin.sandbox.banks.formats import SAKURA_CLAIMS_BY_ITEM, sakura_verified_claims
from honnin.sandbox.banks.profiles import BankProfile

Params = dict[str, list[str]]
PAR_URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
PAR_ENDPOINT_PATH = "/par"
TOKEN_ENDPOINT_PATH = "/token"  # noqa: S105 - a path
# Client-authentication parameters are not part of the authorization request.
_CLIENT_AUTH_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


# --------------------------------------------------------------------------- requests


class ParamsPayload(OAuth2Payload):  # type: ignore[misc]
    """Authlib payload over a multi-valued parameter dict."""

    def __init__(self, params: Params) -> None:
        self._datalist = params
        self._data = {key: values[0] for key, values in params.items() if values}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> Params:
        return self._datalist


class BankRequest(OAuth2Request):  # type: ignore[misc]
    """An Authlib request built from an already-read ASGI request."""

    def __init__(
        self,
        *,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        payload: Params,
        form: Params | None = None,
    ) -> None:
        # OAuth2Request.__init__ refuses non-TLS URLs other than loopback. A sandbox bank
        # serves plain HTTP on purpose (also behind a container host name), and the URL
        # plays no other part in the protocol checks, so the fields are set here instead.
        self.method = method
        self.uri = uri
        self.headers = headers
        self._body = None
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self.payload = ParamsPayload(payload)
        self._form = {key: values[0] for key, values in (form or {}).items() if values}
        self._args = self.payload.data

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass(slots=True)
class AuthlibResponse:
    """What Authlib asks the framework to send; ``location`` is what RFC 9207 edits."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "location":
                return value
        return None

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "location"]
        self.headers.append(("Location", value))


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class GrantedUser:
    """The customer and what they agreed to share, carried from consent to the token."""

    customer: Customer
    items: frozenset[str]
    claims_request: Mapping[str, Any] | None
    auth_time: int


@dataclass(slots=True)
class CodeRecord(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: GrantedUser
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    expires_at: float
    used: bool = False
    access_tokens: list[str] = field(default_factory=list)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.user.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


@dataclass(slots=True)
class TokenRecord:
    token: str
    client_id: str
    user: GrantedUser
    scope: str
    expires_at: float
    revoked: bool = False


@dataclass(slots=True)
class Interaction:
    """An authorization request waiting for the customer to log in and decide."""

    id: str
    client_id: str
    params: Params
    browser_secret: str
    csrf: str
    expires_at: float
    items: frozenset[str]
    claims_request: Mapping[str, Any] | None
    customer: Customer | None = None
    auth_time: int = 0


@dataclass(slots=True)
class PushedRequest:
    client_id: str
    params: Params
    expires_at: float


class MemoryStore:
    """Codes, tokens, interactions and pushed requests, each with an expiry.

    All mutation happens on the bank's event loop; the lock only guards the rare
    admin read from another thread.
    """

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.codes: dict[str, CodeRecord] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.interactions: dict[str, Interaction] = {}
        self.pushed: dict[str, PushedRequest] = {}
        self.nonces: dict[tuple[str, str], float] = {}
        self.assertion_ids: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._writes = 0

    def tick(self) -> None:
        """Purge expired entries now and then, so long benchmark runs stay flat."""
        self._writes += 1
        if self._writes % 512:
            return
        now = self.clock()
        with self._lock:
            for table in (self.codes, self.tokens, self.interactions, self.pushed):
                expired = [key for key, value in table.items() if value.expires_at < now]
                for key in expired:
                    del table[key]
            for marks in (self.nonces, self.assertion_ids):
                for mark in [mark for mark, expiry in marks.items() if expiry < now]:
                    del marks[mark]


# --------------------------------------------------------------------------- clients


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """Authlib's view of a :class:`ClientRegistration`."""

    def __init__(self, registration: ClientRegistration, registry: ClientRegistry) -> None:
        self.registration = registration
        self.registry = registry

    def get_client_id(self) -> str:
        return self.registration.client_id

    def get_default_redirect_uri(self) -> None:
        # No default: every request names its redirect URI, compared exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        return scope or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.registration.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.registry.check_secret(self.registration, client_secret)

    def check_endpoint_auth_method(self, method: str, _endpoint: str) -> bool:
        return method == self.registration.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    """``private_key_jwt`` (OIDC Core §9, RFC 7523 §2.2) with single-use ``jti``."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, *, audiences: Sequence[str], store: MemoryStore) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._audiences = list(audiences)
        self._store = store

    def get_audiences(self) -> list[str]:
        return self._audiences

    def validate_jti(self, claims: Mapping[str, Any], jti: str) -> bool:
        mark = (str(claims["sub"]), str(jti))
        if mark in self._store.assertion_ids:
            return False
        expiry = float(claims.get("exp", 0)) or self._store.clock() + 600
        self._store.assertion_ids[mark] = expiry + 60
        return True

    def resolve_client_public_key(self, client: OAuthClient) -> KeySet:
        return KeySet.import_key_set(dict(client.registration.jwks or {}))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- grants


class StrictPKCE(CodeChallenge):  # type: ignore[misc]
    """PKCE required for every client, ``S256`` only (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib's class attribute
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: grants.BaseGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE is required).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: CodeRecord) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: CodeRecord) -> str:
        return authorization_code.code_challenge_method


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code grant over :class:`MemoryStore`."""

    server: BankAuthorizationServer

    def __init__(self, request: OAuth2Request, server: BankAuthorizationServer) -> None:
        super().__init__(request, server)
        self.TOKEN_ENDPOINT_AUTH_METHODS = list(server.profile.token_auth_methods)

    def validate_authorization_request(self) -> str:
        if not self.request.payload.redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        return str(super().validate_authorization_request())

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        store = self.server.store
        data = request.payload.data
        record = CodeRecord(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "",
            user=request.user,
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            nonce=data.get("nonce"),
            expires_at=store.clock() + self.server.code_ttl,
        )
        store.codes[code] = record
        if record.nonce:
            store.nonces[(record.client_id, record.nonce)] = record.expires_at + 3600
        store.tick()

    def query_authorization_code(self, code: str, client: OAuthClient) -> CodeRecord | None:
        store = self.server.store
        record = store.codes.get(code)
        if record is None or record.client_id != client.get_client_id():
            return None
        if record.used:
            # RFC 6749 §4.1.2: a replayed code revokes what it already bought.
            for token in record.access_tokens:
                if token in store.tokens:
                    store.tokens[token].revoked = True
            return None
        record.used = True  # burnt on first presentation, whatever happens next
        if record.expires_at < store.clock():
            return None
        return record

    def delete_authorization_code(self, _authorization_code: CodeRecord) -> None:
        # Kept (marked used) until it expires, so a replay is recognised.
        return None

    def authenticate_user(self, authorization_code: CodeRecord) -> GrantedUser:
        return authorization_code.user


class BankOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """ID tokens signed with the bank's key; ``verified_claims`` when asked for."""

    def __init__(self, server: BankAuthorizationServer) -> None:
        super().__init__(require_nonce=True)
        self.bank = server

    def resolve_client_private_key(self, _client: OAuthClient) -> ECKey:
        return self.bank.signing_key

    def get_client_algorithm(self, _client: OAuthClient) -> str:
        return "ES256"

    def get_encode_header(self, _client: OAuthClient) -> dict[str, str]:
        return {"alg": "ES256", "kid": self.bank.signing_kid, "typ": "JWT"}

    def get_client_claims(self, client: OAuthClient) -> dict[str, Any]:
        now = int(self.bank.store.clock())
        return {
            "iss": self.bank.issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + self.bank.token_ttl,
        }

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return (request.payload.client_id, nonce) in self.bank.store.nonces

    def generate_user_info(self, user: GrantedUser, _scope: str) -> dict[str, Any]:
        return self.bank.user_claims(user, target="id_token")


class BankIssuer(IssuerParameter):  # type: ignore[misc]
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


# --------------------------------------------------------------------------- server


def requested_verified_claims(claims_request: Mapping[str, Any] | None, target: str) -> set[str]:
    """Claim names asked for under ``verified_claims`` for ``userinfo`` / ``id_token``."""
    if not claims_request:
        return set()
    section = claims_request.get(target)
    if not isinstance(section, Mapping):
        return set()
    verified = section.get("verified_claims")
    candidates = verified if isinstance(verified, list) else [verified]
    names: set[str] = set()
    for candidate in candidates:
        if isinstance(candidate, Mapping) and isinstance(candidate.get("claims"), Mapping):
            names.update(str(name) for name in candidate["claims"])
    return names


def parse_claims_parameter(raw: str | None) -> dict[str, Any] | None:
    """The OIDC ``claims`` request parameter (OIDC Core §5.5), or ``None``."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidRequestError("'claims' is not valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidRequestError("'claims' must be a JSON object.")
    return value


class BankAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's authorization server bound to one bank profile."""

    def __init__(
        self,
        *,
        profile: BankProfile,
        issuer: str,
        registry: ClientRegistry,
        signing_key: ECKey,
        clock: Callable[[], float] = time.time,
        code_ttl: int = 60,
        token_ttl: int = 600,
        par_ttl: int = 60,
        interaction_ttl: int = 600,
    ) -> None:
        super().__init__(scopes_supported=list(profile.scopes_supported))
        self.profile = profile
        self.issuer = issuer.rstrip("/")
        self.registry = registry
        self.signing_key = signing_key
        self.signing_kid = str(signing_key.kid)
        self.store = MemoryStore(clock=clock)
        self.code_ttl = code_ttl
        self.token_ttl = token_ttl
        self.par_ttl = par_ttl
        self.interaction_ttl = interaction_ttl
        self.register_token_generator(
            "default",
            BearerTokenGenerator(lambda **_: secrets.token_urlsafe(32), None, lambda *_: token_ttl),
        )
        extensions: list[Any] = [StrictPKCE(required=True)]
        if profile.protocol == "oidc":
            extensions.append(BankOpenIDCode(self))
        self.register_grant(CodeGrant, extensions)
        # register_extension keeps only what the extension's __call__ returns (None for
        # IssuerParameter), so the instance is kept here to stamp early error redirects.
        self._issuer_parameter = BankIssuer(self.issuer)
        self.register_extension(self._issuer_parameter)
        if "private_key_jwt" in profile.token_auth_methods:
            audiences = [
                self.issuer,
                self.issuer + TOKEN_ENDPOINT_PATH,
                self.issuer + PAR_ENDPOINT_PATH,
            ]
            self.register_client_auth_method(
                "private_key_jwt", PrivateKeyJWT(audiences=audiences, store=self.store)
            )

    # Authlib framework hooks --------------------------------------------------

    def query_client(self, client_id: str) -> OAuthClient | None:
        registration = self.registry.get(client_id)
        return OAuthClient(registration, self.registry) if registration else None

    def save_token(self, token: Mapping[str, Any], request: OAuth2Request) -> None:
        record: CodeRecord = request.authorization_code
        self.store.tokens[token["access_token"]] = TokenRecord(
            token=token["access_token"],
            client_id=record.client_id,
            user=record.user,
            scope=record.scope,
            expires_at=self.store.clock() + self.token_ttl,
        )
        record.access_tokens.append(token["access_token"])

    def create_oauth2_request(self, request: BankRequest) -> BankRequest:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: Any) -> AuthlibResponse:
        return AuthlibResponse(status, body, [(str(k), str(v)) for k, v in headers])

    def send_signal(self, _name: str, *_args: Any, **_kwargs: Any) -> None:
        return None

    # Helpers for the HTTP layer -----------------------------------------------

    def add_issuer(self, response: AuthlibResponse) -> AuthlibResponse:
        """RFC 9207 §2: every authorization response, errors included, names the issuer."""
        self._issuer_parameter.add_issuer_parameter(self, response)
        return response

    def items_for(self, scope: str, claims_request: Mapping[str, Any] | None) -> frozenset[str]:
        """The data items an authorization request asks the customer to share."""
        items: set[str] = set()
        for token in scope.split():
            items.update(self.profile.scope_items.get(token, ()))
        asked = requested_verified_claims(claims_request, "userinfo")
        asked |= requested_verified_claims(claims_request, "id_token")
        for item, claim_names in SAKURA_CLAIMS_BY_ITEM.items():
            if asked & set(claim_names):
                items.add(item)
        return frozenset(items)

    def user_claims(self, user: GrantedUser, *, target: str) -> dict[str, Any]:
        """The OIDC claims of ``user`` for the ID token or the UserInfo response."""
        claims: dict[str, Any] = {"sub": customer_number(self.profile.bank_id, user.customer)}
        asked = requested_verified_claims(user.claims_request, target)
        if target == "userinfo" and user.claims_request is None:
            names: set[str] | None = None  # scope-only request: everything consented
        elif asked:
            names = asked
        else:
            return claims
        claims["verified_claims"] = sakura_verified_claims(
            user.customer, user.items, claim_names=names
        )
        return claims

    def authenticate_customer(self, username: str, password: str) -> Customer | None:
        customer = find_customer(username)
        if customer is None or not secrets.compare_digest(customer.password, password):
            return None
        return customer

    def authorization_params(self, query: Params) -> Params:
        """Resolve a pushed request (RFC 9126 §4) or enforce that one was required."""
        request_uri = (query.get("request_uri") or [""])[0]
        if not request_uri:
            if self.profile.par_required:
                raise InvalidRequestError("This bank requires pushed authorization requests.")
            return query
        if not self.profile.par_supported:
            raise InvalidRequestError("'request_uri' is not supported.")
        pushed = self.store.pushed.pop(request_uri, None)  # one-time use
        client_id = (query.get("client_id") or [""])[0]
        if pushed is None or pushed.expires_at < self.store.clock():
            raise InvalidRequestError("'request_uri' is unknown, used or expired.")
        if pushed.client_id != client_id:
            raise InvalidRequestError("'client_id' does not match the pushed request.")
        return pushed.params

    def pushed_params(self, client_id: str, form: Params) -> Params:
        """The authorization request inside a PAR body (RFC 9126 §2.1)."""
        if "request_uri" in form:
            raise InvalidRequestError("'request_uri' must not be pushed.")
        params = {k: v for k, v in form.items() if k not in _CLIENT_AUTH_PARAMS}
        params["client_id"] = [client_id]
        return params

    def store_pushed(self, client_id: str, params: Params) -> tuple[str, int]:
        """Keep a validated pushed request; return its one-time ``request_uri`` and TTL."""
        request_uri = PAR_URN_PREFIX + secrets.token_urlsafe(24)
        self.store.pushed[request_uri] = PushedRequest(
            client_id=client_id, params=params, expires_at=self.store.clock() + self.par_ttl
        )
        self.store.tick()
        return request_uri, self.par_ttl
