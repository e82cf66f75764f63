import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.security.aead import KeyRing
from honnin.security.errors import DecryptionError, KeyConfigurationError

KEY_A = os.urandom(32)
KEY_B = os.urandom(32)


@given(plaintext=st.binary(max_size=2048), aad=st.binary(max_size=64))
def test_round_trip(plaintext: bytes, aad: bytes) -> None:
    ring = KeyRing((KEY_A,))
    assert (
        ring.decrypt(ring.encrypt(plaintext, associated_data=aad), associated_data=aad) == plaintext
    )


def test_rotation_keeps_old_ciphertexts_readable() -> None:
    old = KeyRing((KEY_A,)).encrypt(b"bank record")
    rotated = KeyRing((KEY_B, KEY_A))
    assert rotated.decrypt(old) == b"bank record"
    new = rotated.encrypt(b"new row")
    with pytest.raises(DecryptionError, match="not in the ring"):
        KeyRing((KEY_A,)).decrypt(new)


def test_ciphertext_bound_to_its_row() -> None:
    ring = KeyRing((KEY_A,))
    sealed = ring.encrypt(b"secret", associated_data=b"inquiries:1")
    with pytest.raises(DecryptionError, match="authentication"):
        ring.decrypt(sealed, associated_data=b"inquiries:2")


@given(position=st.integers(min_value=0, max_value=40))
def test_any_flipped_byte_is_detected(position: int) -> None:
    ring = KeyRing((KEY_A,))
    sealed = bytearray(ring.encrypt(b"0123456789"))
    sealed[position % len(sealed)] ^= 0x01
    with pytest.raises(DecryptionError):
        ring.decrypt(bytes(sealed))


def test_truncated_ciphertext_is_a_clean_error() -> None:
    with pytest.raises(DecryptionError, match="malformed"):
        KeyRing((KEY_A,)).decrypt(b"\x01abc")


def test_setting_parsing() -> None:
    value = ",".join(base64.b64encode(k).decode() for k in (KEY_B, KEY_A))
    assert KeyRing.from_setting(value).keys == (KEY_B, KEY_A)
    with pytest.raises(KeyConfigurationError, match="32 bytes"):
        KeyRing.from_setting(base64.b64encode(b"short").decode())
    with pytest.raises(KeyConfigurationError, match="base64"):
        KeyRing.from_setting("not base64!")
    with pytest.raises(KeyConfigurationError, match="empty"):
        KeyRing.from_setting("")
