"""Signed notes (C2SP signed-note v1.0.0) with Ed25519 keys, and cosignature/v1 keys.

Pure: no I/O. A note is UTF-8 text ending in a newline, a blank line, then signature
lines ``— <key name> base64(uint32 key ID || signature)``. Key IDs are
``SHA-256(name || 0x0A || type || public key)[:4]`` with type 0x01 for Ed25519 note
signatures and 0x04 for timestamped Ed25519 witness cosignatures (C2SP
tlog-cosignature, whose signed message is ``cosignature/v1\\ntime <t>\\n`` followed by
the note text and whose signature is an 8-byte big-endian timestamp followed by the
64-byte Ed25519 signature).

Key strings use the vkey/skey encodings of golang.org/x/mod/sumdb/note:
``<name>+<hex key ID>+<base64(type || public key)>`` and
``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || 32-byte seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from honnin.ledger.errors import KeyFormatError, NoteError

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
_KNOWN_TYPES = (SIG_ED25519, SIG_COSIGNATURE_V1)
EM_DASH = "\u2014"
MAX_NOTE_BYTES = 1 << 16
# signed-note: verifiers MUST accept at least 16 signatures.
MAX_SIGNATURES = 64
COSIGNATURE_HEADER = "cosignature/v1"
MAX_TIMESTAMP = (1 << 63) - 1


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4), as the C2SP specs require."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise NoteError(f"{what} is not standard base64") from exc


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """``SHA-256(key name || 0x0A || signature type || public key)[:4]`` as a uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def check_key_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise KeyFormatError("key names must be non-empty, without spaces or '+'")
    if any(ord(ch) < 0x20 for ch in name) or EM_DASH in name:
        raise KeyFormatError("key names must not contain control characters")


