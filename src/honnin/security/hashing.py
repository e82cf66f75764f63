"""Client-secret hashing with argon2id (RFC 9106) via argon2-cffi."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# RFC 9106 "second recommended option" trimmed for a 2-core machine: secrets are random
# 256-bit tokens, so the work factor guards leaked hashes, not weak passwords.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_secret(secret: str) -> str:
    return str(_HASHER.hash(secret))


def verify_secret(secret_hash: str, secret: str) -> bool:
    try:
        return bool(_HASHER.verify(secret_hash, secret))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
