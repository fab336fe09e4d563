"""The taxpayer index's wire contract (docs/mpt.md): key and value derivation, the position
encoding, answers checked with and without the taxpayer key, and what a proof reveals."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.privacy import taxpayer_ref
from ledger.tlog import mpt
from ledger.tlog.mpt_tree import Tree
from ledger.tlog.taxpayer_index import (
    IndexAnswerError,
    Position,
    check_answer,
    decode_positions,
    encode_positions,
    index_entries,
    index_key,
    index_value,
    snapshot_leaf,
)
from tests.unit.fuzz import fuzz_settings

K = b"k" * 32
POSITIONS = st.lists(
    st.builds(
        Position, st.sampled_from(["disclosures/0", "disclosures/1", "é/2"]), st.integers(0, 2**40)
    ),
    max_size=8,
)


def test_key_and_value_are_the_documented_hmacs() -> None:
    ref = taxpayer_ref(K, "123-45-6789")
    raw = bytes.fromhex(ref)
    want_key = hmac.new(K, b"ledger taxpayer index v1\x00" + raw, hashlib.sha256).digest()
    assert index_key(K, ref) == index_key(K, raw) == want_key
    listed = [Position("disclosures/1", 300), Position("disclosures/0", 7)]
    # uvarint count; per entry uvarint(len(log)) || log || uvarint(index), sorted by (log, index)
    encoded = b"\x02" + b"\x0ddisclosures/0\x07" + b"\x0ddisclosures/1\xac\x02"
    assert encode_positions(listed) == encoded
    want_value = hmac.new(
        K, b"ledger taxpayer index value v1\x00" + want_key + encoded, hashlib.sha256
    ).digest()
    assert index_value(K, want_key, listed) == want_value
    assert index_key(b"x" * 32, ref) != want_key  # keyed: another key, another index


@fuzz_settings(200)
@given(POSITIONS)
def test_positions_encode_canonically(positions: list[Position]) -> None:
    encoded = encode_positions(positions)
    assert decode_positions(encoded) == sorted(set(positions))
    assert encode_positions(reversed(positions)) == encoded
    with pytest.raises(ValueError, match="position list"):
        decode_positions(encoded + b"\x00")


def _index(n: int) -> tuple[dict[str, list[Position]], Tree]:
    postings = {
        taxpayer_ref(K, f"{100000000 + i}"): [Position("disclosures/0", i), Position("m/0", 2 * i)]
        for i in range(n)
    }
    return postings, Tree.from_sorted(index_entries(K, postings))


def test_a_proof_reveals_no_other_taxpayers_stored_ref() -> None:
    postings, tree = _index(64)
    snap = tree.snapshot()
    stored = [bytes.fromhex(r) for r in postings]
    for tin in ["100000005", "999999999", "123456789"]:
        ref = taxpayer_ref(K, tin)
        key = index_key(K, ref)
        value, proof = mpt.prove_lookup(key, tree.path(key))
        check_answer(snap, key, value, proof, postings.get(ref, []), K, ref)
        for other in stored:
            if other.hex() == ref:
                continue
            assert other not in proof
            assert other.hex().encode() not in proof
        assert tin.encode() not in proof
        assert (value is None) == (ref not in postings)


def test_answers_fail_for_another_taxpayer_or_another_list() -> None:
    postings, tree = _index(16)
    snap = tree.snapshot()
    mine, theirs = list(postings)[:2]
    key = index_key(K, mine)
    value, proof = mpt.prove_lookup(key, tree.path(key))
    assert value is not None
    check_answer(snap, key, value, proof, postings[mine], K, mine)
    check_answer(snap, key, value, proof, postings[mine])  # without the key: the MPT proof only
    with pytest.raises(IndexAnswerError, match="another"):
        check_answer(snap, key, value, proof, postings[mine], K, theirs)
    with pytest.raises(IndexAnswerError, match="listed entries"):
        check_answer(snap, key, value, proof, postings[mine][:1], K, mine)
    with pytest.raises(mpt.MPTProofError):
        check_answer(snap, key, None, proof, [], K, mine)
    absent = index_key(K, taxpayer_ref(K, "555-55-5555"))
    none, absence = mpt.prove_lookup(absent, tree.path(absent))
    assert none is None
    with pytest.raises(IndexAnswerError, match="absent"):
        check_answer(snap, absent, None, absence, postings[mine])


def test_the_snapshot_leaf_names_the_snapshot_and_the_checkpoints_it_covers() -> None:
    leaf = snapshot_leaf(
        b"\x01" * 32, [("o.example/t/1", 9, b"\x02" * 32), ("o.example/t/0", 3, b"\x03" * 32)]
    )
    lines = leaf.decode().split("\n")
    assert lines[0] == "ledger taxpayer index snapshot v1"
    assert lines[1] == "01" * 32
    assert lines[2].startswith("o.example/t/0 3 ")
    assert lines[3].startswith("o.example/t/1 9 ")
    assert lines[4] == ""
    with pytest.raises(ValueError, match="spaces"):
        snapshot_leaf(b"", [("a b", 1, b"")])


def test_the_vector_in_docs_mpt_md() -> None:
    """docs/mpt.md prints this vector for implementers; the test keeps docs and code together."""
    key32 = bytes(range(32))
    ref = taxpayer_ref(key32, "123-45-6789")
    assert ref == "a2fb4a2e5d7a21b17d1213d493a97fffd9c65f4f57dcd304c0b8bc58d310027f"
    key = index_key(key32, ref)
    assert key.hex() == "5007312ce39836dd61a9a16c049fbcf2cb1f4148f5c4327d6ab6c58f871a8c14"
    listed = [Position("ledger.disclosures/0", 7), Position("ledger.disclosures/0", 300)]
    docs = Path(__file__).resolve().parents[2] / "docs" / "mpt.md"
    text = docs.read_text()
    for line in (
        ref,
        key.hex(),
        encode_positions(listed).hex(),
        index_value(key32, key, listed).hex(),
    ):
        assert line in text
