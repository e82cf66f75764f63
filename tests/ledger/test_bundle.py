"""Look-up requests and offline bundle verification (pure)."""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.ledger import bundle, merkle, note, records
from honnin.ledger.checkpoint import Checkpoint
from honnin.ledger.errors import BundleError, CosignatureError, LookupRequestError, SplitViewError

ORIGIN = "a.test/ledger"
LOG = note.Signer.generate(ORIGIN)
W1 = note.Signer.generate("w1.test", note.SIG_COSIGNATURE_V1)
W2 = note.Signer.generate("w2.test", note.SIG_COSIGNATURE_V1)
NOW = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
SUBJECT = "ab" * 32


def record(method: str = "jp_he", age_days: int = 3, valid_days: int = 365) -> bytes:
    at = NOW - timedelta(days=age_days)
    return records.VerificationRecord(
        subject_id=SUBJECT,
        provider=ORIGIN,
        method=method,
        assurance_level="IAL2",
        verified_at=at,
        valid_until=at + timedelta(days=valid_days),
        evidence_digest="cd" * 32,
    ).to_entry()


ENTRIES = [b"other-0", record(), b"other-2", record(age_days=500), record("jp_ho")]


def make_bundle(witnesses: list[note.Signer], entries: list[bytes] = ENTRIES) -> dict[str, Any]:
    cp = Checkpoint(ORIGIN, len(entries), merkle.root(entries))
    text = note.sign(cp.text, [LOG])
    text += "".join(w.signature_line(cp.text, timestamp=int(NOW.timestamp())) for w in witnesses)
    picks = [1, 3, 4]
    return bundle.build_bundle(
        origin=ORIGIN,
        checkpoint_note=text,
        entries=[
            bundle.BundleEntry(i, entries[i], tuple(merkle.inclusion_proof(entries, i)))
            for i in picks
        ],
        known_size=2,
        consistency_proof=merkle.consistency_proof(entries, 2),
    )


def verify(data: dict[str, Any], quorum: int = 2, known: int = 2) -> bundle.VerifiedBundle:
    return bundle.verify_bundle(
        data,
        peer=bundle.PeerTrust(ORIGIN, LOG.verifier, known, merkle.root(ENTRIES[:known])),
        witness_keys=[W1.verifier, W2.verifier],
        quorum=quorum,
        subject_id=SUBJECT,
        methods=["jp_he"],
        max_age_days=90,
        now=NOW,
    )


def test_valid_bundle_keeps_only_fresh_accepted_records() -> None:
    result = verify(make_bundle([W1, W2]))
    assert len(result.usable) == 1
    assert result.expired == 1
    assert result.other_method == 1
    assert result.trusted.witnesses == ("w1.test", "w2.test")


def test_quorum_is_k_of_n() -> None:
    verify(make_bundle([W1]), quorum=1)
    with pytest.raises(CosignatureError):
        verify(make_bundle([W1]), quorum=2)
    outsider = note.Signer.generate("w3.test", note.SIG_COSIGNATURE_V1)
    with pytest.raises(CosignatureError):
        verify(make_bundle([W1, outsider]), quorum=2)


def test_tampering_is_rejected() -> None:
    good = make_bundle([W1, W2])
    swapped = copy.deepcopy(good)
    swapped["entries"][0]["index"] = 2
    with pytest.raises(BundleError):
        verify(swapped)
    proof = copy.deepcopy(good)
    proof["entries"][0]["inclusion_proof"] = proof["entries"][0]["inclusion_proof"][:-1]
    with pytest.raises(BundleError):
        verify(proof)
    dup = copy.deepcopy(good)
    dup["entries"].append(dup["entries"][0])
    with pytest.raises(BundleError, match="repeats"):
        verify(dup)
    with pytest.raises(BundleError):
        verify({**good, "origin": "b.test/ledger"})


def test_split_view_against_the_known_tree_is_detected() -> None:
    forked = [b"forked-0", *ENTRIES[1:]]
    data = make_bundle([W1, W2], forked)
    with pytest.raises(SplitViewError):
        verify(data)
    stale = copy.deepcopy(make_bundle([W1, W2]))
    stale["consistency"]["from_size"] = 1
    with pytest.raises(SplitViewError):
        verify(stale)


def test_request_round_trip_and_authentication() -> None:
    request = bundle.LookupRequest(
        requester="b.test/ledger",
        responder=ORIGIN,
        subject_id=SUBJECT,
        methods=("jp_he", "icao_chip"),
        max_age_days=30,
        consent="consent-1",
        time=1_800_000_000,
        known_size=7,
    )
    requester = note.Signer.generate("b.test/ledger")
    signed = request.signed(requester)
    assert bundle.open_request(signed, peer_keys={"b.test/ledger": requester.verifier}) == request
    with pytest.raises(LookupRequestError):
        bundle.open_request(signed, peer_keys={"b.test/ledger": LOG.verifier})
    with pytest.raises(LookupRequestError):
        bundle.open_request(signed, peer_keys={})


@given(st.text(max_size=300))
def test_request_parser_raises_only_request_errors(text: str) -> None:
    with contextlib.suppress(LookupRequestError):
        bundle.parse_request_text(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=10), children, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_bundle_verifier_raises_only_ledger_errors(data: Any) -> None:
    from honnin.ledger.errors import LedgerError

    with contextlib.suppress(LedgerError):
        verify(data if not isinstance(data, dict) else {**make_bundle([W1, W2]), **data})
