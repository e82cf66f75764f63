"""Enterprise clients and their tokens (OAuth 2.0 client credentials, RFC 6749 §4.4).

Clients authenticate with ``client_secret_basic`` (secret stored as an argon2 hash) or
``private_key_jwt`` (RFC 7523, keys registered by the enterprise, ``jti`` replay-guarded).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, import_key
from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.audit.service import AuditService
from honnin.auth import tokens
from honnin.auth.errors import (
    ClientKeyNotFoundError,
    InvalidClientError,
    InvalidClientKeyError,
    InvalidTokenError,
    UnauthenticatedError,
)
from honnin.auth.keys import SIGNING_ALGORITHM, SigningKeyStore
from honnin.auth.models import ClientKey, OAuthClient, UsedClientAssertion
from honnin.clock import Clock
from honnin.contracts.models import Enterprise
from honnin.db import Database
from honnin.ids import new_id
from honnin.security.hashing import hash_secret, verify_secret


@dataclass(frozen=True)
class IssuedCredentials:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ClientKeyView:
    id: str
    kid: str
    jwk: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


# A fixed argon2 hash verified when the client id is unknown, so a wrong client id costs
# the same time as a wrong secret and does not reveal which client ids exist.
_DUMMY_HASH = hash_secret(secrets.token_hex(16))


class ClientService:
    def __init__(
        self,
        *,
        clock: Clock,
        audit: AuditService,
        key_store: SigningKeyStore,
        issuer: str,
        token_endpoint: str,
        token_ttl: timedelta,
        assertion_max_age: timedelta,
    ) -> None:
        self._clock = clock
        self._audit = audit
        self._key_store = key_store
        self._issuer = issuer
        self._token_endpoint = token_endpoint
        self._token_ttl = token_ttl
        self._assertion_max_age = assertion_max_age
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    # -- registration (operators) ------------------------------------------------------

    async def create_client(
        self,
        session: AsyncSession,
        *,
        enterprise_id: str,
        scopes: Collection[str] | None,
        actor: str,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> IssuedCredentials:
        granted = tuple(sorted(set(scopes) if scopes else set(tokens.ENTERPRISE_SCOPES)))
        unknown = set(granted) - set(tokens.ENTERPRISE_SCOPES)
        if unknown:
            raise InvalidClientKeyError(f"unknown scopes: {' '.join(sorted(unknown))}")
        client_id = client_id or new_id("cli")
        client_secret = client_secret or secrets.token_urlsafe(32)
        session.add(
            OAuthClient(
                client_id=client_id,
                enterprise_id=enterprise_id,
                secret_hash=hash_secret(client_secret),
                scopes=list(granted),
                status="active",
                created_at=self._clock.now(),
            )
        )
        await self._audit.record(
            session,
            actor=actor,
            action="client.create",
            object_type="oauth_client",
            object_id=client_id,
            details={"enterprise_id": enterprise_id, "scopes": list(granted)},
        )
        return IssuedCredentials(client_id=client_id, client_secret=client_secret, scopes=granted)

    async def revoke_clients_of(
        self, session: AsyncSession, *, enterprise_id: str, actor: str
    ) -> None:
        rows = (
            await session.scalars(
                select(OAuthClient).where(
                    OAuthClient.enterprise_id == enterprise_id, OAuthClient.status == "active"
                )
            )
        ).all()
        for row in rows:
            row.status = "revoked"
            row.revoked_at = self._clock.now()
            await self._audit.record(
                session,
                actor=actor,
                action="client.revoke",
                object_type="oauth_client",
                object_id=row.client_id,
                details={"enterprise_id": enterprise_id},
            )

    # -- keys for private_key_jwt (enterprises, own client only) -------------------------

    async def add_key(
        self, session: AsyncSession, *, client_id: str, jwk: dict[str, Any]
    ) -> ClientKeyView:
        public = tokens.public_signing_jwk(jwk)
        existing = await session.scalar(
            select(ClientKey).where(
                ClientKey.client_id == client_id,
                ClientKey.kid == public["kid"],
            )
        )
        if existing is not None:
            raise InvalidClientKeyError("a key with this kid is already registered")
        row = ClientKey(
            id=new_id("key"),
            client_id=client_id,
            kid=public["kid"],
            jwk=public,
            created_at=self._clock.now(),
        )
        session.add(row)
        return ClientKeyView(id=row.id, kid=row.kid, jwk=row.jwk, created_at=row.created_at)

    async def list_keys(self, session: AsyncSession, *, client_id: str) -> list[ClientKeyView]:
        rows = (
            await session.scalars(
                select(ClientKey)
                .where(ClientKey.client_id == client_id, ClientKey.revoked_at.is_(None))
                .order_by(ClientKey.created_at)
            )
        ).all()
        return [ClientKeyView(id=r.id, kid=r.kid, jwk=r.jwk, created_at=r.created_at) for r in rows]

    async def revoke_key(self, session: AsyncSession, *, client_id: str, key_id: str) -> None:
        row = await session.get(ClientKey, key_id)
        # Another client's key looks exactly like a missing one.
        if row is None or row.client_id != client_id or row.revoked_at is not None:
            raise ClientKeyNotFoundError(f"no key {key_id}")
        row.revoked_at = self._clock.now()

    # -- the token endpoint ------------------------------------------------------------

    async def authenticate_secret(
        self, session: AsyncSession, *, client_id: str, client_secret: str
    ) -> OAuthClient:
        client = await self._active_client(session, client_id)
        stored = client.secret_hash if client is not None else None
        if not verify_secret(stored or _DUMMY_HASH, client_secret) or client is None:
            raise InvalidClientError("client authentication failed")
        return client

    async def authenticate_assertion(self, session: AsyncSession, *, assertion: str) -> OAuthClient:
        client_id = tokens.unverified_assertion_subject(assertion)
        client = await self._active_client(session, client_id)
        if client is None:
            raise InvalidClientError("client authentication failed")
        keys = await self.list_keys(session, client_id=client_id)
        if not keys:
            raise InvalidClientError("the client has no registered keys")
        key_set = KeySet([import_key(k.jwk) for k in keys])
        accepted = tokens.verify_client_assertion(
            assertion,
            client_id=client_id,
            keys=key_set,
            audiences=(self._token_endpoint, self._issuer),
            now=int(self._clock.now().timestamp()),
            max_age_seconds=int(self._assertion_max_age.total_seconds()),
        )
        await self._remember_assertion(session, accepted)
        return client

    async def _remember_assertion(
        self, session: AsyncSession, accepted: tokens.AcceptedAssertion
    ) -> None:
        now = self._clock.now()
        await session.execute(
            delete(UsedClientAssertion).where(UsedClientAssertion.expires_at < now)
        )
        try:
            async with session.begin_nested():
                session.add(
                    UsedClientAssertion(
                        client_id=accepted.client_id,
                        jti=accepted.jti,
                        expires_at=datetime.fromtimestamp(
                            accepted.expires_at + tokens.CLOCK_SKEW_SECONDS, tz=UTC
                        ),
                    )
                )
        except IntegrityError as exc:
            raise InvalidClientError("client assertion was already used") from exc

    async def _active_client(self, session: AsyncSession, client_id: str) -> OAuthClient | None:
        row = await session.execute(
            select(OAuthClient, Enterprise.status)
            .join(Enterprise, Enterprise.id == OAuthClient.enterprise_id)
            .where(OAuthClient.client_id == client_id)
        )
        found = row.first()
        if found is None:
            return None
        client, enterprise_status = found
        if client.status != "active" or enterprise_status != "active":
            return None
        return client

    async def issue_token(self, client: OAuthClient, *, requested_scope: str | None) -> IssuedToken:
        scopes = tokens.grant_scopes(requested_scope, client.scopes)
        key = await self._key_store.signing_key()
        ttl = int(self._token_ttl.total_seconds())
        claims = tokens.access_token_claims(
            issuer=self._issuer,
            client_id=client.client_id,
            enterprise_id=client.enterprise_id,
            scopes=scopes,
            issued_at=int(self._clock.now().timestamp()),
            ttl_seconds=ttl,
            token_id=secrets.token_hex(16),
        )
        header = {"alg": SIGNING_ALGORITHM, "kid": key.kid, "typ": tokens.ACCESS_TOKEN_TYPE}
        return IssuedToken(
            access_token=jwt.encode(header, claims, key), expires_in=ttl, scope=" ".join(scopes)
        )

    # -- resource side -----------------------------------------------------------------

    async def principal_for(self, database: Database, bearer: str) -> tokens.Principal:
        """Verify a bearer token and that its client and enterprise are still active.

        The signature check of a token is remembered (bounded LRU) until the token expires
        or its key is no longer published; whether the client and its enterprise are still
        active is read on every request, so revocation applies at once.
        """
        now = int(self._clock.now().timestamp())
        principal = await self._verified_principal(bearer, now)
        # Two status columns, not the client entity: this runs on every enterprise request.
        found = await database.first(_SELECT_ACTIVE, {"b_client_id": principal.client_id})
        if found is None or tuple(found) != ("active", "active"):
            raise UnauthenticatedError("the client or enterprise is no longer active")
        return principal

    async def _verified_principal(self, bearer: str, now: int) -> tokens.Principal:
        remembered = self._verified.get(bearer)
        if remembered is not None:
            keys = await self._key_store.verification_keys(kid=None)
            if now <= remembered.principal.expires_at + tokens.CLOCK_SKEW_SECONDS and any(
                key.kid == remembered.kid for key in keys.keys
            ):
                self._verified.move_to_end(bearer)
                return remembered.principal
            del self._verified[bearer]
        kid = _unverified_kid(bearer)
        keys = await self._key_store.verification_keys(kid=kid)
        principal = tokens.verify_access_token(bearer, keys=keys, issuer=self._issuer, now=now)
        if kid is not None:
            self._verified[bearer] = _Verified(principal=principal, kid=kid)
            if len(self._verified) > VERIFIED_TOKENS_REMEMBERED:
                self._verified.popitem(last=False)
        return principal


# An ES256 verification and the JWS parsing cost ~0.25 ms; enterprise clients send the same
# token for its whole lifetime.
VERIFIED_TOKENS_REMEMBERED = 4096


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: tokens.Principal
    kid: str


# Built once: this runs on every enterprise request.
_CLIENTS = cast("Table", OAuthClient.__table__).c
_ENTERPRISES = cast("Table", Enterprise.__table__).c
# Table columns: naming the mapped classes would send it down the ORM's execution path.
_SELECT_ACTIVE = (
    select(_CLIENTS.status, _ENTERPRISES.status)
    .select_from(OAuthClient.__table__)
    .join(Enterprise.__table__, _ENTERPRISES.id == _CLIENTS.enterprise_id)
    .where(_CLIENTS.client_id == bindparam("b_client_id"))
)


def _unverified_kid(token: str) -> str | None:
    try:
        kid = jws.extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError, UnicodeError) as exc:
        raise InvalidTokenError("access token is malformed") from exc
    return kid if isinstance(kid, str) else None
