"""Transparency log checkpoints (C2SP tlog-checkpoint v1.0.0).

Pure: no I/O. The note text is the origin line, the decimal tree size (no leading
zeroes) and the base64 root hash, then optional non-empty extension lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from honnin.ledger.errors import CheckpointError, NoteError
from honnin.ledger.merkle import HASH_SIZE, MAX_TREE_SIZE
from honnin.ledger.note import b64, unb64


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or any(ord(ch) < 0x20 for ch in self.origin):
            raise CheckpointError("checkpoint origin must be a non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError("checkpoint tree size out of range")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError("checkpoint root hash must be 32 bytes")
        for line in self.extensions:
            if not line or any(ord(ch) < 0x20 for ch in line):
                raise CheckpointError("extension lines must be non-empty single lines")

    @property
    def text(self) -> str:
        lines = [self.origin, str(self.size), b64(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"


def parse(text: str) -> Checkpoint:
    """Parse a checkpoint note text (the part before the signatures)."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise CheckpointError("checkpoint needs origin, size and root lines, none empty")
    origin, size_text, root_text, *extensions = lines
    if not size_text.isascii() or not size_text.isdigit():
        raise CheckpointError("checkpoint size is not a decimal number")
    if size_text != "0" and size_text.startswith("0"):
        raise CheckpointError("checkpoint size has leading zeroes")
    try:
        root_hash = unb64(root_text, "checkpoint root hash")
    except NoteError as exc:
        raise CheckpointError("checkpoint root hash is not base64") from exc
    if b64(root_hash) != root_text:
        raise CheckpointError("checkpoint root hash is not canonical base64")
    return Checkpoint(
        origin=origin, size=int(size_text), root_hash=root_hash, extensions=tuple(extensions)
    )
