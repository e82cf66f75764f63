"""RFC 9162 §2 Merkle proofs against a naive reference, for every tree size up to 300."""

from __future__ import annotations

import contextlib
import hashlib
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.ledger import merkle
from honnin.ledger.errors import ProofError

MAX_SIZE = 300
LEAVES = [f"entry-{i}".encode() for i in range(MAX_SIZE)]


# --- naive reference: the recursive definitions of RFC 9162 §2.1, written independently ---


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def ref_mth(start: int, end: int) -> bytes:
    n = end - start
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + LEAVES[start])
    k = _k(n)
    return _sha(b"\x01" + ref_mth(start, start + k) + ref_mth(start + k, end))


def ref_path(m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, start, start + k), ref_mth(start + k, end)]
    return [*ref_path(m - k, start + k, end), ref_mth(start, start + k)]


def ref_subproof(m: int, start: int, end: int, b: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if b else [ref_mth(start, end)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, start, start + k, b), ref_mth(start + k, end)]
    return [*ref_subproof(m - k, start + k, end, False), ref_mth(start, start + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    if m in (0, n):
        return []
    return ref_subproof(m, 0, n, True)


def stored_subtree(subtree: merkle.Subtree) -> bytes:
    """What a tiled store would hold: the hash of one complete aligned subtree."""
    return ref_mth(subtree.start, subtree.end)


# --- hashing and roots ---


def test_leaf_and_node_hash_use_rfc_prefixes() -> None:
    assert merkle.leaf_hash(b"x") == _sha(b"\x00x")
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == _sha(b"\x01" + b"a" * 32 + b"b" * 32)
    assert merkle.root([]) == _sha(b"")


def test_root_matches_reference_for_every_size() -> None:
    hashes = [merkle.leaf_hash(d) for d in LEAVES]
    for n in range(MAX_SIZE + 1):
        assert merkle.root_of_hashes(hashes[:n]) == ref_mth(0, n)
    assert merkle.root(LEAVES[:7]) == ref_mth(0, 7)


# --- inclusion ---


def test_inclusion_for_every_index_and_size() -> None:
    for n in range(1, MAX_SIZE + 1):
        root = ref_mth(0, n)
        for m in range(n):
            expected = ref_path(m, 0, n)
            proof = merkle.proof_from_plan(merkle.inclusion_plan(m, n), stored_subtree)
            assert proof == expected, (m, n)
            merkle.verify_inclusion(ref_mth(m, m + 1), m, n, proof, root)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 64, 100, 255, 256, 257, 300])
def test_in_memory_inclusion_proof_matches_reference(n: int) -> None:
    for m in range(n):
        assert merkle.inclusion_proof(LEAVES[:n], m) == ref_path(m, 0, n)


def test_inclusion_rejects_wrong_leaf_index_size_and_tampering() -> None:
    for n in range(2, 70):
        root = ref_mth(0, n)
        for m in range(n):
            proof = ref_path(m, 0, n)
            leaf = ref_mth(m, m + 1)
            with pytest.raises(ProofError):
                merkle.verify_inclusion(ref_mth((m + 1) % n, (m + 1) % n + 1), m, n, proof, root)
            with pytest.raises(ProofError):
                merkle.verify_inclusion(leaf, m, n, [*proof, leaf], root)
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
                with pytest.raises(ProofError):
                    merkle.verify_inclusion(leaf, m, n, bad, root)
            if proof:
                with pytest.raises(ProofError):
                    merkle.verify_inclusion(leaf, m, n, proof[:-1], root)


# --- consistency ---


def test_consistency_for_every_pair_of_sizes() -> None:
    for n in range(1, MAX_SIZE + 1):
        root2 = ref_mth(0, n)
        for m in range(n + 1):
            expected = ref_proof(m, n)
            proof = merkle.proof_from_plan(merkle.consistency_plan(m, n), stored_subtree)
            assert proof == expected, (m, n)
            merkle.verify_consistency(m, n, proof, ref_mth(0, m), root2)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 17, 100, 256, 300])
