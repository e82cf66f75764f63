"""Ledger tables: entries, tiles with their internal levels, tree state, checkpoints,
cosignatures, witness state, peer state, evidence salts and the look-up audit.

Tiles hold every complete subtree hash (C2SP tlog-tiles layout plus internal levels), so
an RFC 9162 proof reads at most one row per 8 tree levels.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from honnin.db import Base
from honnin.db.base import UTCDateTime


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(64))
    # Consortium-keyed HMAC pseudonym of verification records, for look-ups.
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    appended_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerTile(Base):
    __tablename__ = "ledger_tiles"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    width: Mapped[int] = mapped_column(Integer)
    nodes: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerState(Base):
    """The one row holding the committed tree head; its update serialises appenders."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    serial: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerCosignature(Base):
    """A witness cosignature line on one of our checkpoints."""

    __tablename__ = "ledger_cosignatures"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(255), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerWitnessProgress(Base):
    """The tree size each of our witnesses last cosigned for our log."""

    __tablename__ = "ledger_witness_progress"

    witness: Mapped[str] = mapped_column(String(255), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerWitnessedLog(Base):
    """Our witness role: the latest checkpoint we cosigned for a peer log (tlog-witness)."""

    __tablename__ = "ledger_witnessed_logs"

    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerPeerState(Base):
    """The latest verified checkpoint of a peer we looked up in (split-view detection)."""

    __tablename__ = "ledger_peer_state"

    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEvidenceSalt(Base):
    """Off-log salt of an evidence digest; deleting it unlinks the entry for good."""

    __tablename__ = "ledger_evidence_salts"

    evidence_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    delete_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LedgerLookupAudit(Base):
    """Every look-up asked of us or by us, with the peer's signed request."""

    __tablename__ = "ledger_lookup_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(8))  # "in" (asked of us) or "out"
    peer: Mapped[str] = mapped_column(String(255), index=True)
    request: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(64))
    matches: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
