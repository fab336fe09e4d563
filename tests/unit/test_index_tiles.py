"""The index log's hash tiles, computed from its leaves, give a tlog-tiles reader the log's root
at every size, across the first level-1 tile (256 leaves)."""

from __future__ import annotations

import hashlib

import pytest

from ledger.api.routes.index_tiles import hash_tile
from ledger.tlog import merkle, tiles

HASHES = [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(600)]


@pytest.mark.parametrize("size", [1, 2, 3, 255, 256, 257, 511, 512, 600])
def test_a_reader_rebuilds_the_root_from_tiles_made_of_leaves(size: int) -> None:
    hashes = HASHES[:size]
    asked: list[tiles.Tile] = []

    def fetch(tile: tiles.Tile) -> bytes:
        asked.append(tile)
        return hash_tile(tile, hashes)

    assert tiles.root_from_tiles(size, fetch) == merkle.root_from_leaf_hashes(hashes)
    if size >= 512:
        assert any(t.level == 1 for t in asked)  # a level-1 tile was read and was right
