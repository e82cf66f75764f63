"""AES-256-GCM encryption of data at rest with a rotatable key ring (NIST SP 800-38D).

Ciphertext layout: ``version(1)=0x01 | key_id(4) | nonce(12) | ciphertext+tag``. The key
id is the first four bytes of SHA-256 over the key, so a ring of several keys decrypts
old rows after rotation while new rows use the first (current) key. ``associated_data``
binds a ciphertext to its row (for example the table and primary key), so a value copied
to another row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from honnin.security.errors import DecryptionError, KeyConfigurationError

_VERSION = b"\x01"
_NONCE_BYTES = 12
_KEY_ID_BYTES = 4


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_KEY_ID_BYTES]


@dataclass(frozen=True)
class KeyRing:
    """Current key first, then older keys still accepted for decryption."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyConfigurationError("the data key ring is empty")
        for key in self.keys:
            if len(key) != 32:
                raise KeyConfigurationError("each data key must be 32 bytes (AES-256)")

    @classmethod
    def from_setting(cls, value: str) -> KeyRing:
        """Parse ``HONNIN_DATA_KEY``: comma-separated base64 keys, current key first."""
        keys = []
        for part in value.split(","):
            stripped = part.strip()
            if not stripped:
                continue
            try:
                keys.append(base64.b64decode(stripped, validate=True))
            except ValueError as exc:
                raise KeyConfigurationError("HONNIN_DATA_KEY is not base64") from exc
        return cls(tuple(keys))

    def encrypt(self, plaintext: bytes, *, associated_data: bytes = b"") -> bytes:
        key = self.keys[0]
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext, associated_data)
        return _VERSION + _key_id(key) + nonce + sealed

    def decrypt(self, blob: bytes, *, associated_data: bytes = b"") -> bytes:
        header = 1 + _KEY_ID_BYTES + _NONCE_BYTES
        if len(blob) < header + 16 or blob[:1] != _VERSION:
            raise DecryptionError("ciphertext is malformed")
        key_id = blob[1 : 1 + _KEY_ID_BYTES]
        nonce = blob[1 + _KEY_ID_BYTES : header]
        for key in self.keys:
            if _key_id(key) == key_id:
                try:
                    return AESGCM(key).decrypt(nonce, blob[header:], associated_data)
                except InvalidTag as exc:
                    raise DecryptionError("ciphertext failed authentication") from exc
        raise DecryptionError("ciphertext was sealed with a key that is not in the ring")
