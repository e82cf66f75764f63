"""The distribution event model: pure values, validation, pseudonyms, digests, cursors.

No I/O. A distribution event says that identity data moved or that a decision about it
was taken: when, which kind, for which enterprise, from which bank, by which method,
which claim *names* were released (never values), the outcome, and a pseudonymous subject
id — HMAC-SHA256 (RFC 2104, FIPS 180-4) keyed with the deployment ``subject_key`` over the
RFC 8785 canonical JSON of the normalised identity attributes. The event's digest is
SHA-256 over its own RFC 8785 form; that digest is what the ledger commits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from honnin.trace.errors import InvalidCursorError, InvalidTraceEventError, InvalidTraceQueryError

# Kinds the platform records today; any kind of a known family is accepted so a new state
# change can be traced without touching this module, while a misspelt family fails loudly.
INQUIRY_CREATED = "inquiry.created"
INQUIRY_EXPIRED = "inquiry.expired"
INQUIRY_FAILED = "inquiry.failed"
CONSENT_GIVEN = "consent.given"
CONSENT_REFUSED = "consent.refused"
BANK_FETCHED = "bank.fetched"
DELIVERED = "delivered"
WEBHOOK_DELIVERED = "webhook.delivered"
WEBHOOK_FAILED = "webhook.failed"
WEBHOOK_REQUEUED = "webhook.requeued"
VERIFICATION_CREATED = "verification.created"
VERIFICATION_DECIDED = "verification.decided"
DATA_PURGED = "data.purged"
REVOCATION_REQUESTED = "revocation.requested"

KNOWN_KINDS: tuple[str, ...] = (
    INQUIRY_CREATED,
    INQUIRY_EXPIRED,
    INQUIRY_FAILED,
    CONSENT_GIVEN,
    CONSENT_REFUSED,
    BANK_FETCHED,
    DELIVERED,
    WEBHOOK_DELIVERED,
    WEBHOOK_FAILED,
    WEBHOOK_REQUEUED,
    VERIFICATION_CREATED,
    VERIFICATION_DECIDED,
    DATA_PURGED,
    REVOCATION_REQUESTED,
)

# family -> default object type when the caller does not name one.
FAMILIES: dict[str, str] = {
    "inquiry": "inquiry",
    "consent": "inquiry",
    "bank": "inquiry",
    "delivered": "inquiry",
    "webhook": "inquiry",
    "data": "inquiry",
    "revocation": "inquiry",
    "verification": "verification",
}

_KIND = re.compile(r"^[a-z]+(\.[a-z][a-z_]{0,30})?$")
# Starts with a letter or digit, so no exported id cell can start a spreadsheet formula
# (=, +, -, @: OWASP CSV injection); free-text cells go through csv_text().
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")
# Claim names as OIDC4IDA spells them: family_name#ja-Kana-JP, address.postal_code.
# Spaces, non-ASCII and punctuation beyond these are refused: they would only appear if a
# caller passed a claim value instead of its name.
_CLAIM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(#[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3})?$")
_CLAIM_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,3}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_CLAIMS = 64
MAX_LATENCY_MS = 86_400_000
MAX_PURPOSE = 100


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One distribution event as a caller records it (the time comes from the service clock)."""

    kind: str
    object_id: str
    outcome: str
    object_type: str = ""
    enterprise_id: str | None = None
    bank_id: str | None = None
    method: str | None = None
    claims: tuple[str, ...] = ()
    purpose: str | None = None
    latency_ms: int | None = None
    subject_id: str | None = None
    actor: str | None = None

    def __post_init__(self) -> None:
        kind = validate_kind(self.kind)
        if not self.object_type:
            object.__setattr__(self, "object_type", FAMILIES[kind.split(".", 1)[0]])
        _token(self.object_type, "object_type", max_len=40)
        _token(self.object_id, "object_id")
        _token(self.outcome, "outcome")
        for name in ("enterprise_id", "bank_id", "method"):
            value = getattr(self, name)
            if value is not None:
                _token(value, name)
        object.__setattr__(self, "purpose", clean_purpose(self.purpose))
        if self.actor is not None and not (0 < len(self.actor) <= 200 and self.actor.isprintable()):
            raise InvalidTraceEventError("actor must be 1-200 printable characters")
        object.__setattr__(self, "claims", normalise_claim_names(self.claims))
        if self.latency_ms is not None and (
            isinstance(self.latency_ms, bool)
            or not isinstance(self.latency_ms, int)
            or not 0 <= self.latency_ms <= MAX_LATENCY_MS
        ):
            raise InvalidTraceEventError("latency_ms must be an integer from 0 to 86400000")
        if self.subject_id is not None and not _HEX64.match(self.subject_id):
            raise InvalidTraceEventError("subject_id must be a 64-hex pseudonym, not an identity")


