"""Witness protocol (C2SP tlog-witness ``add-checkpoint``) and its decision rules.

Pure: no I/O. The request body is ``old <size>``, up to 63 base64 consistency-proof
lines, an empty line, then the signed checkpoint. The checks run in the order the spec
gives: unknown origin 404, no trusted log signature 403, old size above the checkpoint
size 400, old size other than the recorded one 409 (body: the recorded size), same size
with another root 409, consistency proof failing 422.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from honnin.ledger import checkpoint as checkpoint_mod
from honnin.ledger import merkle
from honnin.ledger.checkpoint import Checkpoint
from honnin.ledger.errors import (
    CheckpointError,
    NoteError,
    ProofError,
    WitnessBadRequestError,
    WitnessConflictError,
    WitnessForbiddenError,
    WitnessProofError,
    WitnessUnknownOriginError,
)
from honnin.ledger.note import Verifier, b64, open_note, parse, unb64

MAX_PROOF_LINES = 63
MAX_BODY_BYTES = 1 << 16
SIZE_CONTENT_TYPE = "text/x.tlog.size"


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the witness last cosigned for one origin."""

    size: int
    root_hash: bytes


def format_request(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    lines = [f"old {old_size}", *(b64(h) for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def parse_request(body: bytes) -> AddCheckpoint:
    if len(body) > MAX_BODY_BYTES:
        raise WitnessBadRequestError("request body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessBadRequestError("request body is not UTF-8") from exc
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessBadRequestError("request lacks the empty line before the checkpoint")
    lines = head.split("\n")
    old_line, proof_lines = lines[0], lines[1:]
    size_text = old_line.removeprefix("old ")
    if (
        size_text == old_line
        or not size_text.isascii()
        or not size_text.isdigit()
        or (size_text != "0" and size_text.startswith("0"))
    ):
        raise WitnessBadRequestError("first line must be 'old <size>'")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessBadRequestError("more than 63 consistency proof lines")
    try:
        proof = tuple(unb64(line, "consistency proof line") for line in proof_lines)
    except NoteError as exc:
        raise WitnessBadRequestError("consistency proof lines must be base64") from exc
    if any(len(h) != merkle.HASH_SIZE for h in proof):
        raise WitnessBadRequestError("consistency proof hashes must be 32 bytes")
    return AddCheckpoint(old_size=int(size_text), proof=proof, note=note)


def check(
    request: AddCheckpoint,
    *,
    log_keys: Mapping[str, Sequence[Verifier]],
    recorded: Recorded | None,
) -> Checkpoint:
    """Decide on one ``add-checkpoint``; returns the checkpoint to cosign or raises."""
    try:
        parsed = parse(request.note)
        cp = checkpoint_mod.parse(parsed.text)
    except (NoteError, CheckpointError) as exc:
        raise WitnessBadRequestError("malformed checkpoint") from exc
    keys = log_keys.get(cp.origin)
    if not keys:
        raise WitnessUnknownOriginError("unknown log origin")
    try:
        open_note(parsed, keys)
    except NoteError as exc:
        raise WitnessForbiddenError("no valid signature from the log's key") from exc
    if request.old_size > cp.size:
        raise WitnessBadRequestError("old size is larger than the checkpoint size")
    latest = recorded.size if recorded is not None else 0
    if request.old_size != latest:
        raise WitnessConflictError("old size does not match", latest_size=latest)
    if recorded is not None and request.old_size == cp.size:
        if cp.root_hash != recorded.root_hash:
            raise WitnessConflictError("same size, different root hash", latest_size=latest)
        if request.proof:
            raise WitnessProofError("consistency proof between equal sizes must be empty")
        return cp
    if request.old_size == 0:
        if request.proof:
            raise WitnessProofError("consistency proof from size 0 must be empty")
        return cp
    assert recorded is not None
    try:
        merkle.verify_consistency(
            recorded.size, cp.size, request.proof, recorded.root_hash, cp.root_hash
        )
    except ProofError as exc:
        raise WitnessProofError("consistency proof does not verify") from exc
    return cp
