"""The MPT against a brute-force tree built straight from the definition in torchwood's tree.go:
keys padded with 00 FF FF ..., split at the first bit where the keys of a subtree differ."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.tlog import mpt
from ledger.tlog.mpt_tree import Tree
from tests.unit.fuzz import fuzz_settings

# Few distinct bytes, so keys share prefixes and run into each other's padding.
KEYS = st.lists(st.sampled_from([0x00, 0x01, 0x7F, 0xAB, 0xFE, 0xFF]), max_size=5).map(bytes)
VALS = st.binary(max_size=3)
MAPS = st.dictionaries(KEYS, VALS, max_size=24)


def padded(key: bytes, length: int = 8) -> bytes:
    return key + b"\x00" + b"\xff" * (length - len(key) - 1)


def brute_bit(key: bytes, n: int) -> int:
    return (padded(key)[n // 8] >> (7 - n % 8)) & 1


def brute_hash(keys: list[bytes], kv: dict[bytes, bytes]) -> bytes:
    if not keys:
        return mpt.EMPTY_TREE_HASH
    if len(keys) == 1:
        return mpt.hash_leaf(keys[0], kv[keys[0]])
    b = next(n for n in range(64) if len({brute_bit(k, n) for k in keys}) == 2)
    left = [k for k in keys if brute_bit(k, b) == 0]
    right = [k for k in keys if brute_bit(k, b) == 1]
    return mpt.hash_inner(b, brute_hash(left, kv), brute_hash(right, kv))


def brute_order(kv: dict[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return sorted(kv.items(), key=lambda item: padded(item[0]))


def built(kv: dict[bytes, bytes], order: list[bytes]) -> Tree:
    tree = Tree()
    for k in order:
        tree.set(k, b"stale")  # then replaced: updates must rehash too
    for k in order:
        tree.set(k, kv[k])
    return tree


@fuzz_settings(300)
@given(KEYS, KEYS)
def test_key_order_and_overlap_are_those_of_the_padded_keys(p: bytes, q: bytes) -> None:
    c, shared = mpt.key_cmp(p, q)
    pp, qq = padded(p), padded(q)
    assert c == (pp > qq) - (pp < qq)
    if p != q:
        assert shared == next(n for n in range(64) if brute_bit(p, n) != brute_bit(q, n))
    assert all(mpt.bit(p, n) == brute_bit(p, n) for n in range(64))
    assert mpt.has_prefix(p, q) == pp.startswith(q)


@fuzz_settings(150)
@given(MAPS, st.randoms(use_true_random=False))
def test_every_construction_gives_the_brute_force_hash(kv: dict[bytes, bytes], rnd: object) -> None:
    want = brute_hash(list(kv), kv)
    order = list(kv)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    tree = built(kv, order)
    assert tree.snapshot() == want
    assert mpt.tree_hash(brute_order(kv)) == want
    assert Tree.from_sorted(brute_order(kv)).snapshot() == want
    assert list(tree.items()) == brute_order(kv)
    assert len(tree) == len(kv)


@fuzz_settings(150)
@given(MAPS, st.lists(KEYS, max_size=6))
def test_lookups_prove_exactly_the_map(kv: dict[bytes, bytes], probes: list[bytes]) -> None:
    tree = built(kv, list(kv))
    snap = tree.snapshot()
    for key in [*kv, *probes]:
        val, proof = mpt.prove_lookup(key, tree.path(key))
        assert val == kv.get(key) == tree.get(key)
        mpt.verify_lookup(snap, key, val, proof)
        # The opposite claim, or another value, does not verify with any proof we can make.
        opposite = (b"forged", proof) if val is None else (None, tree.path(key))
        with pytest.raises(mpt.MPTProofError):
            mpt.verify_lookup(snap, key, *opposite)
        for i in range(len(proof)):
            flipped = bytearray(proof)
            flipped[i] ^= 0x01
            with pytest.raises(mpt.MPTProofError):
                mpt.verify_lookup(snap, key, val, bytes(flipped))


@fuzz_settings(150)
@given(MAPS, st.lists(KEYS, max_size=6))
def test_prefix_proofs_give_the_subtree_of_exactly_the_prefixed_keys(
    kv: dict[bytes, bytes], prefixes: list[bytes]
) -> None:
    tree = built(kv, list(kv))
    snap = tree.snapshot()
    for prefix in [b"", *prefixes]:
        under = [k for k in kv if padded(k).startswith(prefix)]
        subtree, proof = mpt.prove_prefix(prefix, tree.path(prefix))
        assert subtree == brute_hash(under, kv)
        mpt.verify_prefix(snap, prefix, subtree, proof)
        if under and proof:
            with pytest.raises(mpt.MPTProofError):
                mpt.verify_prefix(snap, prefix, mpt.EMPTY_TREE_HASH, proof)


def test_the_empty_tree() -> None:
    tree = Tree()
    assert tree.snapshot() == mpt.EMPTY_TREE_HASH == mpt.tree_hash([])
    assert mpt.prove_lookup(b"k", tree.path(b"k")) == (None, b"")
    mpt.verify_lookup(mpt.EMPTY_TREE_HASH, b"k", None, b"")
    with pytest.raises(mpt.MPTProofError):
        mpt.verify_lookup(mpt.hash_leaf(b"k", b"v"), b"x", None, b"")


def test_unsorted_or_oversized_input_is_refused() -> None:
    with pytest.raises(mpt.MPTKeyOrderError):
        mpt.tree_hash([(b"b", b""), (b"a", b"")])
    with pytest.raises(mpt.MPTKeyOrderError):
        Tree.from_sorted([(b"a", b""), (b"a", b"")])
    with pytest.raises(ValueError, match="at most 1024"):
        Tree().set(b"k" * 1025, b"")
    with pytest.raises(mpt.MPTPathError):
        mpt.prove_lookup(b"k", b"\x05ab")


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300, 2**63, 2**64 - 1])
def test_varints_round_trip_as_go_encodes_them(n: int) -> None:
    data = mpt.uvarint(n)
    assert mpt.read_uvarint(data, 0) == (n, len(data))
    assert mpt.read_uvarint(data[:-1], 0)[1] <= 0
    assert mpt.read_uvarint(b"\xff" * 10 + b"\x01", 0)[1] < 0  # overflows 64 bits, as in Go


def test_a_deep_tree_of_adversarial_keys_needs_no_recursion() -> None:
    # Keys 0x00 * i make a chain one inner node per key; paths stay well-formed.
    keys = sorted((b"\x00" * i for i in range(300)), key=functools.cmp_to_key(mpt.key_compare))
    tree = Tree.from_sorted((k, b"v") for k in keys)
    assert tree.snapshot() == mpt.tree_hash((k, b"v") for k in keys)
    val, proof = mpt.prove_lookup(keys[-1], tree.path(keys[-1]))
    mpt.verify_lookup(tree.snapshot(), keys[-1], val, proof)
