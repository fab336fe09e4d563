"""RFC 6962 / 9162 Merkle math: published vectors, and properties over random trees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.tlog import merkle
from ledger.tlog.merkle import CompactRange, ProofError

VECTORS = json.loads((Path(__file__).parent.parent / "assets" / "rfc6962_vectors.json").read_text())
LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(r) for r in VECTORS["roots"]]


def test_empty_tree_root() -> None:
    assert merkle.EMPTY_ROOT.hex() == VECTORS["empty_root"]
    assert merkle.root_from_leaf_hashes([]) == merkle.EMPTY_ROOT
    assert CompactRange().root() == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_rfc_test_tree(size: int) -> None:
    assert merkle.root_from_leaf_hashes(LEAVES[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}-of-{c['size']}")
def test_inclusion_vectors(case: dict) -> None:
    proof = [bytes.fromhex(h) for h in case["proof"]]
    i, n = case["index"], case["size"]
    assert merkle.inclusion_proof(LEAVES, i, n) == proof
    merkle.verify_inclusion(LEAVES[i], i, n, proof, ROOTS[n - 1])
    with pytest.raises(ProofError):
        merkle.verify_inclusion(LEAVES[i], i - 1, n, proof, ROOTS[n - 1])


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: f"{c['old']}-to-{c['new']}")
def test_consistency_vectors(case: dict) -> None:
    proof = [bytes.fromhex(h) for h in case["proof"]]
    m, n = case["old"], case["new"]
    assert merkle.consistency_proof(LEAVES, m, n) == proof
    merkle.verify_consistency(m, n, ROOTS[m - 1], ROOTS[n - 1], proof)
    with pytest.raises(ProofError):
        merkle.verify_consistency(m, n, ROOTS[m - 2], ROOTS[n - 1], proof)


def built(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], CompactRange]:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree, nodes = CompactRange(), {}
    for leaf in leaves:
        for level, idx, h in tree.append(leaf):
            nodes[(level, idx)] = h
    return leaves, nodes, tree


sizes = st.integers(1, 300)


@settings(max_examples=60, deadline=None)
@given(sizes, st.data())
def test_every_inclusion_proof_verifies_and_stored_nodes_agree(n: int, data: st.DataObject) -> None:
    leaves, nodes, tree = built(n)
    root = merkle.root_from_leaf_hashes(leaves)
    assert tree.root() == root == merkle.root_from_nodes(n, nodes)
    i = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(leaves, i, n)
    assert (
        merkle.inclusion_proof_from_nodes(i, n, {c: nodes[c] for c in merkle.inclusion_plan(i, n)})
        == proof
    )
    merkle.verify_inclusion(leaves[i], i, n, proof, root)


@settings(max_examples=60, deadline=None)
@given(sizes, st.data())
def test_every_consistency_proof_verifies_and_stored_nodes_agree(
    n: int, data: st.DataObject
) -> None:
    leaves, nodes, _ = built(n)
    m = data.draw(st.integers(1, n))
    proof = merkle.consistency_proof(leaves, m, n)
    plan = merkle.consistency_plan(m, n)
    assert merkle.consistency_proof_from_nodes(m, n, {c: nodes[c] for c in plan}) == proof
    merkle.verify_consistency(
        m, n, merkle.root_from_leaf_hashes(leaves[:m]), merkle.root_from_leaf_hashes(leaves), proof
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 200), st.data())
def test_any_altered_hash_index_or_root_fails(n: int, data: st.DataObject) -> None:
    leaves, _, tree = built(n)
    root = tree.root()
    i = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(leaves, i, n)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:k], bytes(32), *proof[k + 1 :]]
        with pytest.raises(ProofError):
            merkle.verify_inclusion(leaves[i], i, n, bad, root)
    other = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
    with pytest.raises(ProofError):
        merkle.verify_inclusion(leaves[i], other, n, proof, root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(leaves[i], i, n, proof, merkle.leaf_hash(b"not the root"))
    m = data.draw(st.integers(1, n - 1))
    cproof = merkle.consistency_proof(leaves, m, n)
    old_root = merkle.root_from_leaf_hashes(leaves[:m])
    k = data.draw(st.integers(0, len(cproof) - 1))
    with pytest.raises(ProofError):
        merkle.verify_consistency(m, n, old_root, root, [*cproof[:k], bytes(32), *cproof[k + 1 :]])
    with pytest.raises(ProofError):
        merkle.verify_consistency(m, n, bytes(32), root, cproof)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 300), st.integers(1, 50))
def test_compact_range_resumes_from_stored_frontier(n: int, more: int) -> None:
    leaves, nodes, tree = built(n + more)
    resumed = CompactRange.from_nodes(n, {c: nodes[c] for c in merkle.frontier_coordinates(n)})
    for leaf in leaves[n:]:
        resumed.append(leaf)
    assert resumed.root() == tree.root()