def test_in_memory_consistency_proof_matches_reference(n: int) -> None:
    for m in range(n + 1):
        assert merkle.consistency_proof(LEAVES[:n], m) == ref_proof(m, n)


def test_consistency_rejects_forks_and_tampering() -> None:
    for n in range(2, 60):
        for m in range(1, n):
            proof = ref_proof(m, n)
            r1, r2 = ref_mth(0, m), ref_mth(0, n)
            with pytest.raises(ProofError):
                merkle.verify_consistency(m, n, proof, ref_mth(1, m + 1), r2)
            with pytest.raises(ProofError):
                merkle.verify_consistency(m, n, proof, r1, ref_mth(1, n))
            with pytest.raises(ProofError):
                merkle.verify_consistency(m, n, [*proof, r1], r1, r2)
            with pytest.raises(ProofError):
                merkle.verify_consistency(m, n, proof[:-1], r1, r2)


def test_consistency_edge_sizes() -> None:
    r = ref_mth(0, 5)
    merkle.verify_consistency(5, 5, [], r, r)
    merkle.verify_consistency(0, 5, [], merkle.EMPTY_ROOT, r)
    with pytest.raises(ProofError):
        merkle.verify_consistency(5, 5, [], r, ref_mth(0, 4))
    with pytest.raises(ProofError):
        merkle.verify_consistency(5, 5, [r], r, r)
    with pytest.raises(ProofError):
        merkle.verify_consistency(0, 5, [r], merkle.EMPTY_ROOT, r)
    with pytest.raises(ProofError):
        merkle.verify_consistency(6, 5, [], r, r)


# --- bad input: ProofError and nothing else ---

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.binary(max_size=40),
    st.text(max_size=5),
    st.lists(st.binary(min_size=31, max_size=33), max_size=70),
    st.lists(st.integers(), max_size=3),
)


@given(leaf=junk, index=junk, size=junk, proof=junk, root=junk)
def test_verify_inclusion_raises_only_proof_error(
    leaf: object, index: object, size: object, proof: object, root: object
) -> None:
    with contextlib.suppress(ProofError):
        merkle.verify_inclusion(leaf, index, size, proof, root)  # type: ignore[arg-type]


@given(size1=junk, size2=junk, proof=junk, root1=junk, root2=junk)
def test_verify_consistency_raises_only_proof_error(
    size1: object, size2: object, proof: object, root1: object, root2: object
) -> None:
    with contextlib.suppress(ProofError):
        merkle.verify_consistency(size1, size2, proof, root1, root2)  # type: ignore[arg-type]


@given(
    index=st.integers(min_value=0, max_value=2**64),
    size=st.integers(min_value=0, max_value=2**64 + 5),
    length=st.integers(min_value=0, max_value=80),
)
def test_wellformed_but_wrong_inclusion_is_a_proof_error(
    index: int, size: int, length: int
) -> None:
    with pytest.raises(ProofError):
        merkle.verify_inclusion(b"\x11" * 32, index, size, [b"\x22" * 32] * length, b"\x33" * 32)


def test_specific_bad_inputs() -> None:
    h = b"\x00" * 32
    with pytest.raises(ProofError, match="32 bytes"):
        merkle.verify_inclusion(b"short", 0, 1, [], h)
    with pytest.raises(ProofError, match="out of range"):
        merkle.verify_inclusion(h, 1, 1, [], h)
    with pytest.raises(ProofError, match="out of range"):
        merkle.verify_inclusion(h, -1, 1, [], h)
    with pytest.raises(ProofError, match="more than 64"):
        merkle.verify_inclusion(h, 0, 2, [h] * 65, h)
    with pytest.raises(ProofError, match="more than 64"):
        merkle.verify_consistency(1, 2, [h] * 65, h, h)
    with pytest.raises(ProofError):
        merkle.inclusion_plan(0, 0)
    with pytest.raises(ProofError):
        merkle.range_subtrees(3, 5)
