"""Verification look-ups between providers: signed requests and offline-verifiable bundles.

Pure: no I/O. A request is a C2SP signed note by the requester's log key, so the
responder authenticates the peer and keeps a non-repudiable audit record. The answer is
a bundle: matching entries with RFC 9162 inclusion proofs against a checkpoint carrying
the responder's signature and witness cosignatures (C2SP tlog-cosignature), plus a
consistency proof from the tree size the requester already knows — so the requester can
verify it offline, detect a forked (split) view, and drop expired records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from honnin.ledger import merkle
from honnin.ledger.cosignature import TrustedCheckpoint, verify_cosigned
from honnin.ledger.errors import (
    BundleError,
    LookupRequestError,
    NoteError,
    ProofError,
    RecordError,
    SplitViewError,
)
from honnin.ledger.note import Signer, Verifier, b64, open_note, parse, sign, unb64
from honnin.ledger.records import VerificationRecord, parse_record

REQUEST_HEADER = "honnin.ledger/lookup/v1"
BUNDLE_FORMAT = "honnin.ledger/bundle/v1"
MAX_BUNDLE_ENTRIES = 64
_REQUEST_FIELDS = (
    "requester",
    "responder",
    "subject",
    "methods",
    "max-age-days",
    "consent",
    "time",
    "known-size",
)


@dataclass(frozen=True, slots=True)
class LookupRequest:
    requester: str
    responder: str
    subject_id: str
    methods: tuple[str, ...]
    max_age_days: int
    consent: str
    time: int
    known_size: int

    @property
    def text(self) -> str:
        values = [
            self.requester,
            self.responder,
            self.subject_id,
            ",".join(self.methods),
            str(self.max_age_days),
            self.consent,
            str(self.time),
            str(self.known_size),
        ]
        pairs = zip(_REQUEST_FIELDS, values, strict=True)
        lines = [REQUEST_HEADER, *(f"{k} {v}" for k, v in pairs)]
        return "\n".join(lines) + "\n"

    def signed(self, signer: Signer) -> str:
        return sign(self.text, [signer])


def parse_request_text(text: str) -> LookupRequest:
    lines = text.removesuffix("\n").split("\n")
    if len(lines) != len(_REQUEST_FIELDS) + 1 or lines[0] != REQUEST_HEADER:
        raise LookupRequestError("not a lookup/v1 request")
    values: dict[str, str] = {}
    for name, line in zip(_REQUEST_FIELDS, lines[1:], strict=True):
        key, sep, value = line.partition(" ")
        if key != name or not sep or not value or " " in value:
            raise LookupRequestError(f"request line {name!r} is malformed")
        values[name] = value
    numbers = {}
    for name in ("max-age-days", "time", "known-size"):
        raw = values[name]
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
            raise LookupRequestError(f"request {name} must be a decimal number")
        numbers[name] = int(raw)
    methods = tuple(m for m in values["methods"].split(",") if m)
    if not methods:
        raise LookupRequestError("request names no accepted method")
    return LookupRequest(
        requester=values["requester"],
        responder=values["responder"],
        subject_id=values["subject"],
        methods=methods,
        max_age_days=numbers["max-age-days"],
        consent=values["consent"],
        time=numbers["time"],
        known_size=numbers["known-size"],
    )


def open_request(note: str, *, peer_keys: Mapping[str, Verifier]) -> LookupRequest:
    """Verify a request note against the configured peers' log keys."""
    try:
        parsed = parse(note)
    except NoteError as exc:
        raise LookupRequestError("request is not a signed note") from exc
    request = parse_request_text(parsed.text)
    key = peer_keys.get(request.requester)
    if key is None:
        raise LookupRequestError("requester is not a configured peer")
    try:
        open_note(parsed, [key])
    except NoteError as exc:
        raise LookupRequestError("request is not signed by the requester's key") from exc
    return request


@dataclass(frozen=True, slots=True)
class BundleEntry:
    index: int
    entry: bytes
    inclusion_proof: tuple[bytes, ...]


def build_bundle(
    *,
    origin: str,
    checkpoint_note: str,
    entries: Sequence[BundleEntry],
    known_size: int,
    consistency_proof: Sequence[bytes],
) -> dict[str, Any]:
    return {
        "format": BUNDLE_FORMAT,
        "origin": origin,
        "checkpoint": checkpoint_note,
        "entries": [
            {
                "index": e.index,
                "entry": b64(e.entry),
                "inclusion_proof": [b64(h) for h in e.inclusion_proof],
            }
            for e in entries
        ],
        "consistency": {"from_size": known_size, "proof": [b64(h) for h in consistency_proof]},
    }


