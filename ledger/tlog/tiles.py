"""C2SP tlog-tiles: tile paths, which stored nodes a tile holds, entry bundles, and a reader.

Spec: https://github.com/C2SP/C2SP/blob/main/tlog-tiles.md. Tile (L, N) holds the Merkle tree
hashes at height 8L, indices N*256 .. N*256+255: exactly the perfect nodes the ledger stores as
(level 8L, index). A tile is full with 256 hashes; the rightmost tile of a level may be partial
(``.p/<W>``, 1..255 hashes). Index N is written as zero-padded three-digit path elements, all
but the last prefixed with ``x``: 1234067 is ``x001/x234/067``.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ledger.errors import LedgerError
from ledger.tlog import merkle

WIDTH = 256
HEIGHT = 8  # tree levels per tile level
HASH_SIZE = 32
MAX_LEVEL = 63
MAX_ENTRY = 0xFFFF  # entry bundles prefix each entry with a big-endian uint16 length
ENTRIES = "entries"

_ELEMENT = re.compile(r"^x[0-9]{3}$")
_LAST = re.compile(r"^[0-9]{3}$")
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")


class TilePathError(LedgerError):
    """A tile path is not in the tlog-tiles shape."""


@dataclass(frozen=True)
class Tile:
    """Tile ``index`` at ``level`` (an int, or ``"entries"`` for an entry bundle), ``width`` wide."""

    level: int | str
    index: int
    width: int = WIDTH

    @property
    def partial(self) -> bool:
        return self.width < WIDTH

    @property
    def path(self) -> str:
        tail = f".p/{self.width}" if self.partial else ""
        return f"tile/{self.level}/{encode_index(self.index)}{tail}"

    @property
    def tree_level(self) -> int:
        """The height in the Merkle tree of the hashes this tile holds (0 for entry bundles)."""
        return 0 if self.level == ENTRIES else HEIGHT * int(self.level)

    def coordinates(self) -> list[merkle.Coordinate]:
        """The stored perfect nodes (level, index) whose hashes make up this tile, in order."""
        first = self.index * WIDTH
        return [(self.tree_level, first + i) for i in range(self.width)]

    def fits(self, size: int) -> bool:
        """Whether a tree of ``size`` leaves holds this tile at this width (full or partial)."""
        nodes = size >> self.tree_level  # nodes at this height in a tree of that size
        full = nodes // WIDTH
        if self.index < full:
            return True  # a reader of an older checkpoint may still ask for the partial form
        return self.index == full and self.partial and self.width <= nodes % WIDTH


def encode_index(index: int) -> str:
    if index < 0:
        raise ValueError(f"tile index {index} is negative")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def parse_path(path: str) -> Tile:
    """``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]`` (what follows ``tile/``) as a Tile."""
    parts = path.split("/")
    if len(parts) < 2:
        raise TilePathError("a tile path is tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")
    level_text, rest = parts[0], parts[1:]
    level: int | str
    if level_text == ENTRIES:
        level = ENTRIES
    elif _DECIMAL.match(level_text) and int(level_text) <= MAX_LEVEL:
        level = int(level_text)
    else:
        raise TilePathError(f"tile level {level_text[:20]!r} is not an integer from 0 to 63")
    width = WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        width_text = rest[-1]
        if not _DECIMAL.match(width_text) or not 1 <= int(width_text) < WIDTH:
            raise TilePathError(f"partial tile width {width_text[:20]!r} is not from 1 to 255")
        width = int(width_text)
        rest = [*rest[:-2], rest[-2][:-2]]
    if not all(_ELEMENT.match(p) for p in rest[:-1]) or not _LAST.match(rest[-1]):
        raise TilePathError(
            "a tile index is three-digit path elements, all but the last prefixed with x "
            "(e.g. x001/x234/067)"
        )
    digits = "".join(p.lstrip("x") for p in rest)
    if len(rest) > 1 and rest[0] == "x000":
        raise TilePathError("a tile index has no leading x000 element")
    return Tile(level, int(digits), width)


def tiles_for_root(size: int) -> list[Tile]:
    """The hash tiles a reader needs to compute the root of a tree of ``size`` leaves."""
    needed: dict[Tile, None] = {}
    for height, index in merkle.frontier_coordinates(size):
        needed[_tile_holding(height, index, size)] = None
    return list(needed)


def _tile_holding(height: int, index: int, size: int) -> Tile:
    """The tile of the level at or below ``height`` that holds node (height, index)'s range."""
    level = height // HEIGHT
    first = index << (height - level * HEIGHT)  # its first hash at the tile level's height
    tile_index = first // WIDTH
    nodes = size >> (level * HEIGHT)
    width = WIDTH if (tile_index + 1) * WIDTH <= nodes else nodes - tile_index * WIDTH
    return Tile(level, tile_index, width)


def split_hashes(data: bytes, width: int) -> list[bytes]:
    if len(data) != width * HASH_SIZE:
        raise TilePathError(
            f"a tile of width {width} has {width * HASH_SIZE} bytes, not {len(data)}"
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def root_from_tiles(size: int, fetch: Callable[[Tile], bytes]) -> bytes:
    """The RFC 6962 root of a tree of ``size`` leaves, from its hash tiles (a reader's side)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    frontier = []
    for height, index in merkle.frontier_coordinates(size):
        tile = _tile_holding(height, index, size)
        hashes = split_hashes(fetch(tile), tile.width)
        span = 1 << (height - tile.tree_level)
        first = (index * span) - tile.index * WIDTH
        frontier.append(merkle.root_from_leaf_hashes(hashes[first : first + span]))
    return merkle.CompactRange(size, frontier).root()


def tile_bytes(tile: Tile, nodes: Mapping[merkle.Coordinate, bytes]) -> bytes:
    """A hash tile's body from the stored nodes it covers."""
    return b"".join(nodes[c] for c in tile.coordinates())


def entry_bundle(values: Sequence[bytes]) -> bytes:
    out = bytearray()
    for value in values:
        if len(value) > MAX_ENTRY:
            raise EntryTooLargeError(
                f"an entry of {len(value):,} bytes is over the 65,535 an entry bundle can carry"
            )
        out += struct.pack(">H", len(value)) + value
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise TilePathError("entry bundle ends inside a length prefix")
        (length,) = struct.unpack(">H", data[at : at + 2])
        if at + 2 + length > len(data):
            raise TilePathError("entry bundle ends inside an entry")
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return entries


class EntryTooLargeError(LedgerError):
    """An entry does not fit the uint16 length prefix of a tlog-tiles entry bundle."""
