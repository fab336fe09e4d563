"""The MPT stored as versioned node records gives, at every snapshot, the same paths (and so
the same proofs) as the in-memory tree did at that snapshot: present keys, absent keys, keys
running into each other's padding, the empty tree, a first store of a grown tree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.tlog import mpt
from ledger.tlog.mpt_nodes import (
    ROOT_ID,
    NodeRecord,
    StoredTreeError,
    all_records,
    changed_records,
    inner_id,
    stored_path,
    versioned,
)
from ledger.tlog.mpt_tree import Tree
from tests.unit.fuzz import fuzz_settings

BYTES = st.sampled_from([0x00, 0x01, 0x7F, 0xAB, 0xFE, 0xFF])
KEYS = st.one_of(
    st.lists(BYTES, max_size=5).map(bytes),
    st.lists(BYTES, min_size=3, max_size=3).map(bytes),  # one length, as the index's keys
)
VALS = st.binary(max_size=3)
BATCHES = st.lists(st.dictionaries(KEYS, VALS, max_size=8), min_size=1, max_size=5)


@fuzz_settings(300)
@given(BATCHES, st.lists(KEYS, max_size=6), st.booleans())
def test_every_snapshot_walks_like_the_tree_it_stored(
    batches: list[dict[bytes, bytes]], probes: list[bytes], grown_first: bool
) -> None:
    tree = Tree()
    history: list[tuple[int, NodeRecord]] = []
    expected: list[tuple[bytes, dict[bytes, bytes]]] = []  # (snapshot, path per key) per seq
    for seq, batch in enumerate(batches):
        for key, val in batch.items():
            tree.set(key, val)
        # The first snapshot may store the whole tree (a store that had no nodes yet).
        records = all_records(tree) if grown_first and seq == 0 else changed_records(tree)
        history += [(seq, r) for r in records]
        keys = {k for b in batches for k in b} | set(probes)
        expected.append((tree.snapshot(), {k: tree.path(k) for k in keys}))
    at = versioned(history)
    for seq, (snapshot, paths) in enumerate(expected):
        for key, path in paths.items():
            assert stored_path(key, at(seq)) == (snapshot, path)
            value, proof = mpt.prove_lookup(key, path)
            mpt.verify_lookup(snapshot, key, value, proof)


def test_the_empty_tree_has_an_empty_path_and_a_missing_node_is_named() -> None:
    tree = Tree()
    at = versioned((0, r) for r in changed_records(tree))
    assert stored_path(b"any", at(0)) == (mpt.EMPTY_TREE_HASH, b"")
    with pytest.raises(StoredTreeError, match="missing"):
        stored_path(b"any", at(-1))
    tree.set(b"\x01", b"a")
    tree.set(b"\x02", b"b")
    root_only = [r for r in changed_records(tree) if r.node_id == ROOT_ID]
    with pytest.raises(StoredTreeError, match="missing"):
        stored_path(b"\x01", versioned((0, r) for r in root_only)(0))


def test_an_inner_node_is_named_by_its_split_and_the_bits_above_it() -> None:
    assert inner_id(3, b"\xff\x00") == b"I\x03\xe0"
    assert inner_id(8, b"\xab\xcd") == b"I\x08\xab"
    assert inner_id(9, b"\xab\xcd") == b"I\x09\xab\x80"
    # past the key's end, the padding (00 FF FF ...) decides
    assert inner_id(12, b"\xab") == b"I\x0c\xab\x00"
    assert inner_id(20, b"\xab") == b"I\x14\xab\x00\xf0"