@dataclass(frozen=True, slots=True)
class PeerTrust:
    """What the requester trusts about one peer: its log key and its last verified head."""

    origin: str
    log_key: Verifier
    known_size: int = 0
    known_root: bytes = merkle.EMPTY_ROOT


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    trusted: TrustedCheckpoint
    checkpoint_note: str
    usable: tuple[VerificationRecord, ...]
    expired: int
    other_method: int


def _b64_list(value: object, what: str) -> list[bytes]:
    if not isinstance(value, list) or len(value) > merkle.MAX_PROOF_LENGTH:
        raise BundleError(f"{what} must be a list of at most 64 hashes")
    try:
        return [unb64(item, what) if isinstance(item, str) else b"" for item in value]
    except NoteError as exc:
        raise BundleError(f"{what} is not base64") from exc


def verify_bundle(
    bundle: Mapping[str, Any],
    *,
    peer: PeerTrust,
    witness_keys: Sequence[Verifier],
    quorum: int,
    subject_id: str,
    methods: Sequence[str],
    max_age_days: int,
    now: datetime,
) -> VerifiedBundle:
    """Verify a bundle offline; raises on tampering or a split view, drops expired records."""
    if not isinstance(bundle, Mapping) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError("not a lookup bundle")
    if bundle.get("origin") != peer.origin:
        raise BundleError("bundle comes from another log")
    note = bundle.get("checkpoint")
    if not isinstance(note, str):
        raise BundleError("bundle lacks its checkpoint")
    trusted = verify_cosigned(
        note,
        log_key=peer.log_key,
        witness_keys=witness_keys,
        quorum=quorum,
        now=int(now.timestamp()),
    )
    cp = trusted.checkpoint
    _check_consistency(bundle.get("consistency"), peer, cp.size, cp.root_hash)
    raw_entries = bundle.get("entries")
    if not isinstance(raw_entries, list) or len(raw_entries) > MAX_BUNDLE_ENTRIES:
        raise BundleError("bundle entries must be a list")
    usable: list[VerificationRecord] = []
    expired = other_method = 0
    seen: set[int] = set()
    for item in raw_entries:
        record, index = _verify_entry(item, cp.size, cp.root_hash)
        if index in seen:
            raise BundleError("bundle repeats an entry")
        seen.add(index)
        if record.subject_id != subject_id:
            raise BundleError("bundle holds a record of another subject")
        if record.provider != peer.origin:
            raise BundleError("bundle holds a record of another provider")
        if record.method not in methods:
            other_method += 1
        elif record.usable_at(now, max_age_days=max_age_days):
            usable.append(record)
        else:
            expired += 1
    return VerifiedBundle(
        trusted=trusted,
        checkpoint_note=note,
        usable=tuple(usable),
        expired=expired,
        other_method=other_method,
    )


def _check_consistency(value: object, peer: PeerTrust, size: int, root: bytes) -> None:
    if peer.known_size == 0:
        return
    if not isinstance(value, Mapping) or value.get("from_size") != peer.known_size:
        raise SplitViewError("bundle lacks a consistency proof from the known tree size")
    proof = _b64_list(value.get("proof"), "consistency proof")
    if size < peer.known_size:
        raise SplitViewError("peer answered with a tree older than one it showed before")
    try:
        merkle.verify_consistency(peer.known_size, size, proof, peer.known_root, root)
    except ProofError as exc:
        raise SplitViewError("peer's tree is inconsistent with its earlier tree") from exc


def _verify_entry(item: object, size: int, root: bytes) -> tuple[VerificationRecord, int]:
    if not isinstance(item, Mapping):
        raise BundleError("bundle entry must be an object")
    index, data = item.get("index"), item.get("entry")
    if not isinstance(index, int) or isinstance(index, bool) or not isinstance(data, str):
        raise BundleError("bundle entry lacks index or entry")
    try:
        entry = unb64(data, "entry")
    except NoteError as exc:
        raise BundleError("bundle entry is not base64") from exc
    proof = _b64_list(item.get("inclusion_proof"), "inclusion proof")
    try:
        merkle.verify_inclusion(merkle.leaf_hash(entry), index, size, proof, root)
    except ProofError as exc:
        raise BundleError(f"entry {index} is not in the checkpointed tree: {exc}") from exc
    try:
        return parse_record(entry), index
    except RecordError as exc:
        raise BundleError("bundle entry is not a verification record") from exc
