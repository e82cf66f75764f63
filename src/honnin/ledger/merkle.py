"""Merkle tree hashing, proofs and proof verification (RFC 9162 §2).

Pure: no I/O. Hashes are SHA-256 (RFC 9162 §2.1: leaf hash ``SHA-256(0x00 || d)``, node
hash ``SHA-256(0x01 || left || right)``, the empty tree hashes to ``SHA-256("")``).

``root``, ``inclusion_proof`` and ``consistency_proof`` take the log *entries* ``D[n]``
of RFC 9162 §2.1.1; the ``*_of_hashes`` twins take their leaf hashes. Storage-backed
logs use the *plans* instead: every proof element is the Merkle Tree Hash of one leaf
range ``[start, end)``, and every such range splits into complete, aligned subtrees
(``range_subtrees``) that a tiled store keeps precomputed, so a proof costs O(log n)
reads.

The verification functions follow the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
They return ``None`` when the proof holds and raise :class:`ProofError` otherwise —
including for hashes of the wrong length or type, negative or out-of-range indices and
sizes, and proofs longer than any tree of that size needs — never another exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from honnin.ledger.errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
# Tree sizes are uint64 in RFC 9162 §4; a proof never needs more than 64 hashes
# for inclusion and consistency alike (§2.1.3.2, §2.1.4.2 stop when sn reaches 0).
MAX_TREE_SIZE = (1 << 64) - 1
MAX_PROOF_LENGTH = 64

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


@dataclass(frozen=True, slots=True)
class Subtree:
    """The complete subtree of ``2**height`` leaves starting at leaf ``index * 2**height``."""

    height: int
    index: int

    @property
    def start(self) -> int:
        return self.index << self.height

    @property
    def end(self) -> int:
        return (self.index + 1) << self.height


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash ``MTH(D[n])`` of the entries ``leaves``."""
    return root_of_hashes([leaf_hash(d) for d in leaves])


def root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash of the tree whose leaf hashes are ``hashes``.

    Pairing level by level, carrying an odd last node up unchanged, builds exactly the
    tree of RFC 9162 §2.1.1 (split at the largest power of two below ``n``).
    """
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_plan(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form ``PATH(index, D[size])``, leaf-side first."""
    _check_index(index, size)
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m = start + k, m - k
    ranges.reverse()
    return ranges


def consistency_plan(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form ``PROOF(size1, D[size2])`` (RFC 9162 §2.1.4.1).

    Empty when ``size1`` is 0 or equals ``size2``.
    """
    _check_sizes(size1, size2)
    if size1 in (0, size2):
        return []
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    ranges.reverse()
    return ranges


def range_subtrees(start: int, end: int) -> list[Subtree]:
    """Complete aligned subtrees whose right fold is ``MTH(D[start:end])``.

    Valid for every range a proof plan produces: those start at a multiple of the
    smallest power of two covering their length, so the RFC split yields a complete
    left subtree at each step.
    """
    if not 0 <= start < end:
        raise ProofError("empty or negative leaf range")
    out: list[Subtree] = []
    while start < end:
        n = end - start
        height = n.bit_length() - 1 if n & n - 1 == 0 else split_point(n).bit_length() - 1
        if start % (1 << height):
            raise ProofError("leaf range is not aligned to its subtrees")
        out.append(Subtree(height, start >> height))
        start += 1 << height
    return out


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Right fold ``node(h1, node(h2, ... hk))`` of the subtrees of one range."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def proof_from_plan(
    plan: Sequence[tuple[int, int]], subtree_hash: Callable[[Subtree], bytes]
) -> list[bytes]:
    """Materialise a plan with a lookup of complete-subtree hashes (a tiled store)."""
    return [fold_subtrees([subtree_hash(s) for s in range_subtrees(a, b)]) for a, b in plan]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """``PATH(index, D[n])`` for the entries ``leaves`` (RFC 9162 §2.1.3.1)."""
    return inclusion_proof_of_hashes([leaf_hash(d) for d in leaves], index)


def inclusion_proof_of_hashes(hashes: Sequence[bytes], index: int) -> list[bytes]:
    return [root_of_hashes(hashes[a:b]) for a, b in inclusion_plan(index, len(hashes))]


def consistency_proof(leaves: Sequence[bytes], size1: int) -> list[bytes]:
    """``PROOF(size1, D[n])`` for the entries ``leaves`` (RFC 9162 §2.1.4.1)."""
    return consistency_proof_of_hashes([leaf_hash(d) for d in leaves], size1)


def consistency_proof_of_hashes(hashes: Sequence[bytes], size1: int) -> list[bytes]:
    return [root_of_hashes(hashes[a:b]) for a, b in consistency_plan(size1, len(hashes))]


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2; raises :class:`ProofError` unless ``leaf_hash`` is at ``index``."""
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root hash")
    _check_index(index, size)
    path = _check_proof(proof)
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not (fn & 1 or fn == 0):
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree needs")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2; raises :class:`ProofError` unless tree 1 is a prefix of tree 2."""
    _check_hash(root1, "first root hash")
    _check_hash(root2, "second root hash")
    _check_sizes(size1, size2)
    path = _check_proof(proof)
    if size1 == size2:
        if path:
            raise ProofError("consistency proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError("different root hashes for the same tree size")
        return
    if size1 == 0:
        if path:
            raise ProofError("consistency proof from the empty tree must be empty")
        if root1 != EMPTY_ROOT:
            raise ProofError("first root hash is not the empty tree hash")
        return
    if not path:
        raise ProofError("consistency proof is empty")
    _verify_consistency_path(size1, size2, path, root1, root2)


def _verify_consistency_path(
    size1: int, size2: int, path: list[bytes], root1: bytes, root2: bytes
) -> None:
    """The loop of RFC 9162 §2.1.4.2 for ``0 < size1 < size2`` and a non-empty path."""
    if size1 & (size1 - 1) == 0:
        path = [root1, *path]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the trees need")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not (fn & 1 or fn == 0):
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the trees need")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the first root hash")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the second root hash")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ProofError(f"{what} must be bytes")
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_size(size: object, what: str) -> None:
    if not _is_int(size):
        raise ProofError(f"{what} must be an integer")
    assert isinstance(size, int)
    if not 0 <= size <= MAX_TREE_SIZE:
        raise ProofError(f"{what} out of range")


def _check_index(index: object, size: object) -> None:
    _check_size(size, "tree size")
    if not _is_int(index):
        raise ProofError("leaf index must be an integer")
    assert isinstance(index, int)
    assert isinstance(size, int)
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} out of range for tree size {size}")


def _check_sizes(size1: object, size2: object) -> None:
    _check_size(size1, "first tree size")
    _check_size(size2, "second tree size")
    assert isinstance(size1, int)
    assert isinstance(size2, int)
    if size1 > size2:
        raise ProofError("first tree size is larger than the second")


def _check_proof(proof: object) -> list[bytes]:
    if isinstance(proof, bytes | str) or not isinstance(proof, Sequence):
        raise ProofError("proof must be a sequence of hashes")
    if len(proof) > MAX_PROOF_LENGTH:
        raise ProofError(f"proof has more than {MAX_PROOF_LENGTH} hashes")
    path: list[bytes] = []
    for item in proof:
        _check_hash(item, "proof hash")
        path.append(bytes(item))
    return path
