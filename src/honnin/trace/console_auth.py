"""Operator console login: argon2id password check, signed session cookie, CSRF tokens.

Pure (no I/O). The session cookie is ``base64url(JSON payload) "." base64url(HMAC-SHA256)``
(RFC 2104) with an expiry inside the signed payload; it carries the session's CSRF token,
which every state-changing form must echo (synchroniser-token pattern, OWASP CSRF cheat
sheet). Before login, a signed random cookie plays the same role (double submit).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

SESSION_COOKIE = "honnin_console"
LOGIN_CSRF_COOKIE = "honnin_console_csrf"

_HASHER = PasswordHasher()
# Verified when the username is wrong too, so response time does not reveal usernames.
_DUMMY_HASH = _HASHER.hash("honnin-console-dummy-password")


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    username: str
    password_hash: str
    key: bytes
    session_ttl: timedelta
    secure_cookies: bool

    @property
    def enabled(self) -> bool:
        return bool(self.password_hash and self.key)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    username: str
    csrf: str
    expires_at: int


def hash_password(password: str) -> str:
    """argon2id hash (RFC 9106 parameters of argon2-cffi) for ``trace_console_password_hash``."""
    return _HASHER.hash(password)


def check_login(config: ConsoleConfig, username: str, password: str) -> bool:
    user_ok = hmac.compare_digest(username.encode(), config.username.encode())
    password_ok: bool
    try:
        password_ok = _HASHER.verify(config.password_hash if user_ok else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        password_ok = False
    return user_ok and password_ok


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, payload: dict[str, object]) -> str:
    body = _b64(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(key: bytes, value: str) -> dict[str, object] | None:
    body, _, mac = value.partition(".")
    if not body or not mac or len(value) > 2048:
        return None
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def new_session(config: ConsoleConfig, *, now: datetime) -> tuple[str, ConsoleSession]:
    session = ConsoleSession(
        username=config.username,
        csrf=secrets.token_urlsafe(24),
        expires_at=int((now + config.session_ttl).timestamp()),
    )
    cookie = sign(
        config.key,
        {"t": "session", "u": session.username, "c": session.csrf, "exp": session.expires_at},
    )
    return cookie, session


def read_session(
    config: ConsoleConfig, cookie: str | None, *, now: datetime
) -> ConsoleSession | None:
    if not cookie or not config.enabled:
        return None
    payload = unsign(config.key, cookie)
    if payload is None or payload.get("t") != "session":
        return None
    user, csrf, exp = payload.get("u"), payload.get("c"), payload.get("exp")
    if not isinstance(user, str) or not isinstance(csrf, str) or not isinstance(exp, int):
        return None
    # A changed username in the settings ends every session of the old one.
    if exp <= now.timestamp() or user != config.username:
        return None
    return ConsoleSession(username=user, csrf=csrf, expires_at=exp)


def new_login_csrf(config: ConsoleConfig) -> tuple[str, str]:
    """(cookie value, form token) for the login form."""
    token = secrets.token_urlsafe(24)
    return sign(config.key, {"t": "login", "c": token}), token


def login_csrf_ok(config: ConsoleConfig, cookie: str | None, form_token: str) -> bool:
    payload = unsign(config.key, cookie or "")
    if payload is None or payload.get("t") != "login":
        return False
    expected = payload.get("c")
    return isinstance(expected, str) and hmac.compare_digest(expected, form_token)


def receipt_csrf(key: bytes, token: str) -> str:
    """Form token of a receipt page: bound to its link, so another page cannot forge it."""
    return _b64(hmac.new(key, b"receipt:" + token.encode(), hashlib.sha256).digest())


def hmac_equal(expected: str, presented: str) -> bool:
    return hmac.compare_digest(expected.encode(), presented.encode())


def console_config(
    *, username: str, password_hash: str, subject_key: bytes, session_ttl: timedelta, base_url: str
) -> ConsoleConfig:
    """Console settings; the cookie key is derived from ``subject_key`` (HMAC as a PRF)."""
    key = (
        hmac.new(subject_key, b"honnin trace console session v1", hashlib.sha256).digest()
        if subject_key
        else b""
    )
    return ConsoleConfig(
        username=username,
        password_hash=password_hash,
        key=key,
        session_ttl=session_ttl,
        secure_cookies=base_url.startswith("https://"),
    )


@dataclass
class LoginThrottle:
    """At most ``max_failures`` failed logins per client per ``window_seconds``.

    In-process (each app process counts its own); argon2's cost already slows guessing,
    this stops a sustained online attack. Bounded: the oldest clients are forgotten first.
    """

    max_failures: int = 10
    window_seconds: float = 900.0
    max_clients: int = 10_000
    _failures: OrderedDict[str, list[float]] = field(default_factory=OrderedDict)

    def blocked(self, client: str, *, now: float) -> bool:
        recent = [t for t in self._failures.get(client, ()) if now - t < self.window_seconds]
        if recent:
            self._failures[client] = recent
        else:
            self._failures.pop(client, None)
        return len(recent) >= self.max_failures

    def failed(self, client: str, *, now: float) -> None:
        self._failures.setdefault(client, []).append(now)
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
