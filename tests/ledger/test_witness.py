"""tlog-witness ``add-checkpoint`` parsing and decision order (pure)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.ledger import merkle, note, witness
from honnin.ledger.checkpoint import Checkpoint
from honnin.ledger.errors import (
    WitnessBadRequestError,
    WitnessConflictError,
    WitnessError,
    WitnessForbiddenError,
    WitnessProofError,
    WitnessUnknownOriginError,
)

ORIGIN = "example.com/log"
LOG = note.Signer.generate(ORIGIN)
LEAVES = [bytes([i]) for i in range(20)]


def signed(size: int, signer: note.Signer = LOG, origin: str = ORIGIN) -> str:
    cp = Checkpoint(origin=origin, size=size, root_hash=merkle.root(LEAVES[:size]))
    return note.sign(cp.text, [signer])


def decide(old: int, proof: list[bytes], note_text: str, recorded: int | None) -> Checkpoint:
    request = witness.parse_request(witness.format_request(old, proof, note_text))
    rec = None if recorded is None else witness.Recorded(recorded, merkle.root(LEAVES[:recorded]))
    return witness.check(request, log_keys={ORIGIN: [LOG.verifier]}, recorded=rec)


def test_request_format_matches_the_spec_example_shape() -> None:
    body = witness.format_request(3, [b"\x01" * 32], "n\n\n— k AAAAAAA=\n")
    assert body.startswith(b"old 3\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\nn\n")
    parsed = witness.parse_request(body)
    assert parsed.old_size == 3
    assert parsed.proof == (b"\x01" * 32,)


def test_accepts_first_contact_and_consistent_growth() -> None:
    assert decide(0, [], signed(5), None).size == 5
    proof = merkle.consistency_proof(LEAVES[:12], 5)
    assert decide(5, proof, signed(12), 5).size == 12
    assert decide(12, [], signed(12), 12).size == 12


def test_refusals_in_spec_order() -> None:
    stranger = note.Signer.generate("other.example/log")
    with pytest.raises(WitnessUnknownOriginError):
        decide(0, [], signed(5, stranger, "other.example/log"), None)
    with pytest.raises(WitnessForbiddenError):
        decide(0, [], signed(5, note.Signer.generate(ORIGIN)), None)
    with pytest.raises(WitnessBadRequestError):
        decide(6, [], signed(5), 6)
    with pytest.raises(WitnessConflictError) as conflict:
        decide(0, [], signed(12), 5)
    assert conflict.value.latest_size == 5
    with pytest.raises(WitnessProofError):
        decide(5, [merkle.EMPTY_ROOT] * 3, signed(12), 5)
    forged = note.sign(Checkpoint(ORIGIN, 5, merkle.EMPTY_ROOT).text, [LOG])
    with pytest.raises(WitnessConflictError):
        decide(5, [], forged, 5)
    with pytest.raises(WitnessProofError):
        decide(0, [merkle.EMPTY_ROOT], signed(5), None)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 1\n",
        b"old -1\n\nx",
        b"old 01\n\nx",
        b"new 1\n\nx",
        b"old 1\n!!\n\nx",
        b"old 1\nAAAA\n\nx",
        b"\xff\xfe\n\n",
        b"old 0\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\n",
    ],
)
def test_malformed_requests(body: bytes) -> None:
    with pytest.raises(WitnessBadRequestError):
        witness.parse_request(body)


@given(st.binary(max_size=400))
def test_parser_and_checks_raise_only_witness_errors(body: bytes) -> None:
    with contextlib.suppress(WitnessError):
        request = witness.parse_request(body)
        witness.check(request, log_keys={ORIGIN: [LOG.verifier]}, recorded=None)
