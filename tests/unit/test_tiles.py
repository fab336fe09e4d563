"""C2SP tlog-tiles: path encoding, which tiles a size has, entry bundles, roots from tiles."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.tlog import merkle
from ledger.tlog.tiles import (
    ENTRIES,
    EntryTooLargeError,
    Tile,
    TilePathError,
    encode_index,
    entry_bundle,
    parse_entry_bundle,
    parse_path,
    root_from_tiles,
    tile_bytes,
    tiles_for_root,
)


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_encoding_of_the_spec(index: int, path: str) -> None:
    assert encode_index(index) == path
    assert parse_path(f"0/{path}") == Tile(0, index)


def test_paths_round_trip_with_partial_widths_and_entries() -> None:
    for tile in (Tile(0, 3), Tile(2, 1234067, 17), Tile(ENTRIES, 0, 1), Tile(63, 0, 255)):
        assert tile.path.startswith("tile/")
        assert parse_path(tile.path.removeprefix("tile/")) == tile
    assert Tile(1, 1234067, 17).path == "tile/1/x001/x234/067.p/17"


@pytest.mark.parametrize(
    "path",
    [
        "64/000",  # level above 63
        "01/000",  # leading zero in the level
        "0/5",  # not three digits
        "0/0005",
        "0/001/002",  # a non-final element without x
        "0/x000/005",  # a leading zero element
        "0/000.p/0",  # width 0
        "0/000.p/256",  # width 256 is a full tile
        "0/000.p/07",
        "0/000.p",
        "abc/000",
        "0",
        "entries/x1/000",
    ],
)
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(TilePathError):
        parse_path(path)


def test_which_tiles_a_size_has() -> None:
    # The spec's example: a tree of 70,000 has 273 full level-0 tiles, a partial of 112, one
    # full level-1 tile, a partial level-1 tile of 17 and a partial level-2 tile of 1.
    size = 70_000
    assert Tile(0, 272).fits(size)
    assert not Tile(0, 273).fits(size)
    assert Tile(0, 273, 112).fits(size)
    assert not Tile(0, 273, 113).fits(size)
    assert Tile(1, 0).fits(size)
    assert Tile(1, 1, 17).fits(size)
    assert not Tile(1, 1).fits(size)
    assert Tile(2, 0, 1).fits(size)
    assert not Tile(2, 0, 2).fits(size)
    assert not Tile(3, 0, 1).fits(size)
    # A tree of 256: one full level-0 tile and a level-1 tile of width 1.
    assert Tile(0, 0).fits(256)
    assert Tile(1, 0, 1).fits(256)
    assert not Tile(0, 1, 1).fits(256)


def test_entry_bundles_round_trip_and_refuse_oversized_entries() -> None:
    values = [b"", b"a", bytes(range(256)) * 10]
    assert parse_entry_bundle(entry_bundle(values)) == values
    assert entry_bundle([b"ab"]) == b"\x00\x02ab"
    with pytest.raises(EntryTooLargeError):
        entry_bundle([bytes(65536)])
    with pytest.raises(TilePathError):
        parse_entry_bundle(b"\x00\x05ab")


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]


def stored_nodes(hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
    tree, nodes = merkle.CompactRange(), {}
    for h in hashes:
        for level, index, digest in tree.append(h):
            nodes[(level, index)] = digest
    return nodes


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=70_000))
def test_root_from_tiles_equals_the_tree_root(size: int) -> None:
    hashes = leaves(size)
    nodes = stored_nodes(hashes)
    fetched: list[Tile] = []

    def fetch(tile: Tile) -> bytes:
        assert tile.fits(size)
        fetched.append(tile)
        return tile_bytes(tile, nodes)

    assert root_from_tiles(size, fetch) == merkle.root_from_leaf_hashes(hashes)
    assert set(fetched) <= set(tiles_for_root(size))


_LEAVES_70K = leaves(70_000)
_NODES_70K = stored_nodes(_LEAVES_70K)


@pytest.mark.parametrize("size", [1, 255, 256, 257, 65535, 65536, 65537, 70_000])
def test_root_from_tiles_at_tile_edges(size: int) -> None:
    hashes = _LEAVES_70K[:size]
    nodes = {c: h for c, h in _NODES_70K.items() if (c[1] + 1) << c[0] <= size}
    root = root_from_tiles(size, lambda t: tile_bytes(t, nodes))
    assert root == merkle.root_from_leaf_hashes(hashes)
