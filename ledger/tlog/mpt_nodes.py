"""The Merkle Patricia Tree as rows: one record per node, enough to walk a lookup's path.

A proof for one key needs only the nodes on its path, so an answer need not rebuild the whole
tree in memory: each snapshot stores the nodes it changed (append-only, tagged with the
snapshot's number), and a lookup at snapshot n reads, for each node on its path, the newest
record at or before n. A node is named by what cannot change while the tree grows: an inner
node by the bit it splits at and the bits above it that its keys share, a leaf by its key, and
the root by a fixed name whose record points at the current top node (docs/mpt.md, "Stored
nodes"). Pure: the store reads and writes the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ledger.tlog.mpt import EMPTY_TREE_HASH, bit, encode_leaf, encode_step, uvarint
from ledger.tlog.mpt_tree import Inner, Leaf, Node, Tree

ROOT_ID = b"R"


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One stored node: a leaf (``val``), an inner node (``split`` and both children), or the
    root pointer (``left`` names the top node, None for the empty tree)."""

    node_id: bytes
    hash: bytes
    split: int | None = None
    left: bytes | None = None
    right: bytes | None = None
    left_hash: bytes | None = None
    right_hash: bytes | None = None
    val: bytes | None = None


def leaf_id(key: bytes) -> bytes:
    return b"L" + key


def inner_id(split: int, key: bytes) -> bytes:
    """The inner node splitting at ``split`` above ``key``: the first ``split`` bits of the key
    (as ``mpt.bit`` reads them, padding included), the rest of the last byte zero."""
    size, rest = (split + 7) // 8, split % 8
    if size <= len(key):
        shared = bytearray(key[:size])
    else:  # past the key's end: its padding decides the bits
        shared = bytearray(size)
        for i in range(split):
            shared[i >> 3] |= bit(key, i) << (7 - (i & 7))
    if rest:
        shared[-1] &= (0xFF << (8 - rest)) & 0xFF
    return b"I" + uvarint(split) + bytes(shared)


def node_id(node: Node) -> bytes:
    return leaf_id(node.key) if isinstance(node, Leaf) else inner_id(node.bit, node.rep)


def record_of(node: Node) -> NodeRecord:
    if isinstance(node, Leaf):
        return NodeRecord(leaf_id(node.key), node.hash, val=node.val)
    assert isinstance(node, Inner)
    return NodeRecord(
        node_id(node),
        node.hash,
        split=node.bit,
        left=node_id(node.left),
        right=node_id(node.right),
        left_hash=node.left.hash,
        right_hash=node.right.hash,
    )


def root_record(tree: Tree) -> NodeRecord:
    top = tree.root_node()
    return NodeRecord(ROOT_ID, tree.snapshot(), left=None if top is None else node_id(top))


def changed_records(tree: Tree) -> list[NodeRecord]:
    """What a snapshot stores: the nodes changed since the last snapshot, and the root."""
    return [*(record_of(n) for n in tree.take_changed()), root_record(tree)]


def all_records(tree: Tree) -> Iterator[NodeRecord]:
    """Every node and the root, one at a time (millions of them for a large index): for a store
    that has none of them yet."""
    tree.take_changed()
    yield from (record_of(n) for n in tree.nodes())
    yield root_record(tree)


class StoredTreeError(Exception):
    """The stored nodes do not form the tree they claim to (a node is missing)."""


def stored_path(key: bytes, fetch: Callable[[bytes], NodeRecord | None]) -> tuple[bytes, bytes]:
    """(snapshot hash, path proof for ``key``) from stored records, ``fetch`` giving the record
    of a node at the wanted snapshot: the same bytes as ``Tree.path`` on that snapshot's tree."""
    root = _need(fetch, ROOT_ID)
    if root.left is None:
        return EMPTY_TREE_HASH, b""
    node = _need(fetch, root.left)
    steps: list[bytes] = []
    while node.split is not None:
        go_right = bit(key, node.split)
        sibling = node.left_hash if go_right else node.right_hash
        child = node.right if go_right else node.left
        if sibling is None or child is None:
            raise StoredTreeError(f"Stored inner node {node.node_id.hex()} lacks a child.")
        steps.append(encode_step(node.split, sibling))
        node = _need(fetch, child)
    if node.val is None:
        raise StoredTreeError(f"Stored node {node.node_id.hex()} is neither leaf nor inner.")
    return root.hash, encode_leaf(node.node_id[1:], node.val) + b"".join(reversed(steps))


def _need(fetch: Callable[[bytes], NodeRecord | None], wanted: bytes) -> NodeRecord:
    found = fetch(wanted)
    if found is None:
        raise StoredTreeError(f"Stored node {wanted.hex()} is missing.")
    return found


def versioned(
    history: Iterable[tuple[int, NodeRecord]],
) -> Callable[[int], Callable[[bytes], NodeRecord | None]]:
    """The store's newest-record-at-or-before lookup over records held in memory."""
    by_id: dict[bytes, list[tuple[int, NodeRecord]]] = {}
    for seq, rec in history:
        by_id.setdefault(rec.node_id, []).append((seq, rec))

    def at(snapshot: int) -> Callable[[bytes], NodeRecord | None]:
        def fetch(wanted: bytes) -> NodeRecord | None:
            found = [r for s, r in by_id.get(wanted, ()) if s <= snapshot]
            return found[-1] if found else None

        return fetch

    return at
