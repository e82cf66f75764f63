"""Tiled transparency log layout (C2SP tlog-tiles) and the appender's right edge.

Pure: no I/O. A tile at level ``L`` holds up to 256 consecutive hashes of complete
subtrees of height ``8L``; full tiles are exactly 256 hashes, the rightmost tile of each
level is *partial* (``floor(size / 256**L) mod 256`` hashes). Paths are
``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]`` with ``N`` written as
zero-padded 3-digit elements, every element but the last prefixed with ``x``
(1234067 -> ``x001/x234/067``). Entry bundles are big-endian uint16 length-prefixed
entries.

Storage keeps every tile with its internal levels ("layers": 256 + 128 + ... + 1 hashes
for a full tile), so the hash of any complete subtree of the log is one slice of one
stored tile and an RFC 9162 proof needs at most one tile per 8 tree levels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from honnin.ledger.errors import EntryError, TilePathError
from honnin.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_TREE_SIZE,
    Subtree,
    fold_subtrees,
    node_hash,
    root_of_hashes,
)

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF  # entry bundles use uint16 length prefixes
ENTRIES = "entries"


@dataclass(frozen=True, slots=True)
class TileRef:
    """One served resource: a hash tile (``level`` >= 0) or an entry bundle (``level`` None)."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def is_entries(self) -> bool:
        return self.level is None

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        head = ENTRIES if self.level is None else str(self.level)
        tail = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{head}/{encode_index(self.index)}{tail}"


def encode_index(n: int) -> str:
    """Tile index as 3-digit path elements, all but the last prefixed with ``x``."""
    if n < 0:
        raise TilePathError("tile index must be non-negative")
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def _decimal(text: str, what: str, low: int, high: int) -> int:
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise TilePathError(f"{what} must be a decimal number without leading zeroes")
    value = int(text)
    if not low <= value <= high:
        raise TilePathError(f"{what} out of range")
    return value


def parse_tile_path(path: str) -> TileRef:
    """Parse ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]`` (the part after ``tile/``)."""
    if len(path) > 200:
        raise TilePathError("tile path too long")
    elements = path.split("/")
    if len(elements) < 2:
        raise TilePathError("tile path needs a level and an index")
    head, *index_parts = elements
    level = None if head == ENTRIES else _decimal(head, "tile level", 0, MAX_LEVEL)
    width = TILE_WIDTH
    if len(index_parts) >= 2 and index_parts[-2].endswith(".p"):
        width = _decimal(index_parts[-1], "partial tile width", 1, TILE_WIDTH - 1)
        index_parts = [*index_parts[:-2], index_parts[-2][:-2]]
    index = 0
    for i, part in enumerate(index_parts):
        digits = part
        if i < len(index_parts) - 1:
            if not part.startswith("x"):
                raise TilePathError("all but the last index element must start with 'x'")
            digits = part[1:]
        if len(digits) != 3 or not digits.isascii() or not digits.isdigit():
            raise TilePathError("tile index elements must be three digits")
        index = index * 1000 + int(digits)
    ref = TileRef(level=level, index=index, width=width)
    if ref.path != f"tile/{path}":
        raise TilePathError("tile path is not in canonical form")
    if index > MAX_TREE_SIZE >> TILE_HEIGHT:
        raise TilePathError("tile index out of range")
    return ref


def tile_width(size: int, level: int, index: int) -> int:
    """How many hashes tile ``(level, index)`` holds in a tree of ``size`` leaves."""
    count = size >> (TILE_HEIGHT * level)
    start = index * TILE_WIDTH
    return max(0, min(TILE_WIDTH, count - start))


def locate(subtree: Subtree) -> tuple[int, int, int, int]:
    """``(tile level, tile index, layer, position)`` of a complete subtree's hash."""
    level, layer = divmod(subtree.height, TILE_HEIGHT)
    shift = TILE_HEIGHT - layer
    return level, subtree.index >> shift, layer, subtree.index & ((1 << shift) - 1)


def layer_offset(width: int, layer: int) -> int:
    """Position (in hashes) of ``layer`` in a stored tile of ``width`` base hashes."""
    return sum(width >> k for k in range(layer))


def build_layers(base: Sequence[bytes]) -> bytes:
    """Base hashes followed by every complete internal level above them."""
    layers = [b"".join(base)]
    level = list(base)
    while len(level) >= 2:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        layers.append(b"".join(level))
    return b"".join(layers)


def layer_node(nodes: bytes, width: int, layer: int, position: int) -> bytes:
    if not 0 <= position < width >> layer:
        raise TilePathError("subtree is not complete in this tile")
    start = (layer_offset(width, layer) + position) * HASH_SIZE
    return nodes[start : start + HASH_SIZE]


def tile_root(base: Sequence[bytes]) -> bytes:
    """Hash of a full tile: the complete subtree one tile level up."""
    if len(base) != TILE_WIDTH:
        raise TilePathError("only full tiles have a root")
    return root_of_hashes(base)


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise EntryError("entry larger than 65535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise EntryError("truncated entry bundle")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + length > len(data):
            raise EntryError("truncated entry bundle")
        entries.append(data[pos : pos + length])
        pos += length
    return entries


@dataclass(frozen=True, slots=True)
class TileWrite:
    level: int
    index: int
    base: tuple[bytes, ...]

    @property
    def width(self) -> int:
        return len(self.base)


class TreeEdge:
    """The right edge of the tree: the partial tile of every level, enough to append.

    Appending ``k`` leaves touches about ``k / 256`` tiles per level; the root is folded
    from the partial tiles' complete subtrees (RFC 9162 §2.1.1 split).
    """

    def __init__(self, size: int = 0, partials: Sequence[Sequence[bytes]] = ()) -> None:
        self.size = size
        self.partials: list[list[bytes]] = [list(p) for p in partials]
        for level, base in enumerate(self.partials):
            if len(base) != tile_width(size, level, (size >> (TILE_HEIGHT * level)) >> 8):
                raise TilePathError("partial tile widths do not match the tree size")

    @staticmethod
    def levels_for(size: int) -> int:
        levels = 1
        while size >> (TILE_HEIGHT * levels):
            levels += 1
        return levels

    def append(self, leaf_hashes: Sequence[bytes]) -> list[TileWrite]:
        """Add leaves; return the tiles to store (full ones once, partial ones last state)."""
        writes: dict[tuple[int, int], TileWrite] = {}
        for h in leaf_hashes:
            self._add(0, h, writes)
            self.size += 1
        for level, base in enumerate(self.partials):
            if base:
                index = (self.size >> (TILE_HEIGHT * level)) >> TILE_HEIGHT
                writes[(level, index)] = TileWrite(level, index, tuple(base))
        return list(writes.values())

    def _add(self, level: int, h: bytes, writes: dict[tuple[int, int], TileWrite]) -> None:
        while len(self.partials) <= level:
            self.partials.append([])
        base = self.partials[level]
        base.append(h)
        if len(base) == TILE_WIDTH:
            count = (self.size + 1) >> (TILE_HEIGHT * level)
            index = (count - 1) >> TILE_HEIGHT
            writes[(level, index)] = TileWrite(level, index, tuple(base))
            self.partials[level] = []
            self._add(level + 1, tile_root(base), writes)

    def root(self) -> bytes:
        subtrees: list[bytes] = []
        for base in reversed(self.partials):
            start = 0
            for bit in reversed(range(TILE_HEIGHT)):
                span = 1 << bit
                if len(base) & span:
                    subtrees.append(root_of_hashes(base[start : start + span]))
                    start += span
        return fold_subtrees(subtrees) if subtrees else EMPTY_ROOT
