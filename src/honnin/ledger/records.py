"""Log entries without personal data: verification records and generic events.

Pure: no I/O. Every entry is RFC 8785 (JCS) canonical JSON ``{"kind", "v", ...}`` so any
party re-derives the exact leaf bytes. A verification record names its subject only by a
consortium-keyed HMAC-SHA256 pseudonym, and its evidence only by a salted digest
(HMAC-SHA256 keyed by a random salt kept off the log): once the salt is deleted at the end
of retention nobody can link the entry to the evidence, yet the log stays verifiable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

from honnin.ledger.errors import EntryError, RecordError

KIND_VERIFICATION = "verification"
ENTRY_VERSION = 1
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_HEX64 = frozenset("0123456789abcdef")


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes."""
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EntryError("payload is not canonicalisable JSON") from exc


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise RecordError("record times must be timezone-aware")
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: object) -> datetime:
    if not isinstance(text, str):
        raise RecordError("record time must be a string")
    try:
        return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise RecordError("record time is not YYYY-MM-DDTHH:MM:SSZ") from exc


def subject_id(consortium_key: bytes, identity: Mapping[str, str]) -> str:
    """Pseudonymous subject id: HMAC-SHA256 over the canonical identity attributes.

    Every provider of the consortium holds the same key and normalises the same attributes,
    so they derive the same id; without the key the id reveals nothing.
    """
    if len(consortium_key) < 16:
        raise RecordError("consortium key must be at least 16 bytes")
    if not identity:
        raise RecordError("identity attributes are empty")
    return hmac.new(consortium_key, canonical(dict(identity)), hashlib.sha256).hexdigest()


def evidence_digest(salt: bytes, evidence: bytes) -> str:
    """Salted digest of the evidence: unlinkable once ``salt`` is deleted."""
    if len(salt) != 32:
        raise RecordError("evidence salt must be 32 bytes")
    return hmac.new(salt, evidence, hashlib.sha256).hexdigest()


def _hex64(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX64:
        raise RecordError(f"{what} must be 64 lowercase hex characters")
    return value


def _short(value: object, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        raise RecordError(f"{what} must be a non-empty string")
    return value


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    subject_id: str
    provider: str
    method: str
    assurance_level: str
    verified_at: datetime
    valid_until: datetime
    evidence_digest: str

    def __post_init__(self) -> None:
        _hex64(self.subject_id, "subject_id")
        _hex64(self.evidence_digest, "evidence_digest")
        for name in ("provider", "method", "assurance_level"):
            _short(getattr(self, name), name)
        if self.valid_until <= self.verified_at:
            raise RecordError("valid_until must be after verified_at")

    def to_json(self) -> dict[str, str]:
        return {
            "subject_id": self.subject_id,
            "provider": self.provider,
            "method": self.method,
            "assurance_level": self.assurance_level,
            "verified_at": format_time(self.verified_at),
            "valid_until": format_time(self.valid_until),
            "evidence_digest": self.evidence_digest,
        }

    def to_entry(self) -> bytes:
        return canonical({"kind": KIND_VERIFICATION, "v": ENTRY_VERSION, "record": self.to_json()})

    def usable_at(self, now: datetime, *, max_age_days: int) -> bool:
        """Still valid and verified within ``max_age_days`` of ``now``."""
        age = now - self.verified_at
        return self.valid_until > now and 0 <= age.total_seconds() <= max_age_days * 86400


def event_entry(kind: str, payload: Mapping[str, Any]) -> bytes:
    """Canonical entry of a generic event (e.g. a trace event)."""
    if not kind or len(kind) > 64 or kind == KIND_VERIFICATION:
        raise EntryError("event kind must be 1-64 characters and not 'verification'")
    return canonical({"kind": kind, "v": ENTRY_VERSION, "payload": dict(payload)})


def parse_entry(data: bytes) -> tuple[str, dict[str, Any]]:
    """``(kind, body)`` of an entry; rejects anything not in canonical form."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError("entry is not JSON") from exc
    if not isinstance(value, dict) or value.get("v") != ENTRY_VERSION:
        raise RecordError("entry is not a version 1 ledger entry")
    if canonical(value) != data:
        raise RecordError("entry is not RFC 8785 canonical JSON")
    kind = value.get("kind")
    body = value.get("record" if kind == KIND_VERIFICATION else "payload")
    if not isinstance(kind, str) or not isinstance(body, dict):
        raise RecordError("entry lacks its kind or body")
    return kind, body


def parse_record(data: bytes) -> VerificationRecord:
    kind, body = parse_entry(data)
    if kind != KIND_VERIFICATION:
        raise RecordError("entry is not a verification record")
    expected = {
        "subject_id",
        "provider",
        "method",
        "assurance_level",
        "verified_at",
        "valid_until",
        "evidence_digest",
    }
    if set(body) != expected:
        raise RecordError("verification record has missing or extra fields")
    return VerificationRecord(
        subject_id=_hex64(body["subject_id"], "subject_id"),
        provider=_short(body["provider"], "provider"),
        method=_short(body["method"], "method"),
        assurance_level=_short(body["assurance_level"], "assurance_level"),
        verified_at=parse_time(body["verified_at"]),
        valid_until=parse_time(body["valid_until"]),
        evidence_digest=_hex64(body["evidence_digest"], "evidence_digest"),
    )
