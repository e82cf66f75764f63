"""Token-signing keys: ES256 keys in the database, private halves sealed with the data key.

Rotation (RFC 7517 key sets, RFC 8414 ``jwks_uri``): the newest unretired key signs; when
it is older than the rotation period a new key is made and the old one retires but stays
published for a token lifetime plus a margin, so tokens it signed keep verifying. Every
process reads keys from the database, so all processes of a deployment agree.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, Key, KeySet
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from honnin.auth.errors import SigningKeyUnavailableError
from honnin.auth.models import SigningKey
from honnin.clock import Clock
from honnin.db import Database
from honnin.security.aead import KeyRing
from honnin.security.errors import DecryptionError, KeyConfigurationError

SIGNING_ALGORITHM = "ES256"
PUBLISH_MARGIN = timedelta(minutes=5)
REFRESH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class SigningKeyInfo:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    unpublish_at: datetime | None


def _associated_data(kid: str) -> bytes:
    return f"signing_keys:{kid}".encode()


class SigningKeyStore:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        key_ring: KeyRing,
        rotation_period: timedelta,
        token_ttl: timedelta,
    ) -> None:
        self._database = database
        self._clock = clock
        self._key_ring = key_ring
        self._rotation_period = rotation_period
        self._token_ttl = token_ttl
        self._signing_key: ECKey | None = None
        self._published = KeySet([])
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def ensure_current(self) -> None:
        """Make sure an unretired key younger than the rotation period exists."""
        async with self._database.transaction() as session:
            newest = await self._newest_active(session)
            if newest is None or self._clock.now() - newest.created_at >= self._rotation_period:
                await self.rotate(session)
        await self.reload()

    async def rotate(self, session: AsyncSession) -> str:
        """Retire the signing key and add a fresh one in ``session``; returns the new kid.

        Call :meth:`reload` after the transaction commits.
        """
        now = self._clock.now()
        retiring = (
            await session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None)))
        ).all()
        for old in retiring:
            old.retired_at = now
            old.unpublish_at = now + self._token_ttl + PUBLISH_MARGIN
        kid = f"{now:%Y%m%d}-{secrets.token_hex(6)}"
        key = ECKey.generate_key(
            "P-256", parameters={"kid": kid, "alg": SIGNING_ALGORITHM, "use": "sig"}, private=True
        )
        private = json.dumps(key.as_dict(private=True)).encode()
        session.add(
            SigningKey(
                kid=kid,
                alg=SIGNING_ALGORITHM,
                public_jwk=key.as_dict(private=False),
                sealed_private_jwk=self._key_ring.encrypt(
                    private, associated_data=_associated_data(kid)
                ),
                created_at=now,
            )
        )
        return kid

    async def _newest_active(self, session: AsyncSession) -> SigningKey | None:
        query = (
            select(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .order_by(SigningKey.created_at.desc(), SigningKey.kid)
            .limit(1)
        )
        return (await session.scalars(query)).first()

    async def reload(self) -> None:
        now = self._clock.now()
        async with self._database.session() as session:
            rows = (
                await session.scalars(
                    select(SigningKey)
                    .where(or_(SigningKey.unpublish_at.is_(None), SigningKey.unpublish_at > now))
                    .order_by(SigningKey.created_at.desc(), SigningKey.kid)
                )
            ).all()
        signing: ECKey | None = None
        published: list[Key] = []
        for row in rows:
            published.append(ECKey.import_key(row.public_jwk))
            if signing is None and row.retired_at is None:
                try:
                    private = self._key_ring.decrypt(
                        row.sealed_private_jwk, associated_data=_associated_data(row.kid)
                    )
                except DecryptionError as exc:
                    msg = (
                        f"signing key {row.kid} cannot be unsealed with HONNIN_DATA_KEY: it was"
                        " sealed with another data key (when rotating, keep the old key after"
                        " the new one)"
                    )
                    raise KeyConfigurationError(msg) from exc
                signing = ECKey.import_key(json.loads(private))
        self._signing_key = signing
        self._published = KeySet(published)
        self._loaded_at = now

    async def _maybe_refresh(self) -> None:
        loaded = self._loaded_at
        if loaded is None or self._clock.now() - loaded >= REFRESH_INTERVAL:
            async with self._lock:
                if self._loaded_at is loaded:
                    await self.reload()

    async def signing_key(self) -> ECKey:
        await self._maybe_refresh()
        if self._signing_key is None:
            raise SigningKeyUnavailableError("no token-signing key is active")
        return self._signing_key

    async def verification_keys(self, *, kid: str | None) -> KeySet:
        """Published keys; reloads once when a token names a kid this process hasn't seen."""
        await self._maybe_refresh()
        if kid is not None and not any(k.kid == kid for k in self._published.keys):
            async with self._lock:
                await self.reload()
        return self._published

    async def jwks(self) -> dict[str, Any]:
        await self._maybe_refresh()
        return {"keys": [k.as_dict(private=False) for k in self._published.keys]}

    async def list_keys(self) -> list[SigningKeyInfo]:
        async with self._database.session() as session:
            rows = (
                await session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc()))
            ).all()
        return [
            SigningKeyInfo(
                kid=r.kid,
                created_at=r.created_at,
                retired_at=r.retired_at,
                unpublish_at=r.unpublish_at,
            )
            for r in rows
        ]
