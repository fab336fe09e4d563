"""RFC 6962 / RFC 9162 (section 2) Merkle trees: roots, proofs, verifiers, and a stored-node form.

The database keeps the hash of every *perfect* subtree: node (level, index) covers leaves
[index * 2**level, (index + 1) * 2**level). Every subtree the RFC's PATH and SUBPROOF algorithms
touch is either such a node or a right-edge range that splits into a few of them, so a proof of
a log of any size needs O(log n) stored hashes and no rehashing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from ledger.errors import VerificationError

EMPTY_ROOT = hashlib.sha256(b"").digest()
Coordinate = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)


class ProofError(VerificationError):
    """A Merkle proof does not verify (RFC 9162 sections 2.1.3.2 and 2.1.4.2)."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 2.1.1: MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 2.1.1: SHA-256(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- which subtree ranges the RFC algorithms use --------------------------------------------


def _path_ranges(m: int, start: int, end: int) -> list[Range]:
    """RFC 9162 2.1.3.1 PATH(m, D[start:end]) as the ranges whose hashes form the proof."""
    n = end - start
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path_ranges(m, start, start + k), (start + k, end)]
    return [*_path_ranges(m - k, start + k, end), (start, start + k)]


def _subproof_ranges(m: int, start: int, end: int, whole: bool) -> list[Range]:
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[start:end], b) as ranges."""
    n = end - start
    if m == n:
        return [] if whole else [(start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof_ranges(m, start, start + k, whole), (start + k, end)]
    return [*_subproof_ranges(m - k, start + k, end, False), (start, start + k)]


def inclusion_ranges(index: int, size: int) -> list[Range]:
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    return _path_ranges(index, 0, size)


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    if not 0 <= old_size <= new_size:
        raise ProofError(f"cannot prove consistency from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    return _subproof_ranges(old_size, 0, new_size, True)


def range_coordinates(start: int, end: int) -> list[Coordinate]:
    """The perfect nodes, left to right, whose fold is MTH(D[start:end]) for the ranges above."""
    coords = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1  # largest power of two <= size
        coords.append((level, start >> level))
        start += 1 << level
    return coords


def _fold(hashes: Sequence[bytes]) -> bytes:
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def _range_hash(r: Range, node: Callable[[Coordinate], bytes]) -> bytes:
    return _fold([node(c) for c in range_coordinates(*r)])


# --- reference implementations over a list of leaf hashes ---------------------------------


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.1 MTH over leaf hashes."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(root_from_leaf_hashes(hashes[:k]), root_from_leaf_hashes(hashes[k:]))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    return [root_from_leaf_hashes(leaf_hashes[s:e]) for s, e in inclusion_ranges(index, size)]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    return [
        root_from_leaf_hashes(leaf_hashes[s:e]) for s, e in consistency_ranges(old_size, new_size)
    ]


# --- stored perfect nodes: plans and assemblers ---------------------------------------------


def _plan(ranges: Sequence[Range]) -> list[Coordinate]:
    seen: dict[Coordinate, None] = {}
    for r in ranges:
        for c in range_coordinates(*r):
            seen[c] = None
    return list(seen)


def inclusion_plan(index: int, size: int) -> list[Coordinate]:
    return _plan(inclusion_ranges(index, size))


def consistency_plan(old_size: int, new_size: int) -> list[Coordinate]:
    return _plan(consistency_ranges(old_size, new_size))


def _lookup(nodes: Mapping[Coordinate, bytes]) -> Callable[[Coordinate], bytes]:
    def node(c: Coordinate) -> bytes:
        try:
            return nodes[c]
        except KeyError:
            raise ProofError(f"stored tree has no node at level {c[0]}, index {c[1]}") from None

    return node


def root_from_nodes(size: int, nodes: Mapping[Coordinate, bytes]) -> bytes:
    return EMPTY_ROOT if size == 0 else _range_hash((0, size), _lookup(nodes))


def inclusion_proof_from_nodes(
    index: int, size: int, nodes: Mapping[Coordinate, bytes]
) -> list[bytes]:
    node = _lookup(nodes)
    return [_range_hash(r, node) for r in inclusion_ranges(index, size)]


def consistency_proof_from_nodes(
    old_size: int, new_size: int, nodes: Mapping[Coordinate, bytes]
) -> list[bytes]:
    node = _lookup(nodes)
    return [_range_hash(r, node) for r in consistency_ranges(old_size, new_size)]


def frontier_coordinates(size: int) -> list[Coordinate]:
    """The perfect nodes covering [0, size), largest first: the compact range's state."""
    return range_coordinates(0, size)


class CompactRange:
    """The right frontier of a growing tree: append leaves, learn which perfect nodes completed."""

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        if len(frontier) != size.bit_count():
            raise ValueError(
                f"a tree of size {size} has {size.bit_count()} frontier nodes, not {len(frontier)}"
            )
        self.size = size
        self._frontier = list(frontier)  # hashes, largest subtree first

    @classmethod
    def from_nodes(cls, size: int, nodes: Mapping[Coordinate, bytes]) -> CompactRange:
        lookup = _lookup(nodes)
        return cls(size, [lookup(c) for c in frontier_coordinates(size)])

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self._frontier)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Adds one leaf hash; returns the perfect nodes (level, index, hash) it completed."""
        index, level, current = self.size, 0, leaf
        completed = [(0, index, leaf)]
        # Each trailing 1-bit of the old size is a left sibling that now has its right half.
        while (self.size >> level) & 1:
            current = node_hash(self._frontier.pop(), current)
            level += 1
            completed.append((level, index >> level, current))
        self._frontier.append(current)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return EMPTY_ROOT if self.size == 0 else _fold(self._frontier)


# --- verifiers --------------------------------------------------------------------------------


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2 steps 1-5: the root the proof leads to."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    r = leaf
    for p, left in zip(proof, _sides(index, size - 1, len(proof), "inclusion proof"), strict=True):
        r = node_hash(p, r) if left else node_hash(r, p)
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 2.1.3.2; raises ProofError showing expected and calculated roots."""
    calculated = root_from_inclusion_proof(leaf, index, size, proof)
    if calculated != root:
        raise ProofError(
            f"inclusion proof for leaf {index} of {size} does not lead to the root: "
            f"expected {root.hex()}, calculated {calculated.hex()}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2; raises ProofError naming which root did not match."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(
                f"same size {old_size} but different roots: {old_root.hex()} and {new_root.hex()}"
            )
        return
    if old_size == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node itself
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    sides = _sides(fn, sn, len(path) - 1, "consistency proof")
    for c, left in zip(path[1:], sides, strict=True):
        if left:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    if fr != old_root:
        raise ProofError(f"old root mismatch: expected {old_root.hex()}, calculated {fr.hex()}")
    if sr != new_root:
        raise ProofError(f"new root mismatch: expected {new_root.hex()}, calculated {sr.hex()}")


def _sides(fn: int, sn: int, count: int, what: str) -> list[bool]:
    """RFC 9162's walk from node ``fn`` up to the root of a tree whose last node is ``sn``: for
    each of the ``count`` hashes of ``what``, whether it is the left sibling. Raises ProofError
    where the proof is longer or shorter than that walk."""
    sides = []
    for _ in range(count):
        if sn == 0:
            raise ProofError(f"{what} is longer than the tree is deep")
        left = bool(fn & 1) or fn == sn
        if left:
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        sides.append(left)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"{what} is shorter than the tree is deep")
    return sides
