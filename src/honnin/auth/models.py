"""ORM models: OAuth clients of enterprises, their public keys, and token-signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from honnin.db.base import Base, UTCDateTime


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"), index=True)
    secret_hash: Mapped[str | None] = mapped_column(Text, default=None)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ClientKey(Base):
    """A public JWK an enterprise registered for ``private_key_jwt`` (RFC 7523)."""

    __tablename__ = "client_keys"
    __table_args__ = (UniqueConstraint("client_id", "kid"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id"), index=True)
    kid: Mapped[str] = mapped_column(String(200))
    jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class UsedClientAssertion(Base):
    """``jti`` values of accepted client assertions, kept until they expire (replay guard)."""

    __tablename__ = "used_client_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SigningKey(Base):
    """A token-signing key. The private JWK is sealed with the data key (AES-256-GCM)."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_private_jwk: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # After retired_at the key no longer signs; it stays published until unpublish_at
    # so tokens it signed still verify.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    unpublish_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