_FIELDS = frozenset(
    {
        "object_type",
        "object_id",
        "enterprise_id",
        "bank_id",
        "method",
        "claims",
        "purpose",
        "outcome",
        "latency_ms",
        "subject_id",
        "actor",
    }
)


def event_from_fields(
    kind: str, fields: Mapping[str, Any], *, subject_key: bytes | None
) -> TraceEvent:
    """Build an event from ``record(session, kind=..., **fields)`` keywords.

    ``subject`` (a mapping of identity attributes) is turned into the pseudonym here and
    never kept; ``claims`` may be names or a mapping whose *keys* are the names.
    """
    values = dict(fields)
    subject = values.pop("subject", None)
    unknown = set(values) - _FIELDS
    if unknown:
        raise InvalidTraceEventError(f"unknown trace event fields: {', '.join(sorted(unknown))}")
    if subject is not None:
        if subject_key is None:
            raise InvalidTraceEventError("no subject key configured for pseudonyms")
        if not isinstance(subject, Mapping):
            raise InvalidTraceEventError("subject must be a mapping of identity attributes")
        values["subject_id"] = subject_pseudonym(subject_key, subject)
    claims = values.get("claims")
    if claims is None:
        values["claims"] = ()
    elif isinstance(claims, Mapping):
        values["claims"] = tuple(str(k) for k in claims)
    elif isinstance(claims, str) or not isinstance(claims, Iterable):
        raise InvalidTraceEventError("claims must be a list of claim names")
    else:
        values["claims"] = tuple(claims)
    if "object_id" not in values or "outcome" not in values:
        raise InvalidTraceEventError("object_id and outcome are required")
    return TraceEvent(kind=kind, **values)


def clean_purpose(purpose: object) -> str | None:
    """The purpose as the enterprise worded it, made safe to keep and show.

    It is caller-supplied free text, so it is cleaned rather than refused (a refusal
    would fail the caller's state change): NFC, control characters dropped, whitespace
    runs made one space, cut to :data:`MAX_PURPOSE` characters; empty becomes None.
    """
    if purpose is None:
        return None
    if not isinstance(purpose, str):
        raise InvalidTraceEventError("purpose must be text")
    text = unicodedata.normalize("NFC", purpose)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isprintable() or ch.isspace())
    text = " ".join(text.split())[:MAX_PURPOSE]
    return text or None


def validate_kind(kind: object) -> str:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise InvalidTraceEventError("event kind must look like 'family.change'")
    if kind.split(".", 1)[0] not in FAMILIES:
        raise InvalidTraceEventError("event kind is not of a known family")
    return kind


def _token(value: object, what: str, *, max_len: int = 64) -> None:
    if not isinstance(value, str) or len(value) > max_len or not _TOKEN.match(value):
        raise InvalidTraceEventError(
            f"{what} must be 1-{max_len} characters of [A-Za-z0-9_.:@-], starting alphanumeric"
        )


def normalise_claim_names(claims: Iterable[object]) -> tuple[str, ...]:
    """Sorted, de-duplicated claim names; anything that is not a claim name is refused."""
    names: set[str] = set()
    for claim in claims:
        if not isinstance(claim, str) or not (_CLAIM_NAME.match(claim) or _CLAIM_PATH.match(claim)):
            raise InvalidTraceEventError("claims must be claim names, never claim values")
        names.add(claim)
    if len(names) > MAX_CLAIMS:
        raise InvalidTraceEventError(f"at most {MAX_CLAIMS} claim names per event")
    return tuple(sorted(names))


# --- pseudonyms -----------------------------------------------------------------------


