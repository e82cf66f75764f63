"""Honnin as an OAuth 2.0 / OpenID Connect client of each bank (Authlib + aiohttp).

Authorization code with PKCE S256 (RFC 7636), pushed authorization requests where the
bank offers or requires them (RFC 9126), ``client_secret_basic`` or ``private_key_jwt``
(RFC 7523), ID token checks (OIDC Core §3.1.3.7: signature, ``iss``, ``aud``, ``nonce``,
``exp``), then the bank's KYC API with the access token. Every transport failure or
protocol violation becomes a :mod:`honnin.banks.errors` error with a stable code; nothing
the bank sent is put into messages.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, import_key
from joserfc.jwt import JWTClaimsRegistry

from honnin.banks.connection import BankConnection
from honnin.banks.errors import (
    BankPayloadError,
    BankProtocolError,
    BankRefusedError,
    BankServerError,
    BankTimeoutError,
    BankUnreachableError,
)
from honnin.gateway.cache import TTLCache
from honnin.gateway.httpcache import freshness_seconds
from honnin.http_client import (
    Answer,
    DecodingError,
    OutboundHttp,
    ResponseTooLargeError,
    TransportError,
    TransportTimeoutError,
    UnsupportedSchemeError,
)

METADATA_TTL_SECONDS = 300.0
METADATA_MAX_TTL_SECONDS = 86_400.0
# Longest body taken from a bank, as sent and once decoded: discovery, keys, token, KYC.
MAX_RESPONSE_BYTES = 1_048_576
# Open connections to one bank at most. Idle ones close after POOL_KEEPALIVE_SECONDS,
# before common servers' own 5 s idle limit, so a request rarely meets a closing one.
POOL_CONNECTIONS = 256
POOL_KEEPALIVE_SECONDS = 4.0


@dataclass(frozen=True)
class TokenResult:
    access_token: str
    id_token_claims: Mapping[str, Any] | None


@dataclass(frozen=True)
class KycResponse:
    body: bytes
    content_type: str


class BankConnector:
    """One per process: pooled HTTP clients per bank, cached discovery and JWKS."""

    def __init__(
        self,
        *,
        redirect_uri: str,
        timeout_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redirect_uri = redirect_uri
        self._timeout_seconds = timeout_seconds
        self._auth: dict[str, tuple[tuple[str | None, ...], ClientAuth]] = {}
        self._http: dict[str, OutboundHttp] = {}
        # Discovery documents and key sets, per issuer, kept as long as the bank's
        # Cache-Control or Expires allow (RFC 9111), METADATA_TTL_SECONDS when it says
        # nothing, METADATA_MAX_TTL_SECONDS at most; concurrent misses share one GET.
        self._documents: TTLCache[tuple[str, str], Any] = TTLCache(
            ttl=METADATA_TTL_SECONDS, monotonic=monotonic
        )
        self._lock = asyncio.Lock()

    @property
    def redirect_uri(self) -> str:
        return self._redirect_uri

    async def aclose(self) -> None:
        for client in self._http.values():
            await client.aclose()
        self._http.clear()
        self._auth.clear()

    # -- discovery ---------------------------------------------------------------------

    async def metadata(self, connection: BankConnection) -> dict[str, Any]:
        """The bank's discovery document (OIDC Discovery 1.0 §4, RFC 8414 §3)."""
        document: dict[str, Any] = await self._documents.get_or_fetch(
            ("metadata", connection.issuer), lambda: self._fetch_metadata(connection)
        )
        return document

    async def _fetch_metadata(self, connection: BankConnection) -> tuple[Any, float]:
        well_known = (
            "/.well-known/openid-configuration"
            if connection.protocol == "oidc"
            else "/.well-known/oauth-authorization-server"
        )
        response = await self._send(connection, "GET", connection.issuer + well_known)
        document = _json_object(response, what="discovery document")
        if document.get("issuer") != connection.issuer:
            raise BankProtocolError(f"{connection.bank_id}: discovery issuer does not match")
        return document, _freshness(response)

    async def _jwks_for(self, connection: BankConnection, *, refresh: bool = False) -> KeySet:
        key = ("jwks", connection.issuer)
        if refresh:
            # Not a load begun before: that one may have read the keys before rotation.
            self._documents.invalidate(key)
        keys: KeySet = await self._documents.get_or_fetch(key, lambda: self._fetch_jwks(connection))
        return keys

    async def _fetch_jwks(self, connection: BankConnection) -> tuple[Any, float]:
        metadata = await self.metadata(connection)
        response = await self._send(connection, "GET", str(metadata["jwks_uri"]))
        try:
            keys = KeySet.import_key_set(_json_object(response, what="JWKS"))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as exc:
            raise BankProtocolError(f"{connection.bank_id}: JWKS is not usable") from exc
        return keys, _freshness(response)

    # -- the OAuth client ----------------------------------------------------------------

    def _client_auth(self, connection: BankConnection, token_endpoint: str) -> ClientAuth:
        """Authlib's client authentication for token and PAR requests (its pure
        ``prepare``), kept per bank for as long as the credentials it was made from (an
        operator may change them)."""
        credentials = (
            connection.issuer,
            connection.client_id,
            connection.auth_method,
            connection.client_secret,
            json.dumps(connection.client_jwk, sort_keys=True),
            token_endpoint,
        )
        cached = self._auth.get(connection.bank_id)
        if cached is not None and cached[0] == credentials:
            return cached[1]
        if connection.auth_method == "private_key_jwt":
            # A joserfc key object: Authlib would read a bare dict as an RSA key.
            auth = ClientAuth(
                connection.client_id,
                import_key(dict(connection.client_jwk or {})),
                PrivateKeyJWT(token_endpoint, alg="ES256"),
            )
        else:
            auth = ClientAuth(connection.client_id, connection.client_secret, "client_secret_basic")
        self._auth[connection.bank_id] = (credentials, auth)
        return auth

    async def authorization_url(
        self,
        connection: BankConnection,
        *,
        state: str,
        nonce: str,
        code_verifier: str,
        scope: str,
    ) -> str:
        """Where to send the user; pushes the request first when the bank takes PAR."""
        metadata = await self.metadata(connection)
        params: dict[str, str] = {
            "response_type": "code",
            "client_id": connection.client_id,
            "redirect_uri": self._redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        if connection.protocol == "oidc":
            params["nonce"] = nonce
        authorize = str(metadata["authorization_endpoint"])
        par_endpoint = metadata.get("pushed_authorization_request_endpoint")
        if par_endpoint and (
            connection.use_par or metadata.get("require_pushed_authorization_requests")
        ):
            response = await self._send(
                connection,
                "POST",
                str(par_endpoint),
                form=params,
                auth=self._client_auth(connection, str(metadata["token_endpoint"])),
            )
            pushed = _json_object(response, what="PAR response", expect=(200, 201))
            request_uri = pushed.get("request_uri")
            if not isinstance(request_uri, str):
                raise BankProtocolError(f"{connection.bank_id}: PAR response lacks request_uri")
            query = urlencode({"client_id": connection.client_id, "request_uri": request_uri})
        else:
            query = urlencode(params)
        return f"{authorize}?{query}"

    async def exchange_code(
        self, connection: BankConnection, *, code: str, code_verifier: str, nonce: str
    ) -> TokenResult:
        metadata = await self.metadata(connection)
        token_endpoint = str(metadata["token_endpoint"])
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
            "code_verifier": code_verifier,
        }
        response = await self._send(
            connection,
            "POST",
            token_endpoint,
            form=data,
            auth=self._client_auth(connection, token_endpoint),
        )
        # RFC 6749 §5.2: OAuth errors are 400, or 401 for a failed client authentication.
        if response.status in (400, 401):
            body = _json_object(response, what="token error", expect=(400, 401))
            raise BankRefusedError(
                f"{connection.bank_id}: token request refused ({_oauth_error(body)})"
            )
        token = _json_object(response, what="token response")
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise BankProtocolError(f"{connection.bank_id}: token response lacks access_token")
        claims = None
        if connection.protocol == "oidc":
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise BankProtocolError(f"{connection.bank_id}: no ID token from an OpenID bank")
            claims = await self._verify_id_token(connection, id_token, nonce=nonce)
        return TokenResult(access_token=access_token, id_token_claims=claims)

    async def _verify_id_token(
        self, connection: BankConnection, id_token: str, *, nonce: str
    ) -> Mapping[str, Any]:
        keys = await self._jwks_for(connection)
        try:
            decoded = jwt.decode(id_token, keys, algorithms=["ES256", "RS256", "PS256"])
        except (JoseError, ValueError):
            # The bank may have rotated its keys since they were cached.
            keys = await self._jwks_for(connection, refresh=True)
            try:
                decoded = jwt.decode(id_token, keys, algorithms=["ES256", "RS256", "PS256"])
            except (JoseError, ValueError) as exc:
                raise BankProtocolError(
                    f"{connection.bank_id}: ID token signature invalid"
                ) from exc
        registry = JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": connection.issuer},
            aud={"essential": True, "value": connection.client_id},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise BankProtocolError(
                f"{connection.bank_id}: ID token rejected ({exc.error})"
            ) from exc
        return decoded.claims

    async def fetch_kyc(self, connection: BankConnection, *, access_token: str) -> KycResponse:
        metadata = await self.metadata(connection)
        endpoint = metadata.get("userinfo_endpoint") or metadata.get("kyc_info_endpoint")
        if not isinstance(endpoint, str):
            raise BankProtocolError(f"{connection.bank_id}: no KYC endpoint in discovery")
        response = await self._send(
            connection, "GET", endpoint, headers={"Authorization": f"Bearer {access_token}"}
        )
        if response.status != 200:
            raise _status_error(connection, response, what="KYC API")
        return KycResponse(
            body=response.body,
            content_type=response.headers.get("content-type", "application/octet-stream"),
        )

    # -- transport -------------------------------------------------------------------------

    async def _send(
        self,
        connection: BankConnection,
        method: str,
        url: str,
        *,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: ClientAuth | None = None,
    ) -> Answer:
        """One request to the bank; a form is sent ``application/x-www-form-urlencoded``,
        with the client's authentication added to it (header or form) by ``auth``."""
        body = None
        if form is not None:
            sent = {**(headers or {}), "Content-Type": "application/x-www-form-urlencoded"}
            encoded = urlencode(form)
            if auth is not None:
                url, sent, encoded = auth.prepare(method, url, sent, encoded)
            headers, body = sent, encoded.encode()
        try:
            return await self._client(connection).request(method, url, headers=headers, body=body)
        except ResponseTooLargeError as exc:
            raise BankPayloadError(
                f"{connection.bank_id}: the bank's answer is larger than {MAX_RESPONSE_BYTES} bytes"
            ) from exc
        except DecodingError as exc:
            raise BankPayloadError(
                f"{connection.bank_id}: the bank's answer does not decode as its "
                "Content-Encoding says"
            ) from exc
        except TransportTimeoutError as exc:
            raise BankTimeoutError(
                f"{connection.bank_id}: the bank did not answer in time"
            ) from exc
        except UnsupportedSchemeError as exc:
            raise BankProtocolError(
                f"{connection.bank_id}: the bank named an endpoint that is not an http or https URL"
            ) from exc
        except TransportError as exc:
            raise BankUnreachableError(
                f"{connection.bank_id}: connection to the bank failed ({type(exc).__name__})"
            ) from exc

    def _client(self, connection: BankConnection) -> OutboundHttp:
        """The bank's connection pool (http_client.py): one per bank, shared by every
        user's requests, and so keeping no cookies."""
        client = self._http.get(connection.issuer)
        if client is None:
            client = self._http[connection.issuer] = OutboundHttp(
                max_connections=POOL_CONNECTIONS,
                keepalive_seconds=POOL_KEEPALIVE_SECONDS,
                timeout_seconds=self._timeout_seconds,
                max_body_bytes=MAX_RESPONSE_BYTES,
            )
        return client


def _status_error(connection: BankConnection, response: Answer, *, what: str) -> Exception:
    message = f"{connection.bank_id}: {what} answered HTTP {response.status}"
    if response.status >= 500:
        return BankServerError(message)
    return BankProtocolError(message)


def _freshness(response: Answer) -> float:
    """How long a discovery document or key set may be reused (errors raise before)."""
    return freshness_seconds(
        response.headers, default=METADATA_TTL_SECONDS, maximum=METADATA_MAX_TTL_SECONDS
    )


def _json_object(
    response: Answer, *, what: str, expect: tuple[int, ...] = (200,)
) -> dict[str, Any]:
    if response.status not in expect:
        if response.status >= 500:
            raise BankServerError(f"{what}: HTTP {response.status}")
        raise BankProtocolError(f"{what}: HTTP {response.status}")
    try:
        document = response.json()
    except ValueError as exc:
        raise BankPayloadError(f"{what} is not JSON") from exc
    if not isinstance(document, dict):
        raise BankPayloadError(f"{what} is not a JSON object")
    return document


def _oauth_error(body: Mapping[str, Any]) -> str:
    error = body.get("error")
    return error if isinstance(error, str) and error.isascii() and len(error) < 64 else "error"