def cosignature_message(text: str, timestamp: int) -> bytes:
    """C2SP tlog-cosignature: the message an Ed25519 cosignature/v1 signs."""
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True, slots=True)
class Verifier:
    """A trusted public key: a note signer (type 0x01) or a witness cosigner (type 0x04)."""

    name: str
    public_key: bytes
    sig_type: int = SIG_ED25519

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.sig_type not in _KNOWN_TYPES:
            raise KeyFormatError(f"unsupported signature type 0x{self.sig_type:02x}")
        if len(self.public_key) != 32:
            raise KeyFormatError("Ed25519 public keys are 32 bytes")

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{b64(bytes([self.sig_type]) + self.public_key)}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or len(parts[1]) != 8:
            raise KeyFormatError("verifier key must be <name>+<hex id>+<base64 key>")
        name, hex_id, encoded = parts
        try:
            raw = unb64(encoded, "verifier key")
            wanted = int(hex_id, 16)
        except (NoteError, ValueError) as exc:
            raise KeyFormatError("verifier key is not well encoded") from exc
        if len(raw) != 33:
            raise KeyFormatError("verifier key must hold a type byte and 32 key bytes")
        verifier = cls(name=name, public_key=raw[1:], sig_type=raw[0])
        if verifier.key_id != wanted:
            raise KeyFormatError("verifier key ID does not match its key")
        return verifier

    def verify(self, text: str, signature: bytes) -> int | None:
        """True verification of one signature; returns the cosignature timestamp if any.

        Raises :class:`NoteError` when the signature does not verify.
        """
        try:
            public = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise NoteError(f"public key of {self.name} is not an Ed25519 key") from exc
        timestamp: int | None = None
        if self.sig_type == SIG_COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                raise NoteError("cosignature must be an 8-byte timestamp and 64 bytes")
            (timestamp,) = struct.unpack(">Q", signature[:8])
            if timestamp > MAX_TIMESTAMP:
                raise NoteError("cosignature timestamp out of range")
            message = cosignature_message(text, timestamp)
            signature = signature[8:]
        else:
            if len(signature) != 64:
                raise NoteError("Ed25519 signature must be 64 bytes")
            message = text.encode()
        try:
            public.verify(signature, message)
        except InvalidSignature as exc:
            raise NoteError(f"signature by {self.name} does not verify") from exc
        return timestamp


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key with its key name and signature type."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)
    sig_type: int = SIG_ED25519

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.sig_type not in _KNOWN_TYPES:
            raise KeyFormatError(f"unsupported signature type 0x{self.sig_type:02x}")

    @classmethod
    def generate(cls, name: str, sig_type: int = SIG_ED25519) -> Signer:
        return cls(name=name, private_key=Ed25519PrivateKey.generate(), sig_type=sig_type)

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or len(parts[3]) != 8:
            raise KeyFormatError("signer key must be PRIVATE+KEY+<name>+<hex id>+<base64>")
        name, hex_id, encoded = parts[2:]
        try:
            raw = unb64(encoded, "signer key")
            wanted = int(hex_id, 16)
        except (NoteError, ValueError) as exc:
            raise KeyFormatError("signer key is not well encoded") from exc
        if len(raw) != 33:
            raise KeyFormatError("signer key must hold a type byte and a 32-byte seed")
        signer = cls(
            name=name, private_key=Ed25519PrivateKey.from_private_bytes(raw[1:]), sig_type=raw[0]
        )
        if signer.verifier.key_id != wanted:
            raise KeyFormatError("signer key ID does not match its key")
        return signer

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def verifier(self) -> Verifier:
        return Verifier(name=self.name, public_key=self.public_key, sig_type=self.sig_type)

    @property
    def skey(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        kid = self.verifier.key_id
        return f"PRIVATE+KEY+{self.name}+{kid:08x}+{b64(bytes([self.sig_type]) + seed)}"

    def signature_line(self, text: str, *, timestamp: int | None = None) -> str:
        """One ``— name base64(key ID || signature)`` line over the note ``text``."""
        check_text(text)
        if self.sig_type == SIG_COSIGNATURE_V1:
            if timestamp is None or not 0 <= timestamp <= MAX_TIMESTAMP:
                raise NoteError("a cosignature needs a timestamp")
            sig = struct.pack(">Q", timestamp) + self.private_key.sign(
                cosignature_message(text, timestamp)
            )
        else:
            sig = self.private_key.sign(text.encode())
        blob = struct.pack(">I", self.verifier.key_id) + sig
        return f"{EM_DASH} {self.name} {b64(blob)}\n"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        return f"{EM_DASH} {self.name} {b64(struct.pack('>I', self.key_id) + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    signatures: tuple[NoteSignature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    verifier: Verifier
    signature: NoteSignature
    timestamp: int | None


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    note: Note
    verified: tuple[VerifiedSignature, ...]

    @property
    def text(self) -> str:
        return self.note.text


def check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise NoteError("note text must not contain control characters")


def sign(text: str, signers: Sequence[Signer], *, timestamp: int | None = None) -> str:
    """A signed note: ``text``, a blank line and one signature line per signer."""
    if not signers:
        raise NoteError("a note needs at least one signer")
    return text + "\n" + "".join(s.signature_line(text, timestamp=timestamp) for s in signers)


def parse_signature_line(line: str) -> NoteSignature:
    """Parse ``— name base64`` (without the newline)."""
    prefix = EM_DASH + " "
    if not line.startswith(prefix):
        raise NoteError("signature lines must start with an em dash and a space")
    name, sep, encoded = line[len(prefix) :].partition(" ")
    if not sep or not name or " " in encoded:
        raise NoteError("malformed signature line")
    try:
        check_key_name(name)
    except KeyFormatError as exc:
        raise NoteError("malformed key name in a signature line") from exc
    blob = unb64(encoded, "signature")
    if len(blob) < 5:
        raise NoteError("signature is too short")
    return NoteSignature(name=name, key_id=int.from_bytes(blob[:4], "big"), signature=blob[4:])


def parse(note: str | bytes) -> Note:
    """Split a signed note into its text and signature lines, checking the format."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise NoteError("note is too large")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not valid UTF-8") from exc
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise NoteError("note is too large")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise NoteError("note must not contain control characters")
    if not note.endswith("\n"):
        raise NoteError("note must end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    lines = sig_block[:-1].split("\n") if sig_block else []
    if not lines:
        raise NoteError("note has no signatures")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("note has too many signatures")
    return Note(text=text, signatures=tuple(parse_signature_line(line) for line in lines))


def open_note(note: str | bytes | Note, verifiers: Sequence[Verifier]) -> VerifiedNote:
    """Verify ``note`` against trusted keys, per signed-note §Signatures.

    Signatures from unknown (name, key ID) pairs are ignored; a known key whose signature
    fails rejects the whole note; at least one known signature must verify.
    """
    parsed = note if isinstance(note, Note) else parse(note)
    by_id = {(v.name, v.key_id): v for v in verifiers}
    verified: list[VerifiedSignature] = []
    seen: set[tuple[str, int]] = set()
    for sig in parsed.signatures:
        verifier = by_id.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        timestamp = verifier.verify(parsed.text, sig.signature)
        if (sig.name, sig.key_id) not in seen:
            seen.add((sig.name, sig.key_id))
            verified.append(VerifiedSignature(verifier, sig, timestamp))
    if not verified:
        raise NoteError("no signature from a trusted key")
    return VerifiedNote(note=parsed, verified=tuple(verified))
