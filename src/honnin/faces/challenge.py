"""Active-liveness challenges: a random sequence of actions bound to a nonce and a deadline.

A challenge-response presentation-attack check in the sense of ISO/IEC 30107-1 §5.2:
the server picks the actions at random only when the session starts, so a recording
made earlier cannot contain them in the right order. The nonce binds the uploaded
recording to this challenge; the deadline bounds how long a forger has.

Pure functions: the clock (``now``) and the randomness (``rng``) are passed in. A
challenge can be stored by the caller, or sealed into a self-contained token with
HMAC-SHA256 (RFC 2104) over its canonical JSON form, so a stateless front end can hand
it to the client and get it back with the upload.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from honnin.faces.errors import InvalidChallengeError


class Action(StrEnum):
    """What the person is asked to do; frames are as the camera records them."""

    TURN_LEFT = "turn_left"  # the person turns to their own left
    TURN_RIGHT = "turn_right"
    LOOK_UP = "look_up"
    LOOK_DOWN = "look_down"
    BLINK = "blink"
    SMILE = "smile"


POSE_ACTIONS = frozenset({Action.TURN_LEFT, Action.TURN_RIGHT, Action.LOOK_UP, Action.LOOK_DOWN})
TURNS = (Action.TURN_LEFT, Action.TURN_RIGHT)
DEFAULT_LENGTH = 3
DEFAULT_TTL_S = 120.0
DEFAULT_STEP_WINDOW_S = 6.0
MAX_ACTIONS = 8


@dataclass(frozen=True, slots=True)
class Challenge:
    """A challenge as issued: the client gets ``nonce`` and ``actions``."""

    nonce: str
    actions: tuple[Action, ...]
    issued_at: datetime
    expires_at: datetime
    step_window_s: float = DEFAULT_STEP_WINDOW_S

    def as_dict(self) -> dict[str, object]:
        return {
            "nonce": self.nonce,
            "actions": [a.value for a in self.actions],
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "step_window_s": self.step_window_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Challenge:
        try:
            actions = data["actions"]
            if not isinstance(actions, list):
                raise InvalidChallengeError("actions must be a list")
            issued = datetime.fromisoformat(str(data["issued_at"]))
            expires = datetime.fromisoformat(str(data["expires_at"]))
            window = float(str(data.get("step_window_s", DEFAULT_STEP_WINDOW_S)))
            nonce = str(data["nonce"])
        except (KeyError, ValueError) as exc:
            raise InvalidChallengeError("malformed challenge") from exc
        if issued.tzinfo is None or expires.tzinfo is None:
            raise InvalidChallengeError("challenge times must carry a time zone")
        return cls(
            nonce=nonce,
            actions=parse_actions(",".join(str(a) for a in actions)),
            issued_at=issued,
            expires_at=expires,
            step_window_s=window,
        )


def parse_actions(text: str) -> tuple[Action, ...]:
    """``"turn_left,blink"`` -> actions; :class:`InvalidChallengeError` if unknown."""
    names = [part.strip().lower().replace("-", "_") for part in text.split(",") if part.strip()]
    if not names:
        raise InvalidChallengeError("a challenge needs at least one action")
    if len(names) > MAX_ACTIONS:
        raise InvalidChallengeError(f"a challenge has at most {MAX_ACTIONS} actions")
    known = {a.value: a for a in Action}
    unknown = [n for n in names if n not in known]
    if unknown:
        choices = ", ".join(known)
        raise InvalidChallengeError(f"unknown action {unknown[0][:32]!r} (known: {choices})")
    return tuple(known[n] for n in names)


def issue_challenge(
    *,
    now: datetime,
    rng: random.Random | None = None,
    length: int = DEFAULT_LENGTH,
    ttl_s: float = DEFAULT_TTL_S,
    step_window_s: float = DEFAULT_STEP_WINDOW_S,
    pool: Sequence[Action] = tuple(Action),
) -> Challenge:
    """A fresh random challenge of ``length`` actions.

    The sequence always holds a head turn, because the passive check needs 3-D head
    motion to tell a face from a flat photo, and never repeats an action back to back
    (two identical steps in a row could be met by one movement).
    """
    if now.tzinfo is None:
        raise InvalidChallengeError("now must carry a time zone")
    if not 1 <= length <= MAX_ACTIONS:
        raise InvalidChallengeError(f"length must be 1..{MAX_ACTIONS}")
    choices = list(dict.fromkeys(pool))
    if not any(a in TURNS for a in choices):
        raise InvalidChallengeError("the pool must hold a head turn")
    if length > 1 and len(choices) < 2:
        raise InvalidChallengeError("the pool needs two actions for a sequence")
    source = rng if rng is not None else secrets.SystemRandom()
    turn_at = source.randrange(length)
    actions: list[Action] = []
    for index in range(length):
        options = [a for a in choices if not actions or a != actions[-1]]
        if index == turn_at:
            options = [a for a in options if a in TURNS] or [a for a in choices if a in TURNS]
        actions.append(source.choice(options))
    nonce = base64.urlsafe_b64encode(source.getrandbits(128).to_bytes(16, "big")).decode()
    return Challenge(
        nonce=nonce.rstrip("="),
        actions=tuple(actions),
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        step_window_s=step_window_s,
    )


def check_binding(challenge: Challenge, *, nonce: str, now: datetime) -> list[str]:
    """Reason codes for a submission that is not bound to ``challenge`` in time."""
    reasons = []
    if not hmac.compare_digest(nonce.encode(), challenge.nonce.encode()):
        reasons.append("nonce_mismatch")
    if now > challenge.expires_at:
        reasons.append("challenge_expired")
    if now < challenge.issued_at:
        reasons.append("challenge_not_yet_valid")
    return reasons


def seal(challenge: Challenge, *, key: bytes) -> str:
    """A tamper-evident token carrying ``challenge`` (HMAC-SHA256, base64url)."""
    body = json.dumps(challenge.as_dict(), sort_keys=True, separators=(",", ":")).encode()
    tag = hmac.new(key, body, hashlib.sha256).digest()
    return ".".join(base64.urlsafe_b64encode(p).decode().rstrip("=") for p in (body, tag))


def unseal(token: str, *, key: bytes) -> Challenge:
    """The challenge in a :func:`seal` token; :class:`InvalidChallengeError` if altered."""
    try:
        body_part, tag_part = token.split(".")
        body = base64.urlsafe_b64decode(body_part + "=" * (-len(body_part) % 4))
        tag = base64.urlsafe_b64decode(tag_part + "=" * (-len(tag_part) % 4))
    except ValueError as exc:
        raise InvalidChallengeError("malformed challenge token") from exc
    expected = hmac.new(key, body, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise InvalidChallengeError("challenge token signature mismatch")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidChallengeError("malformed challenge token") from exc
    if not isinstance(data, dict):
        raise InvalidChallengeError("malformed challenge token")
    return Challenge.from_dict(data)


def utc_now() -> datetime:
    """The default clock for callers at the edges (CLI); pure code takes ``now``."""
    return datetime.now(UTC)
