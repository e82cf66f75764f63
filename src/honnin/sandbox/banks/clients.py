"""Client registrations a sandbox bank accepts (RFC 7591 §2 metadata names).

A registration carries either an argon2 hash of a client secret (``client_secret_basic``
/ ``client_secret_post``) or a public JWK Set (``private_key_jwt``, RFC 7523 §2.2,
OIDC Core §9). Redirect URIs are compared exactly (RFC 9700 §4.1.3).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from honnin.sandbox.banks.errors import ClientConfigError

SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
AUTH_METHODS = SECRET_METHODS | {"private_key_jwt"}

# Sandbox client secrets are random tokens; a light argon2id setting keeps start-up quick.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def hash_client_secret(secret: str) -> str:
    """An argon2id hash suitable for ``client_secret_hash``."""
    return str(_HASHER.hash(secret))


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    """One OAuth client of a bank (Honnin's broker, a test, the demo)."""

    client_id: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str = "client_secret_basic"  # noqa: S105 - a method name
    client_secret_hash: str = ""
    jwks: Mapping[str, Any] | None = None
    client_name: str = ""
    banks: frozenset[str] | None = None  # None: every bank accepts it

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ClientConfigError("client_id is required")
        if not self.redirect_uris:
            raise ClientConfigError("at least one redirect_uri is required")
        if self.token_endpoint_auth_method not in AUTH_METHODS:
            msg = f"token_endpoint_auth_method must be one of {', '.join(sorted(AUTH_METHODS))}"
            raise ClientConfigError(msg)
        if self.token_endpoint_auth_method in SECRET_METHODS and not self.client_secret_hash:
            raise ClientConfigError("a client secret (or its hash) is required")
        if self.token_endpoint_auth_method == "private_key_jwt":  # noqa: S105 - a method name
            keys = (self.jwks or {}).get("keys")
            if not isinstance(keys, list) or not keys:
                raise ClientConfigError("private_key_jwt needs a JWK Set with public keys")
            if any(isinstance(key, Mapping) and "d" in key for key in keys):
                raise ClientConfigError("the JWK Set must hold public keys only")

    @property
    def display_name(self) -> str:
        return self.client_name or self.client_id

    def accepted_by(self, bank_id: str) -> bool:
        return self.banks is None or bank_id in self.banks

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ClientRegistration:
        """Build from config: ``client_secret`` (plain, hashed here) or ``client_secret_hash``."""
        known = {
            "client_id",
            "redirect_uris",
            "token_endpoint_auth_method",
            "client_secret",
            "client_secret_hash",
            "jwks",
            "client_name",
            "banks",
        }
        unknown = set(data) - known
        if unknown:
            msg = f"unknown client fields: {', '.join(sorted(unknown))}"
            raise ClientConfigError(msg)
        secret = data.get("client_secret")
        secret_hash = str(data.get("client_secret_hash") or "")
        if secret and not secret_hash:
            secret_hash = hash_client_secret(str(secret))
        redirect_uris = data.get("redirect_uris") or ()
        if isinstance(redirect_uris, str) or not all(isinstance(u, str) for u in redirect_uris):
            raise ClientConfigError("redirect_uris must be a list of strings")
        banks = data.get("banks")
        return cls(
            client_id=str(data.get("client_id") or ""),
            redirect_uris=tuple(redirect_uris),
            token_endpoint_auth_method=str(
                data.get("token_endpoint_auth_method") or "client_secret_basic"
            ),
            client_secret_hash=secret_hash,
            jwks=data.get("jwks"),
            client_name=str(data.get("client_name") or ""),
            banks=frozenset(banks) if banks is not None else None,
        )

    def to_public_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_name": self.display_name,
            "redirect_uris": list(self.redirect_uris),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "banks": sorted(self.banks) if self.banks is not None else None,
        }


def load_client_file(path: Path) -> list[ClientRegistration]:
    """Registrations from a JSON or YAML file: a list, or ``{"clients": [...]}``."""
    text = path.read_text(encoding="utf-8")
    data: Any
    if path.suffix in {".yaml", ".yml"}:
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if isinstance(data, Mapping):
        data = data.get("clients", [])
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        raise ClientConfigError("client file must hold a list of client objects")
    return [ClientRegistration.from_mapping(item) for item in data]


@dataclass(slots=True)
class ClientRegistry:
    """The registrations of one bank, with a verified-secret cache.

    argon2 is deliberately slow; a bank answering hundreds of token requests a second
    remembers a keyed digest of each secret it has already verified.
    """

    bank_id: str
    _clients: dict[str, ClientRegistration] = field(default_factory=dict)
    _verified: dict[str, bytes] = field(default_factory=dict)
    _cache_key: bytes = field(default_factory=lambda: os.urandom(32))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, registration: ClientRegistration) -> None:
        with self._lock:
            self._clients[registration.client_id] = registration
            self._verified.pop(registration.client_id, None)

    def register_all(self, registrations: Iterable[ClientRegistration]) -> None:
        for registration in registrations:
            if registration.accepted_by(self.bank_id):
                self.register(registration)

    def get(self, client_id: str) -> ClientRegistration | None:
        return self._clients.get(client_id)

    def all(self) -> list[ClientRegistration]:
        with self._lock:
            return list(self._clients.values())

    def check_secret(self, registration: ClientRegistration, secret: str) -> bool:
        digest = hmac.new(self._cache_key, secret.encode(), hashlib.sha256).digest()
        cached = self._verified.get(registration.client_id)
        if cached is not None and hmac.compare_digest(cached, digest):
            return True
        try:
            ok = bool(_HASHER.verify(registration.client_secret_hash, secret))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if ok:
            self._verified[registration.client_id] = digest
        return ok
