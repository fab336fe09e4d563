"""The hash chain: recomputation, and each kind of tampering named as itself."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ledger.tlog.chain import GENESIS, ChainVerifier, StoredEntry, chain_hash, leaf_hash


def build(values: list[bytes]) -> list[StoredEntry]:
    out, prev = [], GENESIS
    for i, v in enumerate(values):
        leaf = leaf_hash(v)
        prev = chain_hash(prev, leaf)
        out.append(StoredEntry(i, v, leaf, prev))
    return out


def test_hashes_follow_the_design() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert chain_hash(GENESIS, b"\x01" * 32) == hashlib.sha256(bytes(32) + b"\x01" * 32).digest()


values = st.lists(st.binary(max_size=40), min_size=1, max_size=60)


@given(values)
def test_an_untouched_chain_verifies(vals: list[bytes]) -> None:
    verifier = ChainVerifier()
    assert verifier.feed(build(vals)) is None
    assert verifier.checked == len(vals)


@given(values, st.data())
def test_altered_bytes_are_a_content_mismatch_at_that_seq(
    vals: list[bytes], data: st.DataObject
) -> None:
    entries = build(vals)
    i = data.draw(st.integers(0, len(entries) - 1))
    e = entries[i]
    entries[i] = StoredEntry(e.seq, e.value + b"x", e.leaf_hash, e.chain_hash)
    finding = ChainVerifier().feed(entries)
    assert finding is not None
    assert (finding.kind, finding.seq) == ("content_mismatch", i)


@given(values, st.data())
def test_rewritten_bytes_with_rehashed_leaf_break_the_linkage(
    vals: list[bytes], data: st.DataObject
) -> None:
    entries = build(vals)
    i = data.draw(st.integers(0, len(entries) - 1))
    e = entries[i]
    forged = e.value + b"forged"
    entries[i] = StoredEntry(e.seq, forged, leaf_hash(forged), e.chain_hash)
    finding = ChainVerifier().feed(entries)
    assert finding is not None
    assert (finding.kind, finding.seq) == ("broken_linkage", i)


@given(st.lists(st.binary(max_size=10), min_size=2, max_size=30), st.data())
def test_a_missing_entry_is_a_gap(vals: list[bytes], data: st.DataObject) -> None:
    entries = build(vals)
    i = data.draw(st.integers(0, len(entries) - 2))
    del entries[i]
    finding = ChainVerifier().feed(entries)
    assert finding is not None
    assert (finding.kind, finding.seq) == ("gap", i)
