"""Trusting a peer's checkpoint: its log signature plus k of n witness cosignatures.

Pure: no I/O. Cosignatures are C2SP tlog-cosignature ``cosignature/v1`` (Ed25519, key
type 0x04, 8-byte timestamp); signatures from unknown keys are ignored (C2SP
signed-note) and cosignatures dated in the future beyond a small skew do not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from honnin.ledger import checkpoint as checkpoint_mod
from honnin.ledger.checkpoint import Checkpoint
from honnin.ledger.errors import CheckpointError, CosignatureError, NoteError
from honnin.ledger.note import SIG_COSIGNATURE_V1, Verifier, open_note

MAX_CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True, slots=True)
class TrustedCheckpoint:
    checkpoint: Checkpoint
    witnesses: tuple[str, ...]


def verify_cosigned(
    note: str,
    *,
    log_key: Verifier,
    witness_keys: Sequence[Verifier],
    quorum: int,
    now: int,
) -> TrustedCheckpoint:
    """Verify the log's signature and at least ``quorum`` distinct witness cosignatures."""
    try:
        opened = open_note(note, [log_key, *witness_keys])
        cp = checkpoint_mod.parse(opened.text)
    except (NoteError, CheckpointError) as exc:
        raise CosignatureError(f"checkpoint rejected: {exc}") from exc
    if not any(v.verifier == log_key for v in opened.verified):
        raise CosignatureError("checkpoint is not signed by the log's key")
    if cp.origin != log_key.name:
        raise CosignatureError("checkpoint origin does not match the log's key name")
    witnesses = sorted(
        {
            v.verifier.name
            for v in opened.verified
            if v.verifier.sig_type == SIG_COSIGNATURE_V1
            and v.timestamp is not None
            and v.timestamp <= now + MAX_CLOCK_SKEW_SECONDS
        }
    )
    if len(witnesses) < quorum:
        raise CosignatureError(
            f"{len(witnesses)} valid witness cosignatures, policy requires {quorum}"
        )
    return TrustedCheckpoint(checkpoint=cp, witnesses=tuple(witnesses))
