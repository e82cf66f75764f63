"""Pure rules of a bank inquiry: statuses and transitions, which claims are released,
digests, the webhook payload, Standard Webhooks signatures, the retry schedule and the
opaque cursors of the enterprise's listings.

Standard Webhooks (standardwebhooks.com spec): headers ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256(secret,
id.timestamp.body)>``; secrets are shown as ``whsec_<base64>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

PENDING: Final = "pending_consent"
COMPLETED: Final = "completed"
DENIED: Final = "denied"
EXPIRED: Final = "expired"
FAILED: Final = "failed"
FINAL_STATUSES: Final = frozenset({COMPLETED, DENIED, EXPIRED, FAILED})
STATUSES: Final = (PENDING, COMPLETED, DENIED, EXPIRED, FAILED)

# The webhook outbox: a delivery is pending (due, retrying or being sent), delivered, or
# dead once the retry schedule is spent.
DELIVERY_PENDING: Final = "pending"
DELIVERY_DELIVERED: Final = "delivered"
DELIVERY_DEAD: Final = "dead"
DELIVERY_STATUSES: Final = (DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_DEAD)

WEBHOOK_EVENT = "bank_inquiry.finished"
# Delays after the 1st, 2nd, ... failed attempt; after the last the delivery is dead.
RETRY_DELAYS: Final = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)


def callback_verdict(
    *, expired: bool, issuer_problem: str | None, error: str | None, code: str | None
) -> tuple[str, str] | None:
    """The final ``(status, failure_code)`` the bank's redirect decides by itself, or None
    when there is a code to exchange. Order matters: an expired window or a wrong issuer
    (RFC 9207 mix-up defence) wins over whatever the redirect claims."""
    if expired:
        return EXPIRED, "consent_expired"
    if issuer_problem:
        return FAILED, issuer_problem
    if error == "access_denied":
        return DENIED, "user_denied"
    if error:
        return FAILED, "bank_refused"
    if not code:
        return FAILED, "bank_protocol_error"
    return None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def content_digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def release_claims(verified_claims: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """Keep only the claims the enterprise asked for and its contract allows.

    A bank may return more than was asked (scope granularity is coarser than claims);
    Honnin never passes on what the enterprise may not see.
    """
    wanted = set(allowed)
    claims = {k: v for k, v in verified_claims.get("claims", {}).items() if k in wanted}
    return {"verification": verified_claims["verification"], "claims": claims}


def subject_attributes(claims: Mapping[str, Any]) -> dict[str, str]:
    """The identity attributes the trace turns into a pseudonymous subject id."""
    keys = ("family_name", "given_name", "birthdate")
    return {k: str(claims[k]) for k in keys if isinstance(claims.get(k), str)}


def webhook_payload(
    *, inquiry_id: str, status: str, failure_code: str | None, finished_at: str
) -> dict[str, Any]:
    """What the webhook says: which inquiry finished and how. The data is fetched by API."""
    return {
        "type": WEBHOOK_EVENT,
        "timestamp": finished_at,
        "data": {
            "inquiry_id": inquiry_id,
            "status": status,
            "failure_code": failure_code,
        },
    }


def enterprise_webhook_secret(master_secret: bytes, enterprise_id: str, version: int = 0) -> bytes:
    """A per-enterprise signing key derived from the deployment's webhook secret; each
    rotation moves the enterprise to the next ``version`` (0: never rotated)."""
    label = f"webhook:{enterprise_id}" if version == 0 else f"webhook:{enterprise_id}:v{version}"
    return hmac.new(master_secret, label.encode(), hashlib.sha256).digest()


# How long a rotated-out webhook key may go on signing: at most a week, so the previous
# key never lives on as a second permanent one.
MAX_ROTATION_OVERLAP: Final = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class WebhookKeyState:
    """Which of an enterprise's webhook keys sign: ``version``, and until
    ``previous_valid_until`` also ``previous_version`` (the rotation's overlap)."""

    version: int = 0
    previous_version: int | None = None
    previous_valid_until: datetime | None = None

    def signing_versions(self, now: datetime) -> tuple[int, ...]:
        """The current version first, then the previous one while its overlap lasts."""
        if (
            self.previous_version is not None
            and self.previous_valid_until is not None
            and now < self.previous_valid_until
        ):
            return (self.version, self.previous_version)
        return (self.version,)


def signature_header(
    *, secrets: Iterable[bytes], message_id: str, timestamp: int, body: bytes
) -> str:
    """``webhook-signature`` with one ``v1,`` signature per key, space-separated: a
    receiver accepts the message when any of them verifies (Standard Webhooks)."""
    return " ".join(
        sign_webhook(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
        for secret in secrets
    )


def display_secret(secret: bytes) -> str:
    return "whsec_" + base64.b64encode(secret).decode()


def sign_webhook(*, secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    *, secret: bytes, headers: Mapping[str, str], body: bytes, now: int, tolerance: int = 300
) -> bool:
    """What a receiving enterprise does; used by tests and documented for integrators."""
    try:
        message_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign_webhook(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def next_retry_delay(attempts: int) -> timedelta | None:
    """The wait after ``attempts`` failed attempts, or None when it is time to give up."""
    if attempts < 1 or attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempts - 1]


@dataclass(frozen=True, slots=True)
class PagePosition:
    """Where a listing newest first stopped: the ``(created_at, id)`` of the last row it
    served. The next page holds the rows strictly before it in that order."""

    created_at: datetime
    id: str


_CURSOR_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CURSOR_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class CursorError(ValueError):
    """A cursor this API did not hand out (or one mangled on the way back)."""


def encode_cursor(position: PagePosition) -> str:
    """An opaque, URL-safe token for ``position`` (base64url of a JSON pair)."""
    moment = position.created_at.astimezone(UTC).strftime(_CURSOR_TIME)
    raw = canonical_json([moment, position.id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str) -> PagePosition:
    """Inverse of :func:`encode_cursor`; anything else raises :class:`CursorError`."""
    if not 1 <= len(text) <= 200:
        raise CursorError(text)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        moment, row_id = json.loads(raw)
        created_at = datetime.strptime(moment, _CURSOR_TIME).replace(tzinfo=UTC)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise CursorError(text) from exc
    if not isinstance(row_id, str) or not _CURSOR_ID.match(row_id):
        raise CursorError(text)
    return PagePosition(created_at=created_at, id=row_id)
