"""C2SP tlog-tiles paths, entry bundles, stored tile layers and the appender's edge."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.ledger import merkle, tiles
from honnin.ledger.errors import EntryError, TilePathError


@pytest.mark.parametrize(
    ("index", "encoded"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_encoding(index: int, encoded: str) -> None:
    assert tiles.encode_index(index) == encoded


def test_paths_round_trip() -> None:
    assert tiles.parse_tile_path("0/x001/x234/067") == tiles.TileRef(0, 1234067)
    assert tiles.parse_tile_path("2/000.p/1") == tiles.TileRef(2, 0, 1)
    ref = tiles.parse_tile_path("entries/x001/234.p/255")
    assert ref.is_entries
    assert ref.index == 1234
    assert ref.width == 255
    assert ref.path == "tile/entries/x001/234.p/255"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0",
        "64/000",
        "01/000",
        "0/1",
        "0/0000",
        "0/001/234",
        "0/x000/001",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/010",
        "x/000",
        "0/x001",
        "0/000.p",
        "0/abc",
        "entries/",
    ],
)
def test_bad_paths(bad: str) -> None:
    with pytest.raises(TilePathError):
        tiles.parse_tile_path(bad)


@given(st.text(max_size=40))
def test_path_parser_raises_only_tile_path_errors(text: str) -> None:
    try:
        ref = tiles.parse_tile_path(text)
    except TilePathError:
        return
    assert ref.path == f"tile/{text}"


@given(st.integers(min_value=0, max_value=2**56 - 1))
def test_every_index_round_trips(index: int) -> None:
    assert tiles.parse_tile_path(f"1/{tiles.encode_index(index)}").index == index


def test_spec_example_tile_widths_for_70000() -> None:
    size = 70_000
    assert tiles.tile_width(size, 0, 272) == 256
    assert tiles.tile_width(size, 0, 273) == 112
    assert tiles.tile_width(size, 1, 0) == 256
    assert tiles.tile_width(size, 1, 1) == 17
    assert tiles.tile_width(size, 2, 0) == 1
    assert tiles.tile_width(256, 1, 0) == 1


def test_entry_bundles() -> None:
    entries = [b"", b"a", b"x" * 65535]
    data = tiles.encode_bundle(entries)
    assert data[:2] == b"\x00\x00"
    assert tiles.decode_bundle(data) == entries
    with pytest.raises(EntryError):
        tiles.decode_bundle(data[:-1])
    with pytest.raises(EntryError):
        tiles.encode_bundle([b"x" * 65536])


def test_edge_and_layers_give_every_subtree_and_root() -> None:
    rng = random.Random(7)
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(256 * 256 + 700)]
    edge = tiles.TreeEdge()
    stored: dict[tuple[int, int], tuple[int, bytes]] = {}
    pos = 0
    while pos < len(leaves):
        step = rng.choice([1, 3, 100, 255, 256, 1000, 5000])
        for w in edge.append(leaves[pos : pos + step]):
            stored[(w.level, w.index)] = (w.width, tiles.build_layers(w.base))
        pos += step
        assert edge.root() == merkle.root_of_hashes(leaves[:pos])
    size = len(leaves)
    for _ in range(300):
        height = rng.randrange(0, 17)
        count = size >> height
        if not count:
            continue
        sub = merkle.Subtree(height, rng.randrange(count))
        level, index, layer, position = tiles.locate(sub)
        width, nodes = stored[(level, index)]
        got = tiles.layer_node(nodes, width, layer, position)
        assert got == merkle.root_of_hashes(leaves[sub.start : sub.end])
    # a restarted appender continues from the stored partial tiles
    partials = []
    for level in range(tiles.TreeEdge.levels_for(size)):
        index = (size >> (8 * level)) >> 8
        width, nodes = stored.get((level, index), (0, b""))
        if width == 256:
            width = 0
        partials.append([nodes[i * 32 : i * 32 + 32] for i in range(width)])
    resumed = tiles.TreeEdge(size, partials)
    assert resumed.root() == edge.root()
