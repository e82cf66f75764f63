"""Errors of the shared verification history (transparency log, witness, look-ups).

Every error carries a stable ``code`` and an HTTP ``status``; messages never contain
personal data (the ledger only ever sees pseudonyms and digests anyway).
"""

from __future__ import annotations

from honnin.errors import HonninError


class LedgerError(HonninError):
    """Base of every ledger error."""

    code = "ledger_error"
    status = 500


class ProofError(LedgerError):
    """A Merkle inclusion or consistency proof (RFC 9162 §2.1.3, §2.1.4) does not verify."""

    code = "invalid_proof"
    status = 422


class NoteError(LedgerError):
    """A signed note (C2SP signed-note) is malformed or carries no valid trusted signature."""

    code = "invalid_note"
    status = 400


class KeyFormatError(LedgerError):
    """A note signer or verifier key string is malformed."""

    code = "invalid_note_key"
    status = 400


class CheckpointError(LedgerError):
    """A checkpoint body (C2SP tlog-checkpoint) is malformed."""

    code = "invalid_checkpoint"
    status = 400


class TilePathError(LedgerError):
    """A tile or entry-bundle path (C2SP tlog-tiles) is malformed or names no served tile."""

    code = "tile_not_found"
    status = 404


class EntryError(LedgerError):
    """An entry cannot be appended (too large, not canonical, bad record)."""

    code = "invalid_entry"
    status = 400


class RangeError(LedgerError):
    """An index or tree size lies outside the log."""

    code = "out_of_range"
    status = 404


class LogIntegrityError(LedgerError):
    """The stored log contradicts a checkpoint it already signed; signing is refused."""

    code = "log_integrity_violation"
    status = 500


class WitnessError(LedgerError):
    """Base of the tlog-witness ``add-checkpoint`` refusals."""

    code = "witness_error"
    status = 400


class WitnessBadRequestError(WitnessError):
    code = "witness_bad_request"
    status = 400


class WitnessUnknownOriginError(WitnessError):
    code = "witness_unknown_origin"
    status = 404


class WitnessForbiddenError(WitnessError):
    code = "witness_untrusted_signature"
    status = 403


class WitnessConflictError(WitnessError):
    """The old size does not match the witness's record, or same size with another root."""

    code = "witness_conflict"
    status = 409

    def __init__(self, safe_message: str = "", *, latest_size: int) -> None:
        super().__init__(safe_message)
        self.latest_size = latest_size


class WitnessProofError(WitnessError):
    code = "witness_inconsistent"
    status = 422


class CosignatureError(LedgerError):
    """A peer's checkpoint lacks the configured quorum of valid witness cosignatures."""

    code = "insufficient_cosignatures"
    status = 502


class SplitViewError(LedgerError):
    """A peer served a checkpoint inconsistent with one it served before (forked log)."""

    code = "split_view_detected"
    status = 502


class BundleError(LedgerError):
    """A look-up bundle is malformed or fails offline verification."""

    code = "invalid_bundle"
    status = 422


class RecordError(LedgerError):
    """A verification record is malformed."""

    code = "invalid_record"
    status = 422


class ConsentRequiredError(LedgerError):
    code = "consent_required"
    status = 403


class LookupRequestError(LedgerError):
    """A look-up request is malformed, stale or not signed by a known peer."""

    code = "invalid_lookup_request"
    status = 401


class UnknownPeerError(LedgerError):
    code = "unknown_peer"
    status = 404


class LookupRateLimitedError(LedgerError):
    code = "lookup_rate_limited"
    status = 429


class PeerUnavailableError(LedgerError):
    code = "peer_unavailable"
    status = 502
