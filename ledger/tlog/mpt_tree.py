"""An in-memory Merkle Patricia Tree: insert or update, snapshot hash, path proofs.

The tree is path-compressed (every inner node has two children and splits at the first bit
its keys differ in), so its shape depends only on the set of keys, never on insertion order;
hashes and proofs are those of ``ledger.tlog.mpt`` (torchwood's ``mpt`` format). Hashes are
kept up to date on every ``set``: a lookup never waits for a rehash.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ledger.tlog.mpt import (
    EMPTY_TREE_HASH,
    MAX_KEY_BITS,
    MAX_KEY_LEN,
    MAX_VAL_LEN,
    MPTKeyOrderError,
    bit,
    encode_leaf,
    encode_step,
    hash_inner,
    hash_leaf,
    key_compare,
    overlap,
)


class Leaf:
    __slots__ = ("hash", "key", "val")
    key: bytes
    val: bytes
    hash: bytes

    def __init__(self, key: bytes, val: bytes) -> None:
        self.key, self.val, self.hash = key, val, hash_leaf(key, val)


class Inner:
    __slots__ = ("bit", "hash", "left", "rep", "right")
    bit: int
    left: Node
    right: Node
    hash: bytes
    rep: bytes  # a key below it: with ``bit``, what names the node when it is stored

    def __init__(self, b: int, left: Node, right: Node, rep: bytes) -> None:
        self.bit, self.left, self.right, self.rep = b, left, right, rep
        self.hash = hash_inner(b, left.hash, right.hash)

    def rehash(self) -> None:
        self.hash = hash_inner(self.bit, self.left.hash, self.right.hash)

    def child(self, key: bytes) -> Node:
        return self.right if bit(key, self.bit) else self.left


Node = Leaf | Inner


def _check_sizes(key: bytes, val: bytes) -> None:
    if len(key) > MAX_KEY_LEN:
        raise ValueError(f"An MPT key is at most {MAX_KEY_LEN} bytes; this one is {len(key)}.")
    if len(val) > MAX_VAL_LEN:
        raise ValueError(f"An MPT value is at most {MAX_VAL_LEN} bytes; this one is {len(val)}.")


class Tree:
    """A mutable MPT. ``snapshot()`` is its hash, ``path(key)`` the path proof that
    ``prove_lookup`` and ``prove_prefix`` reduce to a claim and its proof."""

    def __init__(self) -> None:
        self._root: Node | None = None
        self._size = 0
        self._changed: dict[int, Node] = {}  # nodes set() touched since take_changed()

    @classmethod
    def from_sorted(cls, items: Iterable[tuple[bytes, bytes]]) -> Tree:
        """A tree of ``items`` sorted by key_compare without repeats, built in one pass (the
        stack walk of ``mpt.tree_hash``, keeping the nodes)."""
        tree = cls()
        stack: list[tuple[int, bytes, Node]] = []
        last: bytes | None = None

        def shared(x: tuple[int, bytes, Node], y: tuple[int, bytes, Node]) -> int:
            return min(x[0], y[0], overlap(x[1], y[1]))

        def merge(
            x: tuple[int, bytes, Node], y: tuple[int, bytes, Node]
        ) -> tuple[int, bytes, Node]:
            b = shared(x, y)
            return b, x[1], Inner(b, x[2], y[2], x[1])

        for key, val in items:
            _check_sizes(key, val)
            if last is not None and key_compare(last, key) >= 0:
                raise MPTKeyOrderError("MPT keys are out of order or repeated.")
            last = key
            tree._size += 1
            stack.append((MAX_KEY_BITS, key, Leaf(key, val)))
            while len(stack) >= 3 and shared(stack[-3], stack[-2]) > shared(stack[-2], stack[-1]):
                right = stack.pop()
                stack[-2:] = [merge(stack[-2], stack[-1]), right]
        while len(stack) >= 2:
            right = stack.pop()
            stack[-1] = merge(stack[-1], right)
        tree._root = stack[0][2] if stack else None
        return tree

    def __len__(self) -> int:
        return self._size

    def snapshot(self) -> bytes:
        """The tree hash (SHA-256 of nothing for the empty tree)."""
        return EMPTY_TREE_HASH if self._root is None else self._root.hash

    def _descend(self, key: bytes) -> tuple[list[Inner], Leaf | None]:
        """The inner nodes a lookup for ``key`` passes, root first, and the leaf it ends at."""
        node, passed = self._root, []
        while isinstance(node, Inner):
            passed.append(node)
            node = node.child(key)
        return passed, node

    def get(self, key: bytes) -> bytes | None:
        leaf = self._descend(key)[1]
        return leaf.val if leaf is not None and leaf.key == key else None

    def set(self, key: bytes, val: bytes) -> None:
        """Insert ``key`` or replace its value."""
        _check_sizes(key, val)
        passed, leaf = self._descend(key)
        if leaf is None:
            self._root, self._size = Leaf(key, val), 1
            self._touch(self._root)
            return
        if leaf.key == key:
            leaf.val, leaf.hash = val, hash_leaf(key, val)
            self._touch(leaf)
        else:
            # The new inner node splits where key first differs from the leaf it reached, below
            # every passed node splitting earlier (bit indexes grow going down).
            b = overlap(key, leaf.key)
            depth = next((i for i, n in enumerate(passed) if n.bit > b), len(passed))
            above = passed[depth - 1] if depth else None
            if above is None:
                assert self._root is not None  # a leaf was reached
                old = self._root
            else:
                old = above.child(key)
            new = Leaf(key, val)
            inner = Inner(b, old, new, key) if bit(key, b) else Inner(b, new, old, key)
            self._touch(new)
            self._touch(inner)
            if above is None:
                self._root = inner
            elif bit(key, above.bit):
                above.right = inner
            else:
                above.left = inner
            passed = passed[:depth]
            self._size += 1
        for node in reversed(passed):
            node.rehash()
            self._touch(node)

    def _touch(self, node: Node) -> None:
        self._changed[id(node)] = node

    def root_node(self) -> Node | None:
        return self._root

    def take_changed(self) -> list[Node]:
        """The nodes whose hash or children changed since the last call (for storing them)."""
        changed, self._changed = list(self._changed.values()), {}
        return changed

    def nodes(self) -> Iterator[Node]:
        """Every node, root first."""
        todo: list[Node] = [] if self._root is None else [self._root]
        while todo:
            node = todo.pop()
            yield node
            if isinstance(node, Inner):
                todo += (node.right, node.left)

    def path(self, key: bytes) -> bytes:
        """The path proof for ``key``: the key and value of the leaf a lookup for it ends at
        (its own when present), then (bit index, sibling hash) from that leaf up to the root."""
        passed, leaf = self._descend(key)
        if leaf is None:
            return b""
        steps = [
            encode_step(n.bit, (n.left if bit(key, n.bit) else n.right).hash)
            for n in reversed(passed)
        ]
        return encode_leaf(leaf.key, leaf.val) + b"".join(steps)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) in key order."""
        todo: list[Node] = [] if self._root is None else [self._root]
        while todo:
            node = todo.pop()
            if isinstance(node, Leaf):
                yield node.key, node.val
            else:
                todo += (node.right, node.left)