def normalise_identity(identity: Mapping[str, object]) -> dict[str, str]:
    """Attribute names lower-cased; values NFKC-normalised, case-folded, without spaces.

    So ``ヤマダ　タロウ``, ``ﾔﾏﾀﾞ ﾀﾛｳ`` (half-width) and ``ヤマタ゛ タロウ`` (a spacing
    sound mark) give the same pseudonym.
    """
    result: dict[str, str] = {}
    for key, value in identity.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidTraceEventError("identity attribute names must be non-empty strings")
        if not isinstance(value, str):
            raise InvalidTraceEventError("identity attribute values must be strings")
        text = unicodedata.normalize("NFKC", value).casefold()
        # NFKC writes a spacing ゛ as a space and U+3099; with the space gone, NFC joins
        # the mark to its kana, so ヤマタ゛ and ヤマダ are one subject.
        text = unicodedata.normalize("NFC", "".join(ch for ch in text if not ch.isspace()))
        if text:
            result[key.strip().lower()] = text
    if not result:
        raise InvalidTraceEventError("identity attributes are empty")
    return result


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) for the JSON this module produces: strings, ints, lists, objects.

    Without floats, JCS is sorted keys, no whitespace and UTF-8 with minimal escaping,
    which is what ``json.dumps`` gives with these options.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def subject_pseudonym(key: bytes, identity: Mapping[str, object]) -> str:
    """HMAC-SHA256(subject_key, JCS(normalised identity)) as 64 lowercase hex digits."""
    if len(key) < 16:
        raise InvalidTraceEventError("subject key must be at least 16 bytes")
    return hmac.new(key, canonical_json(normalise_identity(identity)), hashlib.sha256).hexdigest()


# --- digests --------------------------------------------------------------------------


def format_time(at: datetime) -> str:
    """RFC 3339 UTC with microseconds: the one spelling used in digests, exports and cursors."""
    if at.tzinfo is None:
        raise InvalidTraceEventError("event times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_document(event: TraceEvent, *, at: datetime) -> dict[str, Any]:
    """The event as a JSON object (export rows, ledger payloads): no nulls, claims as a list."""
    doc: dict[str, Any] = {
        "at": format_time(at),
        "kind": event.kind,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "claims": list(event.claims),
    }
    for name in ("enterprise_id", "bank_id", "method", "purpose", "subject_id", "actor"):
        value = getattr(event, name)
        if value is not None:
            doc[name] = value
    if event.latency_ms is not None:
        doc["latency_ms"] = event.latency_ms
    return doc


def event_digest(event: TraceEvent, *, at: datetime) -> str:
    """SHA-256 over the RFC 8785 form of :func:`event_document`, hex."""
    return hashlib.sha256(canonical_json(event_document(event, at=at))).hexdigest()


# --- outcomes -------------------------------------------------------------------------

OutcomeClass = Literal["ok", "denied", "error"]
_DENIAL_WORDS = ("denied", "refused", "forbidden", "not_allowed", "revoked", "closed")
_ERROR_WORDS = ("error", "failed", "failure", "timeout", "unavailable", "invalid", "dead")


def classify(kind: str, outcome: str) -> OutcomeClass:
    """Whether an event counts as success, denial (a decision against) or error (a fault)."""
    text = outcome.lower()
    if kind == CONSENT_REFUSED or any(word in text for word in _DENIAL_WORDS):
        return "denied"
    if kind.endswith(".failed") or kind == INQUIRY_EXPIRED:
        return "error"
    if any(word in text for word in _ERROR_WORDS) or text == "expired":
        return "error"
    return "ok"


def utc(at: datetime, what: str) -> datetime:
    """``at`` in UTC; a time that does not exist in UTC (year 1 at +14:00) is a query error."""
    try:
        return at.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise InvalidTraceQueryError(f"{what} is out of range") from exc


# --- queries --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """Conjunctive filters; ``since`` inclusive, ``until`` exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    enterprise_id: str | None = None
    bank_id: str | None = None
    subject_id: str | None = None
    outcome: str | None = None
    kinds: tuple[str, ...] = field(default=())
    object_type: str | None = None
    object_id: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after the last row served: the (at, id) of that row, newest first."""

    at: datetime
    id: int


def encode_cursor(cursor: Cursor) -> str:
    raw = canonical_json([format_time(cursor.at), cursor.id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str) -> Cursor:
    """Inverse of :func:`encode_cursor`; anything else is :class:`InvalidCursorError`."""
    if not text or len(text) > 200:
        raise InvalidCursorError("cursor is not one this API returned")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
        at_text, row_id = value
        at = datetime.strptime(at_text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursorError("cursor is not one this API returned") from exc
    if isinstance(row_id, bool) or not isinstance(row_id, int) or row_id < 0:
        raise InvalidCursorError("cursor is not one this API returned")
    return Cursor(at=at, id=row_id)


CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "at",
    "kind",
    "enterprise_id",
    "bank_id",
    "method",
    "claims",
    "purpose",
    "outcome",
    "latency_ms",
    "subject_id",
    "object_type",
    "object_id",
    "digest",
    "ledger_index",
)


def csv_text(value: str | None) -> str | None:
    """A free-text CSV cell that a spreadsheet will not run as a formula (OWASP)."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
